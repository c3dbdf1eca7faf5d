"""A compressed surrogate in the search loop: surrogate-assisted searches served by the fp32 surrogate
and by its quantized copy, same seeds and physics budget, both verified by the physics.

Each search is ``workbench.surrogates.surrogate_search``: a fresh surrogate is trained on half the
physics budget, the agent searches it, the best designs it visited are verified by the physics and
the surrogate is refit, until the budget is spent. In the compressed arm, the agent and the
ranking read the surrogate quantized after every (re)fit (post-training quantization on Sobol
designs of the design space), while refits keep training the fp32 weights. The compared value is
the objective of the best physics-verified design (THz ``field_enhancement``: FE at the target
frequency; acoustic ``quiet``: −J, dB).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ._quant import QuantSpec
from ._surrogate import KINDS, Surrogate, calibration_inputs, compress_surrogate

LOOP_DEFAULTS = {"thz": (1_000, 100, 5_000, "cmaes"), "acoustic": (600, 50, 2_000, "ddqn")}
"""Per kind: (physics budget, designs verified per round, agent iterations per round, agent), sized for a 2-core machine."""


def quantizer(method: str, bits: int, calib: int, iters: int, seed: int) -> Callable[[Surrogate], Surrogate]:
    """The ``serve`` map of the compressed arm: ``method`` at ``bits`` per channel, calibrated on ``calib`` designs."""

    def serve(surrogate: Surrogate) -> Surrogate:
        inputs = calibration_inputs(surrogate, calib, seed)
        return compress_surrogate(surrogate, method, QuantSpec(bits=bits), inputs, iters=iters, seed=seed)[0]

    return serve


def compare_in_loop(
    kind: str,
    seeds: int = 3,
    method: str = "flexround",
    bits: int = 4,
    physics_budget: int | None = None,
    verify: int | None = None,
    round_steps: int | None = None,
    agent: str | None = None,
    calib: int = 1024,
    iters: int = 300,
    runs_root: str = "runs/bench-compress-search",
    env: dict[str, Any] | None = None,
    num_envs: int = 16,
    log: Callable[[str], None] = print,
    **active: Any,
) -> dict[str, Any]:
    """fp32-served vs compressed-served surrogate-assisted search, seeds 0…seeds − 1 (module docstring).

    ``physics_budget``, ``verify``, ``round_steps`` and ``agent`` default to :data:`LOOP_DEFAULTS`; ``env``
    and ``num_envs`` go to every ``SearchConfig``, ``active`` (e.g. ``epochs``, ``width``) to
    every ``ActiveConfig``. Returns per seed the best verified objective of each arm, the difference (THz: relative, %
    of the fp32 FE; acoustic: dB of J, positive when the compressed arm found a quieter design)
    and the run folders, plus the means.
    """
    from ..search import SearchConfig
    from ..surrogates import ActiveConfig, surrogate_search

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got kind={kind!r}")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be an integer >= 1; got seeds={seeds!r}")
    QuantSpec(bits=bits)  # validates bits before anything runs
    default_budget, default_verify, default_steps, default_agent = LOOP_DEFAULTS[kind]
    agent = agent or default_agent
    budget = physics_budget or default_budget
    verify = verify or default_verify
    round_steps = round_steps or default_steps
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rows = []
    for seed in range(seeds):
        row: dict[str, Any] = {"seed": seed}
        for arm, serve in (("fp32", None), (f"{method}{bits}", quantizer(method, bits, calib, iters, seed))):
            search = SearchConfig(
                kind=kind,
                agent=agent,
                seed=seed,
                runs_root=runs_root,
                progress=False,
                name=f"{kind}-{arm}-{stamp}-s{seed}",
                env=dict(env or {}),
                num_envs=num_envs,
            )
            config = ActiveConfig(search, budget, round_steps=round_steps, verify=verify, **active)
            start = time.perf_counter()
            result = surrogate_search(config, serve=serve)
            row[arm] = {
                "objective": result.best_value,
                "physics_evaluations": result.physics_evaluations,
                "surrogate_evaluations": result.surrogate_evaluations,
                "rounds": result.rounds,
                "seconds": time.perf_counter() - start,
                "run_dir": str(result.run_dir),
            }
            log(f"{kind} seed {seed} {arm}: best verified objective {result.best_value:.6g}")
        fp32, quant = row["fp32"]["objective"], row[f"{method}{bits}"]["objective"]
        row["difference"] = 100.0 * (quant - fp32) / abs(fp32) if kind == "thz" else quant - fp32
        rows.append(row)
    diffs = [r["difference"] for r in rows]
    return {
        "kind": kind,
        "method": method,
        "bits": bits,
        "agent": agent,
        "physics_budget": budget,
        "verify": verify,
        "round_steps": round_steps,
        "difference_unit": "% of fp32 FE" if kind == "thz" else "dB of J (positive: compressed quieter)",
        "seeds": rows,
        "mean_fp32_objective": float(np.mean([r["fp32"]["objective"] for r in rows])),
        "mean_compressed_objective": float(np.mean([r[f"{method}{bits}"]["objective"] for r in rows])),
        "mean_difference": float(np.mean(diffs)),
        "worst_difference": float(np.min(diffs)),
    }
