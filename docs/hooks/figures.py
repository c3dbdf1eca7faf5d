"""MkDocs hook: draws the validation figures of the model pages from the models themselves.

Runs before every build (``make docs``), writing ``docs/figures/*.png`` (not committed), so the
plots always show what the current code computes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from analytic import acoustic, thz
from workbench import reference

# κ and ℓ of the thin-film resonance rule (docs/models/thz.md §2.8).
_KAPPA, _ELL = 1.15, 6.0


def _thz_validation_spectrum(path: Path) -> None:
    gold = thz.LoopArray(gap=5e-9, thickness=100e-9, side_x=100e-6, side_y=100e-6, period_x=200e-6, period_y=200e-6)
    pec = thz.LoopArray(
        gap=1e-6,
        thickness=0.1e-6,
        side_x=50e-6,
        side_y=50e-6,
        period_x=100e-6,
        period_y=100e-6,
        eps_gap=1.0,
        eps_substrate=1.0,
        metal="pec",
    )
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    for ax, array, (lo, hi), title in (
        (fig.add_subplot(1, 2, 1), gold, (0.05e12, 0.4e12), "gold, 5 nm gap, 100 nm film, 100 µm loop, 200 µm period"),
        (fig.add_subplot(1, 2, 2), pec, (0.5e12, 2.5e12), "PEC, 1 µm gap, 50 µm loop, 100 µm period, free-standing"),
    ):
        freqs = np.linspace(lo, min(hi, 0.999 * array.diffraction_frequency), 400)
        spec = thz.spectrum(array, freqs)
        res = thz.resonance(array, freqs[0], freqs[-1])
        ax.plot(freqs / 1e12, spec.t_abs, color="tab:blue")
        ax.set_xlabel("frequency (THz)")
        ax.set_ylabel("|t00|", color="tab:blue")
        twin = ax.twinx()
        twin.semilogy(freqs / 1e12, spec.fe_avg, color="tab:red")
        twin.set_ylabel("FE_avg", color="tab:red")
        ax.axvline(res.frequency / 1e12, color="0.5", ls="--", lw=0.8)
        ax.set_title(
            f"{title}\nf_res {res.frequency / 1e12:.4f} THz, |t| {res.t_abs:.3f}, FE_avg {res.fe_avg:,.0f}", fontsize=8
        )
    fig.savefig(path, dpi=110)


def _thz_resonance_rule(path: Path) -> None:
    gaps = np.array([2, 3, 5, 7, 10, 14, 20]) * 1e-9
    fig = Figure(figsize=(6.5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    for thickness, color in ((50e-9, "tab:blue"), (100e-9, "tab:red"), (200e-9, "tab:green")):
        full, rule = [], []
        for gap in gaps:
            array = thz.LoopArray(
                gap=gap, thickness=thickness, side_x=100e-6, side_y=100e-6, period_x=200e-6, period_y=200e-6
            )
            full.append(thz.resonance(array, 0.02e12, 0.999 * array.diffraction_frequency).frequency)
            eps_mean = (complex(array.eps_superstrate).real + complex(array.eps_substrate).real) / 2
            n_eff = np.sqrt(eps_mean + np.pi / (2 * _ELL) * complex(array.eps_gap).real * thickness / gap)
            rule.append(_KAPPA * thz.C0 / (n_eff * 4 * 100e-6))
        ax.plot(gaps * 1e9, np.array(full) / 1e12, "o-", color=color, label=f"model, h = {thickness * 1e9:.0f} nm")
        ax.plot(gaps * 1e9, np.array(rule) / 1e12, "--", color=color, label="rule of thumb")
    ax.set_xlabel("gap w (nm)")
    ax.set_ylabel("resonance (THz)")
    ax.set_title("square gold loops, 100 µm side, 200 µm period, ε_g = 9, on quartz", fontsize=9)
    ax.legend(fontsize=7, ncol=3)
    fig.savefig(path, dpi=110)


def _acoustic_validation(path: Path) -> None:
    cavity = acoustic.PlateCavity((0.5, 0.4), acoustic.Plate.of("aluminium", 2e-3))
    coupled = acoustic.coupled_modes(cavity, 9)
    fe_modes = reference.fe_coupled_modes_extrapolated(cavity, 9, h=0.01).freqs
    lossy = acoustic.PlateCavity(
        (0.5, 0.4), acoustic.Plate.of("aluminium", 2e-3, loss_factor=0.01), acoustic.Air(loss_factor=0.01)
    )
    force = acoustic.LineForce(1.0, 0.31 * 0.5)
    freqs = np.geomspace(20, 600, 400)
    analytic_lp = acoustic.response(lossy, freqs, force).lp_avg
    fe_lp = reference.fe_response_extrapolated(lossy, freqs, force, h=0.01).lp_avg
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    left.plot(coupled, np.abs(fe_modes - coupled) / coupled, "o", color="tab:red")
    left.set_yscale("log")
    left.set_xlabel("coupled natural frequency (Hz)")
    left.set_ylabel("|FE − analytic| / analytic")
    left.set_title("2D benchmark: coupled modes, FE Richardson over h = 10 and 5 mm", fontsize=8)
    right.semilogx(freqs, analytic_lp, color="tab:blue", label="analytic, depth-exact")
    right.semilogx(freqs, fe_lp, "k--", lw=0.9, label="finite elements (Richardson)")
    right.xaxis.set_minor_formatter(NullFormatter())
    right.set_xlabel("frequency (Hz)")
    right.set_ylabel("L_p,avg (dB re 20 µPa)")
    right.set_title(f"forced response, η = 0.01; max difference {np.abs(fe_lp - analytic_lp).max():.2f} dB", fontsize=8)
    right.legend(fontsize=8)
    fig.savefig(path, dpi=110)


def on_pre_build(config, **kwargs) -> None:
    out = Path(config["docs_dir"]) / "figures"
    out.mkdir(exist_ok=True)
    _thz_validation_spectrum(out / "thz_validation_spectrum.png")
    _thz_resonance_rule(out / "thz_resonance_rule.png")
    _acoustic_validation(out / "acoustic_validation.png")
