"""``workbench export gds``: the best THz design of a run folder (or a design JSON) as GDSII."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .export import CELL_LAYER, GAP_LAYER, METAL_LAYER, load_thz_design, write_gds

export_app = typer.Typer(help="Export designs for fabrication.", no_args_is_help=True)


@export_app.command("gds")
def export_gds(
    run_dir: Annotated[
        Path | None, typer.Argument(help="A `workbench search thz` run folder (its best.json is exported).")
    ] = None,
    design: Annotated[
        Path | None, typer.Option("--design", help="A JSON design (or best.json) instead of a run folder.")
    ] = None,
    cells: Annotated[tuple[int, int], typer.Option("--cells", help="Array size NX NY.")] = (10, 10),
    out: Annotated[
        Path | None, typer.Option("--out", help="GDS file; default RUN_DIR/design.gds or the JSON's name with .gds.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Write the loop unit cell and an NX × NY array as GDSII; dimensions are checked by reading it back."""
    try:
        loop = load_thz_design(run_dir, design)
        path = out or (run_dir / "design.gds" if run_dir is not None else design.with_suffix(".gds"))
        written = write_gds(loop, path, cells)
    except ValueError as error:
        Console(stderr=True).print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=2) from None
    if as_json:
        layers = {"metal": METAL_LAYER, "gap": GAP_LAYER, "cell": CELL_LAYER}
        typer.echo(json.dumps({**written.as_dict(), "layers": layers}, indent=2, allow_nan=False))
        return
    table = Table(title=f"GDSII written: {written.path}", show_header=True)
    table.add_column("quantity")
    table.add_column("read back")
    table.add_row("gap (layer 2)", f"{written.gap * 1e9:.2f} nm")
    table.add_row("loop sides (centre-line)", f"{written.side_x * 1e6:.4g} × {written.side_y * 1e6:.4g} µm")
    table.add_row("periods", f"{written.period_x * 1e6:.4g} × {written.period_y * 1e6:.4g} µm")
    table.add_row(
        "array",
        f"{written.cells[0]} × {written.cells[1]} cells, {written.array_size[0] * 1e3:.4g} × "
        f"{written.array_size[1] * 1e3:.4g} mm",
    )
    table.add_row("film thickness (property)", f"{written.thickness * 1e9:.4g} nm")
    Console().print(table)
