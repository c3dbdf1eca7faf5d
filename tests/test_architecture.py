"""The import structure the design relies on: one-way layers, public names across packages, no cycles.

``analytic`` (physics) → ``envs`` (Gymnasium) → ``workbench`` (learning and orchestration): nothing
imports upwards, a package uses another package's public names only, and no module-level import
chain leads back to where it started (a cycle would hand some module a half-initialised other).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("analytic", "envs", "workbench")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


MODULES = _modules()


def _top_level_imports(name: str, path: Path) -> set[str]:
    """Modules imported when ``name`` is executed: module-level statements only (lazy imports excluded)."""
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = ".".join(base[: len(base) - node.level + 1])
                module = f"{anchor}.{node.module}" if node.module else anchor
            else:
                module = node.module or ""
            for alias in node.names:  # `from pkg import sub` imports the submodule pkg.sub
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in MODULES else module)
    return {m for m in found if m.split(".")[0] in PACKAGES}


GRAPH = {name: _top_level_imports(name, path) for name, path in MODULES.items()}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_layers_point_one_way_and_use_public_names(name):
    layer = PACKAGES.index(name.split(".")[0])
    for target in GRAPH[name]:
        assert PACKAGES.index(target.split(".")[0]) <= layer, f"{name} imports the upper layer {target}"
        if target.split(".")[0] != name.split(".")[0]:
            private = [part for part in target.split(".")[1:] if part.startswith("_")]
            assert not private, f"{name} imports the private module {target} of another package"


def test_no_module_level_import_cycle():
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(GRAPH.get(name, ())):
            if state.get(target) == 1:
                cycle = path[path.index(target) :] + [target]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if target in GRAPH and state.get(target) is None:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(GRAPH):
        if state.get(name) is None:
            visit(name, [name])


def test_configs_families_and_sweep_specs_load_without_torch():
    code = (
        "import sys\n"
        "import workbench.search, workbench.families, workbench.sweeps, workbench.agents\n"
        "workbench.search.SearchConfig(kind='toy', agent='random', steps=10)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
