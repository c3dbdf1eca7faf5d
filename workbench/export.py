"""Export of THz nanogap-loop designs as GDSII layouts (``workbench export gds``).

Layer convention (datatype 0 everywhere; user unit 1 µm, database precision 0.1 nm):

=====  ===========  ==========================================================================
layer  name         content
=====  ===========  ==========================================================================
1      ``METAL``    the metal film of one unit cell: the cell with the loop's outer edge cut
                    out, and the island inside the loop (two polygons)
2      ``GAP``      the nanogap: a closed rectangular ring of width ``gap`` centred on the loop
                    centre-line of sides ``side_x`` × ``side_y`` (the model's loop geometry)
3      ``CELL``     the unit-cell boundary, ``period_x`` × ``period_y`` (drawing aid only)
=====  ===========  ==========================================================================

METAL and GAP together tile the unit cell exactly. The file holds two cells: ``LOOP_CELL``, one
unit cell centred on the origin, and ``LOOP_ARRAY``, an ``nx`` × ``ny`` array reference of it
with pitch (``period_x``, ``period_y``), lower-left cell centred on the origin. The GDS
structure fixes only the in-plane layout; the film thickness (m) is GDS property 1 of the
layer-3 boundary polygon, and it and the materials are repeated in a text label on layer 3 (GDSII has no thickness).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gdstk

from analytic import thz

__all__ = [
    "CELL_LAYER",
    "GAP_LAYER",
    "LENGTH_FIELDS",
    "METAL_LAYER",
    "GdsExport",
    "load_thz_design",
    "write_gds",
]

METAL_LAYER = 1
"""GDS layer of the metal film."""
GAP_LAYER = 2
"""GDS layer of the nanogap ring."""
CELL_LAYER = 3
"""GDS layer of the unit-cell boundary and the label."""
LENGTH_FIELDS = ("gap", "thickness", "side_x", "side_y", "period_x", "period_y")
"""Design keys a THz design must hold (m)."""

_UNIT = 1e-6  # user unit: 1 µm
_PRECISION = 1e-10  # database unit: 0.1 nm
_MAX_CELLS = 10_000
_THICKNESS_ATTRIBUTE = 1  # GDS property attribute of the CELL-layer boundary: the film thickness (m, as text)


@dataclass(frozen=True)
class GdsExport:
    """What was written, measured by reading the file back.

    Attributes:
        path: the GDSII file.
        cells: (nx, ny) unit cells in the array.
        gap, side_x, side_y, period_x, period_y: dimensions measured in the file, m (gap from the
            ring's area divided by its centre-line perimeter; sides from the ring's outer and
            inner bounding boxes; periods from the array pitch).
        array_size: (width, height) of the array's bounding box, m.
        thickness: film thickness of the design, m (a cell property, not geometry).
    """

    path: Path
    cells: tuple[int, int]
    gap: float
    side_x: float
    side_y: float
    period_x: float
    period_y: float
    array_size: tuple[float, float]
    thickness: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (SI units, the path as a string)."""
        return {
            "path": str(self.path),
            "cells": list(self.cells),
            "gap_m": self.gap,
            "side_x_m": self.side_x,
            "side_y_m": self.side_y,
            "period_x_m": self.period_x,
            "period_y_m": self.period_y,
            "array_size_m": list(self.array_size),
            "thickness_m": self.thickness,
        }


