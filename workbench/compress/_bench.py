"""``workbench bench compress``: every method × bits × sparsity on the shipped surrogates, in one run.

For each surrogate kind the shipped checkpoint (``workbench.surrogates.load``) is compressed
(:func:`compress_surrogate`: its trunk MLP, or every member of the acoustic ensemble) and scored
against held-out physics designs with the surrogate's accuracy metric (median |Δlog10 FE| for
THz, J MAE in dB for acoustic). Post-training quantization calibrates on Sobol designs of the
env's design space; PEQA, AlphaTuning and the fine-tuning after pruning train on separate physics
designs with the surrogate's own loss. Quantization rows are dense (``w8a8-smooth`` and
``w8a8-rotate``: W8A8 with SmoothQuant migration, α = 0.5, or the Hadamard rotation;
``w8a8-mixed`` and ``w8a8-rotate-mixed``: the one layer whose 8-bit input adds the most output
error on the calibration designs keeps a float input; ``w8a8-rotate-mixed-flexround``: the latter with
FlexRound's learned rounding of the int8 weights, ``iters`` steps per layer; ``w8a8-asym``: inputs on
asymmetric per-row grids with a zero point, ``w8a8-asym-mixed-flexround`` with one float input and
learned rounding as well); pruning rows
are fp32 (``prune-*``) or the BED-pruned network with RTN codes (``prune-bed+rtn``). Rows carry ``model``,
``method``, ``bits`` (32 = float), ``sparsity``, ``error``, ``added_error`` (minus the fp32
error), ``bytes`` (stored size of the network) and ``calibration_s``; BED rows add
``dp_retained_fraction`` (kept Σ|W| over the exact optimum's) and ``speedup_vs_dp`` (exact
selection time over BED's, on the same layers).
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

from ..surrogates import Dataset, load, make_dataset, train_thz
from ._layers import compressed_layers, model_bytes
from ._methods import PRUNE_METHODS, select_blocks
from ._quant import QuantSpec
from ._surrogate import (
    KINDS,
    Surrogate,
    calibration_inputs,
    compress_surrogate,
    hidden_layers,
    surrogate_error,
    trunk,
    with_trunk,
)

BITS = (8, 4, 3, 2)
SPARSITIES = (0.5, 0.7, 0.8)
PEQA_EPS_GAP = 4.0
SMOOTH_ALPHA = 0.5
MIXED_FLOAT_INPUTS = 1  # mixed-precision W8A8 budget: layers that keep float inputs


@dataclass(frozen=True)
class BenchSize:
    """Sizes of one bench run (``default`` stays within tens of minutes on one loaded core; ``large`` is slower).

    Physics designs: ``thz_test`` / ``acoustic_test`` held out for the error, ``thz_tune`` /
    ``acoustic_tune`` for scale tuning and fine-tuning; ``calib`` Sobol designs (no physics) for
    post-training quantization; ``iters`` FlexRound / LRQ reconstruction steps (the published recipes
    run 5000 per block, which ``large`` uses; ``default`` runs 1000 to stay within its time); ``tune_steps`` PEQA /
    AlphaTuning steps; ``finetune_epochs`` epochs after pruning; ``block`` N; ``bits`` and
    ``sparsities`` the grid of rows.
    """

    thz_test: int
    thz_tune: int
    acoustic_test: int
    acoustic_tune: int
    calib: int
    iters: int
    tune_steps: int
    finetune_epochs: int
    block: int = 16
    bits: tuple[int, ...] = BITS
    sparsities: tuple[float, ...] = SPARSITIES

    @classmethod
    def named(cls, name: str) -> BenchSize:
        """``"default"`` or ``"large"``."""
        sizes = {
            "default": cls(512, 1024, 128, 256, 512, 1000, 100, 3),
            "large": cls(2048, 8192, 512, 2048, 4096, 5000, 1000, 30),
        }
        if name not in sizes:
            raise ValueError(f"size must be one of {tuple(sizes)}; got size={name!r}")
        return sizes[name]

    def counts(self, kind: str) -> tuple[int, int]:
        """(held-out, tuning) physics designs of ``kind``."""
        return (self.thz_test, self.thz_tune) if kind == "thz" else (self.acoustic_test, self.acoustic_tune)


def _physics(surrogate: Surrogate, n: int, seed: int, env: dict | None = None) -> Dataset:
    """``n`` Sobol designs of the surrogate's env (or ``env``) and their physics responses."""
    return make_dataset(surrogate.kind, n, seed, env=surrogate.metadata["env"] if env is None else env)


