"""Benchmarks: fast path versus reference, measured in one run, written as JSON."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import fields

import gymnasium as gym
import numba
import numpy as np

import envs  # noqa: F401  (registers the environments)
from analytic import acoustic, thz


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
    each figure is the best of its repeats (the reference: of two). ``first_call_s`` is that first
    Numba call (compiled-kernel cache load or JIT), excluded from the rates.
    """
    batch = sample_geometries(n_geometries)
    freq = np.full((n_geometries, 1), 0.2e12)
    start = time.perf_counter()
    thz.spectra(batch, freq, method="numba")  # compile or load the cache before timing, reported apart
    first_call_s = time.perf_counter() - start
    numba_s = _best_time(lambda: thz.spectra(batch, freq, method="numba"), repeats)
    reference = thz.LoopArrayBatch.from_arrays([batch[i] for i in range(n_reference)])
    numpy_s = _best_time(lambda: thz.spectra(reference, freq[:n_reference], method="numpy"), 2)
    fast = thz.spectra(reference, freq[:n_reference], method="numba")
    slow = thz.spectra(reference, freq[:n_reference], method="numpy")
    agreement = float(np.max(np.abs(fast.t - slow.t) / np.abs(slow.t)))

    array = thz.LoopArray(5e-9, 100e-9, 100e-6, 100e-6, 200e-6, 200e-6)  # the validation row of docs/models/thz.md §3
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
        "first_call_s": first_call_s,
        "spectrum": {
            "points": spectrum_points,
            "numpy_s": spec_numpy,
            "numba_s": spec_numba,
            "speedup": spec_numpy / spec_numba,
        },
        "machine": machine(),
        "geometry_sampler": sample_geometries.__doc__.split("\n\n")[1].strip(),
    }


def sample_cavities(n: int, n_masses: int = 0, seed: int = 0) -> acoustic.CavityBatch:
    """Random 3D plate-backed cavities in the design space of docs/models/acoustic.md §2.5.

    Material aluminium/steel/polymer at random, thickness U(0.5, 5) mm, lx, ly U(0.3, 1) m, lz
    U(0.2, 1) m, η_s U(0.001, 0.05), η_a U(0.005, 0.05), a 1 N point force at U(0.1, 0.9)·(lx, ly),
    and ``n_masses`` point masses of U(0, 5) % of the plate mass each at U(0.1, 0.9)·(lx, ly).
    """
    rng = np.random.default_rng(seed)
    names = list(acoustic.MATERIALS)
    materials = [acoustic.MATERIALS[names[k]] for k in rng.integers(0, len(names), n)]
    size = np.stack([rng.uniform(0.3, 1.0, n), rng.uniform(0.3, 1.0, n), rng.uniform(0.2, 1.0, n)], axis=1)
    thickness = rng.uniform(0.5e-3, 5e-3, n)
    density = np.array([m.density for m in materials])
    plate_mass = density * thickness * size[:, 0] * size[:, 1]
    return acoustic.CavityBatch(
        size=size,
        thickness=thickness,
        youngs_modulus=[m.youngs_modulus for m in materials],
        density=density,
        poisson=[m.poisson for m in materials],
        plate_loss=rng.uniform(0.001, 0.05, n),
        air_loss=rng.uniform(0.005, 0.05, n),
        force=1.0,
        force_position=size[:, :2] * rng.uniform(0.1, 0.9, (n, 2)),
        mass=plate_mass[:, None] * rng.uniform(0.0, 0.05, (n, n_masses)),
        mass_position=size[:, None, :2] * rng.uniform(0.1, 0.9, (n, n_masses, 2)),
    )


