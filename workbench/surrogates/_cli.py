"""``workbench surrogate data|train|eval`` and ``workbench bench surrogate``."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

surrogate_app = typer.Typer(help="Learned surrogates of the physics models.", no_args_is_help=True)
console = Console()

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
Kind = Annotated[str, typer.Argument(help="thz or acoustic.")]
RoundSteps = Annotated[
    int | None,
    typer.Option(help="Surrogate search: agent iterations per verification round (default 20000 THz, 4000 acoustic)."),
]
Verify = Annotated[
    int | None,
    typer.Option(help="Surrogate search: designs the agent visited verified per round (default 100 THz, 50 acoustic)."),
]
Local = Annotated[
    int | None,
    typer.Option(
        help="Surrogate search: trust-region designs verified per round around the best verified one, 0: none "
        "(default 25 THz, 10 acoustic)."
    ),
]


def _cli() -> Any:
    from .. import cli  # imported at call time: workbench.cli imports this module

    return cli


def _env(kind: str, objective: str | None, target: str | None, env: list[str] | None) -> dict[str, Any]:
    cli = _cli()
    settings = cli._agent_options(env or [])
    if objective is not None:
        settings["objective"] = objective
    if target is not None:
        settings["target_frequency"] = cli.parse_quantity(target, "frequency", "target")
    return settings


def _print(payload: dict[str, Any], title: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(payload, indent=2, allow_nan=False))
        return
    table = Table(title=title, show_header=False)
    for key, value in payload.items():
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)


def data_command(
    kind: Kind,
    n: Annotated[int, typer.Option(help="Designs.")] = 4096,
    seed: Annotated[int, typer.Option(help="Sobol scramble seed.")] = 0,
    out: Annotated[Path, typer.Option(help="HDF5 output file.")] = Path("surrogate-data.h5"),
    objective: Annotated[str | None, typer.Option(help="Env objective (acoustic: picks the design space).")] = None,
    target: Annotated[
        str | None, typer.Option(help="Env target frequency, e.g. 0.2THz (THz: bounds the periods).")
    ] = None,
    env: Annotated[list[str] | None, typer.Option(help="Env config KEY=VALUE (repeatable).")] = None,
    batch: Annotated[int | None, typer.Option(help="Designs per model call (default 1024 THz, 64 acoustic).")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Sobol designs of the env's valid space and their Numba-model responses, written to HDF5."""
    from ._datasets import make_dataset, write_dataset

    cli = _cli()
    try:
        options = {"progress": progress} | ({} if batch is None else {"batch": batch})
        dataset = make_dataset(kind, n, seed, _env(kind, objective, target, env), **options)
    except ValueError as error:
        raise cli._fail(str(error)) from None
    path = write_dataset(dataset, out)
    payload = {
        "kind": kind,
        "designs": len(dataset),
        "band_points": len(dataset.freqs),
        "seed": seed,
        "path": str(path),
    }
    _print(payload, f"surrogate data {kind}", as_json)