def load_thz_design(run_dir: str | Path | None = None, design_json: str | Path | None = None) -> dict[str, Any]:
    """The best THz design of a search run folder, or a design from a JSON file.

    Args:
        run_dir: a ``workbench search thz`` run folder (reads ``best.json`` and ``config.json``).
        design_json: a JSON file holding either a design mapping (``gap``, ``thickness``,
            ``side_x``, ``side_y``, ``period_x``, ``period_y`` in m, optional materials) or a
            ``best.json`` (the mapping under ``"design"``). Exactly one of the two is given.

    Returns:
        ``thz.LoopArray`` keyword arguments (SI units), validated by ``thz.LoopArray``.

    Raises:
        ValueError: both or neither source given; the folder or file is missing, not JSON, holds
            an acoustic search or lacks a length field (the message names what is missing).
    """
    if (run_dir is None) == (design_json is None):
        raise ValueError(
            f"give exactly one of run_dir and design_json; got run_dir={run_dir!r}, design_json={design_json!r}"
        )
    if run_dir is not None:
        folder = Path(run_dir)
        if not folder.is_dir():
            raise ValueError(f"run_dir must be a search run folder; got run_dir={str(folder)!r} (not a directory)")
        if not (folder / "config.json").is_file():
            raise ValueError(f"{folder} is not a search run folder: it holds no config.json")
        config = _read_json(folder / "config.json", "config.json")
        kind = config.get("kind") if isinstance(config, dict) else None
        if kind != "thz":
            raise ValueError(
                f"{folder} holds a search of kind {kind!r}, not a THz design; GDS export needs a `workbench search "
                "thz` run folder"
            )
        best_path = folder / "best.json"
        if not best_path.is_file():
            raise ValueError(
                f"{folder} holds no best.json (the THz design); the search has not finished: resume it with "
                f"`workbench search thz --resume {folder}`"
            )
        source, payload = str(best_path), _read_json(best_path, "best.json")
    else:
        source, payload = str(design_json), _read_json(Path(design_json), "design JSON")
    design = payload.get("design", payload) if isinstance(payload, dict) else None
    if not isinstance(design, dict):
        raise ValueError(f"{source} must hold a JSON object with the design (or a 'design' object); got {payload!r}")
    missing = [name for name in LENGTH_FIELDS if name not in design]
    if missing:
        raise ValueError(f"{source} lacks the THz design field(s) {', '.join(missing)} (m); it holds {sorted(design)}")
    allowed = {*LENGTH_FIELDS, "eps_gap", "eps_substrate", "eps_superstrate", "metal"}
    design = {key: value for key, value in design.items() if key in allowed}
    thz.LoopArray(**design)  # validates lengths and materials with messages naming the field
    return design


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise ValueError(f"{what} not found: {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} {path} is not valid JSON: {error}") from None


def _rectangle(width: float, height: float, layer: int) -> gdstk.Polygon:
    return gdstk.rectangle((-width / 2, -height / 2), (width / 2, height / 2), layer=layer)


def _ring(outer: gdstk.Polygon, inner: gdstk.Polygon, layer: int) -> list[gdstk.Polygon]:
    return gdstk.boolean(outer, inner, "not", precision=_PRECISION / _UNIT / 10, layer=layer)


def write_gds(design: Mapping[str, Any], path: str | Path, cells: tuple[int, int] = (10, 10)) -> GdsExport:
    """Write the unit cell and an ``nx`` × ``ny`` array of a nanogap-loop design as GDSII, then check it.

    Args:
        design: ``thz.LoopArray`` keyword arguments, SI units (``load_thz_design`` returns one).
        path: the ``.gds`` file to write (parent folders are created).
        cells: (nx, ny), integers in [1, 10000].

    Returns:
        The dimensions measured by reading the written file back with gdstk.

    Raises:
        ValueError: an invalid design or cell count (before anything is written).
        RuntimeError: a dimension read back differs from the design by more than the database
            precision (0.1 nm).
    """
    if len(cells) != 2 or not all(
        isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= _MAX_CELLS for n in cells
    ):
        raise ValueError(f"cells must be two integers in [1, {_MAX_CELLS}]; got cells={tuple(cells)!r}")
    array = thz.LoopArray(**design)
    path = Path(path)
    if path.suffix.lower() != ".gds":
        raise ValueError(f"path must end in .gds; got path={str(path)!r}")
    um = {name: getattr(array, name) / _UNIT for name in LENGTH_FIELDS}
    w, sx, sy, px, py = um["gap"], um["side_x"], um["side_y"], um["period_x"], um["period_y"]

    unit = gdstk.Cell("LOOP_CELL")
    cell_outline = _rectangle(px, py, METAL_LAYER)
    outer, inner = _rectangle(sx + w, sy + w, METAL_LAYER), _rectangle(sx - w, sy - w, METAL_LAYER)
    unit.add(*_ring(cell_outline, outer, METAL_LAYER), inner)
    unit.add(*_ring(outer, inner, GAP_LAYER))
    boundary = _rectangle(px, py, CELL_LAYER)
    boundary.set_gds_property(_THICKNESS_ATTRIBUTE, f"{array.thickness!r}")
    unit.add(boundary)
    label = (
        f"gap {array.gap * 1e9:g} nm, film {array.thickness * 1e9:g} nm, loop {sx:g} x {sy:g} um, "
        f"period {px:g} x {py:g} um, metal {array.metal if isinstance(array.metal, str) else 'Drude'}, "
        f"eps_gap {array.eps_gap}"
    )
    unit.add(gdstk.Label(label, (-px / 2, -py / 2), layer=CELL_LAYER))
    top = gdstk.Cell("LOOP_ARRAY")
    top.add(gdstk.Reference(unit, (0, 0), columns=cells[0], rows=cells[1], spacing=(px, py)))
    library = gdstk.Library("WORKBENCH_NANOGAP_LOOP", unit=_UNIT, precision=_PRECISION)
    library.add(unit, top)
    path.parent.mkdir(parents=True, exist_ok=True)
    library.write_gds(str(path))
    return _check(path, array, cells)