def bench_acoustic(
    n_designs: int = 16,
    n_freqs: int = 128,
    n_reference: int = 32,
    n_modes: int = 12,
    repeats: int = 3,
    env_vector_steps: int = 2,
    fe_h: float = 0.025,
) -> dict:
    """Frequency points/s of the depth-exact plate–cavity model: NumPy reference vs the Numba batch kernel.

    3D, ``n_modes``×``n_modes`` plate modes and as many transverse cavity modes (the benchmark
    configuration is 12×12 × 12×12), without and with 4 point masses. The Numba path evaluates
    ``n_designs`` designs × ``n_freqs`` frequencies (20–400 Hz) in one ``acoustic.responses`` call
    (the RL workload); the reference evaluates the first ``n_reference`` of the same points (design
    0 first, at most ``n_freqs`` frequencies). Compilation happens before timing; each figure is the best of its repeats (the
    reference: of two). The relative difference is over the points both paths evaluated. ``env`` holds
    :func:`bench_acoustic_env` with ``n_designs`` sub-environments and ``env_vector_steps`` vector steps;
    ``finite_element`` holds :func:`bench_acoustic_fe` on an ``fe_h`` grid. ``first_call_s`` per case
    is the first Numba call (compiled-kernel cache load or JIT), excluded from the rates.
    """
    freqs = np.linspace(20.0, 400.0, n_freqs)
    ref_freqs = freqs[: min(n_reference, n_freqs)]
    n_ref_designs = min(n_designs, -(-n_reference // n_freqs))
    counts = {"n_plate": n_modes, "n_transverse": n_modes}
    cases = {}
    for label, n_masses in (("no_masses", 0), ("4_masses", 4)):
        batch = sample_cavities(n_designs, n_masses)
        start = time.perf_counter()
        acoustic.responses(batch, freqs[:2], **counts)  # compile or load the cache before timing, reported apart
        first_call_s = time.perf_counter() - start
        numba_s = _best_time(lambda b=batch: acoustic.responses(b, freqs, **counts), repeats)
        ref_batch = acoustic.CavityBatch(**{f.name: getattr(batch, f.name)[:n_ref_designs] for f in fields(batch)})
        numpy_s = _best_time(lambda b=ref_batch: acoustic.responses(b, ref_freqs, method="numpy", **counts), 2)
        fast = acoustic.responses(ref_batch, ref_freqs, **counts).mean_square_pressure
        slow = acoustic.responses(ref_batch, ref_freqs, method="numpy", **counts).mean_square_pressure
        numpy_pps = slow.size / numpy_s
        numba_pps = n_designs * n_freqs / numba_s
        cases[label] = {
            "numpy_points_per_s": numpy_pps,
            "numba_points_per_s": numba_pps,
            "speedup": numba_pps / numpy_pps,
            "max_relative_difference": float(np.max(np.abs(fast / slow - 1.0))),
            "first_call_s": first_call_s,
        }
    return {
        "benchmark": "acoustic",
        "dimension": 3,
        "plate_modes": [n_modes, n_modes],
        "transverse_modes": [n_modes, n_modes],
        "n_designs": n_designs,
        "n_freqs": n_freqs,
        "n_reference_points": n_reference,
        "band_hz": [20.0, 400.0],
        "cases": cases,
        "goals_points_per_s_2_cores": {"no_masses": 10_000, "4_masses": 2_000},
        "env": bench_acoustic_env(n_designs, env_vector_steps),
        "finite_element": bench_acoustic_fe(fe_h),
        "machine": machine(),
        "design_sampler": " ".join(sample_cavities.__doc__.split("\n\n")[1].split()),
    }


def bench_acoustic_fe(h: float = 0.025) -> dict:
    """Time per frequency of the finite-element reference vs the analytic model, same 3D cavity.

    Aluminium 2 mm on 0.5 × 0.4 × 0.3 m, η_s = η_a = 0.01, 1 N point force, grid spacing ``h`` (m);
    the analytic figure is one design at 128 frequencies with its default (converged) mode counts.
    BLAS threads are recorded because they change the FE timing by up to 50× on a loaded machine.
    """
    from analytic.acoustic import Air, Plate, PlateCavity, PointForce
    from workbench.reference import fe_time_per_frequency

    cavity = PlateCavity((0.5, 0.4, 0.3), Plate.of("aluminium", 2e-3, loss_factor=0.01), Air(loss_factor=0.01))
    timing = fe_time_per_frequency(cavity, h=h)
    freqs = np.linspace(20.0, 400.0, 128)
    force = PointForce(1.0, (0.155, 0.13))
    acoustic.response(cavity, freqs[:2], force)  # compile or load the cache before timing
    analytic_s = _best_time(lambda: acoustic.response(cavity, freqs, force), 3) / freqs.size
    return {
        "cavity": "aluminium 2 mm, 0.5 x 0.4 x 0.3 m",
        "h_m": h,
        "dofs": timing.dofs,
        "method": timing.method,
        "fe_seconds_per_frequency": timing.seconds_per_frequency,
        "fe_setup_seconds": timing.setup_seconds,
        "analytic_seconds_per_frequency": analytic_s,
        "fe_over_analytic": timing.seconds_per_frequency / analytic_s,
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
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


def bench_acoustic_env(num_envs: int = 16, vector_steps: int = 2, seed: int = 0) -> dict:
    """Env steps/s of the quiet objective: ``workbench/PlateCavity-v0`` with its default config, cache off.

    One env step = one design evaluated over the whole band (601 frequencies, 20–400 Hz, 8×8 plate
    × 8×8 transverse modes, four point masses); the native vector env evaluates ``num_envs`` of them
    in one ``acoustic.responses`` call per vector step, under uniformly random actions.
    """
    venv = gym.make_vec(
        "workbench/PlateCavity-v0", num_envs=num_envs, vectorization_mode="vector_entry_point", cache_size=0
    )
    core = venv.unwrapped.core
    return {
        "objective": "quiet",
        "num_envs": num_envs,
        "vector_steps": vector_steps,
        "band_points": len(core.freqs),
        "modes": [core.config.n_plate, core.config.n_transverse],
        "env_steps_per_s": _env_steps_per_s(venv, vector_steps, seed),
    }


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