def train_command(
    kind: Kind,
    data: Annotated[list[Path], typer.Option(help="Training HDF5 file(s) (workbench surrogate data), repeatable.")],
    out: Annotated[Path, typer.Option(help="Checkpoint output file.")],
    head: Annotated[str, typer.Option(help="THz output head: mlp, physics or hybrid.")] = "hybrid",
    width: Annotated[int, typer.Option(help="Hidden width.")] = 256,
    depth: Annotated[int | None, typer.Option(help="Hidden layers (default 4 THz, 3 acoustic).")] = None,
    members: Annotated[int, typer.Option(help="Acoustic ensemble members.")] = 3,
    architecture: Annotated[
        str, typer.Option(help="Acoustic members: mlp, or sets (the point masses read as a set).")
    ] = "mlp",
    epochs: Annotated[int | None, typer.Option(help="Epochs (default 80 THz, 200 acoustic).")] = None,
    seed: Annotated[int, typer.Option(help="Initialisation and shuffling seed.")] = 0,
    time_budget: Annotated[float | None, typer.Option(help="Stop after this many seconds (not reproducible).")] = None,
    test: Annotated[Path | None, typer.Option(help="Held-out HDF5 file to evaluate on.")] = None,
    threads: Annotated[int, typer.Option(help="torch threads.")] = 1,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Train a surrogate on a dataset and write a checkpoint (reproducible from the seed without --time-budget)."""
    import torch

    from ._acoustic import check_architecture, evaluate_acoustic, train_acoustic
    from ._checkpoints import save
    from ._datasets import read_dataset
    from ._thz import HEADS, evaluate_thz, train_thz

    cli = _cli()
    try:
        if kind not in ("thz", "acoustic"):
            raise ValueError(f"kind must be thz or acoustic; got kind={kind!r}")
        if head not in HEADS:
            raise ValueError(f"head must be one of {', '.join(HEADS)}; got head={head!r}")
        check_architecture(architecture)
        for name, value in (("width", width), ("members", members), ("threads", threads)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1; got {name}={value}")
        if time_budget is not None and not time_budget > 0:
            raise ValueError(f"time_budget must be > 0 seconds; got time_budget={time_budget}")
        dataset = read_dataset(data[0])
        for extra in data[1:]:
            dataset = dataset.concat(read_dataset(extra))
        held_out = None if test is None else read_dataset(test)
        if dataset.kind != kind or (held_out is not None and held_out.kind != kind):
            raise ValueError(f"--data and --test must hold {kind} datasets; got {dataset.kind}")
        torch.set_num_threads(threads)
        if kind == "thz":
            surrogate = train_thz(
                dataset, head, width, depth or 4, epochs or 80, seed=seed, time_budget_s=time_budget, progress=progress
            )
        else:
            surrogate = train_acoustic(
                dataset,
                width,
                depth or 3,
                members,
                epochs or 200,
                seed=seed,
                time_budget_s=time_budget,
                progress=progress,
                architecture=architecture,
            )
    except ValueError as error:
        raise cli._fail(str(error)) from None
    surrogate.metadata["training"]["command"] = (
        f"workbench surrogate train {kind} {' '.join(f'--data {p.name}' for p in data)} --out OUT --seed {seed} --width {width} --depth "
        f"{depth or (4 if kind == 'thz' else 3)} --epochs {epochs or (80 if kind == 'thz' else 200)} "
        + (f"--head {head}" if kind == "thz" else f"--members {members} --architecture {architecture}")
        + f" --threads {threads}"
    )
    path = save(surrogate, out)
    payload: dict[str, Any] = {"kind": kind, "checkpoint": str(path), "size_bytes": path.stat().st_size}
    payload |= {k: v for k, v in surrogate.metadata["training"].items() if not isinstance(v, list | dict)}
    payload["training_designs"] = payload.pop("designs")
    if held_out is not None:
        evaluate = evaluate_thz if kind == "thz" else evaluate_acoustic
        payload |= evaluate(surrogate, held_out)
    _print(payload, f"surrogate train {kind}", as_json)


def eval_command(
    kind: Kind,
    data: Annotated[Path, typer.Option(help="Held-out HDF5 file (workbench surrogate data, another seed).")],
    model: Annotated[Path | None, typer.Option(help="Checkpoint (default: the one shipped with the package).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Accuracy of a checkpoint on held-out designs (THz: FE, resonance, peak FE; acoustic: J, f1, curve)."""
    from ._acoustic import evaluate_acoustic
    from ._checkpoints import load
    from ._datasets import config_from_settings, read_dataset
    from ._thz import evaluate_thz

    cli = _cli()
    try:
        surrogate = load(kind, model)
        dataset = read_dataset(data)
        if dataset.kind != kind:
            raise ValueError(f"--data must hold a {kind} dataset; got {dataset.kind}")
        surrogate.check(config_from_settings(kind, dataset.attrs["env"]))
        result = evaluate_thz(surrogate, dataset) if kind == "thz" else evaluate_acoustic(surrogate, dataset)
    except ValueError as error:
        raise cli._fail(str(error)) from None
    _print({"kind": kind, "checkpoint": str(model or "default"), **result}, f"surrogate eval {kind}", as_json)


def bench_command(
    thz_model: Annotated[Path | None, typer.Option(help="THz checkpoint (default: shipped).")] = None,
    acoustic_model: Annotated[Path | None, typer.Option(help="Acoustic checkpoint (default: shipped).")] = None,
    threads: Annotated[int | None, typer.Option(help="Threads of Numba and torch alike (default: Numba's).")] = None,
    thz_designs: Annotated[int, typer.Option(help="THz batch (held-out designs).")] = 4096,
    acoustic_model_designs: Annotated[int, typer.Option(help="Acoustic designs run through the model.")] = 256,
    acoustic_surrogate_designs: Annotated[int, typer.Option(help="Acoustic batch of the surrogate.")] = 4096,
    out: Annotated[Path | None, typer.Option(help="JSON output file.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Surrogates vs Numba models on held-out designs: accuracy and speed-up at equal thread count."""
    from ..bench import machine
    from ._bench import bench_surrogates
    from ._checkpoints import load

    cli = _cli()
    try:
        for name, value in (
            ("thz_designs", thz_designs),
            ("acoustic_model_designs", acoustic_model_designs),
            ("acoustic_surrogate_designs", acoustic_surrogate_designs),
        ):
            if value < 1:
                raise ValueError(f"{name} must be >= 1; got {name}={value}")
        result = bench_surrogates(
            load("thz", thz_model),
            load("acoustic", acoustic_model),
            threads,
            thz_designs=thz_designs,
            acoustic_model_designs=acoustic_model_designs,
            acoustic_surrogate_designs=acoustic_surrogate_designs,
        )
    except ValueError as error:
        raise cli._fail(str(error)) from None
    result["machine"] = machine()
    result["json_path"] = str(cli._write_bench(result, out, "surrogate"))
    if as_json:
        typer.echo(json.dumps(result, indent=2, allow_nan=False))
        return
    for kind in ("thz", "acoustic"):
        _print(result[kind], f"bench surrogate {kind} ({result['threads']} threads)", False)
    console.print(f"JSON: {result['json_path']}")


def bench_search_command(
    kind: Kind,
    seeds: Annotated[int, typer.Option(help="Seeds 0…seeds − 1, each searched both ways.")] = 3,
    agent: Annotated[str, typer.Option(help="Agent of the surrogate-assisted search.")] = "ddqn",
    physics_budget: Annotated[
        int | None, typer.Option(help="Its physics budget (default 2000 THz, 1000 acoustic).")
    ] = None,
    baseline: Annotated[str | None, typer.Option(help="Physics-only agent (default cmaes THz, de acoustic).")] = None,
    baseline_steps: Annotated[int | None, typer.Option(help="Its physics budget (default 2000).")] = None,
    round_steps: RoundSteps = None,
    verify: Verify = None,
    local: Local = None,
    runs_root: Annotated[Path, typer.Option(help="Parent folder of the run folders.")] = Path(
        "runs/bench-surrogate-search"
    ),
    out: Annotated[Path | None, typer.Option(help="JSON output file.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Surrogate-assisted search on a physics budget vs a physics-only baseline, mean of seeds, one run."""
    from ._bench import bench_surrogate_search

    cli = _cli()
    try:
        if kind not in ("thz", "acoustic") or seeds < 1:
            raise ValueError(f"need kind thz or acoustic and seeds >= 1; got kind={kind!r}, seeds={seeds}")
        result = bench_surrogate_search(
            kind, seeds, agent, physics_budget, baseline, baseline_steps, str(runs_root), round_steps, verify, local
        )
    except ValueError as error:
        raise cli._fail(str(error)) from None
    result["json_path"] = str(cli._write_bench(result, out, f"surrogate-search-{kind}"))
    if as_json:
        typer.echo(json.dumps(result, indent=2, allow_nan=False))
        return
    table = Table(title=f"bench surrogate-search {kind}: objective of the best physics-evaluated design")
    for column in (
        "seed",
        f"{result['baseline']} ({result['baseline_physics_evaluations']} physics)",
        f"surrogate {agent} ({result['physics_budget']} physics)",
        "surrogate evaluations",
    ):
        table.add_column(column)
    for row in result["seeds"]:
        table.add_row(
            str(row["seed"]),
            f"{row['physics_only_objective']:.6g}",
            f"{row['surrogate_objective']:.6g}",
            f"{row['surrogate_evaluations']:,}",
        )
    table.add_row(
        "mean", f"{result['mean_physics_only_objective']:.6g}", f"{result['mean_surrogate_objective']:.6g}", ""
    )
    console.print(table)
    console.print(f"JSON: {result['json_path']}")


def _for_kind(command: Callable[..., None], kind: str) -> Callable[..., None]:
    """``command`` with its ``kind`` argument fixed: the ``<verb> <kind>`` subcommand of typer."""

    @functools.wraps(command)
    def run(**options: Any) -> None:
        command(kind, **options)

    signature = inspect.signature(command, eval_str=True)  # typer reads the evaluated Annotated options
    run.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for name, p in signature.parameters.items() if name != "kind"]
    )
    return run


def register(app: typer.Typer, bench_app: typer.Typer) -> dict[str, typer.Typer]:
    """Add ``surrogate data|train|eval thz|acoustic`` to ``app`` and ``surrogate``, ``surrogate-search`` to ``bench_app``.

    Returns:
        The verb groups by name (``data``, ``train``, ``eval``), so other surrogates add their kind
        as a subcommand (``surrogate train mpipn``).
    """
    groups = {}
    for verb, command in (("data", data_command), ("train", train_command), ("eval", eval_command)):
        group = typer.Typer(help=f"{command.__doc__.splitlines()[0]}", no_args_is_help=True)
        for kind in ("thz", "acoustic"):
            group.command(kind)(_for_kind(command, kind))
        surrogate_app.add_typer(group, name=verb)
        groups[verb] = group
    app.add_typer(surrogate_app, name="surrogate")
    bench_app.command("surrogate")(bench_command)
    bench_app.command("surrogate-search")(bench_search_command)
    return groups
