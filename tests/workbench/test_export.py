"""GDSII export of THz designs: geometry read back, layer convention, run folders, bad input."""

from __future__ import annotations

import json

import gdstk
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from workbench.cli import app
from workbench.export import CELL_LAYER, GAP_LAYER, METAL_LAYER, load_thz_design, write_gds
from workbench.search import SearchConfig, search

DESIGN = {"gap": 5e-9, "thickness": 100e-9, "side_x": 100e-6, "side_y": 120e-6, "period_x": 200e-6, "period_y": 210e-6}


def _layer_area(cell: gdstk.Cell, layer: int) -> float:
    """Area of the polygons of ``layer`` in µm²."""
    return sum(p.area() for p in cell.get_polygons(layer=layer, datatype=0))


@settings(max_examples=15, deadline=None)
@given(
    gap_nm=st.integers(1, 20),
    side_x_um=st.integers(10, 500),
    side_y_um=st.integers(10, 500),
    margin_x_um=st.integers(10, 300),
    margin_y_um=st.integers(10, 300),
    nx=st.integers(1, 6),
    ny=st.integers(1, 6),
)
def test_written_file_reads_back_the_design_dimensions_and_tiles_the_cell(
    tmp_path_factory, gap_nm, side_x_um, side_y_um, margin_x_um, margin_y_um, nx, ny
):
    design = {
        "gap": gap_nm * 1e-9,
        "thickness": 100e-9,
        "side_x": side_x_um * 1e-6,
        "side_y": side_y_um * 1e-6,
        "period_x": (side_x_um + margin_x_um) * 1e-6,
        "period_y": (side_y_um + margin_y_um) * 1e-6,
    }
    path = tmp_path_factory.mktemp("gds") / "loop.gds"
    written = write_gds(design, path, (nx, ny))
    for key in ("gap", "side_x", "side_y", "period_x", "period_y", "thickness"):
        assert getattr(written, key) == pytest.approx(design[key], abs=2e-10)
    assert written.cells == (nx, ny)
    assert written.array_size == pytest.approx((nx * design["period_x"], ny * design["period_y"]), abs=2e-10)

    cells = {cell.name: cell for cell in gdstk.read_gds(str(path)).cells}
    unit = cells["LOOP_CELL"]
    cell_area = (side_x_um + margin_x_um) * (side_y_um + margin_y_um)
    perimeter = 2 * (side_x_um + side_y_um)  # centre-line perimeter P, µm
    gap_um = gap_nm * 1e-3
    assert _layer_area(unit, GAP_LAYER) == pytest.approx(gap_um * perimeter, rel=1e-6)  # the ring's area is w·P
    assert _layer_area(unit, METAL_LAYER) + _layer_area(unit, GAP_LAYER) == pytest.approx(cell_area, rel=1e-9)
    assert _layer_area(unit, CELL_LAYER) == pytest.approx(cell_area, rel=1e-12)


def test_export_of_a_finished_thz_search_writes_its_best_design(tmp_path):
    result = search(SearchConfig(agent="random", steps=64, seed=0, log_every=32, runs_root=str(tmp_path)))
    design = load_thz_design(run_dir=result.run_dir)
    assert {k: design[k] for k in DESIGN} == {k: result.best_design[k] for k in DESIGN}

    done = CliRunner().invoke(app, ["export", "gds", str(result.run_dir), "--cells", "3", "2", "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["path"] == str(result.run_dir / "design.gds")
    assert report["cells"] == [3, 2]
    assert report["gap_m"] == pytest.approx(result.best_design["gap"], abs=2e-10)
    assert report["layers"] == {"metal": METAL_LAYER, "gap": GAP_LAYER, "cell": CELL_LAYER}


def test_a_design_json_or_best_json_is_accepted(tmp_path):
    plain, wrapped = tmp_path / "plain.json", tmp_path / "best.json"
    plain.write_text(json.dumps(DESIGN))
    wrapped.write_text(json.dumps({"design": {**DESIGN, "metal": "gold", "eps_gap": 9.0}, "objective": 1.0}))
    assert load_thz_design(design_json=plain) == DESIGN
    assert load_thz_design(design_json=wrapped) == {**DESIGN, "metal": "gold", "eps_gap": 9.0}
    done = CliRunner().invoke(app, ["export", "gds", "--design", str(plain), "--cells", "2", "2"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "plain.gds").is_file()


def test_a_run_folder_without_a_thz_design_is_refused_naming_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="holds no config.json"):
        load_thz_design(run_dir=tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"kind": "acoustic"}))
    with pytest.raises(ValueError, match="kind 'acoustic', not a THz design"):
        load_thz_design(run_dir=tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"kind": "thz"}))
    with pytest.raises(ValueError, match="holds no best.json"):
        load_thz_design(run_dir=tmp_path)
    (tmp_path / "best.json").write_text(json.dumps({"design": {"gap": 5e-9, "side_x": 1e-4}}))
    with pytest.raises(ValueError, match="lacks the THz design field.s. thickness, side_y, period_x, period_y"):
        load_thz_design(run_dir=tmp_path)
    done = CliRunner().invoke(app, ["export", "gds", str(tmp_path)])
    assert done.exit_code == 2
    assert "lacks the THz design" in done.output
    assert not (tmp_path / "design.gds").exists()


def test_bad_arguments_are_refused_before_any_file_is_written(tmp_path):
    with pytest.raises(ValueError, match="exactly one of run_dir and design_json"):
        load_thz_design()
    with pytest.raises(ValueError, match=r"cells must be two integers in \[1, 10000\]; got cells=\(0, 3\)"):
        write_gds(DESIGN, tmp_path / "x" / "a.gds", (0, 3))
    with pytest.raises(ValueError, match="gap"):
        write_gds({**DESIGN, "gap": 2e-4}, tmp_path / "x" / "a.gds")
    with pytest.raises(ValueError, match="path must end in .gds"):
        write_gds(DESIGN, tmp_path / "x" / "a.oas")
    assert not (tmp_path / "x").exists()
