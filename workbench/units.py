"""Parse quantities with unit suffixes (``5nm``, ``100um``, ``0.2THz``) into SI floats."""

from __future__ import annotations

import math
import re

_SCALES = {
    "length": {"m": 1.0, "cm": 1e-2, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "μm": 1e-6, "nm": 1e-9, "pm": 1e-12},
    "frequency": {"hz": 1.0, "khz": 1e3, "mhz": 1e6, "ghz": 1e9, "thz": 1e12},
    "mass": {"kg": 1.0, "g": 1e-3},
    "force": {"n": 1.0},
    "pressure": {"pa": 1.0},
}
_PATTERN = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-zµμ]*)\s*$")


def parse_quantity(text: str | float, kind: str, name: str = "value") -> float:
    """``text`` as an SI float: metres for ``kind="length"``, hertz for ``kind="frequency"``, kilograms for
    ``kind="mass"`` (kg, g), newtons for ``kind="force"`` (N), pascals for ``kind="pressure"`` (Pa).

    A bare number is taken as SI. Raises ValueError naming ``name``, the accepted units and the
    value received.
    """
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        match = _PATTERN.match(str(text))
        units = _SCALES[kind]
        suffix = match.group(2).lower() if match else ""
        if match is None or (suffix and suffix not in units):
            raise ValueError(f"{name} must be a number with an optional unit ({', '.join(units)}); got {name}={text!r}")
        value = float(match.group(1)) * (units[suffix] if suffix else 1.0)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {name}={text!r}")
    return value