def _rows_for_kind(kind: str, size: BenchSize, seed: int, log: Callable[[str], None]) -> tuple[list[dict], dict]:
    fp32 = load(kind)
    n_test, n_tune = size.counts(kind)
    log(f"{kind}: physics of {n_test} held-out and {n_tune} tuning designs")
    test, tune = _physics(fp32, n_test, seed + 1), _physics(fp32, n_tune, seed + 2)
    calib = calibration_inputs(fp32, size.calib, seed + 3)
    base = surrogate_error(fp32, test)
    rows: list[dict] = []

    def add(method: str, bits: int, sparsity: float, model: Surrogate, seconds: float, **extra: float) -> None:
        error = surrogate_error(model, test)
        rows.append(
            {
                "model": kind,
                "method": method,
                "bits": bits,
                "sparsity": sparsity,
                "error": error,
                "added_error": error - base,
                "bytes": model_bytes(trunk(model)),
                "calibration_s": seconds,
                **extra,
            }
        )

    def run(method: str, bits: int, **options: object) -> tuple[Surrogate, float]:
        return compress_surrogate(
            fp32,
            method,
            QuantSpec(bits=bits) if bits <= 8 else None,
            calib,
            iters=size.iters,
            data=tune,
            steps=size.tune_steps,
            epochs=size.finetune_epochs,
            block=size.block,
            seed=seed,
            **options,
        )

    add("fp32", 32, 0.0, fp32, 0.0)
    for bits in size.bits:
        log(f"{kind}: {bits}-bit methods")
        for method in ("rtn", "adadim", "flexround", "lrq", "peqa", "bcq", "alphatuning"):
            add(method, bits, 0.0, *run(method, bits))
    add("w8a8", 8, 0.0, *run("w8a8", 8))
    add("w8a8-smooth", 8, 0.0, *run("w8a8", 8, smooth=SMOOTH_ALPHA))
    add("w8a8-rotate", 8, 0.0, *run("w8a8", 8, rotate=True))
    add("w8a8-mixed", 8, 0.0, *run("w8a8", 8, float_inputs=MIXED_FLOAT_INPUTS))
    add("w8a8-rotate-mixed", 8, 0.0, *run("w8a8", 8, rotate=True, float_inputs=MIXED_FLOAT_INPUTS))
    options = {"rotate": True, "float_inputs": MIXED_FLOAT_INPUTS, "rounding": "flexround"}
    add("w8a8-rotate-mixed-flexround", 8, 0.0, *run("w8a8", 8, **options))
    add("w8a8-asym", 8, 0.0, *run("w8a8", 8, act_symmetric=False))
    options = {"act_symmetric": False, "float_inputs": MIXED_FLOAT_INPUTS, "rounding": "flexround"}
    add("w8a8-asym-mixed-flexround", 8, 0.0, *run("w8a8", 8, **options))
    log(f"{kind}: block pruning")
    for sparsity in size.sparsities:
        seconds = _selection_seconds(trunk(fp32), sparsity, size.block)
        scores = {m: _kept_score(trunk(fp32), m, sparsity, size.block) for m in PRUNE_METHODS}
        for method in ("dp", "bed", "aligned"):
            extra = {}
            if method == "bed":
                extra = {
                    "dp_retained_fraction": scores["bed"] / scores["dp"],
                    "speedup_vs_dp": seconds["dp"] / seconds["bed"],
                }
            model, _ = run(f"prune-{method}", 32, sparsity=sparsity)
            add(f"prune-{method}", 32, sparsity, model, seconds[method], **extra)
        for bits in (8, 4):
            add("prune-bed+rtn", bits, sparsity, *run("rtn", bits, sparsity=sparsity))
    peqa_case = _peqa_case(fp32, size, seed, calib, log) if kind == "thz" else {}
    return rows, peqa_case


def _kept_score(network: torch.nn.Module, method: str, sparsity: float, block: int) -> float:
    """Kept Σ|W| of one selector over the pruned (hidden) layers."""
    layers = dict(network.named_modules())
    return sum(select_blocks(method, layers[n].weight.detach(), sparsity, block).score for n in hidden_layers(network))


