"""Benchmarks: fast path versus reference, measured in one run, written as JSON."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable

import gymnasium as gym
import numba
import numpy as np

import envs  # noqa: F401  (registers the environments)
from analytic import thz


def _best_time(fun: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fun()
        best = min(best, time.perf_counter() - start)
    return best


def machine() -> dict:
    """Threads, cores and versions of this machine, recorded with every benchmark."""
    return {
        "numba_threads": numba.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "numba": numba.__version__,
    }


def sample_geometries(n: int, seed: int = 0) -> thz.LoopArrayBatch:
    """Random loop arrays in the search space, near-square cells (gold, ε_g = 9, quartz).

    gap U(1, 20) nm, thickness U(10, 200) nm, side_x U(20, 400) µm, side_y = side_x·U(0.8, 1.25),
    period = side·U(1.3, 2.5), at most 1000 µm.
    """
    rng = np.random.default_rng(seed)
    side_x = rng.uniform(20e-6, 400e-6, n)
    side_y = side_x * rng.uniform(0.8, 1.25, n)
    return thz.LoopArrayBatch(
        gap=rng.uniform(1e-9, 20e-9, n),
        thickness=rng.uniform(10e-9, 200e-9, n),
        side_x=side_x,
        side_y=side_y,
        period_x=np.minimum(side_x * rng.uniform(1.3, 2.5, n), 1000e-6),
        period_y=np.minimum(side_y * rng.uniform(1.3, 2.5, n), 1000e-6),
    )


def bench_thz(n_geometries: int = 4096, n_reference: int = 16, spectrum_points: int = 256, repeats: int = 5) -> dict:
    """New-geometry points/s of the NumPy reference and the Numba kernel, and one 256-point spectrum.

    Each geometry is evaluated at one frequency (0.2 THz), the RL workload. The reference runs on
    the first ``n_reference`` geometries of the same sample. Compilation happens before timing;
    each figure is the best of its repeats (the reference: of two).
    """
    batch = sample_geometries(n_geometries)
    freq = np.full((n_geometries, 1), 0.2e12)
    thz.spectra(batch, freq, method="numba")  # compile or load the cache before timing
    numba_s = _best_time(lambda: thz.spectra(batch, freq, method="numba"), repeats)
    reference = thz.LoopArrayBatch.from_arrays([batch[i] for i in range(n_reference)])
    numpy_s = _best_time(lambda: thz.spectra(reference, freq[:n_reference], method="numpy"), 2)
    fast = thz.spectra(reference, freq[:n_reference], method="numba")
    slow = thz.spectra(reference, freq[:n_reference], method="numpy")
    agreement = float(np.max(np.abs(fast.t - slow.t) / np.abs(slow.t)))

    array = thz.LoopArray(5e-9, 100e-9, 100e-6, 100e-6, 200e-6, 200e-6)  # design-note regression row
    grid = np.linspace(0.05e12, 0.75e12, spectrum_points)  # below its first diffraction order, 0.77 THz
    spec_numba = _best_time(lambda: thz.spectrum(array, grid), repeats)
    spec_numpy = _best_time(lambda: thz.spectrum(array, grid, method="numpy"), 2)
    numpy_pps = n_reference / numpy_s
    numba_pps = n_geometries / numba_s
    return {
        "benchmark": "thz",
        "n_geometries": n_geometries,
        "n_reference_geometries": n_reference,
        "frequency_hz": 0.2e12,
        "numpy_points_per_s": numpy_pps,
        "numba_points_per_s": numba_pps,
        "speedup": numba_pps / numpy_pps,
        "max_relative_difference_t": agreement,
        "spectrum": {
            "points": spectrum_points,
            "numpy_s": spec_numpy,
            "numba_s": spec_numba,
            "speedup": spec_numpy / spec_numba,
        },
        "machine": machine(),
        "geometry_sampler": sample_geometries.__doc__.split("\n\n")[1].strip(),
    }


def _env_steps_per_s(venv: gym.vector.VectorEnv, vector_steps: int, seed: int) -> float:
    """Env steps/s of ``venv`` under uniformly random actions (reset and one warm-up step untimed)."""
    venv.reset(seed=seed)
    venv.action_space.seed(seed)
    actions = [venv.action_space.sample() for _ in range(vector_steps + 1)]
    venv.step(actions[0])
    start = time.perf_counter()
    for action in actions[1:]:
        venv.step(action)
    return vector_steps * venv.num_envs / (time.perf_counter() - start)


def bench_search(steps: int = 50_000, num_envs: int = 16, vector_steps: int = 1_000, seed: int = 0) -> dict:
    """End-to-end Double DQN iterations/s with the shipped defaults, and native vs Sync vector env steps/s.

    The search runs ``workbench.search.search`` with the default ``SearchConfig`` except ``steps``
    (its rate excludes start-up). The env comparison steps ``workbench/NanogapLoop-v0`` with
    ``num_envs`` sub-environments under random actions for ``vector_steps`` vector steps, once as
    the native vector env (one Numba call per step) and once as Gymnasium's ``SyncVectorEnv``
    over single envs (one Numba call per sub-environment), in the same process.
    """
    import tempfile

    from .search import SearchConfig, search

    with tempfile.TemporaryDirectory() as runs_root:
        result = search(SearchConfig(steps=steps, seed=seed, progress=False, runs_root=runs_root, name="bench"))
    native = gym.make_vec("workbench/NanogapLoop-v0", num_envs=num_envs, vectorization_mode="vector_entry_point")
    sync = gym.make_vec("workbench/NanogapLoop-v0", num_envs=num_envs, vectorization_mode="sync")
    native_rate = _env_steps_per_s(native, vector_steps, seed)
    sync_rate = _env_steps_per_s(sync, vector_steps, seed)
    return {
        "benchmark": "search",
        "ddqn": {
            "steps": result.iterations,
            "iterations_per_s": result.iterations_per_s,
            "startup_s": result.startup_s,
            "best_fe_avg": result.best["fe_avg"],
            "defaults": {k: v for k, v in vars(result.config).items() if k not in ("runs_root", "name", "env")},
        },
        "vector_env": {
            "num_envs": num_envs,
            "vector_steps": vector_steps,
            "native_env_steps_per_s": native_rate,
            "sync_env_steps_per_s": sync_rate,
            "speedup": native_rate / sync_rate,
        },
        "machine": machine(),
    }
