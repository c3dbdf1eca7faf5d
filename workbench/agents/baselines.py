"""Black-box baselines over an environment's design grid, budgeted in evaluated designs.

The RL agents and these baselines share one unit: an *evaluation* is one design proposed and
scored (repeats served from the env's cache count too, as an RL env step does). Every baseline
sees the design grid of the env core (``core.grid``: ``low``/``high`` index box, ``sample_many``,
``repair``) and scores designs with ``core.evaluate`` (one batched physics call), maximising the
env's potential (ln fe_avg for field enhancement, the score itself for the filter objective). The
core tracks the best design, so every evaluated design counts.

- ``random``: designs drawn uniformly from the valid grid designs.
- ``de``: ``scipy.optimize.differential_evolution`` on the unit box (vectorised, deferred
  updating, no polishing), restarted with a new seed whenever it converges before the budget ends.
- ``cmaes``: ``cma.CMAEvolutionStrategy`` on the unit box with IPOP restarts (population doubled
  at each restart).
- ``tpe``: Optuna's ``TPESampler`` (multivariate) over the integer grid indices, ask/tell one
  design at a time. TPE's cost per suggestion grows with the number of trials: it suits budgets of
  a few thousand evaluations, not 10⁵.

Unit-box points map to grid indices by rounding ``low + x·(high − low)``; proposals that break a
constraint are projected by ``grid.repair`` so every proposal is an evaluable design.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any, Protocol

import cma
import numpy as np
import optuna
from scipy import optimize


class _Grid(Protocol):
    low: np.ndarray
    high: np.ndarray

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray: ...

    def repair(self, index: np.ndarray) -> np.ndarray: ...


class _Core(Protocol):
    grid: _Grid

    def evaluate(self, index: np.ndarray) -> list[Any]: ...


class Budget:
    """A budgeted black box over ``core``: (n, d) grid indices → (n,) potentials to maximise.

    Args:
        core: env core with ``grid`` and ``evaluate`` (e.g. ``envs.nanogap.NanogapCore``).
        budget: evaluations allowed (≥ 1).
        report: called with the evaluations used so far after every evaluated chunk; chunks end
            on multiples of ``report_every`` so metrics rows fall on the same iterations as RL runs.
        report_every: evaluations between report boundaries.
    """

    def __init__(self, core: _Core, budget: int, report: Callable[[int], None], report_every: int) -> None:
        self.core, self.grid = core, core.grid
        self.budget, self.used = budget, 0
        self.report, self.report_every = report, report_every
        self.dim = len(self.grid.low)

    @property
    def remaining(self) -> int:
        """Evaluations left."""
        return self.budget - self.used

    def evaluate(self, index: np.ndarray) -> np.ndarray:
        """Score (n, d) indices (repaired first); only the first ``remaining`` are evaluated.

        Returns:
            (min(n, remaining),) float64 potentials.
        """
        index = self.grid.repair(np.asarray(index, dtype=np.int64)[: self.remaining])
        values = np.empty(len(index))
        start = 0
        while start < len(index):
            stop = min(len(index), start + self.report_every - self.used % self.report_every)
            values[start:stop] = [e.potential for e in self.core.evaluate(index[start:stop])]
            self.used += stop - start
            self.report(self.used)
            start = stop
        return values

    def from_unit(self, x: np.ndarray) -> np.ndarray:
        """(n, d) points of the unit box → (n, d) int64 grid indices in ``low..high``."""
        x = np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
        return np.rint(self.grid.low + x * (self.grid.high - self.grid.low)).astype(np.int64)


def random_search(box: Budget, seed: int, batch: int = 4096) -> None:
    """Evaluate designs drawn uniformly from the valid grid designs until the budget is spent."""
    rng = np.random.default_rng(seed)
    while box.remaining > 0:
        box.evaluate(box.grid.sample_many(rng, min(batch, box.remaining)))


def differential_evolution(
    box: Budget,
    seed: int,
    popsize: int = 15,
    mutation: tuple[float, float] = (0.5, 1.0),
    recombination: float = 0.7,
    strategy: str = "best1bin",
) -> None:
    """SciPy differential evolution on the unit box, restarted until the budget is spent.

    ``popsize`` is SciPy's multiplier (population = popsize · d). Each restart gets the seed
    ``seed + restart``.
    """

    def cost(x: np.ndarray) -> np.ndarray:  # x: (d, S), SciPy's vectorised layout
        out = np.full(x.shape[1], np.inf)
        values = box.evaluate(box.from_unit(x.T))
        out[: len(values)] = -values
        return out

    restart = 0
    while box.remaining > 0:
        generations = max(1, box.remaining // (popsize * box.dim))
        optimize.differential_evolution(
            cost,
            [(0.0, 1.0)] * box.dim,
            strategy=strategy,
            maxiter=generations,
            popsize=popsize,
            mutation=mutation,
            recombination=recombination,
            seed=seed + restart,
            polish=False,
            init="latinhypercube",
            updating="deferred",
            vectorized=True,
            callback=lambda *_args, **_kwargs: box.remaining <= 0,
        )
        restart += 1


def cmaes(box: Budget, seed: int, sigma0: float = 0.3, popsize: int | None = None) -> None:
    """CMA-ES (``cma`` package) on the unit box with IPOP restarts until the budget is spent."""
    rng = np.random.default_rng(seed)
    popsize = popsize or 4 + int(3 * np.log(box.dim))
    while box.remaining > 0:
        options = {
            "bounds": [0.0, 1.0],
            "popsize": popsize,
            "seed": int(rng.integers(1, 2**31 - 1)),  # cma treats seed 0 as "random"
            "verbose": -9,
            "maxfevals": box.remaining,
        }
        es = cma.CMAEvolutionStrategy(rng.uniform(0.2, 0.8, box.dim), sigma0, options)
        while not es.stop() and box.remaining > 0:
            x = np.array(es.ask())
            values = box.evaluate(box.from_unit(x))
            if len(values) < len(x):
                break
            es.tell(list(x), list(-values))
        popsize *= 2


def tpe(box: Budget, seed: int, n_startup_trials: int = 10, multivariate: bool = True) -> None:
    """Optuna TPE over the integer grid indices, one design per ask/tell, until the budget is spent."""
    optuna.logging.set_verbosity(logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials, multivariate=multivariate)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    low, high = box.grid.low, box.grid.high
    while box.remaining > 0:
        trial = study.ask()
        index = np.array([[trial.suggest_int(f"x{p}", int(low[p]), int(high[p])) for p in range(box.dim)]])
        study.tell(trial, float(box.evaluate(index)[0]))


_RUNNERS: dict[str, Callable[..., None]] = {
    "random": random_search,
    "de": differential_evolution,
    "cmaes": cmaes,
    "tpe": tpe,
}


def _integer(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int | np.integer) and not isinstance(v, bool) and low <= v <= high


def _number(low: float, high: float, open_low: bool = False, open_high: bool = False) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        if not (isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool) and np.isfinite(v)):
            return False
        return (v > low if open_low else v >= low) and (v < high if open_high else v <= high)

    return check


def _mutation(v: Any) -> bool:
    if isinstance(v, list | tuple):
        return len(v) == 2 and all(_number(0.0, 2.0, open_high=True)(x) for x in v) and v[0] <= v[1]
    return _number(0.0, 2.0, open_high=True)(v)


_DE_STRATEGIES = ("best1bin", "best1exp", "rand1bin", "rand1exp", "rand2bin", "rand2exp", "randtobest1bin")
_DE_STRATEGIES += ("randtobest1exp", "currenttobest1bin", "currenttobest1exp", "best2exp", "best2bin")
_OPTION_BOUNDS: dict[str, dict[str, tuple[Callable[[Any], bool], str]]] = {
    "random": {"batch": (_integer(1, 65_536), "an integer in [1, 65536]")},
    "de": {
        "popsize": (_integer(1, 1_000), "an integer in [1, 1000] (population = popsize · d)"),
        "mutation": (_mutation, "a number in [0, 2) or a pair (lo, hi) with 0 <= lo <= hi < 2"),
        "recombination": (_number(0.0, 1.0), "a number in [0, 1]"),
        "strategy": (lambda v: v in _DE_STRATEGIES, f"one of {', '.join(_DE_STRATEGIES)}"),
    },
    "cmaes": {
        "sigma0": (_number(0.0, 1.0, open_low=True), "a number in (0, 1] (step size on the unit box)"),
        "popsize": (lambda v: v is None or _integer(2, 10_000)(v), "None or an integer in [2, 10000]"),
    },
    "tpe": {
        "n_startup_trials": (_integer(0, 100_000), "an integer in [0, 100000]"),
        "multivariate": (lambda v: isinstance(v, bool), "a bool"),
    },
}


def check_options(name: str, options: dict[str, Any]) -> None:
    """Raise ``ValueError`` for an option baseline ``name`` does not take or a value outside its range."""
    accepted = [p for p in inspect.signature(_RUNNERS[name]).parameters if p not in ("box", "seed")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"agent_options for agent {name!r} accept {', '.join(accepted)}; got unknown option(s) {', '.join(unknown)}"
        )
    for key, value in options.items():
        check, bound = _OPTION_BOUNDS[name][key]
        if not check(value):
            raise ValueError(f"agent option {key} of agent {name!r} must be {bound}; got {key}={value!r}")


def run_baseline(name: str, box: Budget, seed: int, options: dict[str, Any]) -> None:
    """Run baseline ``name`` (one of :data:`BASELINES`) until ``box`` has spent its budget."""
    check_options(name, options)
    _RUNNERS[name](box, seed, **options)
