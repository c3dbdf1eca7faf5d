"""Fuzz the public physics API of ``analytic`` with random inputs, each trial isolated from crashes.

Usage (from the repository root)::

    python -m tests.analytic.fuzz --family thz --count 1000 --seed 2026
    python -m tests.analytic.fuzz --family acoustic --count 1000 --seed 2026 --json

Families (``self-test`` checks the harness itself): ``thz`` and ``acoustic`` draw every argument of one public entry point at random, about
8 % of them edge values (NaN, ±inf, 0, negatives, 1e±300, denormals, exact bounds and values just
past them, wrong types); ``thz-extreme`` draws only valid THz inputs pinned at their bounds (the
kernel hammer). Trial i of a seed always draws the same inputs, whatever ran before it.

The trials run in a worker subprocess that reports one outcome per line; a worker that dies
(segfault, abort) counts an ``abort`` and one that stops reporting for ``--timeout`` seconds counts a
``hang``; a fresh worker then resumes with the next trial. Outcomes: ``ok`` (finite results, and
passive: T + R ≤ 1 for THz, transmission losses ≥ 0 for acoustics), ``value_error`` (the expected
rejection), ``nonfinite``, ``non_passive``, ``exception`` (any other exception type), ``abort``,
``hang``. The exit status is 1 when any trial is neither ``ok`` nor ``value_error``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import selectors
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable

import numpy as np

EDGE_RATE = 0.08
PASSIVITY_SLACK = 1e-9
GOOD = ("ok", "value_error")
EDGES = (
    0.0,
    -0.0,
    -1.0,
    math.nan,
    math.inf,
    -math.inf,
    1e-300,
    1e300,
    5e-324,
    -1e-310,
    1e308,
    10**400,
    "1",
    None,
    True,
    1 + 1j,
)


class Draw:
    """Random argument values for one trial; ``edge`` replaces a value by an edge value at EDGE_RATE."""

    def __init__(self, rng: np.random.Generator, edges: bool = True, index: int = 0) -> None:
        self.rng = rng
        self.edges = edges
        self.index = index

    def edge(self, value: object, low: float | None = None, high: float | None = None) -> object:
        if not self.edges or self.rng.random() >= EDGE_RATE:
            return value
        pool = list(EDGES)
        if low is not None and high is not None:  # exact bounds and the floats just past them
            pool += [low, high, math.nextafter(low, -math.inf), math.nextafter(high, math.inf)]
        return pool[self.rng.integers(len(pool))]

    def log(self, low: float, high: float, slack: float = 3.0) -> object:
        """Log-uniform in [low/slack, high·slack] (a little past the accepted range), maybe an edge."""
        value = float(np.exp(self.rng.uniform(np.log(low / slack), np.log(high * slack))))
        return self.edge(value, low, high)

    def uniform(self, low: float, high: float) -> object:
        return self.edge(float(self.rng.uniform(low, high)), low, high)

    def integer(self, low: int, high: int) -> object:
        return self.edge(int(self.rng.integers(low, high + 1)), low, high)

    def choice(self, options: list) -> object:
        return self.edge(options[self.rng.integers(len(options))])

    def bound(self, low: float, high: float) -> float:
        """One of: the lower bound, the upper bound, a log-uniform value between (extreme valid input)."""
        pick = self.rng.integers(3)
        return low if pick == 0 else high if pick == 1 else float(np.exp(self.rng.uniform(np.log(low), np.log(high))))


def _finite(*arrays: object) -> bool:
    return all(np.all(np.isfinite(np.asarray(a))) for a in arrays)


# --- THz -------------------------------------------------------------------------------------------


def _thz_trial(draw: Draw) -> str:
    from analytic import thz

    geometry = dict(
        gap=draw.log(1e-9, 1e-6),
        thickness=draw.log(1e-8, 1e-6),
        side_x=draw.log(1e-6, 1e-3),
        side_y=draw.log(1e-6, 1e-3),
    )
    for side, period in (("side_x", "period_x"), ("side_y", "period_y")):
        base = geometry[side] if isinstance(geometry[side], float) else 1e-4
        geometry[period] = draw.edge(base * float(draw.rng.uniform(1.0, 3.0)), 1e-7, 2e-2)
    materials = dict(
        eps_gap=draw.edge(complex(draw.rng.uniform(1, 12), draw.rng.choice([0.0, draw.rng.uniform(0, 5)]))),
        eps_substrate=draw.choice([1.0, 3.8, 11.7, 2.0 + 0.1j]),
        metal=draw.choice(["gold", "silver", "copper", "aluminium", "pec", "gold"]),
    )
    if draw.rng.random() < 0.1:
        materials["metal"] = thz.Drude(draw.log(1e15, 3e16), draw.log(1e13, 2e14))
    entry = int(draw.rng.integers(4))
    n_freq = int(draw.rng.integers(1, 6))
    freqs = [draw.log(5e10, 3e12) for _ in range(n_freq)]
    if entry == 0:
        array = thz.LoopArray(**geometry, **materials)
        spec = thz.spectrum(array, freqs, k_periods=draw.choice([40.0, 40.0, 20.0, 80.0]))
    elif entry == 1:
        array = thz.LoopArray(**geometry, **materials)
        res = thz.resonance(array, draw.log(5e10, 2e11), draw.log(3e11, 3e12), points=draw.integer(3, 64))
        return "ok" if _finite(res.frequency, res.t_abs, res.fe_avg, res.fe_peak) else "nonfinite"
    elif entry == 2:
        n = int(draw.rng.integers(1, 4))
        columns = {k: [v if i == 0 else draw.edge(v) for i in range(n)] for k, v in geometry.items()}
        batch = thz.LoopArrayBatch(**columns, **materials)
        grid = freqs if draw.rng.random() < 0.5 else [[draw.log(5e10, 3e12)] for _ in range(n)]
        spec = thz.spectra(batch, grid)
    else:
        array = thz.LoopArray(**geometry, **materials)
        spec = thz.spectrum(array, freqs[:2], method="numpy")
    return _thz_verdict(spec)


def _thz_verdict(spec: object) -> str:
    fields = ("t", "r", "transmittance", "reflectance", "fe_avg", "fe_peak", "fe_avg_substrate_normalised")
    if not _finite(*(getattr(spec, name) for name in fields)):
        return "nonfinite"
    if np.any(spec.transmittance + spec.reflectance > 1.0 + PASSIVITY_SLACK):  # type: ignore[attr-defined]
        return "non_passive"
    return "ok"


def _thz_extreme_trial(draw: Draw) -> str:
    """Valid inputs pinned at the bounds: the largest lattice, the smallest gaps, thick films, high |ε|."""
    from analytic import thz
    from analytic.thz._model import frequency_limit

    while True:  # valid by construction; redrawn only when no frequency of [1e9, 1e14] Hz is accepted
        gap = draw.bound(1e-10, 1e-6)
        side_x, side_y = draw.bound(max(2 * gap, 1e-7), 1e-2), draw.bound(max(2 * gap, 1e-7), 1e-2)
        period_x = draw.bound(max(side_x + 2 * gap, (side_y + 2 * gap) / 999.0), 2e-2)
        period_y = draw.bound(max(side_y + 2 * gap, period_x / 999.0), min(2e-2, 999.0 * period_x))
        ratio = max(period_x, period_y) / min(period_x, period_y)
        k_periods = min(draw.bound(2.0, 200.0), 1e4 / ratio)
        eps_gap = complex(draw.bound(1.0, 1e4), 0.0) if draw.rng.random() < 0.5 else complex(5e3, 5e3)
        array = thz.LoopArray(
            gap,
            draw.bound(1e-9, 1e-3),
            side_x,
            side_y,
            period_x,
            period_y,
            eps_gap=eps_gap,
            eps_substrate=draw.bound(1.0, 1e4),
            metal=draw.choice(["gold", "pec", "aluminium"]),
        )
        top = float(frequency_limit(thz.LoopArrayBatch.from_arrays([array]), k_periods)[0])
        if top >= 1e9:
            break
    freqs = [1e9, top, draw.bound(1e9, top)]
    return _thz_verdict(thz.spectrum(array, freqs, k_periods=k_periods))


# --- acoustics -------------------------------------------------------------------------------------


def _acoustic_trial(draw: Draw) -> str:
    from analytic import acoustic

    dim = 3 if draw.rng.random() < 0.6 else 2
    size = tuple(draw.log(0.2, 1.0, 2.0) for _ in range(dim))
    plate = acoustic.Plate(
        draw.log(5e-4, 5e-3),
        draw.log(3e9, 2.1e11),
        draw.log(1200.0, 7850.0),
        draw.uniform(0.2, 0.4),
        draw.uniform(0.0, 0.05),
    )
    air = acoustic.Air(draw.log(1.0, 1.3), draw.log(300.0, 360.0), draw.uniform(0.0, 0.05))
    entry = int(draw.rng.integers(8))
    if entry == 7:
        return _companion_trial(draw, acoustic, plate, air)
    cavity = acoustic.PlateCavity(size, plate, air)
    lengths = [s if isinstance(s, float) else 0.5 for s in size]
    position = tuple(draw.edge(float(draw.rng.uniform(0.05, 0.95)) * length) for length in lengths[:-1])
    force = acoustic.PointForce(draw.edge(1.0), position) if dim == 3 else acoustic.LineForce(1.0, position[0])
    freqs = [draw.log(20.0, 500.0) for _ in range(int(draw.rng.integers(1, 5)))]
    counts = dict(n_plate=draw.integer(2, 10), n_transverse=draw.integer(2, 10))
    if entry == 0:
        res = acoustic.response(cavity, freqs, force, **counts)
    elif entry == 1:
        masses = [acoustic.PointMass(draw.log(0.01, 1.0), position if dim == 3 else position[0])]
        res = acoustic.response(cavity, freqs, [force, acoustic.PlaneWave(draw.edge(1.0))], masses, **counts)
    elif entry == 2:
        monopole = acoustic.Monopole(
            draw.edge(1e-3), tuple(draw.edge(float(draw.rng.uniform(0.0, 1.0)) * length) for length in lengths)
        )
        res = acoustic.response(cavity, freqs, monopole, n_plate=4, n_transverse=4, n_depth=draw.integer(4, 24))
    elif entry == 3:
        batch = acoustic.CavityBatch.from_cavities([cavity, cavity], [force, acoustic.PlaneWave(1.0)])
        out = acoustic.responses(batch, freqs, **counts)
        return "ok" if _finite(out.mean_square_pressure, out.lp_avg, out.energy) else "nonfinite"
    elif entry == 4:
        modes = acoustic.coupled_modes(cavity, draw.integer(1, 6), n_plate=4, n_transverse=4)
        return "ok" if _finite(modes) and np.all(modes > 0) else "nonfinite"
    elif entry == 5:
        per_axis = draw.integer(2, 6)
        modes = acoustic.coupled_modes_full(cavity, draw.integer(1, 6), n_plate=4, n_cavity=per_axis)
        return "ok" if _finite(modes) else "nonfinite"
    else:
        modes = acoustic.cavity_modes(size, air, draw.integer(1, 50))
        return "ok" if _finite(modes) and np.all(modes > 0) else "nonfinite"
    return "ok" if _finite(res.mean_square_pressure, res.lp_avg, res.energy, res.displacement) else "nonfinite"


def _companion_trial(draw: Draw, acoustic: object, plate: object, air: object) -> str:
    freqs = [draw.log(20.0, 1e4) for _ in range(int(draw.rng.integers(1, 4)))]
    pick = int(draw.rng.integers(5))
    if pick == 0:
        values = [acoustic.coincidence_frequency(plate, air)]  # type: ignore[attr-defined]
    elif pick == 1:
        values = [acoustic.double_wall_resonance(draw.log(1.0, 20.0), draw.log(1.0, 20.0), draw.log(0.01, 0.2), air)]  # type: ignore[attr-defined]
    elif pick == 2:
        values = [
            acoustic.helmholtz_resonator_frequency(draw.log(1e-4, 1e-2), draw.log(0.01, 0.1), draw.log(5e-3, 0.03), air)
        ]  # type: ignore[attr-defined]
    elif pick == 3:
        panel = plate if draw.rng.random() < 0.5 else draw.log(0.5, 50.0)
        incidence = draw.choice(["normal", "diffuse"])
        tl = acoustic.panel_transmission_loss(panel, freqs, incidence, air, draw.uniform(30.0, 85.0))  # type: ignore[attr-defined]
        return ("ok" if np.all(tl >= -PASSIVITY_SLACK) else "non_passive") if _finite(tl) else "nonfinite"
    else:
        tl = acoustic.side_branch_transmission_loss(  # type: ignore[attr-defined]
            freqs,
            draw.log(1e-4, 1e-2),
            draw.log(0.01, 0.1),
            draw.log(5e-3, 0.03),
            draw.log(1e-3, 0.1),
            air,
            resistance=draw.log(0.1, 100.0),
        )
        return ("ok" if np.all(tl >= -PASSIVITY_SLACK) else "non_passive") if _finite(tl) else "nonfinite"
    return "ok" if _finite(values) else "nonfinite"


def _self_test_trial(draw: Draw) -> str:
    """Checks the harness itself: trial i is ok, hangs, aborts or raises RuntimeError as i % 4 = 0, 1, 2, 3."""
    kind = draw.index % 4
    if kind == 1:
        time.sleep(3600.0)
    elif kind == 2:
        os.abort()
    elif kind == 3:
        raise RuntimeError("self-test")
    return "ok"


FAMILIES: dict[str, tuple[Callable[[Draw], str], bool]] = {
    "thz": (_thz_trial, True),
    "thz-extreme": (_thz_extreme_trial, False),
    "acoustic": (_acoustic_trial, True),
    "self-test": (_self_test_trial, False),
}


def run_trial(family: str, seed: int, index: int) -> tuple[str, str]:
    """(outcome, detail) of trial ``index``; the inputs depend only on (family, seed, index)."""
    trial, edges = FAMILIES[family]
    draw = Draw(np.random.default_rng([seed, index, sorted(FAMILIES).index(family)]), edges, index)
    try:
        with np.errstate(all="ignore"):
            return trial(draw), ""
    except ValueError:
        return "value_error", ""
    except Exception as error:  # noqa: BLE001 - counting every other exception is the point
        return "exception", f"{type(error).__name__}: {error}"[:300]


def _worker(family: str, seed: int, start: int, stop: int) -> None:
    for index in range(start, stop):
        outcome, detail = run_trial(family, seed, index)
        print(json.dumps({"index": index, "outcome": outcome, "detail": detail}), flush=True)


def fuzz(family: str, count: int, seed: int, timeout: float, startup: float = 120.0) -> dict:
    """Run ``count`` trials of ``family`` in worker subprocesses; return the outcome counts and failures.

    A trial hangs when no result comes within ``timeout`` s (``timeout + startup`` for the first trial
    of a worker, which also pays the imports and the compiled-kernel cache)."""
    counts: Counter[str] = Counter()
    failures: list[dict] = []
    index = 0
    started = time.perf_counter()
    while index < count:
        command = [sys.executable, "-m", "tests.analytic.fuzz", "--worker", "--family", family]
        command += ["--seed", str(seed), "--start", str(index), "--count", str(count)]
        env = dict(os.environ, PYTHONFAULTHANDLER="1")
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        fd = proc.stdout.fileno()  # type: ignore[union-attr]
        selector = selectors.DefaultSelector()
        selector.register(fd, selectors.EVENT_READ)
        pending = b""  # bytes read but not yet split into lines: select() cannot see them
        limit = timeout + startup
        while index < count:
            if b"\n" not in pending:
                if not selector.select(limit):
                    proc.kill()
                    counts["hang"] += 1
                    failures.append({"index": index, "outcome": "hang", "detail": f"no result in {limit:g} s"})
                    index += 1
                    break
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    proc.wait()
                    counts["abort"] += 1
                    failures.append({"index": index, "outcome": "abort", "detail": f"exit status {proc.returncode}"})
                    index += 1
                    break
                pending += chunk
                continue
            line, pending = pending.split(b"\n", 1)
            result = json.loads(line)
            counts[result["outcome"]] += 1
            if result["outcome"] not in GOOD:
                failures.append(result)
            index = result["index"] + 1
            limit = timeout
        selector.close()
        proc.kill()
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
    return {
        "family": family,
        "count": count,
        "seed": seed,
        "edge_rate": EDGE_RATE if FAMILIES[family][1] else 0.0,
        "counts": dict(sorted(counts.items())),
        "bad": sum(v for k, v in counts.items() if k not in GOOD),
        "failures": failures[:20],
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", choices=sorted(FAMILIES), required=True)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one trial may take (hang)")
    parser.add_argument("--startup", type=float, default=120.0, help="extra seconds for a worker's first trial")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.family, args.seed, args.start, args.count)
        return 0
    summary = fuzz(args.family, args.count, args.seed, args.timeout, args.startup)
    if args.json:
        print(json.dumps(summary, indent=2, allow_nan=False))
    else:
        print(f"{summary['family']}: {summary['count']} trials, seed {summary['seed']}, {summary['seconds']} s")
        for outcome, n in summary["counts"].items():
            print(f"  {outcome:12s} {n}")
        for failure in summary["failures"]:
            print(f"  trial {failure['index']}: {failure['outcome']} {failure['detail']}")
    return 1 if summary["bad"] else 0


if __name__ == "__main__":
    sys.exit(main())
