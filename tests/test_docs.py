"""The documentation stays inside the repository: no pointer outside it, every section reference resolves."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile("shared" + r"/design|design" + r"[ _-]note", re.IGNORECASE)  # split so this file does not match
SECTION_REF = re.compile(r"docs/(models/\w+\.md)\s+§(\d+(?:\.\d+)?)")
HEADING = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", re.MULTILINE)


def _text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    suffixes = {".py", ".md", ".ipynb", ".yaml", ".yml", ".toml", ".cfg", ".txt"}
    return [ROOT / name for name in listed.splitlines() if Path(name).suffix in suffixes and (ROOT / name).is_file()]


def test_no_file_points_to_notes_outside_the_repository():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _text_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def test_every_section_reference_names_a_numbered_heading_of_its_page():
    sections = {
        page: set(HEADING.findall((ROOT / "docs" / page).read_text(encoding="utf-8")))
        for page in ("models/thz.md", "models/acoustic.md")
    }
    found = []
    for path in _text_files():
        for page, section in SECTION_REF.findall(path.read_text(encoding="utf-8")):
            found.append((path, page, section))
            assert section in sections[page], (
                f"{path.relative_to(ROOT)} cites docs/{page} §{section}, not a heading there"
            )
    assert found  # the code does cite the model pages
