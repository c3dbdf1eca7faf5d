"""Scripted examples run end to end, as users run them (CleanRL-style subprocess smoke tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gap_scan_example_prints_resonances_and_writes_its_plot(tmp_path):
    out = tmp_path / "scan.png"
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "thz_gap_scan.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("f_res") == 7
    assert out.stat().st_size > 10_000
