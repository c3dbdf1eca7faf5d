"""The ``workbench`` command line: ``workbench thz spectrum``, ``workbench bench thz``, ...

Every command that prints results accepts ``--json`` (then stdout holds one JSON object).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from analytic import thz

from .units import parse_quantity

app = typer.Typer(help="Inverse-design and physics-informed ML workbench.", no_args_is_help=True)
thz_app = typer.Typer(help="THz nanogap-loop arrays.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks: fast path vs reference, measured in one run.", no_args_is_help=True)
app.add_typer(thz_app, name="thz")
app.add_typer(bench_app, name="bench")
console = Console()

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def _emit_json(payload: dict) -> None:
    typer.echo(json.dumps(payload, indent=2, default=float))


@thz_app.command("spectrum")
def thz_spectrum(
    gap: Annotated[str, typer.Option(help="Gap width w, e.g. 5nm.")],
    thickness: Annotated[str, typer.Option(help="Metal thickness h, e.g. 100nm.")],
    side: Annotated[str, typer.Option(help="Loop side l_x (and l_y unless --side-y), e.g. 100um.")],
    period: Annotated[str, typer.Option(help="Lattice period Λ_x (and Λ_y unless --period-y), e.g. 200um.")],
    side_y: Annotated[str | None, typer.Option(help="Loop side l_y.")] = None,
    period_y: Annotated[str | None, typer.Option(help="Period Λ_y.")] = None,
    metal: Annotated[str, typer.Option(help="gold, silver, copper, aluminium or pec.")] = "gold",
    eps_gap: Annotated[float, typer.Option(help="Gap permittivity.")] = 9.0,
    eps_substrate: Annotated[float, typer.Option(help="Substrate permittivity.")] = 3.8,
    eps_superstrate: Annotated[float, typer.Option(help="Superstrate permittivity.")] = 1.0,
    fmin: Annotated[str, typer.Option(help="Lowest frequency, e.g. 0.05THz.")] = "0.05THz",
    fmax: Annotated[str, typer.Option(help="Highest frequency, e.g. 1THz.")] = "1THz",
    points: Annotated[int, typer.Option(help="Number of frequencies.")] = 256,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of |t| and FE here.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Spectrum, resonance and peak field enhancement of one loop array."""
    try:
        lengths = {
            "gap": parse_quantity(gap, "length", "gap"),
            "thickness": parse_quantity(thickness, "length", "thickness"),
            "side_x": parse_quantity(side, "length", "side"),
            "period_x": parse_quantity(period, "length", "period"),
        }
        lengths["side_y"] = parse_quantity(side_y, "length", "side_y") if side_y else lengths["side_x"]
        lengths["period_y"] = parse_quantity(period_y, "length", "period_y") if period_y else lengths["period_x"]
        f_lo, f_hi = parse_quantity(fmin, "frequency", "fmin"), parse_quantity(fmax, "frequency", "fmax")
        if not 0 < f_lo < f_hi:
            raise ValueError(f"need 0 < fmin < fmax; got fmin={f_lo:g} Hz, fmax={f_hi:g} Hz")
        if points < 3:
            raise ValueError(f"points must be >= 3; got points={points}")
        array = thz.LoopArray(
            **lengths, eps_gap=eps_gap, eps_substrate=eps_substrate, eps_superstrate=eps_superstrate, metal=metal
        )
    except ValueError as error:
        raise _fail(str(error)) from None
    start = time.perf_counter()
    grid = np.linspace(f_lo, f_hi, points)
    spec = thz.spectrum(array, grid)
    res = thz.resonance(array, f_lo, f_hi, points=points)
    elapsed = time.perf_counter() - start
    peak = int(np.argmax(spec.fe_avg))
    payload = {
        "array": {k: getattr(array, k) for k in ("gap", "thickness", "side_x", "side_y", "period_x", "period_y")}
        | {"metal": metal, "eps_gap": eps_gap, "eps_substrate": eps_substrate, "eps_superstrate": eps_superstrate},
        "resonance": {"frequency_hz": res.frequency, "t_abs": res.t_abs, "fe_avg": res.fe_avg, "fe_peak": res.fe_peak},
        "max_fe_avg": {"frequency_hz": float(grid[peak]), "fe_avg": float(spec.fe_avg[peak])},
        "fe_convention": "incident-field normalised (fe_avg = |t|/beta)",
        "diffraction_frequency_hz": array.diffraction_frequency,
        "points_above_diffraction": int(spec.above_diffraction.sum()),
        "elapsed_s": elapsed,
    }
    if plot is not None:
        from .plots import plot_thz_spectrum

        payload["plot"] = str(plot_thz_spectrum(array, spec, plot))
    if as_json:
        _emit_json(payload)
        return
    table = Table(title="THz nanogap-loop array", show_header=False)
    table.add_row("resonance (max |t|)", f"{res.frequency / 1e12:.4f} THz")
    table.add_row("|t| at resonance", f"{res.t_abs:.4f}")
    table.add_row("FE_avg / FE_peak at resonance", f"{res.fe_avg:.4g} / {res.fe_peak:.4g}")
    table.add_row("peak FE_avg in window", f"{spec.fe_avg[peak]:.4g} at {grid[peak] / 1e12:.4f} THz")
    table.add_row("first diffraction order", f"{array.diffraction_frequency / 1e12:.4f} THz")
    if spec.above_diffraction.any():
        table.add_row("[yellow]warning[/yellow]", f"{int(spec.above_diffraction.sum())} points above diffraction")
    if plot is not None:
        table.add_row("plot", payload["plot"])
    table.add_row("computed in", f"{elapsed * 1e3:.1f} ms")
    console.print(table)


