"""``workbench bench surrogate``: accuracy and speed of the surrogates against the Numba models, one run."""

from __future__ import annotations

import time
from typing import Any

import numba
import numpy as np
import torch

from analytic import acoustic, thz
from envs.nanogap import DesignGrid
from envs.plate_cavity import CavityGrid

from ._acoustic import AcousticSurrogate, evaluate_acoustic
from ._datasets import K_PERIODS, Dataset, config_from_settings, diffraction_frequency, sobol_indices, thz_batch
from ._thz import ThzSurrogate, evaluate_thz

BENCH_SEED = 20_261_206
"""Sobol seed of the benchmark's held-out designs (no training set uses it)."""


def _timed(fun: Any, repeats: int = 1) -> tuple[Any, float]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fun()
        best = min(best, time.perf_counter() - start)
    return out, best


def bench_thz_surrogate(surrogate: ThzSurrogate, n: int = 4096, seed: int = BENCH_SEED) -> dict[str, Any]:
    """Numba vs surrogate spectra/s on the checkpoint's band grid (batch ``n``), and accuracy on those designs.

    The Numba call computes every band point of every design (as a search would); its answers,
    masked above each design's first diffraction order, are the reference of the accuracy keys.
    """
    config = config_from_settings("thz", surrogate.metadata["env"])
    grid = DesignGrid(config)
    index = sobol_indices(grid, n, seed)
    lengths = grid.lengths(index)
    batch = thz_batch(lengths, config)
    freqs = np.asarray(surrogate.metadata["freqs"])
    physics, numba_s = _timed(lambda: thz.spectra(batch, freqs, k_periods=K_PERIODS))
    surrogate.spectra(thz_batch(lengths[:8], config), freqs)  # warm-up
    _, surrogate_s = _timed(lambda: surrogate.spectra(batch, freqs), repeats=3)
    valid = freqs[None, :] <= diffraction_frequency(lengths, config)[:, None]
    responses = {"t": np.where(valid, physics.t, 0), "r": np.where(valid, physics.r, 0), "valid": valid}
    held_out = Dataset("thz", index, lengths, freqs, responses, {"seed": seed})
    return {
        "designs": n,
        "band_points": len(freqs),
        "numba_spectra_per_s": n / numba_s,
        "surrogate_spectra_per_s": n / surrogate_s,
        "speedup": numba_s / surrogate_s,
        **evaluate_thz(surrogate, held_out),
    }


def bench_acoustic_surrogate(
    surrogate: AcousticSurrogate, n_model: int = 256, n_surrogate: int = 4096, seed: int = BENCH_SEED
) -> dict[str, Any]:
    """Numba model (J over the band, batch ``n_model``) vs surrogate (batch ``n_surrogate``) designs/s; accuracy of J.

    The model's J of the ``n_model`` designs is the reference of ``j_mae_db``, ``j_p95_db`` and ``spearman``.
    """
    config = surrogate.config
    grid = CavityGrid(config)
    index = sobol_indices(grid, max(n_model, n_surrogate), seed)
    freqs = surrogate.freqs
    small = grid.batch(index[:n_model])

    def physics() -> tuple[np.ndarray, np.ndarray]:
        response = acoustic.responses(small, freqs, config.n_plate, config.n_transverse)
        return response.lp_avg, acoustic.band_level(response)

    (lp, j_true), numba_s = _timed(physics)
    large = grid.batch(index[:n_surrogate])
    surrogate.band_level(grid.batch(index[:8]), freqs, config.n_plate, config.n_transverse)  # warm-up
    _, surrogate_s = _timed(lambda: surrogate.band_level(large, freqs, config.n_plate, config.n_transverse), 3)
    responses = {"lp_avg": lp, "j": j_true, "f1": np.ones(n_model)}
    held_out = Dataset("acoustic", index[:n_model], grid.columns(index[:n_model]), freqs, responses, {"seed": seed})
    accuracy = evaluate_acoustic(surrogate, held_out)
    return {
        "model_designs": n_model,
        "surrogate_designs": n_surrogate,
        "band_points": len(freqs),
        "numba_designs_per_s": n_model / numba_s,
        "surrogate_designs_per_s": n_surrogate / surrogate_s,
        "speedup": (n_surrogate / surrogate_s) / (n_model / numba_s),
        **{k: accuracy[k] for k in ("j_mae_db", "j_p95_db", "spearman", "lp_avg_rmse_db")},
    }