def _check(path: Path, array: thz.LoopArray, cells: tuple[int, int]) -> GdsExport:
    """Read ``path`` back and compare its geometry with ``array`` to the database precision."""
    library = gdstk.read_gds(str(path), unit=_UNIT)
    by_name = {cell.name: cell for cell in library.cells}
    unit, top = by_name["LOOP_CELL"], by_name["LOOP_ARRAY"]
    ring = unit.get_polygons(layer=GAP_LAYER, datatype=0)
    if not ring:
        raise RuntimeError(f"{path}: no polygon on the gap layer {GAP_LAYER}")
    (x0, y0), (x1, y1) = _bbox(ring)
    # The ring's outer box is (l_x + w) × (l_y + w) and its area 2w(l_x + l_y) = 2w(O_x + O_y − 2w): solve for w.
    outer_x, outer_y, area = x1 - x0, y1 - y0, sum(p.area() for p in ring)
    total = outer_x + outer_y
    gap = (total - math.sqrt(max(total**2 - 4.0 * area, 0.0))) / 4.0
    (ref,) = top.references
    boundary = next(p for p in unit.polygons if p.layer == CELL_LAYER)
    (ax0, ay0), (ax1, ay1) = top.bounding_box()
    measured = GdsExport(
        path=path,
        cells=(ref.repetition.columns, ref.repetition.rows),
        gap=gap * _UNIT,
        side_x=(outer_x - gap) * _UNIT,
        side_y=(outer_y - gap) * _UNIT,
        period_x=ref.repetition.spacing[0] * _UNIT,
        period_y=ref.repetition.spacing[1] * _UNIT,
        array_size=((ax1 - ax0) * _UNIT, (ay1 - ay0) * _UNIT),
        thickness=float(boundary.get_gds_property(_THICKNESS_ATTRIBUTE).rstrip("\x00")),  # GDS pads to even length
    )
    expected = {
        "gap": array.gap,
        "side_x": array.side_x,
        "side_y": array.side_y,
        "period_x": array.period_x,
        "period_y": array.period_y,
        "thickness": array.thickness,
    }
    wrong = {
        k: (getattr(measured, k), v) for k, v in expected.items() if not abs(getattr(measured, k) - v) <= 2 * _PRECISION
    }
    size = (cells[0] * array.period_x, cells[1] * array.period_y)
    if measured.cells != tuple(cells) or any(abs(a - b) > 2 * _PRECISION for a, b in zip(measured.array_size, size)):
        wrong["array"] = (measured.cells, measured.array_size, cells, size)
    if wrong:
        raise RuntimeError(f"{path}: dimensions read back differ from the design (read, expected): {wrong}")
    return measured


def _bbox(polygons: list[gdstk.Polygon]) -> tuple[tuple[float, float], tuple[float, float]]:
    boxes = [p.bounding_box() for p in polygons]
    return (min(b[0][0] for b in boxes), min(b[0][1] for b in boxes)), (
        max(b[1][0] for b in boxes),
        max(b[1][1] for b in boxes),
    )