def _agent_options(options: list[str]) -> dict:
    parsed = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--option must look like KEY=VALUE (e.g. popsize=20); got {item!r}")
        try:
            parsed[key] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key] = value
    return parsed


@app.command("search")
def search_command(
    family: Annotated[str, typer.Argument(help="Physics family: thz.")],
    objective: Annotated[str, typer.Option(help="field_enhancement or filter.")] = "field_enhancement",
    target: Annotated[str, typer.Option(help="Target frequency, e.g. 0.2THz.")] = "0.2THz",
    steps: Annotated[int, typer.Option(help="Iterations (evaluated designs): the budget of every agent.")] = 200_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    agent: Annotated[
        str, typer.Option(help="ddqn, random, de, cmaes, tpe, or sb3:<A2C|DQN|PPO|DDPG|SAC|TD3>.")
    ] = "ddqn",
    option: Annotated[
        list[str] | None, typer.Option(help="Agent option KEY=VALUE (repeatable), e.g. popsize=20.")
    ] = None,
    num_envs: Annotated[int, typer.Option(help="Designs evaluated per vector step (RL agents).")] = 16,
    log_every: Annotated[int, typer.Option(help="Iterations between metrics.csv rows.")] = 2_000,
    checkpoint_every: Annotated[int, typer.Option(help="Iterations between checkpoints (RL agents).")] = 25_000,
    runs_root: Annotated[Path, typer.Option(help="Parent folder of run folders.")] = Path("runs"),
    name: Annotated[str | None, typer.Option(help="Run folder name (default thz-<time>-s<seed>).")] = None,
    resume_dir: Annotated[
        Path | None,
        typer.Option("--resume", help="Continue the killed search in this run folder (its config.json rules)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Inverse design (Double DQN by default); writes runs/<name>/ and prints the best design."""
    from .search import SearchConfig, resume, search

    try:
        if family != "thz":
            raise ValueError(f"family must be 'thz'; got family={family!r}")
        if resume_dir is None:
            cfg = SearchConfig(
                objective=objective,
                target_frequency=parse_quantity(target, "frequency", "target"),
                steps=steps,
                seed=seed,
                agent=agent,
                agent_options=_agent_options(option or []),
                num_envs=num_envs,
                log_every=log_every,
                checkpoint_every=checkpoint_every,
                runs_root=str(runs_root),
                name=name,
            )
            result = search(cfg)
        else:
            result = resume(resume_dir)
    except ValueError as error:
        raise _fail(str(error)) from None
    payload = {
        "run_dir": str(result.run_dir),
        "agent": result.config.agent,
        "iterations": result.iterations,
        "iterations_per_s": result.iterations_per_s,
        "startup_s": result.startup_s,
        "best": {
            "objective": result.best_value,
            "fe_avg": result.best_fe_avg,
            "t_abs": result.best_t_abs,
            "resonance_hz": result.resonance_hz,
            "design": result.best_design,
        },
    }
    if as_json:
        _emit_json(payload)
        return
    d = result.best_design
    console.print(
        f"best FE_avg {result.best_fe_avg:,.0f} at {result.config.target_frequency / 1e12:g} THz (|t| "
        f"{result.best_t_abs:.3f}, resonance {result.resonance_hz / 1e12:.4f} THz): gap {d['gap'] * 1e9:.0f} nm, "
        f"thickness {d['thickness'] * 1e9:.0f} nm, sides {d['side_x'] * 1e6:.0f}×{d['side_y'] * 1e6:.0f} µm, periods "
        f"{d['period_x'] * 1e6:.0f}×{d['period_y'] * 1e6:.0f} µm"
    )
    console.print(
        f"{result.iterations:,} iterations at {result.iterations_per_s:,.0f} it/s; run folder {result.run_dir}"
    )


def _write_bench(result: dict, out: Path | None, name: str) -> Path:
    path = out or Path("runs") / "bench" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    return path


@bench_app.command("thz")
def bench_thz(
    geometries: Annotated[int, typer.Option(help="Batch size of new geometries.")] = 4096,
    reference: Annotated[int, typer.Option(help="Geometries timed with the NumPy reference.")] = 16,
    out: Annotated[Path | None, typer.Option(help="JSON output file.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """New-geometry points/s of the NumPy reference vs the Numba kernel, and one 256-point spectrum."""
    from .bench import bench_thz as run

    if geometries < 1 or reference < 1:
        raise _fail(f"geometries and reference must be >= 1; got geometries={geometries}, reference={reference}")
    result = run(n_geometries=geometries, n_reference=reference)
    result["json_path"] = str(_write_bench(result, out, "thz"))
    if as_json:
        _emit_json(result)
        return
    table = Table(title=f"bench thz ({result['machine']['numba_threads']} threads)")
    for column in ("path", "points/s", "speedup"):
        table.add_column(column)
    table.add_row("NumPy reference", f"{result['numpy_points_per_s']:,.0f}", "1")
    table.add_row(
        f"Numba, {geometries} geometries", f"{result['numba_points_per_s']:,.0f}", f"{result['speedup']:,.0f}×"
    )
    spec = result["spectrum"]
    table.add_row(
        f"{spec['points']}-point spectrum",
        f"{spec['numba_s'] * 1e3:.2f} ms (NumPy {spec['numpy_s']:.2f} s)",
        f"{spec['speedup']:,.0f}×",
    )
    console.print(table)
    console.print(
        f"max |Δt|/|t| Numba vs NumPy: {result['max_relative_difference_t']:.1e}; JSON: {result['json_path']}"
    )


@bench_app.command("search")
def bench_search(
    steps: Annotated[int, typer.Option(help="Iterations of the timed Double DQN search.")] = 50_000,
    num_envs: Annotated[int, typer.Option(help="Sub-environments of the vector env comparison.")] = 16,
    vector_steps: Annotated[int, typer.Option(help="Vector steps of the env comparison.")] = 1_000,
    out: Annotated[Path | None, typer.Option(help="JSON output file.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Double DQN iterations/s with the shipped defaults; native vector env vs SyncVectorEnv steps/s."""
    from .bench import bench_search as run

    if min(steps, num_envs, vector_steps) < 1:
        raise _fail(f"steps, num-envs and vector-steps must be >= 1; got {steps}, {num_envs}, {vector_steps}")
    result = run(steps=steps, num_envs=num_envs, vector_steps=vector_steps)
    result["json_path"] = str(_write_bench(result, out, "search"))
    if as_json:
        _emit_json(result)
        return
    ddqn, vec = result["ddqn"], result["vector_env"]
    table = Table(title=f"bench search ({result['machine']['numba_threads']} Numba threads)")
    for column in ("measure", "value"):
        table.add_column(column)
    table.add_row(f"Double DQN, {ddqn['steps']:,} iterations", f"{ddqn['iterations_per_s']:,.0f} it/s")
    table.add_row("start-up (env, agent, compilation)", f"{ddqn['startup_s']:.1f} s")
    table.add_row(f"native vector env, {vec['num_envs']} envs", f"{vec['native_env_steps_per_s']:,.0f} env steps/s")
    table.add_row(f"SyncVectorEnv, {vec['num_envs']} envs", f"{vec['sync_env_steps_per_s']:,.0f} env steps/s")
    table.add_row("native / Sync", f"{vec['speedup']:.1f}×")
    console.print(table)
    console.print(f"JSON: {result['json_path']}")

if __name__ == "__main__":
    app()
