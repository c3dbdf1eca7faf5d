"""A sweep written in Python instead of YAML: build the spec, run it, read the store, write the report.

The same machinery as ``workbench sweep run|status|report``: the spec is checked before anything
runs, every trial is recorded in an SQLite store (kill the script and run it again: it resumes),
and the report compares best objective against evaluations per method, mean ± std over seeds.

Run with gymnasium 1.4.0, torch 2.13.0 (CPU).

    python examples/scripted_sweep.py --budget 2000 --seeds 3 --agents ddqn random de cmaes
"""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.sweeps import SweepStore, parse_spec, run_sweep
from workbench.sweeps.report import build_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=2_000, help="evaluated designs per trial")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--agents", nargs="+", default=["ddqn", "random", "de", "cmaes"])
    parser.add_argument("--workers", type=int, default=None, help="concurrent trials (default: one per core)")
    parser.add_argument("--out", type=Path, default=Path("runs/scripted_sweep"), help="store, run folders, report")
    args = parser.parse_args()

    spec = parse_spec(
        {
            "name": "scripted",
            "env": "thz",
            "objective": "field_enhancement",
            "targets": ["0.2THz"],
            "budgets": [args.budget],
            "seeds": args.seeds,
            "settings": {"log_every": max(args.budget // 20, 1)},
            "runs_root": str(args.out / "runs"),
            "agents": [{"agent": agent} for agent in args.agents],
        },
        source="examples/scripted_sweep.py",
    )
    args.out.mkdir(parents=True, exist_ok=True)
    store_url = f"sqlite:///{args.out / 'sweeps.db'}"
    outcome = run_sweep(spec, store_url, workers=args.workers, log=print)
    status = outcome.status
    print(
        f"sweep {spec.name!r}: {status['done']} done, {status['failed']} failed of {status['total']} trials "
        f"in {outcome.loop_s:.1f} s"
    )

    for trial in SweepStore(store_url).trials(spec.name):
        if trial["state"] == "done":
            result = trial["result"]
            print(
                f"  {trial['method']:>8} seed {trial['seed']}: best FE_avg {result['best_value']:,.0f} "
                f"after {result['iterations']:,} evaluations"
            )
    report = build_report(SweepStore(store_url), spec.name, args.out)
    print(report.markdown)
    print(f"report: {report.markdown_path}, plot: {report.plot_path}")


if __name__ == "__main__":
    main()
