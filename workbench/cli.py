"""The ``workbench`` command line: ``workbench thz spectrum``, ``workbench bench thz``, ...

Every command that prints results accepts ``--json`` (then stdout holds one JSON object).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

_STARTED = time.perf_counter()  # before the heavy imports: import time is reported apart from compute time

import numpy as np  # noqa: E402
import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from analytic import acoustic, thz  # noqa: E402

from ._compress_cli import register as register_compress  # noqa: E402
from ._export_cli import export_app  # noqa: E402
from ._kernels_cli import register as register_kernels  # noqa: E402
from .surrogates._cli import Local, RoundSteps, Verify  # noqa: E402
from .surrogates._cli import register as register_surrogates  # noqa: E402
from .surrogates.mpipn._cli import register as register_mpipn  # noqa: E402
from .units import parse_quantity  # noqa: E402

app = typer.Typer(help="Inverse-design and physics-informed ML workbench.", no_args_is_help=True)
thz_app = typer.Typer(help="THz nanogap-loop arrays.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks: fast path vs reference, measured in one run.", no_args_is_help=True)
app.add_typer(thz_app, name="thz")
app.add_typer(bench_app, name="bench")
app.add_typer(export_app, name="export")
surrogate_groups = register_surrogates(app, bench_app)
register_compress(app, bench_app)
register_kernels(bench_app)
console = Console()

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


def _emit_json(payload: dict) -> None:
    """Strict JSON on stdout: a NaN or infinity is an error, never printed as ``NaN``/``Infinity``."""
    try:
        text = json.dumps(payload, indent=2, default=float, allow_nan=False)
    except ValueError:
        raise _fail("the result holds a NaN or infinite value; nothing was printed (please report it)") from None
    typer.echo(text)


def _frequency(text: str, name: str) -> float:
    """A frequency option that must carry its unit: a bare ``0.05`` is ambiguous (Hz? THz?)."""
    value = parse_quantity(text, "frequency", name)
    try:
        float(text)
    except ValueError:
        return value  # a unit follows the number
    raise ValueError(f"{name} needs a unit (Hz, kHz, MHz, GHz or THz), e.g. {text}THz or {text}Hz; got {name}={text!r}")


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must lie in [{low}, {high}]; got {name}={value}")


def _timing(cold_s: float, warm_s: float, started: float) -> dict:
    """Warm compute time apart from the first call (compiled-kernel cache load or JIT) and the imports."""
    return {"compute_warm_s": warm_s, "first_call_s": cold_s, "import_s": started - _STARTED}


def _format_length(metres: float) -> str:
    """A length as people read it: nm below 1 µm, µm below 1 mm, else mm."""
    if metres < 1e-6:
        return f"{metres * 1e9:.4g} nm"
    if metres < 1e-3:
        return f"{metres * 1e6:.4g} µm"
    return f"{metres * 1e3:.4g} mm"


@thz_app.command("spectrum")
def thz_spectrum(
    gap: Annotated[str, typer.Option(help="Gap width w, e.g. 5nm.")],
    thickness: Annotated[str, typer.Option(help="Metal thickness h, e.g. 100nm.")],
    side: Annotated[str, typer.Option(help="Loop side l_x (and l_y unless --side-y), e.g. 100um.")],
    period: Annotated[str, typer.Option(help="Lattice period Λ_x (and Λ_y unless --period-y), e.g. 200um.")],
    side_y: Annotated[str | None, typer.Option(help="Loop side l_y.")] = None,
    period_y: Annotated[str | None, typer.Option(help="Period Λ_y.")] = None,
    metal: Annotated[str, typer.Option(help="gold, silver, copper, aluminium or pec.")] = thz.Materials.metal,
    eps_gap: Annotated[float, typer.Option(help="Gap permittivity.")] = thz.Materials.eps_gap,
    eps_substrate: Annotated[float, typer.Option(help="Substrate permittivity.")] = thz.Materials.eps_substrate,
    eps_superstrate: Annotated[float, typer.Option(help="Superstrate permittivity.")] = thz.Materials.eps_superstrate,
    fmin: Annotated[str, typer.Option(help="Lowest frequency with its unit, e.g. 0.05THz.")] = "0.05THz",
    fmax: Annotated[str, typer.Option(help="Highest frequency with its unit, e.g. 1THz.")] = "1THz",
    points: Annotated[int, typer.Option(help="Number of frequencies, 3 to 100000.")] = 256,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of |t| and FE here.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Spectrum, resonance and peak field enhancement of one loop array (--json adds the whole curve, SI units)."""
    started = time.perf_counter()
    try:
        lengths = {
            "gap": parse_quantity(gap, "length", "gap"),
            "thickness": parse_quantity(thickness, "length", "thickness"),
            "side_x": parse_quantity(side, "length", "side"),
            "period_x": parse_quantity(period, "length", "period"),
        }
        lengths["side_y"] = parse_quantity(side_y, "length", "side_y") if side_y else lengths["side_x"]
        lengths["period_y"] = parse_quantity(period_y, "length", "period_y") if period_y else lengths["period_x"]
        f_lo, f_hi = _frequency(fmin, "fmin"), _frequency(fmax, "fmax")
        if not 0 < f_lo < f_hi:
            raise ValueError(f"need 0 < fmin < fmax; got fmin={f_lo:g} Hz, fmax={f_hi:g} Hz")
        _check_range("points", points, 3, 100_000)
        array = thz.LoopArray(
            **lengths, eps_gap=eps_gap, eps_substrate=eps_substrate, eps_superstrate=eps_superstrate, metal=metal
        )
        grid = np.linspace(f_lo, f_hi, points)
        limit = float(thz.frequency_limit(thz.LoopArrayBatch.from_arrays([array]))[0])
        if f_lo < 1e9 or f_hi > limit:
            raise ValueError(
                f"fmin and fmax must lie in [1 GHz, {limit / 1e12:.4g} THz] for this array; got {fmin}, {fmax}"
            )
    except ValueError as error:
        raise _fail(str(error)) from None
    timings = []
    for _ in range(2):  # the first run pays the compiled-kernel cache load (or JIT); the second is warm
        start = time.perf_counter()
        spec = thz.spectrum(array, grid)
        res = thz.resonance(array, f_lo, f_hi, points=points)
        timings.append(time.perf_counter() - start)
    timing = _timing(timings[0], timings[1], started)
    peak = int(np.argmax(spec.fe_avg))
    payload = {
        "array": {k: getattr(array, k) for k in thz.GEOMETRY_FIELDS}
        | {"metal": metal, "eps_gap": eps_gap, "eps_substrate": eps_substrate, "eps_superstrate": eps_superstrate},
        "resonance": {"frequency_hz": res.frequency, "t_abs": res.t_abs, "fe_avg": res.fe_avg, "fe_peak": res.fe_peak},
        "max_fe_avg": {"frequency_hz": float(grid[peak]), "fe_avg": float(spec.fe_avg[peak])},
        "fe_convention": "incident-field normalised (fe_avg = |t|/beta)",
        "diffraction_frequency_hz": array.diffraction_frequency,
        "points_above_diffraction": int(spec.above_diffraction.sum()),
        "spectrum": {
            "freqs_hz": grid.tolist(),
            "t_abs": spec.t_abs.tolist(),
            "transmittance": spec.transmittance.tolist(),
            "reflectance": spec.reflectance.tolist(),
            "fe_avg": spec.fe_avg.tolist(),
            "fe_peak": spec.fe_peak.tolist(),
            "above_diffraction": spec.above_diffraction.tolist(),
        },
        **timing,
    }
    if plot is not None:
        from .plots import plot_thz_spectrum

        payload["plot"] = str(plot_thz_spectrum(array, spec, plot))
    if as_json:
        _emit_json(payload)
        return
    table = Table(title="THz nanogap-loop array", show_header=False)
    table.add_row(
        "geometry",
        f"gap {_format_length(array.gap)}, film {_format_length(array.thickness)}, loop "
        f"{_format_length(array.side_x)} × {_format_length(array.side_y)}, period "
        f"{_format_length(array.period_x)} × {_format_length(array.period_y)}",
    )
    table.add_row("resonance (max |t|)", f"{res.frequency / 1e12:.4f} THz")
    table.add_row("|t| at resonance", f"{res.t_abs:.4f}")
    table.add_row("FE_avg / FE_peak at resonance", f"{res.fe_avg:.4g} / {res.fe_peak:.4g}")
    table.add_row("peak FE_avg in window", f"{spec.fe_avg[peak]:.4g} at {grid[peak] / 1e12:.4f} THz")
    table.add_row("first diffraction order", f"{array.diffraction_frequency / 1e12:.4f} THz")
    if spec.above_diffraction.any():
        table.add_row("[yellow]warning[/yellow]", f"{int(spec.above_diffraction.sum())} points above diffraction")
    if plot is not None:
        table.add_row("plot", payload["plot"])
    table.add_row("computed in (warm)", f"{timing['compute_warm_s'] * 1e3:.1f} ms")
    table.add_row("first call, imports", f"{timing['first_call_s'] * 1e3:.0f} ms, {timing['import_s']:.1f} s")
    console.print(table)


