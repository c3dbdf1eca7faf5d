"""Notebook helpers: dependency and file checks that name the fixing command, PNG figures, the live search."""

from __future__ import annotations

import importlib.util
import json

import pytest
from matplotlib.figure import Figure

from workbench import notebook
from workbench.search import SearchConfig


def test_a_missing_notebook_package_is_named_with_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ipywidgets" else real(name, *a))
    with pytest.raises(
        ModuleNotFoundError, match=r'need ipywidgets \(the \[notebook\] extra\).*pip install -e "\.\[notebook\]"'
    ):
        notebook.require_notebook_extra()


def test_installed_extra_passes_the_check():
    notebook.require_notebook_extra()


def test_a_missing_file_names_the_command_that_creates_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="sweeps.db not found; create it with: workbench sweep run quick.yaml"):
        notebook.require_file(tmp_path / "sweeps.db", "workbench sweep run quick.yaml")
    (tmp_path / "sweeps.db").touch()
    assert notebook.require_file(tmp_path / "sweeps.db", "unused") == tmp_path / "sweeps.db"


def test_figure_png_renders_a_bare_figure_as_png():
    fig = Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1], [1, 0])
    assert notebook.figure_png(fig).startswith(b"\x89PNG\r\n\x1a\n")


def test_live_search_returns_the_search_result_and_redraws_from_metrics(tmp_path, capsys):
    config = SearchConfig(agent="random", steps=60, seed=0, log_every=20, runs_root=str(tmp_path))
    result = notebook.live_search(config, refresh_s=0.05)
    assert result.iterations == 60 and result.run_dir.parent == tmp_path
    assert result.run_dir.name.startswith("thz-live-") and result.run_dir.name.endswith("-s0")
    assert json.loads((result.run_dir / "config.json").read_text())["progress"] is False
    assert "Image" in capsys.readouterr().out  # outside a kernel, display() prints the Image objects it got


def test_live_search_re_raises_the_search_error_and_rejects_a_bad_refresh(tmp_path):
    with pytest.raises(ValueError, match="refresh_s must be positive"):
        notebook.live_search(SearchConfig(runs_root=str(tmp_path)), refresh_s=0)
    blocker = tmp_path / "not-a-folder"
    blocker.touch()  # the search cannot create its run folder below a file: it fails in the worker thread
    with pytest.raises(FileExistsError, match="not-a-folder"):
        notebook.live_search(SearchConfig(agent="random", steps=100, runs_root=str(blocker)), refresh_s=0.05)
