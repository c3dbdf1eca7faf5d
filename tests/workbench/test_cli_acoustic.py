"""The ``workbench acoustic`` commands and ``workbench bench acoustic`` (typer CliRunner, small inputs)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from workbench.cli import app
from workbench.units import parse_quantity

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_acoustic_modes_json_reproduces_the_2d_benchmark():
    out = invoke("acoustic", "modes", "--size", "50cm,0.4", "--thickness", "2mm", "--count", "4", "--json")
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert payload["coupled_hz"] == pytest.approx([41.02, 77.12, 175.09, 309.9], rel=2e-3)
    assert payload["plate_in_vacuo_hz"][0] == pytest.approx(19.57, abs=0.01)
    assert payload["rigid_cavity_hz"][:2] == pytest.approx([343.0, 428.75], abs=0.01)


def test_acoustic_response_json_with_force_mass_and_plot(tmp_path):
    png = tmp_path / "lp.png"
    args = ["acoustic", "response", "--size", "0.5,0.4,0.3", "--force", "1N@0.1,0.12", "--mass", "50g@0.2,0.3"]
    out = invoke(*args, "--points", "16", "--plot", str(png), "--json")
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert len(payload["lp_avg_db"]) == 16 and payload["added_mass"] == pytest.approx(0.05)
    assert payload["lp_mean_db"] < payload["lp_band_db"] <= payload["peak"]["lp_avg_db"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    louder = json.loads(invoke(*args, "--points", "16", "--json", "--force", "2N@0.1,0.12").stdout)
    assert louder["lp_band_db"] > payload["lp_band_db"]


def test_acoustic_response_table_for_a_plane_wave_on_a_2d_strip():
    out = invoke("acoustic", "response", "--size", "0.5,0.4", "--plane-wave", "1Pa", "--points", "8")
    assert out.exit_code == 0, out.output
    assert "L_p,avg" in out.stdout and "peak" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "0.5,0.4", "--force", "1N@0.1,0.2"], "VALUE@X on a 2D cavity"),
        (["--size", "0.5,0.4,0.3", "--force", "1N@0.6,0.2"], "0 < x < 0.5 m"),
        (["--size", "0.5,0.4,0.3"], "at least one --force"),
        (["--size", "0.5,0.4,0.3", "--plane-wave", "1Pa", "--fmin", "500Hz"], "need 0 < fmin < fmax"),
        (["--size", "0.5,0.4,0.3", "--plane-wave", "1Pa", "--material", "wood"], "material must be one of"),
        (["--size", "0.5,0.4,0.3", "--plane-wave", "1Pa", "--mass", "1lb@0.1,0.1"], "mass must be a number"),
    ],
)
def test_acoustic_response_rejects_bad_input_with_exit_code_2(args, message):
    out = invoke("acoustic", "response", *args)
    assert out.exit_code == 2
    assert message in " ".join(out.output.split())


def test_bench_acoustic_writes_json_with_both_cases_and_hooks(tmp_path):
    path = tmp_path / "bench.json"
    out = invoke(
        "bench", "acoustic", "--designs", "2", "--freqs", "4", "--reference", "2", "--out", str(path), "--json"
    )
    assert out.exit_code == 0, out.output
    result = json.loads(path.read_text())
    assert set(result["cases"]) == {"no_masses", "4_masses"}
    for row in result["cases"].values():
        assert row["numba_points_per_s"] > 0 and row["max_relative_difference"] < 1e-9
    assert result["plate_modes"] == [12, 12]
    fe = result["finite_element"]
    assert fe["fe_seconds_per_frequency"] > 0 and fe["dofs"] > 1000
    assert fe["analytic_seconds_per_frequency"] > 0
    assert result["env"]["env_steps_per_s"] > 0 and result["env"]["band_points"] == 602


def test_units_parse_the_acoustic_quantities():
    assert parse_quantity("50g", "mass") == pytest.approx(0.05)
    assert parse_quantity("2kg", "mass") == 2.0
    assert parse_quantity("3N", "force") == 3.0
    assert parse_quantity("0.5Pa", "pressure") == 0.5
    assert parse_quantity("12cm", "length") == pytest.approx(0.12)
