"""The JupyterLab notebooks: executed top to bottom in a real kernel (WORKBENCH_FAST=1), every figure drawn."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# Appended to 01 in memory: a slider change redraws the spectrum in place (the image it shows becomes the new
# geometry's), and a geometry the model rejects leaves the image and shows the model's message.
SLIDER_PROBE = """
import base64, json
values = lambda: {name: s.value for name, s in sliders.items()}
before = spectrum_png(**values())
sliders["gap_nm"].value = 12.0
after = spectrum_png(**values())
assert message.value == "", message.value
sliders["period_x_um"].value = 20.0  # smaller than the 100 µm loop: the model rejects it
assert "period" in message.value, message.value
print(json.dumps({"before": base64.b64encode(before).decode(), "after": base64.b64encode(after).decode()}))
"""
# A cell that draws: pyplot's show, a PNG built by the notebook helpers, or the live search curve.
DRAWS = re.compile(r"plt\.show\(\)|figure_png\(|live_search\(|display\(Image\(")


def _code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_the_notebooks_exist():
    assert [path.name for path in NOTEBOOKS] == [
        "01_thz_quickstart.ipynb",
        "02_acoustic_plate_cavity.ipynb",
        "03_surrogates.ipynb",
        "04_sweeps.ipynb",
        "05_compression.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_without_outputs_and_tags_every_drawing_cell(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in _code_cells(notebook):
        assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: committed with outputs"
        draws = bool(DRAWS.search(cell.source))
        assert draws == ("figure" in cell.metadata.get("tags", [])), f"{path.name}: figure tag wrong on\n{cell.source}"


def _pngs(cell: nbformat.NotebookNode) -> list[str]:
    return [
        o.data["image/png"]
        for o in cell.outputs
        if o.output_type in ("display_data", "execute_result") and "image/png" in o.data
    ]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_in_a_kernel_and_every_figure_cell_shows_a_png(path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_FAST", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    notebook = nbformat.read(path, as_version=4)
    figures = [cell for cell in _code_cells(notebook) if "figure" in cell.metadata.get("tags", [])]
    sliders = next((cell for cell in figures if "widgets.FloatSlider" in cell.source), None)
    if sliders is not None:
        notebook.cells.append(new_code_cell(SLIDER_PROBE))
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()  # raises CellExecutionError on the first failing cell
    assert figures
    for cell in figures:
        assert _pngs(cell), f"{path.name}: no image/png output from\n{cell.source}"
    if sliders is not None:
        probe = json.loads(notebook.cells[-1].outputs[0].text)
        (shown,) = _pngs(sliders)  # one image output, updated in place
        assert shown.replace("\n", "") == probe["after"] != probe["before"]
