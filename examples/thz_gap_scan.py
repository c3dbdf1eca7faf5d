"""Scan the gap width of the validation loop array (docs/models/thz.md §3) and plot resonance and field enhancement.

Run: ``python examples/thz_gap_scan.py [--out runs/examples/gap_scan.png]``. Each gap costs one
resonance search (a 256-point scan plus a Brent refinement) through the Numba kernel.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from analytic import thz  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/examples/gap_scan.png"))
    args = parser.parse_args()
    gaps = np.array([1, 2, 3, 5, 8, 12, 20]) * 1e-9
    rows = []
    for gap in gaps:
        array = thz.LoopArray(gap, 100e-9, 100e-6, 100e-6, 200e-6, 200e-6)
        res = thz.resonance(array, 0.02e12, 0.7e12)
        rows.append((res.frequency, res.t_abs, res.fe_avg))
        print(
            f"w = {gap * 1e9:4.0f} nm: f_res = {res.frequency / 1e12:.4f} THz, |t| = {res.t_abs:.3f}, FE_avg = {res.fe_avg:,.0f}"
        )
    f_res, _, fe = np.array(rows).T
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    ax.plot(gaps * 1e9, f_res / 1e12, "o-", color="tab:blue")
    ax.set_xlabel("gap width w (nm)")
    ax.set_ylabel("resonance (THz)", color="tab:blue")
    twin = ax.twinx()
    twin.plot(gaps * 1e9, fe, "s--", color="tab:red")
    twin.set_ylabel("FE_avg at resonance (incident-field normalised)", color="tab:red")
    ax.set_title("Au loops, h = 100 nm, 100 µm sides, 200 µm period, quartz")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(f"plot: {args.out}")


if __name__ == "__main__":
    main()
