"""``workbench bench compress``: every method × bits × sparsity on physics-trained MLPs, in one run.

For each surrogate kind an fp32 MLP is trained on physics data; every compressed variant is then
scored against held-out physics targets (``_data.surrogate_error``). Quantization rows are
dense; pruning rows are fp32 (``prune-*``) or the BED-pruned model with RTN codes
(``prune-bed+rtn``). Rows carry ``model``, ``method``, ``bits`` (32 = float), ``sparsity``,
``error``, ``added_error`` (minus the fp32 error), ``bytes`` (stored size) and
``calibration_s``; BED rows add ``dp_retained_fraction`` (kept Σ|W| over the exact optimum's)
and ``speedup_vs_dp`` (exact selection time over BED's).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from matplotlib.figure import Figure
from torch import nn

from ._data import KINDS, PhysicsData, design_inputs, fit, make_mlp, masked_mse, physics_data, surrogate_error
from ._layers import model_bytes, quantizable_layers
from ._methods import PRUNE_METHODS, apply_masks, bcq, prune, ptq, select_blocks, sparse_model, tune_scales, w8a8
from ._quant import QuantSpec

BITS = (8, 4, 3, 2)
SPARSITIES = (0.5, 0.7, 0.8)
PEQA_EPS_GAP = 4.0


@dataclass(frozen=True)
class BenchSize:
    """Sizes of one bench run (``default`` stays within minutes on one core; ``large`` is slower)."""

    n_thz: int
    n_acoustic: int
    n_test: int
    train_steps: int
    calib: int
    iters: int
    tune_steps: int
    finetune_steps: int
    block: int = 16

    @classmethod
    def named(cls, name: str) -> BenchSize:
        """``"default"`` or ``"large"``."""
        sizes = {
            "default": cls(2048, 3000, 512, 1500, 1024, 200, 200, 300),
            "large": cls(8192, 8192, 1024, 4000, 4096, 1000, 1000, 1000),
        }
        if name not in sizes:
            raise ValueError(f"size must be one of {tuple(sizes)}; got size={name!r}")
        return sizes[name]


def _loss(data: PhysicsData) -> Callable[[nn.Module, torch.Tensor], torch.Tensor]:
    return lambda model, i: masked_mse(model(data.x[i]), data.y[i], data.valid[i])


def _rows_for_kind(kind: str, size: BenchSize, seed: int, log: Callable[[str], None]) -> tuple[list[dict], dict]:
    n = size.n_thz if kind == "thz" else size.n_acoustic
    log(f"{kind}: physics data for {n} designs")
    train, test = physics_data(kind, n, seed).split(n - size.n_test)
    start = time.perf_counter()
    fp32 = fit(make_mlp(kind, seed), train, size.train_steps, 2e-3, seed)
    log(f"{kind}: fp32 MLP trained in {time.perf_counter() - start:.1f} s")
    base = surrogate_error(fp32, test)
    _, calib = design_inputs(kind, size.calib, seed + 1)
    rows: list[dict] = []

    def add(method: str, bits: int, sparsity: float, model: nn.Module, seconds: float, **extra: float) -> None:
        error = surrogate_error(model, test)
        rows.append(
            {
                "model": kind,
                "method": method,
                "bits": bits,
                "sparsity": sparsity,
                "error": error,
                "added_error": error - base,
                "bytes": model_bytes(model),
                "calibration_s": seconds,
                **extra,
            }
        )

    add("fp32", 32, 0.0, fp32, 0.0)
    tune = _loss(train)
    for bits in BITS:
        log(f"{kind}: {bits}-bit methods")
        spec = QuantSpec(bits=bits)
        for method in ("rtn", "adadim", "flexround", "lrq"):
            model, report = ptq(fp32, spec, method, calib, iters=size.iters, blocks="model", seed=seed)
            add(method, bits, 0.0, model, report.seconds)
            if method == "rtn":
                peqa, tuned = tune_scales(model, tune, len(train.x), size.tune_steps, lr=1e-2, seed=seed)
                add("peqa", bits, 0.0, peqa, report.seconds + tuned.seconds)
        model, report = bcq(fp32, q=bits)
        add("bcq", bits, 0.0, model, report.seconds)
        alpha, tuned = tune_scales(model, tune, len(train.x), size.tune_steps, lr=1e-2, seed=seed)
        add("alphatuning", bits, 0.0, alpha, report.seconds + tuned.seconds)
    model, report = w8a8(fp32)
    add("w8a8", 8, 0.0, model, report.seconds)
    hidden = [name for name, _ in quantizable_layers(fp32)[1:-1]]
    model, report = w8a8(fp32, act_layers=hidden)
    add("w8a8-hidden", 8, 0.0, model, report.seconds)
    for sparsity in SPARSITIES:
        log(f"{kind}: block pruning at {sparsity:.0%}")
        seconds = _selection_seconds(fp32, sparsity, size.block)
        scores = {}
        for method in ("dp", "bed", "aligned"):
            pruned, masks, report = prune(fp32, sparsity, method, size.block)
            scores[method] = sum(layer["score"] for layer in report.layers.values())
            fit(pruned, train, size.finetune_steps, 5e-4, seed, after_step=apply_masks(pruned, masks))
            extra = {}
            if method == "bed":
                extra = {
                    "dp_retained_fraction": scores["bed"] / scores["dp"],
                    "speedup_vs_dp": seconds["dp"] / seconds["bed"],
                }
            add(f"prune-{method}", 32, sparsity, sparse_model(pruned, masks, size.block), seconds[method], **extra)
            if method == "bed":
                for bits in (8, 4):
                    packed = sparse_model(pruned, masks, size.block, QuantSpec(bits=bits))
                    add("prune-bed+rtn", bits, sparsity, packed, seconds[method])
    peqa_case = _peqa_case(kind, fp32, train, size, seed, log) if kind == "thz" else {}
    return rows, peqa_case


def _selection_seconds(model: nn.Module, sparsity: float, block: int, repeats: int = 5) -> dict[str, float]:
    """Best-of-``repeats`` time of each block selector over the pruned (hidden) layers, s, after a warm-up."""
    weights = [layer.weight.detach() for _, layer in quantizable_layers(model)[1:-1]]
    out = {}
    for method in PRUNE_METHODS:
        select_blocks(method, torch.rand(2 * block, 2), 0.5, block)  # compile the Numba kernels first
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            for w in weights:
                select_blocks(method, w, sparsity, block)
            best = min(best, time.perf_counter() - start)
        out[method] = best
    return out


def _peqa_case(
    kind: str, fp32: nn.Module, source: PhysicsData, size: BenchSize, seed: int, log: Callable[[str], None]
) -> dict:
    """Adapt the THz MLP (gap permittivity 9) to another gap permittivity: 4-bit scales only (PEQA)
    vs full fine-tuning vs retraining, same steps and data."""
    n = size.n_thz // 2
    log(f"{kind}: PEQA use case, eps_gap={PEQA_EPS_GAP:g} data for {n} designs")
    stats = (source.mean, source.std)
    train, test = physics_data(kind, n, seed + 2, eps_gap=PEQA_EPS_GAP, stats=stats).split(n - size.n_test)
    steps = size.tune_steps * 3
    _, calib = design_inputs(kind, size.calib, seed + 1)
    quant, _ = ptq(fp32, QuantSpec(bits=4), "flexround", calib, iters=size.iters, blocks="model", seed=seed)
    peqa, report = tune_scales(quant, _loss(train), len(train.x), steps, lr=1e-2, seed=seed)
    start = time.perf_counter()
    full = fit(copy.deepcopy(fp32), train, steps, 5e-4, seed)
    full_s = time.perf_counter() - start
    start = time.perf_counter()
    retrained = fit(make_mlp(kind, seed + 3), train, steps, 2e-3, seed)
    retrain_s = time.perf_counter() - start
    fp_before, q_before = surrogate_error(fp32, test), surrogate_error(quant, test)
    peqa_after, full_after = surrogate_error(peqa, test), surrogate_error(full, test)
    trained = sum(layer["trained"] for layer in report.layers.values())
    total = sum(p.numel() for p in fp32.parameters())
    return {
        "model": kind,
        "from_eps_gap": 9.0,
        "to_eps_gap": PEQA_EPS_GAP,
        "steps": steps,
        "train_designs": len(train.x),
        "fp32_error_before": fp_before,
        "int4_error_before": q_before,
        "peqa_error": peqa_after,
        "full_finetune_error": full_after,
        "retrain_error": surrogate_error(retrained, test),
        "peqa_s": report.seconds,
        "full_finetune_s": full_s,
        "retrain_s": retrain_s,
        "recovered_fraction": (q_before - peqa_after) / (fp_before - full_after),
        "trained_parameters": trained,
        "trained_fraction": trained / total,
    }


def _goals(rows: list[dict], peqa: list[dict]) -> dict:
    def pick(kind: str, method: str, bits: int = 32, sparsity: float = 0.0) -> dict:
        return next(
            r for r in rows if (r["model"], r["method"], r["bits"], r["sparsity"]) == (kind, method, bits, sparsity)
        )

    goals = {}
    for kind in sorted({r["model"] for r in rows}):
        base, rtn4 = pick(kind, "fp32"), pick(kind, "rtn", 4)
        goals[kind] = {
            "flexround4_over_rtn4": pick(kind, "flexround", 4)["added_error"] / rtn4["added_error"],
            "lrq4_over_rtn4": pick(kind, "lrq", 4)["added_error"] / rtn4["added_error"],
            "w8a8_added_fraction": pick(kind, "w8a8", 8)["added_error"] / base["error"],
            "w8a8_hidden_added_fraction": pick(kind, "w8a8-hidden", 8)["added_error"] / base["error"],
        }
        for s in SPARSITIES:
            bed = pick(kind, "prune-bed", 32, s)
            goals[kind][f"sparsity_{s:g}"] = {
                "dp_retained_fraction": bed["dp_retained_fraction"],
                "speedup_vs_dp": bed["speedup_vs_dp"],
                "unaligned_bed_error": bed["error"],
                "aligned_error": pick(kind, "prune-aligned", 32, s)["error"],
            }
    for case in peqa:
        goals[case["model"]] |= {
            "peqa_recovered_fraction": case["recovered_fraction"],
            "peqa_trained_fraction": case["trained_fraction"],
        }
    return goals


def run_bench(
    kinds: tuple[str, ...] = KINDS, size: str | BenchSize = "default", seed: int = 0, log: Callable[[str], None] = print
) -> dict:
    """All rows, the PEQA use case and the goal ratios (module docstring); torch runs on one thread.

    ``size`` is ``"default"``, ``"large"`` or a :class:`BenchSize`.
    """
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"kinds must be drawn from {KINDS}; got {kind!r}")
    sizes = size if isinstance(size, BenchSize) else BenchSize.named(size)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rows, cases = [], []
        for kind in kinds:
            kind_rows, case = _rows_for_kind(kind, sizes, seed, log)
            rows += kind_rows
            if case:
                cases.append(case)
    finally:
        torch.set_num_threads(threads)
    return {"size": asdict(sizes), "seed": seed, "rows": rows, "peqa": cases, "goals": _goals(rows, cases)}


def markdown_table(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| model | method | bits | sparsity | error | added error | bytes | calibration s | DP retained | speedup vs DP |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        dp = f"{r['dp_retained_fraction']:.4f}" if "dp_retained_fraction" in r else ""
        speed = f"{r['speedup_vs_dp']:.1f}×" if "speedup_vs_dp" in r else ""
        lines.append(
            f"| {r['model']} | {r['method']} | {r['bits']} | {r['sparsity']:.0%} | {r['error']:.4g} | "
            f"{r['added_error']:+.3g} | {r['bytes']:,} | {r['calibration_s']:.2f} | {dp} | {speed} |"
        )
    return "\n".join(lines) + "\n"


def figure(rows: list[dict]) -> Figure:
    """Error against bits per method (left) and against sparsity per pruning method (right), one row per model."""
    kinds = sorted({r["model"] for r in rows})
    fig = Figure(figsize=(11, 4 * len(kinds)), layout="constrained")
    axes = fig.subplots(len(kinds), 2, squeeze=False)
    for ax_bits, ax_sparse, kind in zip(axes[:, 0], axes[:, 1], kinds):
        mine = [r for r in rows if r["model"] == kind]
        base = next(r["error"] for r in mine if r["method"] == "fp32")
        unit = "median |Δlog10 FE|" if kind == "thz" else "J MAE, dB"
        for method in ("rtn", "adadim", "flexround", "lrq", "peqa", "bcq", "alphatuning"):
            pts = sorted((r["bits"], r["error"]) for r in mine if r["method"] == method)
            ax_bits.plot(*zip(*pts), marker="o", label=method)
        ax_bits.axhline(base, color="k", ls="--", label="fp32")
        ax_bits.set(xlabel="bits", ylabel=unit, yscale="log", title=f"{kind}: quantization", xticks=list(BITS))
        ax_bits.legend(fontsize=8)
        for method, bits in (("prune-aligned", 32), ("prune-bed", 32), ("prune-dp", 32), ("prune-bed+rtn", 4)):
            pts = sorted((r["sparsity"], r["error"]) for r in mine if (r["method"], r["bits"]) == (method, bits))
            label = method.removeprefix("prune-") + (f", int{bits}" if bits < 32 else "")
            ax_sparse.plot(*zip(*pts), marker="o", label=label)
        ax_sparse.axhline(base, color="k", ls="--", label="fp32 dense")
        ax_sparse.set(xlabel="sparsity", ylabel=unit, title=f"{kind}: 1×N block pruning + fine-tuning")
        ax_sparse.legend(fontsize=8)
    return fig


def write_outputs(result: dict, out: Path) -> dict[str, str]:
    """Write ``compress.json``, ``compress.md`` and ``compress.png`` into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "compress.json", "markdown": out / "compress.md", "png": out / "compress.png"}
    paths["json"].write_text(json.dumps(result, indent=2, allow_nan=False))
    paths["markdown"].write_text(markdown_table(result["rows"]))
    figure(result["rows"]).savefig(paths["png"], dpi=120)
    return {k: str(v) for k, v in paths.items()}
