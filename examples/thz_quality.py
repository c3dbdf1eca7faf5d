"""Compare Double DQN with black-box baselines on the THz field-enhancement objective.

Run: ``python examples/thz_quality.py [--seeds 0 1 2] [--steps 200000] [--de-factor 10]``.
Each (agent, seed) is one ``workbench.search`` run with its own run folder; every reported
design is re-evaluated with the NumPy reference (``best.json``). DDQN, random search and CMA-ES
spend ``--steps`` evaluations; differential evolution spends ``--de-factor`` times as many.
Prints a Markdown table (mean ± std over seeds) and writes ``summary.json`` in ``--runs-root``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from workbench.search import SearchConfig, search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=200_000, help="evaluations of DDQN, random and CMA-ES")
    parser.add_argument("--de-factor", type=int, default=10, help="differential evolution budget / --steps")
    parser.add_argument("--agents", nargs="+", default=["ddqn", "random", "cmaes", "de"])
    parser.add_argument("--target", type=float, default=0.2e12, help="target frequency, Hz")
    parser.add_argument("--runs-root", type=Path, default=Path("runs/quality"))
    args = parser.parse_args()

    results: dict[str, list[dict]] = {}
    for agent in args.agents:
        budget = args.steps * (args.de_factor if agent == "de" else 1)
        for seed in args.seeds:
            cfg = SearchConfig(
                agent=agent,
                steps=budget,
                seed=seed,
                target_frequency=args.target,
                progress=False,
                runs_root=str(args.runs_root),
                name=f"{agent}-{budget}-s{seed}",
            )
            result = search(cfg)
            row = {
                "seed": seed,
                "evaluations": result.iterations,
                "fe_avg_numpy": result.best["fe_avg"],
                "iterations_per_s": result.iterations_per_s,
                "run_dir": str(result.run_dir),
                "design": result.best_design,
            }
            results.setdefault(agent, []).append(row)
            print(
                f"{agent:7s} seed {seed}: FE_avg {result.best['fe_avg']:,.0f} after {result.iterations:,} evaluations"
            )

    reference = np.mean([r["fe_avg_numpy"] for r in results.get("de", [])]) if "de" in results else None
    print("\n| agent | evaluations | best FE_avg (mean ± std) | per seed | vs DE |")
    print("|---|---|---|---|---|")
    for agent, rows in results.items():
        fe = np.array([r["fe_avg_numpy"] for r in rows])
        ratio = f"{fe.mean() / reference:.1%}" if reference else "-"
        per_seed = ", ".join(f"{v:,.0f}" for v in fe)
        print(f"| {agent} | {rows[0]['evaluations']:,} | {fe.mean():,.0f} ± {fe.std():,.0f} | {per_seed} | {ratio} |")
    args.runs_root.mkdir(parents=True, exist_ok=True)
    (args.runs_root / "summary.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
