"""The fuzz of the public physics API (``python -m tests.analytic.fuzz``) at a CI-sized count.

The full run (1,000 trials per family) is a command, see the module docstring of ``fuzz``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CI_COUNT = 60


@pytest.mark.parametrize("family", ["thz", "acoustic"])
def test_fuzz_finds_no_crash_hang_nan_or_active_result(family):
    command = [sys.executable, "-m", "tests.analytic.fuzz", "--family", family, "--count", str(CI_COUNT), "--json"]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    summary = json.loads(out.stdout)
    assert summary["bad"] == 0, summary["failures"]
    assert sum(summary["counts"].values()) == CI_COUNT
    assert summary["counts"].get("ok", 0) >= CI_COUNT // 5  # valid inputs are exercised, not only rejections
    assert out.returncode == 0


def test_fuzz_counts_hangs_aborts_and_exceptions_and_resumes_after_each():
    command = [sys.executable, "-m", "tests.analytic.fuzz", "--family", "self-test", "--count", "8", "--json"]
    command += ["--timeout", "3", "--startup", "30"]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    summary = json.loads(out.stdout)
    assert summary["counts"] == {"abort": 2, "exception": 2, "hang": 2, "ok": 2}
    assert [f["index"] for f in summary["failures"]] == [1, 2, 3, 5, 6, 7]
    assert out.returncode == 1
