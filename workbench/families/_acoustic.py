"""The ``"acoustic"`` family: plate-backed cavities (``envs.plate_cavity``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from analytic import acoustic
from envs.plate_cavity import CavityGrid, PlateCavityConfig, cavity_from_design

from ..plots import plot_acoustic_response
from ._family import Family

_PLOT_RANGE = (0.5, 1.25)
"""The response plot spans these multiples of (f_lo, f_hi) of the band."""


def _validate(config: dict[str, Any]) -> CavityGrid:
    """The design grid of ``config``; ``ValueError`` (naming the key) unless it builds an env with a valid design."""
    return CavityGrid(PlateCavityConfig.from_mapping(config))


def _report(
    env_config: dict[str, Any], run_dir: Path, design: dict[str, Any]
) -> tuple[dict[str, Any], acoustic.Response]:
    """Re-evaluate the best plate cavity with the NumPy reference and plot L_p,avg into ``run_dir/response.png``.

    Returns:
        ``(best, response)``: the ``best.json`` entries and the reference response over the band.
        ``best`` holds ``lp_band_db`` (J of the env's mode set, NumPy reference),
        ``lp_band_double_modes_db`` (J with twice the plate and transverse modes per axis: the
        truncation check), ``f1_hz`` (``acoustic.coupled_modes`` with the env's modes),
        ``total_mass_kg``, ``mass_budget_kg``, ``band_hz``, ``band_points``, ``modes``,
        ``target_frequency_hz`` and the ``band_rule``; the search adds ``design`` and ``objective``.
    """
    env = PlateCavityConfig.from_mapping(env_config)
    cavity, force, masses = cavity_from_design(design)
    modes = {"n_plate": env.n_plate, "n_transverse": env.n_transverse}
    freqs = env.band_frequencies
    check = acoustic.response(cavity, freqs, force, masses, **modes, method="numpy")
    doubled = acoustic.response(
        cavity, freqs, force, masses, n_plate=2 * env.n_plate, n_transverse=2 * env.n_transverse
    )
    f1 = float(acoustic.coupled_modes(cavity, 1, **modes, masses=masses)[0])
    lo, hi = env.band
    wide = dataclasses.replace(env, band=(_PLOT_RANGE[0] * lo, _PLOT_RANGE[1] * hi)).band_frequencies
    lp_band = float(acoustic.band_level(check))
    total = cavity.plate_mass + sum(m.mass for m in masses)
    title = (
        f"{design['material']} {design['thickness'] * 1e3:.2f} mm, {cavity.lx:.2f}×{cavity.ly:.2f}×{cavity.lz:.2f} m, "
        f"{len(masses)} masses {sum(m.mass for m in masses):.2f} kg, total {total:.2f} kg; J = {lp_band:.2f} dB"
    )
    plot_acoustic_response(
        acoustic.response(cavity, wide, force, masses, **modes),
        run_dir / "response.png",
        env.band,
        f1=f1,
        target=env.target_frequency if env.objective == "tune" else None,
        title=title,
    )
    best = {
        "lp_band_db": lp_band,
        "lp_band_double_modes_db": float(acoustic.band_level(doubled)),
        "f1_hz": f1,
        "total_mass_kg": total,
        "mass_budget_kg": CavityGrid(env).budget,
        "band_hz": list(env.band),
        "band_points": len(freqs),
        "modes": modes,
        "target_frequency_hz": env.target_frequency,
        "band_rule": "J = trapezoid rule in f of L_p,avg over a geometric grid with spacing <= min(eta_s, eta_a)*f/"
        f"{env.points_per_bandwidth:g}, divided by (f_hi - f_lo)",
    }
    return best, check


ACOUSTIC = Family(
    env_ids=("workbench/PlateCavity-v0", "workbench/PlateCavityContinuous-v0"),
    default_target=60.0,
    default_objective="quiet",
    validate=_validate,
    report=_report,
    physics=lambda env_config: acoustic.ModalModel(),
    units={
        "thickness": (1e3, "mm"),
        "youngs_modulus": (1e-9, "GPa"),
        "density": (1.0, "kg/m³"),
        "force": (1.0, "N"),
        **{name: (1.0, "m") for name in ("lx", "ly", "lz", "force_x", "force_y")},
        **{f"mass_{p}": (1e3, "g") for p in range(1, 5)},
        **{f"mass_{p}_{axis}": (1.0, "m") for p in range(1, 5) for axis in "xy"},
        **{name: (1.0, "dB") for name in ("lp_band_db", "lp_band_double_modes_db")},
        **{name: (1.0, "Hz") for name in ("f1_hz", "target_frequency_hz")},
        **{name: (1.0, "kg") for name in ("total_mass_kg", "mass_budget_kg")},
    },
)
"""Plate-backed cavities: objectives ``quiet`` (band level J) and ``tune`` (first coupled frequency)."""