def bench_surrogates(
    thz_model: ThzSurrogate, acoustic_model: AcousticSurrogate, threads: int | None = None, **sizes: int
) -> dict[str, Any]:
    """Both benchmarks with Numba and torch on the same number of threads (default: Numba's)."""
    threads = numba.get_num_threads() if threads is None else threads
    if threads < 1 or threads > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(f"threads must be in [1, {numba.config.NUMBA_NUM_THREADS}]; got threads={threads}")
    numba.set_num_threads(threads)
    torch.set_num_threads(threads)
    return {
        "threads": threads,
        "thz": bench_thz_surrogate(thz_model, sizes.get("thz_designs", 4096)),
        "acoustic": bench_acoustic_surrogate(
            acoustic_model, sizes.get("acoustic_model_designs", 256), sizes.get("acoustic_surrogate_designs", 4096)
        ),
    }


SEARCH_DEFAULTS = {"thz": (2_000, "cmaes", 2_000), "acoustic": (1_000, "de", 2_000)}
"""Per family: (physics budget of the surrogate-assisted search, physics-only baseline agent, its budget)."""


def bench_surrogate_search(
    kind: str,
    seeds: int = 3,
    agent: str = "ddqn",
    physics_budget: int | None = None,
    baseline: str | None = None,
    baseline_steps: int | None = None,
    runs_root: str = "runs/bench-surrogate-search",
    round_steps: int | None = None,
    verify: int | None = None,
    local: int | None = None,
) -> dict[str, Any]:
    """Surrogate-assisted ``agent`` on a physics budget vs a physics-only ``baseline``, seeds 0…seeds − 1, one run.

    ``round_steps``, ``verify`` and ``local`` left as None take the family's ``ROUND_DEFAULTS``.
    Every search writes its run folder under ``runs_root``; the objective compared is the env's
    (higher is better; THz ``field_enhancement``: FE at 0.2 THz; acoustic ``quiet``: −J in dB) of
    the best physics-evaluated design of each search.
    """
    from ..search import SearchConfig, search
    from ._active import ActiveConfig, round_settings, surrogate_search

    budget, default_baseline, default_steps = SEARCH_DEFAULTS[kind]
    budget = physics_budget or budget
    baseline, baseline_steps = baseline or default_baseline, baseline_steps or default_steps
    rounds = round_settings(kind, verify, local, round_steps)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rows = []
    for seed in range(seeds):
        common = {"kind": kind, "seed": seed, "runs_root": runs_root, "progress": False}
        plain = search(
            SearchConfig(agent=baseline, steps=baseline_steps, name=f"{kind}-{baseline}-{stamp}-s{seed}", **common)
        )
        active = surrogate_search(
            ActiveConfig(
                SearchConfig(
                    agent=agent, steps=rounds["round_steps"], name=f"{kind}-surrogate-{agent}-{stamp}-s{seed}", **common
                ),
                budget,
                **rounds,
            )
        )
        rows.append(
            {
                "seed": seed,
                "physics_only_objective": plain.best_value,
                "surrogate_objective": active.best_value,
                "physics_evaluations": active.physics_evaluations,
                "surrogate_evaluations": active.surrogate_evaluations,
                "rounds": active.rounds,
                "run_dirs": [str(plain.run_dir), str(active.run_dir)],
            }
        )
    mean = {key: float(np.mean([r[key] for r in rows])) for key in ("physics_only_objective", "surrogate_objective")}
    return {
        "kind": kind,
        "agent": agent,
        "physics_budget": budget,
        **rounds,
        "baseline": baseline,
        "baseline_physics_evaluations": baseline_steps,
        "seeds": rows,
        "mean_physics_only_objective": mean["physics_only_objective"],
        "mean_surrogate_objective": mean["surrogate_objective"],
        "physics_evaluations": int(np.mean([r["physics_evaluations"] for r in rows])),
        "surrogate_evaluations": int(np.mean([r["surrogate_evaluations"] for r in rows])),
    }
