"""Fixtures shared by the workbench tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def kill_at_checkpoint(tmp_path: Path) -> Callable[[list[str], Path, str, int], int]:
    """``kill(command, run_dir, counter, at_least)``: run ``command``, kill -9 it once ``run_dir``'s
    ``checkpoint.json`` holds ``counter`` ≥ ``at_least`` (at most 300 s), and return the committed counter.
    The process's output goes to a file (a pipe could fill and block it) that a failed wait shows."""

    def kill(command: list[str], run_dir: Path, counter: str, at_least: int) -> int:
        pointer = run_dir / "checkpoint.json"
        output = tmp_path / "stderr.txt"
        with open(output, "w") as log:
            proc = subprocess.Popen(command, stdout=log, stderr=log)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                if pointer.is_file() and json.loads(pointer.read_text())[counter] >= at_least:
                    break
                assert proc.poll() is None, output.read_text()
                time.sleep(0.02)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        return json.loads(pointer.read_text())[counter]

    return kill