_SEARCH_FLAGS = {
    "kind": "FAMILY",
    "target_frequency": "--target",
    "steps": "--steps",
    "seed": "--seed",
    "agent": "--agent",
    "num_envs": "--num-envs",
    "log_every": "--log-every",
    "checkpoint_every": "--checkpoint-every",
    "name": "--name",
    "objective": "--objective",
}
_ACTIVE_FLAGS = {
    name: f"--{name.replace('_', '-')}"
    for name in ("physics_budget", "round_steps", "verify", "local", "kappa", "separation", "initial", "radius")
}
"""The ``ActiveConfig`` fields that ``workbench search --model surrogate|PATH`` exposes, by option."""


def _as_typed(message: str) -> str:
    """A SearchConfig error in the words of the command line: ``steps must …`` → ``--steps must …``."""
    first, _, rest = message.partition(" ")
    flags = _SEARCH_FLAGS | _ACTIVE_FLAGS
    if first in flags:
        message = f"{flags[first]} {rest}".replace(f"got {first}=", f"got {flags[first]}=")
    return message.replace("agent option ", "--option ")


def _saved_config(run_dir: Path) -> object | None:
    """The ``config.json`` of the run to resume: a ``SearchConfig``, an ``ActiveConfig`` (surrogate-assisted) or None."""
    path = run_dir / "config.json"
    if not path.is_file():
        return None  # resume() names what is missing
    from .search.config import is_surrogate_config

    text = path.read_text()
    if is_surrogate_config(text):
        from .surrogates import ActiveConfig

        return ActiveConfig.from_json(text, str(path))
    from .search import SearchConfig

    return SearchConfig.from_json(text, str(path))


