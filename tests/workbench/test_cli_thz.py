"""The ``workbench`` CLI for THz spectra and the THz benchmark, run as a user would (subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict

import pytest

from workbench.agents import DDQNSettings
from workbench.units import parse_quantity

WORKBENCH = [sys.executable, "-m", "workbench.cli"]


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*WORKBENCH, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_thz_spectrum_prints_resonance_as_json_and_writes_a_plot(tmp_path):
    png = tmp_path / "spectrum.png"
    out = run(
        "thz",
        "spectrum",
        "--gap",
        "5nm",
        "--thickness",
        "100nm",
        "--side",
        "100um",
        "--period",
        "200um",
        "--fmin",
        "0.05THz",
        "--fmax",
        "500GHz",
        "--points",
        "64",
        "--json",
        "--plot",
        str(png),
    )
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["resonance"]["frequency_hz"] == pytest.approx(0.125e12, rel=0.02)
    assert payload["resonance"]["fe_avg"] == pytest.approx(2.9e3, rel=0.05)
    assert payload["array"]["side_y"] == pytest.approx(100e-6)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_thz_spectrum_table_output_names_the_resonance():
    out = run(
        "thz",
        "spectrum",
        "--gap",
        "1um",
        "--thickness",
        "0.1um",
        "--side",
        "50um",
        "--side-y",
        "60um",
        "--period",
        "100um",
        "--period-y",
        "110um",
        "--metal",
        "pec",
        "--eps-gap",
        "1",
        "--fmin",
        "0.5THz",
        "--fmax",
        "1.5THz",
        "--points",
        "32",
    )
    assert out.returncode == 0, out.stderr
    assert "resonance" in out.stdout and "THz" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gap", "5 parsecs"], "gap must be a number with an optional unit"),
        (["--gap", "100um"], "gap must be smaller than side_x"),
        (["--metal", "unobtainium"], "metal must be one of"),
        (["--fmin", "0.05"], "fmin needs a unit (Hz, kHz, MHz, GHz or THz)"),
        (["--fmax", "1e12"], "fmax needs a unit"),
        (["--points", "100000000"], "points must lie in [3, 100000]; got points=100000000"),
        (["--fmax", "100THz"], "fmin and fmax must lie in [1 GHz, 7.69 THz] for this array"),
        (["--eps-gap", "1e300"], "|eps_gap| <= 10000"),
        (["--period", "100.001um"], "period_x must exceed side_x + gap"),
    ],
)
def test_thz_spectrum_rejects_bad_input_with_a_clear_message(args, message):
    base = {"--gap": "5nm", "--thickness": "100nm", "--side": "100um", "--period": "200um"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    out = run("thz", "spectrum", *[item for pair in base.items() for item in pair])
    assert out.returncode == 2
    assert message in " ".join(out.stderr.split())
    assert "Traceback" not in out.stderr


def test_bench_thz_json_reports_points_per_second_and_ratio(tmp_path):
    path = tmp_path / "bench.json"
    out = run("bench", "thz", "--geometries", "64", "--reference", "2", "--json", "--out", str(path))
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["numba_points_per_s"] > payload["numpy_points_per_s"] > 0
    assert set(payload["spectrum"]) >= {"points", "numpy_s", "numba_s", "speedup"}
    assert payload["max_relative_difference_t"] < 1e-8
    assert json.loads(path.read_text())["n_geometries"] == 64


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("5nm", "length", 5e-9),
        ("100 um", "length", 1e-4),
        ("2µm", "length", 2e-6),
        ("1.5e-3", "length", 1.5e-3),
        ("0.2THz", "frequency", 2e11),
        ("250GHz", "frequency", 2.5e11),
        ("3e11", "frequency", 3e11),
    ],
)
def test_quantities_parse_with_unit_suffixes(text, kind, value):
    assert parse_quantity(text, kind) == pytest.approx(value, rel=1e-12)


def test_unknown_units_are_rejected():
    with pytest.raises(ValueError, match="fmin must be a number with an optional unit"):
        parse_quantity("3 furlongs", "frequency", "fmin")


def test_bench_search_json_reports_ddqn_rate_and_vector_env_ratio(tmp_path):
    path = tmp_path / "bench.json"
    out = run("bench", "search", "--steps", "600", "--vector-steps", "20", "--json", "--out", str(path))
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload == json.loads(path.read_text()) | {"json_path": str(path)}
    assert payload["ddqn"]["steps"] >= 600 and payload["ddqn"]["iterations_per_s"] > 0
    vec = payload["vector_env"]
    assert (vec["num_envs"], vec["vector_steps"]) == (16, 20)  # the timed work is what was asked for
    assert vec["native_env_steps_per_s"] > 0 and vec["sync_env_steps_per_s"] > 0
    defaults = payload["ddqn"]["defaults"]
    assert defaults["agent"] == "ddqn" and defaults["agent_options"] == json.loads(json.dumps(asdict(DDQNSettings())))


def _strict(text: str) -> dict:
    """json.loads that refuses NaN and Infinity (not JSON)."""

    def refuse(name: str) -> float:
        raise ValueError(f"non-JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_thz_spectrum_json_holds_the_whole_curve_in_si_units_and_timings_apart():
    args = ["--gap", "5nm", "--thickness", "100nm", "--side", "100um", "--period", "200um"]
    out = run("thz", "spectrum", *args, "--fmin", "0.05THz", "--fmax", "0.5THz", "--points", "16", "--json")
    assert out.returncode == 0, out.stderr
    payload = _strict(out.stdout)
    curve = payload["spectrum"]
    assert curve["freqs_hz"][0] == pytest.approx(0.05e12) and curve["freqs_hz"][-1] == pytest.approx(0.5e12)
    for name in ("t_abs", "transmittance", "reflectance", "fe_avg", "fe_peak", "above_diffraction"):
        assert len(curve[name]) == 16, name
    assert all(t + r <= 1 + 1e-9 for t, r in zip(curve["transmittance"], curve["reflectance"]))
    assert {"compute_warm_s", "first_call_s", "import_s"} <= payload.keys() and "elapsed_s" not in payload
    assert all(payload[key] >= 0 for key in ("compute_warm_s", "first_call_s", "import_s"))


def test_thz_spectrum_table_prints_lengths_in_nm_and_um_and_the_warm_time():
    out = run("thz", "spectrum", "--gap", "5nm", "--thickness", "100nm", "--side", "100um", "--period", "200um")
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "gap 5 nm" in text and "film 100 nm" in text and "100 µm × 100 µm" in text and "200 µm" in text
    assert "computed in (warm)" in text and "first call, imports" in text


def test_bench_thz_rejects_sizes_beyond_its_caps():
    out = run("bench", "thz", "--geometries", "1000000000")
    assert out.returncode == 2 and "geometries must lie in [1, 1000000]" in " ".join(out.stderr.split())


def test_emit_json_refuses_nan_instead_of_printing_it(capsys):
    import typer

    from workbench.cli import _emit_json

    with pytest.raises(typer.Exit):
        _emit_json({"value": float("nan")})
    assert "NaN" not in capsys.readouterr().out