def _selection_seconds(network: torch.nn.Module, sparsity: float, block: int, repeats: int = 50) -> dict[str, float]:
    """Selection time of each block selector over the pruned (hidden) layers, s: per layer the best of
    ``repeats`` calls after a warm-up, summed over layers. The selectors take turns within each
    repeat, so a change in the machine's load between them does not bias their ratio."""
    layers = dict(network.named_modules())
    weights = [layers[n].weight.detach() for n in hidden_layers(network)]
    for method in PRUNE_METHODS:
        select_blocks(method, torch.rand(2 * block, 2), 0.5, block)  # compile the Numba kernels first
    out = dict.fromkeys(PRUNE_METHODS, 0.0)
    for w in weights:
        best = dict.fromkeys(PRUNE_METHODS, float("inf"))
        for _ in range(repeats):
            for method in PRUNE_METHODS:
                start = time.perf_counter()
                select_blocks(method, w, sparsity, block)
                best[method] = min(best[method], time.perf_counter() - start)
        for method in PRUNE_METHODS:
            out[method] += best[method]
    return out


def _peqa_case(source: Surrogate, size: BenchSize, seed: int, calib: torch.Tensor, log: Callable[[str], None]) -> dict:
    """Adapt the shipped THz surrogate (gap permittivity 9) to gap permittivity 4: 4-bit scales only
    (PEQA, from RTN codes) vs full fine-tuning vs retraining, on the same new physics data."""
    env = dict(source.metadata["env"], eps_gap=PEQA_EPS_GAP)
    n_test, n_tune = size.counts("thz")
    log(f"thz: PEQA use case, eps_gap={PEQA_EPS_GAP:g} physics of {n_tune} + {n_test} designs")
    train, test = _physics(source, n_tune, seed + 4, env), _physics(source, n_test, seed + 5, env)
    meta = copy.deepcopy(source.metadata) | {"env": env}
    shell = type(source)(meta, copy.deepcopy(source.net))  # the gold/ε=9 network, asked with ε=4 features
    epochs = size.finetune_epochs * 3
    steps = epochs * -(-int(0.9 * len(train)) // 256)  # the same number of optimiser steps as the fine-tuning
    quant, _ = compress_surrogate(shell, "rtn", QuantSpec(bits=4))
    peqa, peqa_s = compress_surrogate(shell, "peqa", QuantSpec(bits=4), calib, data=train, steps=steps, seed=seed)
    start = time.perf_counter()
    full = with_trunk(shell, copy.deepcopy(trunk(shell)))
    full.fit(train, epochs, lr=5e-4, seed=seed)
    full_s = time.perf_counter() - start
    start = time.perf_counter()
    network = source.metadata["network"]
    retrained = train_thz(train, network["head"], network["width"], network["depth"], epochs, seed=seed)
    retrain_s = time.perf_counter() - start
    fp_before, q_before = surrogate_error(shell, test), surrogate_error(quant, test)
    peqa_after, full_after = surrogate_error(peqa, test), surrogate_error(full, test)
    trained = sum(m.scale.numel() for _, m in compressed_layers(trunk(peqa)))
    total = sum(p.numel() for p in trunk(source).parameters())
    return {
        "model": "thz",
        "from_eps_gap": 9.0,
        "to_eps_gap": PEQA_EPS_GAP,
        "steps": steps,
        "epochs": epochs,
        "train_designs": len(train),
        "fp32_error_before": fp_before,
        "int4_error_before": q_before,
        "peqa_error": peqa_after,
        "full_finetune_error": full_after,
        "retrain_error": surrogate_error(retrained, test),
        "peqa_s": peqa_s,
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
            "w8a8_smooth_added_fraction": pick(kind, "w8a8-smooth", 8)["added_error"] / base["error"],
            "w8a8_rotate_added_fraction": pick(kind, "w8a8-rotate", 8)["added_error"] / base["error"],
            "w8a8_mixed_added_fraction": pick(kind, "w8a8-mixed", 8)["added_error"] / base["error"],
            "w8a8_rotate_mixed_added_fraction": pick(kind, "w8a8-rotate-mixed", 8)["added_error"] / base["error"],
            "w8a8_rotate_mixed_flexround_added_fraction": pick(kind, "w8a8-rotate-mixed-flexround", 8)["added_error"]
            / base["error"],
            "w8a8_asym_added_fraction": pick(kind, "w8a8-asym", 8)["added_error"] / base["error"],
            "w8a8_asym_mixed_flexround_added_fraction": pick(kind, "w8a8-asym-mixed-flexround", 8)["added_error"]
            / base["error"],
        }
        for s in sorted({r["sparsity"] for r in rows if (r["model"], r["method"]) == (kind, "prune-bed")}):
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
        ax_bits.set(xlabel="bits", ylabel=unit, yscale="log", title=f"{kind}: quantization")
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