def _check_resume_options(ctx: typer.Context, run_dir: Path, family: str, options: list[str], saved: object) -> None:
    """Refuse command-line options that disagree with ``saved``, the ``config.json`` of the run to resume."""
    path = run_dir / "config.json"
    search = getattr(saved, "search", saved)  # an ActiveConfig holds the SearchConfig of its agent
    given: dict[str, tuple[str, object, object]] = {"family": ("FAMILY", family, search.kind)}
    typed = {name for name in ctx.params if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"}
    for name in ("objective", "steps", "seed", "agent", "num_envs", "log_every", "checkpoint_every", "name"):
        if name in typed:  # the option and the SearchConfig field share the name
            given[name] = (f"--{name.replace('_', '-')}", ctx.params[name], getattr(search, name))
    for name in ("model", *_ACTIVE_FLAGS):
        if name in typed:  # the option and the ActiveConfig field share the name; a physics-only run has none
            stored = getattr(saved, name, "physics" if name == "model" else None)
            given[name] = (f"--{name.replace('_', '-')}", ctx.params[name], stored)
    if "target" in typed:
        target = parse_quantity(ctx.params["target"], "frequency", "target")
        given["target"] = ("--target", target, search.target_frequency)
    for key, value in _agent_options(options).items():
        given[f"option {key}"] = (f"--option {key}", value, search.agent_options.get(key))
    for flag, value, stored in given.values():
        if value != stored:
            raise ValueError(
                f"--resume continues the saved search; {flag} {value!r} conflicts with {stored!r} in {path}: drop the "
                "option, or start a new search without --resume"
            )


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
    ctx: typer.Context,
    family: Annotated[str, typer.Argument(help="Physics family: thz, acoustic or toy (a closed-form test objective).")],
    objective: Annotated[
        str | None,
        typer.Option(help="thz: field_enhancement (default) or filter; acoustic: quiet (default) or tune."),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Target frequency, e.g. 0.2THz or 60Hz (default: the family's).")
    ] = None,
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
    name: Annotated[str | None, typer.Option(help="Run folder name (default <family>-<time>-s<seed>).")] = None,
    resume_dir: Annotated[
        Path | None,
        typer.Option("--resume", help="Continue the killed search in this run folder (its config.json rules)."),
    ] = None,
    model: Annotated[
        str, typer.Option(help="physics (default), surrogate (trained in the run), or a surrogate checkpoint path.")
    ] = "physics",
    physics_budget: Annotated[
        int | None, typer.Option(help="With a surrogate: designs the physics may evaluate (training + verification).")
    ] = None,
    round_steps: RoundSteps = None,
    verify: Verify = None,
    local: Local = None,
    kappa: Annotated[
        float | None,
        typer.Option(help="With a surrogate: weight of the ensemble spread in a design's score (default 1)."),
    ] = None,
    separation: Annotated[
        int | None,
        typer.Option(
            help="With a surrogate: least L1 grid distance between designs verified in one round (default 2)."
        ),
    ] = None,
    initial: Annotated[
        int | None,
        typer.Option(help="With --model surrogate: designs of the first training set (default half the budget)."),
    ] = None,
    radius: Annotated[
        int | None, typer.Option(help="With a surrogate: first trust-region radius, grid steps (default 3).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Inverse design (Double DQN by default); writes runs/<name>/ and prints the best design."""
    started = time.perf_counter()
    from .search import FAMILIES, SearchConfig, resume, search  # torch and stable-baselines3: seconds on a cold start

    import_s = time.perf_counter() - started
    try:
        if resume_dir is not None:
            saved = _saved_config(resume_dir)
            if saved is not None:
                _check_resume_options(ctx, resume_dir, family, option or [], saved)
            if hasattr(saved, "physics_budget"):
                from .surrogates import resume_surrogate_search

                return _print_surrogate(resume_surrogate_search(resume_dir), as_json)
        if resume_dir is None:
            cfg = SearchConfig(
                kind=family,
                objective=objective,
                target_frequency=None if target is None else parse_quantity(target, "frequency", "target"),
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
            active = {
                "physics_budget": physics_budget,
                "round_steps": round_steps,
                "verify": verify,
                "local": local,
                "kappa": kappa,
                "separation": separation,
                "initial": initial,
                "radius": radius,
            }
            given = {key: value for key, value in active.items() if value is not None}
            if model != "physics":
                return _surrogate_search(cfg, model, given, as_json)
            if given:
                flags = ", ".join(_ACTIVE_FLAGS[key] for key in given)
                raise ValueError(
                    f"{flags} set a surrogate-assisted search; add --model surrogate (or a checkpoint path)"
                )
            result = search(cfg)
        else:
            result = resume(resume_dir)
    except ValueError as error:
        raise _fail(_as_typed(str(error))) from None
    payload = {
        "run_dir": str(result.run_dir),
        "agent": result.config.agent,
        "iterations": result.iterations,
        "iterations_per_s": result.iterations_per_s,
        "startup_s": result.startup_s,
        "import_s": import_s,
        "best": result.best,
    }
    if as_json:
        _emit_json(payload)
        return
    table = Table(title=f"best {result.config.kind} design ({result.config.objective})", show_header=False)
    family = FAMILIES[result.config.kind]
    for key, value in result.best.items():
        if key != "design":
            table.add_row(key, family.readable(key, value))
    for key, value in result.best_design.items():
        table.add_row(f"design.{key}", family.readable(key, value))
    console.print(table)
    console.print(
        f"{result.iterations:,} iterations at {result.iterations_per_s:,.0f} it/s; run folder {result.run_dir}"
    )


def _surrogate_search(cfg: object, model: str, settings: dict, as_json: bool) -> None:
    """Validate the ``ActiveConfig`` (before any folder exists), run the surrogate-assisted search, print it."""
    from .surrogates import ActiveConfig, surrogate_search

    if "physics_budget" not in settings:
        raise ValueError(f"--model {model} needs --physics-budget (designs the physics may evaluate)")
    _print_surrogate(surrogate_search(ActiveConfig(cfg, model=model, **settings)), as_json)


def _print_surrogate(result: object, as_json: bool) -> None:
    payload = {
        "run_dir": str(result.run_dir),
        "physics_evaluations": result.physics_evaluations,
        "surrogate_evaluations": result.surrogate_evaluations,
        "rounds": result.rounds,
        "best": result.best,
    }
    if as_json:
        _emit_json(payload)
        return
    console.print_json(json.dumps(payload, default=str))


def _write_bench(result: dict, out: Path | None, name: str) -> Path:
    path = out or Path("runs") / "bench" / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, allow_nan=False))
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

    try:
        _check_range("geometries", geometries, 1, 1_000_000)
        _check_range("reference", reference, 1, 1000)
    except ValueError as error:
        raise _fail(str(error)) from None
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
        f"max |Δt|/|t| Numba vs NumPy: {result['max_relative_difference_t']:.1e}; first Numba call (cache load or "
        f"JIT) {result['first_call_s'] * 1e3:.0f} ms, not in the rates; JSON: {result['json_path']}"
    )


# --- acoustic: plate-backed cavity (analytic.acoustic) ---------------------------------------------

acoustic_app = typer.Typer(help="Plate-backed acoustic cavities (coupled modal model).", no_args_is_help=True)
app.add_typer(acoustic_app, name="acoustic")
register_mpipn(surrogate_groups["data"], surrogate_groups["train"], surrogate_groups["eval"], acoustic_app, bench_app)

SizeOption = Annotated[str, typer.Option(help="Cavity lx,lz (2D) or lx,ly,lz (3D), e.g. 0.5,0.4,0.3 or 50cm,40cm.")]
MaterialOption = Annotated[str, typer.Option(help="Plate material: aluminium, steel or polymer.")]
ThicknessOption = Annotated[str, typer.Option(help="Plate thickness, e.g. 2mm.")]


def _acoustic_cavity(
    size: str, material: str, thickness: str, loss_plate: float = 0.0, loss_air: float = 0.0
) -> acoustic.PlateCavity:
    lengths = tuple(parse_quantity(part, "length", "size") for part in size.split(","))
    plate = acoustic.Plate.of(material, parse_quantity(thickness, "length", "thickness"), loss_plate)
    return acoustic.PlateCavity(lengths, plate, acoustic.Air(loss_factor=loss_air))


def _cavity_title(cavity: acoustic.PlateCavity, material: str) -> str:
    """E.g. ``3D plate-backed cavity 0.5 × 0.4 × 0.3 m, 2 mm aluminium`` (whatever units were typed)."""
    dims = " × ".join(f"{length:g}" for length in cavity.size)
    return f"{cavity.dim}D plate-backed cavity {dims} m, {cavity.plate.thickness * 1e3:g} mm {material}"


def _at(text: str, kind: str, name: str, dim: int) -> tuple[float, float | tuple[float, float]]:
    """``VALUE@X[,Y]`` (e.g. ``1N@0.1,0.12`` or ``50g@10cm``) as (SI value, x or (x, y) in m)."""
    value, sep, where = text.partition("@")
    coords = tuple(parse_quantity(part, "length", f"{name} position") for part in where.split(",")) if sep else ()
    if len(coords) != dim - 1:
        shape = "VALUE@X" if dim == 2 else "VALUE@X,Y"
        raise ValueError(f"--{name} must look like {shape} on a {dim}D cavity (e.g. 1N@0.1,0.12); got {text!r}")
    return parse_quantity(value, kind, name), coords[0] if dim == 2 else coords  # type: ignore[return-value]


@acoustic_app.command("modes")
def acoustic_modes(
    size: SizeOption,
    material: MaterialOption = "aluminium",
    thickness: ThicknessOption = "2mm",
    count: Annotated[int, typer.Option(help="Number of coupled natural frequencies, 1 to 200.")] = 9,
    as_json: JsonFlag = False,
) -> None:
    """Lossless coupled natural frequencies (converged), with the in-vacuo plate and rigid-cavity modes."""
    started = time.perf_counter()
    try:
        cavity = _acoustic_cavity(size, material, thickness)
        timings = []
        for _ in range(2):  # the second run is warm (no import or first-call cost)
            start = time.perf_counter()
            coupled = acoustic.coupled_modes(cavity, count)
            timings.append(time.perf_counter() - start)
    except ValueError as error:
        raise _fail(str(error)) from None
    timing = _timing(timings[0], timings[1], started)
    plate = cavity.plate
    grid = np.arange(1, count + 1)
    lateral = [(grid / length) ** 2 for length in cavity.size[:-1]]
    wavenumber2 = lateral[0] if cavity.dim == 2 else np.add.outer(lateral[0], lateral[1]).ravel()
    in_vacuo = np.sort(np.pi / 2 * np.sqrt(plate.bending_stiffness / plate.surface_density) * wavenumber2)[:count]
    payload = {
        "cavity": {"size_m": list(cavity.size), "material": material, "thickness_m": plate.thickness},
        "coupled_hz": coupled.tolist(),
        "plate_in_vacuo_hz": in_vacuo.tolist(),
        "rigid_cavity_hz": acoustic.cavity_modes(cavity.size, cavity.air, count).tolist(),
        **timing,
    }
    if as_json:
        _emit_json(payload)
        return
    table = Table(title=_cavity_title(cavity, material))
    for column in ("#", "coupled (Hz)", "plate in vacuo (Hz)", "rigid cavity (Hz)"):
        table.add_column(column)
    for k in range(count):
        table.add_row(str(k + 1), f"{coupled[k]:.2f}", f"{in_vacuo[k]:.2f}", f"{payload['rigid_cavity_hz'][k]:.2f}")
    console.print(table)
    console.print(
        f"computed in {timing['compute_warm_s'] * 1e3:.0f} ms warm (first call {timing['first_call_s'] * 1e3:.0f} ms, "
        f"imports {timing['import_s']:.1f} s)"
    )


@acoustic_app.command("response")
def acoustic_response(
    size: SizeOption,
    material: MaterialOption = "aluminium",
    thickness: ThicknessOption = "2mm",
    force: Annotated[
        list[str] | None,
        typer.Option(help="Point force AMPLITUDE@X,Y (3D, N) or line force AMPLITUDE@X (2D, N/m); repeatable."),
    ] = None,
    plane_wave: Annotated[str | None, typer.Option(help="Blocked plane wave p_inc, e.g. 1Pa (load -2 p_inc).")] = None,
    mass: Annotated[
        list[str] | None, typer.Option(help="Point mass MASS@X,Y (3D, kg) or line mass MASS@X (2D, kg/m); repeatable.")
    ] = None,
    loss_plate: Annotated[float, typer.Option(help="Plate loss factor eta_s.")] = 0.01,
    loss_air: Annotated[float, typer.Option(help="Air loss factor eta_a.")] = 0.01,
    fmin: Annotated[str, typer.Option(help="Lowest frequency with its unit, e.g. 20Hz.")] = "20Hz",
    fmax: Annotated[str, typer.Option(help="Highest frequency with its unit, e.g. 400Hz.")] = "400Hz",
    points: Annotated[int, typer.Option(help="Number of frequencies (linear grid), 2 to 100000.")] = 200,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of L_p,avg(f) here.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Forced response: band-averaged cavity level L_p,avg and acoustic potential energy (depth-exact form)."""
    started = time.perf_counter()
    try:
        cavity = _acoustic_cavity(size, material, thickness, loss_plate, loss_air)
        dim = cavity.dim
        loads: list = []
        for text in force or []:
            amplitude, position = _at(text, "force", "force", dim)
            loads.append(
                acoustic.LineForce(amplitude, position) if dim == 2 else acoustic.PointForce(amplitude, position)
            )
        if plane_wave is not None:
            loads.append(acoustic.PlaneWave(parse_quantity(plane_wave, "pressure", "plane-wave")))
        if not loads:
            raise ValueError("give at least one --force or a --plane-wave")
        masses = [acoustic.PointMass(*_at(text, "mass", "mass", dim)) for text in mass or []]
        f_lo, f_hi = _frequency(fmin, "fmin"), _frequency(fmax, "fmax")
        if not 0 < f_lo < f_hi:
            raise ValueError(f"need 0 < fmin < fmax; got fmin={f_lo:g} Hz, fmax={f_hi:g} Hz")
        _check_range("points", points, 2, 100_000)
        grid = np.linspace(f_lo, f_hi, points)
        timings = []
        for _ in range(2):  # the first run pays the compiled-kernel cache load (or JIT); the second is warm
            start = time.perf_counter()
            res = acoustic.response(cavity, grid, loads, masses)
            timings.append(time.perf_counter() - start)
    except ValueError as error:
        raise _fail(str(error)) from None
    timing = _timing(timings[0], timings[1], started)
    peak = int(np.argmax(res.lp_avg))
    band_ms = float(np.mean(res.mean_square_pressure))
    unit = "kg" if dim == 3 else "kg/m"
    payload = {
        "cavity": {"size_m": list(cavity.size), "material": material, "thickness_m": cavity.plate.thickness}
        | {"loss_plate": loss_plate, "loss_air": loss_air},
        "band_hz": [f_lo, f_hi],
        "points": points,
        "lp_band_db": float(acoustic.sound_level(band_ms)),
        "lp_mean_db": float(np.mean(res.lp_avg)),
        "energy_mean_db_re_1j": float(np.mean(10 * np.log10(res.energy))),
        "peak": {"frequency_hz": float(grid[peak]), "lp_avg_db": float(res.lp_avg[peak])},
        "plate_mass": cavity.plate_mass,
        "added_mass": float(sum(m.mass for m in masses)),
        "mass_unit": unit,
        "plate_modes": list(map(int, res.plate_modes.max(axis=0))),
        "freqs_hz": grid.tolist(),
        "lp_avg_db": res.lp_avg.tolist(),
        **timing,
    }
    if plot is not None:
        from .plots import plot_acoustic_response

        payload["plot"] = str(plot_acoustic_response(res, plot, (f_lo, f_hi)))
    if as_json:
        _emit_json(payload)
        return
    table = Table(title=_cavity_title(cavity, material), show_header=False)
    table.add_row("band", f"{f_lo:g}–{f_hi:g} Hz, {points} points")
    table.add_row("L_p,avg of the band-averaged <|p|^2>", f"{payload['lp_band_db']:.2f} dB re 20 µPa")
    table.add_row("mean of L_p,avg over the band", f"{payload['lp_mean_db']:.2f} dB")
    table.add_row("mean of 10 log10(E_p / 1 J)", f"{payload['energy_mean_db_re_1j']:.2f} dB")
    table.add_row("peak", f"{res.lp_avg[peak]:.2f} dB at {grid[peak]:.2f} Hz")
    table.add_row("plate + added mass", f"{cavity.plate_mass:.4g} + {payload['added_mass']:.4g} {unit}")
    if plot is not None:
        table.add_row("plot", payload["plot"])
    table.add_row("computed in (warm)", f"{timing['compute_warm_s'] * 1e3:.1f} ms")
    table.add_row("first call, imports", f"{timing['first_call_s'] * 1e3:.0f} ms, {timing['import_s']:.1f} s")
    console.print(table)


@bench_app.command("acoustic")
def bench_acoustic(
    designs: Annotated[int, typer.Option(help="Designs per Numba batch call.")] = 16,
    freqs: Annotated[int, typer.Option(help="Frequencies per design (20-400 Hz).")] = 128,
    reference: Annotated[int, typer.Option(help="Points timed with the NumPy reference.")] = 32,
    env_steps: Annotated[
        int, typer.Option(help="Vector steps (of --designs envs) timing the PlateCavity-v0 quiet env.")
    ] = 2,
    out: Annotated[Path | None, typer.Option(help="JSON output file.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Frequency points/s, NumPy reference vs Numba, 3D 12x12 plate x 12x12 transverse modes, 0 and 4 masses;
    env steps/s of the quiet objective (one step = one design over the whole band)."""
    from .bench import bench_acoustic as run

    try:
        for name, value in (("designs", designs), ("freqs", freqs), ("reference", reference)):
            _check_range(name, value, 1, 4096)
        _check_range("env-steps", env_steps, 1, 1000)
    except ValueError as error:
        raise _fail(str(error)) from None
    result = run(n_designs=designs, n_freqs=freqs, n_reference=reference, env_vector_steps=env_steps)
    result["json_path"] = str(_write_bench(result, out, "acoustic"))
    if as_json:
        _emit_json(result)
        return
    table = Table(title=f"bench acoustic ({result['machine']['numba_threads']} threads, 12x12 x 12x12 modes, 3D)")
    for column in (
        "case",
        "NumPy points/s",
        "Numba points/s",
        "speedup",
        "max rel. diff.",
        "first call (not in rates)",
    ):
        table.add_column(column)
    for label, row in result["cases"].items():
        table.add_row(
            label.replace("_", " "),
            f"{row['numpy_points_per_s']:,.0f}",
            f"{row['numba_points_per_s']:,.0f}",
            f"{row['speedup']:,.0f}×",
            f"{row['max_relative_difference']:.1e}",
            f"{row['first_call_s'] * 1e3:,.0f} ms",
        )
    console.print(table)
    env = result["env"]
    console.print(
        f"PlateCavity-v0 quiet objective: {env['env_steps_per_s']:,.1f} env steps/s ({env['num_envs']} envs, "
        f"{env['band_points']} frequencies, {env['modes'][0]}x{env['modes'][0]} plate x {env['modes'][1]}x"
        f"{env['modes'][1]} transverse modes)"
    )
    fe = result["finite_element"]
    console.print(
        f"finite-element reference ({fe['dofs']:,} DoFs, h = {fe['h_m'] * 1e3:g} mm): "
        f"{fe['fe_seconds_per_frequency'] * 1e3:,.1f} ms per frequency vs analytic "
        f"{fe['analytic_seconds_per_frequency'] * 1e3:.3f} ms ({fe['fe_over_analytic']:,.0f}×)"
    )
    console.print(f"JSON: {result['json_path']}")


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


# --------------------------------------------------------------------------- sweeps (issue 11)

sweep_app = typer.Typer(
    help="Sweeps: resumable studies of many searches in SQLite, on a local process pool or Ray.", no_args_is_help=True
)
app.add_typer(sweep_app, name="sweep")
StoreOption = Annotated[str, typer.Option("--store", help="Sweep store URL, sqlite:///path.db.")]
SweepNameOption = Annotated[
    str | None, typer.Option("--name", help="Sweep name; may be left out when the store holds one sweep.")
]


@sweep_app.command("run")
def sweep_run(
    spec: Annotated[Path, typer.Argument(help="Sweep spec (YAML), e.g. examples/sweeps/quick.yaml.")],
    store: StoreOption = "sqlite:///sweeps.db",
    executor: Annotated[str, typer.Option(help="local (process pool) or ray.")] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (auto, host:port); default: a local Ray instance.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Concurrent trials (default: one per core, or the Ray cluster's CPUs).")
    ] = None,
    take_over: Annotated[
        bool, typer.Option("--take-over", help="Become the owner even if another live `sweep run` holds the sweep.")
    ] = False,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Run the failed trials again.")] = False,
    stale_after: Annotated[
        float, typer.Option(help="Seconds without heartbeat after which a driver or worker counts as gone.")
    ] = 30.0,
    as_json: JsonFlag = False,
) -> None:
    """Run a sweep, or resume it: after a crash or kill -9 the same command finishes it.

    Exit codes: 0 all trials done; 1 some trials failed; 2 bad spec, store or option; 3 refused (another live `sweep run` owns the sweep); 4 taken over by another run; 5 the executor did not start (Ray); 130 stopped (Ctrl-C or SIGTERM).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .sweeps import ExecutorError, OwnershipLost, SweepBusy, load_spec, run_sweep

    err = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]sweep {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=err,
    )
    task = progress.add_task("", total=None, detail="")

    def show(status: dict) -> None:  # the bar appears with the first status, after the checks passed
        progress.start()
        detail = f"running {status['running']}, pending {status['pending']}, failed {status['failed']}"
        progress.update(
            task, description=status["name"], total=status["total"], completed=status["done"], detail=detail
        )

    try:
        if address is not None and executor != "ray":
            raise ValueError(f"--address needs --executor ray; got executor={executor!r}")
        parsed = load_spec(spec)
        try:
            outcome = run_sweep(
                parsed,
                store,
                executor=executor,
                address=address,
                workers=workers,
                take_over=take_over,
                retry_failed=retry_failed,
                stale_after=stale_after,
                on_change=show,
                log=lambda line: progress.console.print(line, markup=False, highlight=False),
            )
        finally:
            progress.stop()
    except SweepBusy as error:
        err.print(f"[red]refused:[/red] {error}", markup=True, highlight=False)
        raise typer.Exit(code=3) from None
    except OwnershipLost as error:
        err.print(f"[yellow]stopped:[/yellow] {error}", highlight=False)
        raise typer.Exit(code=4) from None
    except ExecutorError as error:
        err.print(f"[red]executor did not start:[/red] {error}", highlight=False)
        raise typer.Exit(code=5) from None
    except ValueError as error:
        raise _fail(str(error)) from None
    except KeyboardInterrupt:
        err.print("stopped; running trials went back to pending. Run the same command again to resume.")
        raise typer.Exit(code=130) from None
    status = outcome.status
    if as_json:
        _emit_json(status | {"startup_s": outcome.startup_s, "loop_s": outcome.loop_s})
    else:
        _print_sweep_status(status)
        console.print(f"report: workbench sweep report --store {store} --name {status['name']}")
    if status["failed"]:
        raise typer.Exit(code=1)


def _print_sweep_status(status: dict, failed: list[dict] | None = None) -> None:
    table = Table(title=f"sweep {status['name']}", show_header=False)
    for key in ("total", "pending", "running", "done", "failed", "duplicates", "discarded"):
        table.add_row(key, str(status[key]))
    owner = status["owner"]
    if owner is not None:
        alive = "alive" if owner["alive"] else "gone"
        table.add_row("owner", f"pid {owner['pid']} on {owner['host']} ({owner['executor']}, {alive})")
    table.add_row("store", status["store"])
    console.print(table)
    for trial in failed or []:
        last = (trial["error"] or "").strip().splitlines()[-1:] or ["?"]
        console.print(f"[red]failed[/red] {trial['key']}: {last[0]}", highlight=False)


@sweep_app.command("status")
def sweep_status(store: StoreOption = "sqlite:///sweeps.db", name: SweepNameOption = None, as_json: JsonFlag = False):
    """Counts of a sweep's trials (total, pending, running, done, failed, duplicates) and its owner.

    Safe while another process runs the sweep (SQLite WAL readers do not block the writer).
    """
    from .sweeps import SweepStore

    try:
        with SweepStore(store) as db:
            name = db.resolve_name(name)
            status = db.status(name)
            failed = [t for t in db.trials(name) if t["state"] == "failed"]
    except ValueError as error:
        raise _fail(str(error)) from None
    if as_json:
        _emit_json(status)
        return
    _print_sweep_status(status, failed)


@sweep_app.command("report")
def sweep_report(
    store: StoreOption = "sqlite:///sweeps.db",
    name: SweepNameOption = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default: the sweep folder).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Markdown table and PNG of best objective vs evaluations per method, mean ± std over seeds."""
    from .sweeps import SweepStore
    from .sweeps.report import build_report

    try:
        with SweepStore(store) as db:
            report = build_report(db, name, out)
    except ValueError as error:
        raise _fail(str(error)) from None
    if as_json:
        plot = str(report.plot_path) if report.plot_path else None
        _emit_json({"markdown_path": str(report.markdown_path), "plot_path": plot, "markdown": report.markdown})
        return
    typer.echo(report.markdown)
    console.print(f"written: {report.markdown_path}" + (f", {report.plot_path}" if report.plot_path else ""))


@bench_app.command("sweep")
def bench_sweep_command(
    trials: Annotated[int, typer.Option(help="No-op trials per executor.")] = 200,
    workers: Annotated[int, typer.Option(help="Concurrent trials (1: per-trial latency).")] = 1,
    executor: Annotated[str, typer.Option(help="local, ray or both.")] = "both",
    address: Annotated[str | None, typer.Option(help="Ray cluster address (default: a local Ray).")] = None,
    out: Annotated[Path | None, typer.Option(help="JSON output file.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Per-trial overhead of the sweep machinery (store + executor) with a no-op trial."""
    from .sweeps import ExecutorError
    from .sweeps.bench import bench_sweep

    kinds = ("local", "ray") if executor == "both" else (executor,)
    try:
        result = bench_sweep(kinds, trials=trials, workers=workers, address=address)
    except (ValueError, ExecutorError) as error:
        raise _fail(str(error)) from None
    result["json_path"] = str(_write_bench(result, out, "sweep"))
    if as_json:
        _emit_json(result)
        return
    table = Table(title=f"bench sweep ({trials} no-op trials, {workers} worker(s))")
    for column in ("executor", "ms per trial", "trials/s", "start-up"):
        table.add_column(column)
    for kind, row in result["executors"].items():
        table.add_row(kind, f"{row['ms_per_trial']:.1f}", f"{row['trials_per_s']:,.0f}", f"{row['startup_s']:.1f} s")
    console.print(table)
    console.print(f"JSON: {result['json_path']}")


if __name__ == "__main__":
    app()
