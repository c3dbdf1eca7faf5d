"""``workbench bench kernels``: the fused MLP paths against the fp32 torch surrogate, measured in one run.

CPU rows (always): for each surrogate shape (``workbench.compress`` ``make_mlp``), the fp32 torch
model (eager, through the fused torch path, and ``torch.compile`` when asked), torch's dynamic int8 quantization of it
(fbgemm/oneDNN, per-tensor activation scales: other numerics, compared with the fp32 output), and
for W8A8, int8 and int4 (RTN) compressed copies their own forward (``eager``) and the fused torch
fast path (``torch``). CUDA rows (only with a GPU and triton): the Triton kernel in fp32, bf16,
W8A8 and int4 against fp32 eager and ``torch.compile(mode="max-autotune")``.

Times are the best of ``repeats`` calls, the candidates of one shape interleaved. CPU rows use
the process's CPU time (torch is set to one thread for them), so that other processes sharing the
cores do not count; GPU rows use wall time after a device synchronisation.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import torch
from torch import nn

from workbench.compress import QuantSpec, ptq, w8a8
from workbench.compress._data import KINDS, make_mlp

from ._backend import FusedMLP, triton_available
from ._reference import mlp_reference
from ._spec import extract_layers

GPU_BATCHES = (1, 4096, 65536)


def _compressed(model: nn.Module) -> dict[str, nn.Module]:
    return {
        "w8a8": w8a8(model)[0],
        "int8": ptq(model, QuantSpec(bits=8), method="rtn")[0],
        "int4": ptq(model, QuantSpec(bits=4), method="rtn")[0],
    }


def _best_times(
    candidates: dict[str, Callable[[], torch.Tensor]],
    repeats: int,
    sync: Callable[[], None],
    clock: Callable[[], float],
) -> dict:
    """Best time (µs, by ``clock``) of each candidate over ``repeats`` interleaved rounds after a warm-up call."""
    best = dict.fromkeys(candidates, float("inf"))
    for fn in candidates.values():
        fn()
    sync()
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = clock()
            fn()
            sync()
            best[name] = min(best[name], (clock() - start) * 1e6)
    return best


def _max_err(y: torch.Tensor, ref: torch.Tensor) -> float:
    err = float((y.float() - ref.float()).abs().max())
    if err != err or err == float("inf"):
        raise ValueError(f"max_abs_error must be finite; got {err}")
    return err


def _row(kernel: str, backend: str, batch: int, width: int, t: float, eager: float, comp: float | None, err: float):
    return {
        "kernel": kernel,
        "backend": backend,
        "batch": batch,
        "width": width,
        "time_us": round(t, 1),
        "speedup_vs_eager": round(eager / t, 3),
        "speedup_vs_compile": None if comp is None else round(comp / t, 3),
        "max_abs_error": err,
    }


@torch.no_grad()
def _cpu_rows(kind: str, batch: int, repeats: int, use_compile: bool, seed: int) -> list[dict]:
    model = make_mlp(kind, seed).eval()
    width = model[0].out_features
    x = torch.rand(batch, model[0].in_features, generator=torch.Generator().manual_seed(seed))
    variants = _compressed(model)
    fused = {name: FusedMLP(m, "torch", strict=True) for name, m in ({"fp32": model} | variants).items()}
    with warnings.catch_warnings():  # torch.ao.quantization is deprecated in favour of torchao
        warnings.simplefilter("ignore")
        dynamic = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    candidates: dict[str, Callable[[], torch.Tensor]] = {"fp32/eager": lambda: model(x)}
    candidates["fp32/torch"] = lambda: fused["fp32"](x)
    candidates["int8_dynamic/torch.ao"] = lambda: dynamic(x)
    for name in variants:
        candidates[f"{name}/eager"] = lambda m=variants[name]: m(x)
        candidates[f"{name}/torch"] = lambda f=fused[name]: f(x)
    if use_compile:
        compiled = torch.compile(model)
        candidates["fp32/compile"] = lambda: compiled(x)
    times = _best_times(candidates, repeats, lambda: None, time.process_time)
    reference = {"fp32": model(x), "int8_dynamic": model(x)}
    reference |= {name: mlp_reference(x, extract_layers(m)) for name, m in variants.items()}
    rows = []
    for key, fn in candidates.items():
        kernel, backend = key.split("/")
        err = _max_err(fn(), reference[kernel])
        rows.append(
            _row(kernel, backend, batch, width, times[key], times["fp32/eager"], times.get("fp32/compile"), err)
        )
    return rows


@torch.no_grad()
def _gpu_rows(kind: str, repeats: int, seed: int) -> list[dict]:
    device = torch.device("cuda")
    model = make_mlp(kind, seed).eval()
    width = model[0].out_features
    variants = {"fp32": model} | _compressed(model)
    runners = {name: FusedMLP(m, "triton", strict=True) for name, m in variants.items()}
    runners["bf16"] = FusedMLP(model, "triton", bf16=True, strict=True)
    for runner in runners.values():
        runner.to(device)
    gpu_model = make_mlp(kind, seed).eval().to(device)
    compiled = torch.compile(gpu_model, mode="max-autotune")
    rows = []
    for batch in GPU_BATCHES:
        x = torch.rand(batch, model[0].in_features, generator=torch.Generator().manual_seed(seed)).to(device)
        candidates = {"fp32/eager": lambda x=x: gpu_model(x), "fp32/compile": lambda x=x: compiled(x)}
        candidates |= {f"{name}/triton": (lambda r=r, x=x: r(x)) for name, r in runners.items()}
        times = _best_times(candidates, repeats, torch.cuda.synchronize, time.perf_counter)
        for key, fn in candidates.items():
            kernel, backend = key.split("/")
            layers = runners["fp32" if kernel == "bf16" else kernel].layers
            err = _max_err(fn(), mlp_reference(x, layers))
            rows.append(
                _row(kernel, backend, batch, width, times[key], times["fp32/eager"], times["fp32/compile"], err)
            )
    return rows


def run_bench(
    kinds: tuple[str, ...] = KINDS,
    batch: int = 4096,
    repeats: int = 20,
    use_compile: bool = False,
    seed: int = 0,
    log: Callable[[str], None] = lambda _msg: None,
) -> dict:
    """All rows and the CPU goal (compressed fast path at least as fast as fp32 eager) of one run.

    Args:
        kinds: surrogate shapes from ``workbench.compress`` (``"thz"``: 4×256, ``"acoustic"``: 3×128).
        batch: rows per call of the CPU rows, ≥ 1.
        repeats: timed calls per candidate, ≥ 1.
        use_compile: also time ``torch.compile`` of the fp32 model on the CPU.
        seed: weights and inputs.
    """
    if batch < 1 or repeats < 1:
        raise ValueError(f"batch and repeats must be >= 1; got batch={batch}, repeats={repeats}")
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise ValueError(f"kinds must be a non-empty selection of {KINDS}; got kinds={kinds!r}")
    rows: list[dict] = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for kind in kinds:
            log(f"CPU rows: {kind}, batch {batch}")
            rows += _cpu_rows(kind, batch, repeats, use_compile, seed)
    finally:
        torch.set_num_threads(threads)
    if torch.cuda.is_available() and triton_available():
        for kind in kinds:
            log(f"CUDA rows: {kind}")
            rows += _gpu_rows(kind, repeats, seed)
        gpu = torch.cuda.get_device_name()
    else:
        gpu = "no CUDA device" if not torch.cuda.is_available() else "triton not installed"
        log(f"GPU rows skipped: {gpu}")
    eager = {(r["width"], r["batch"]): r["time_us"] for r in rows if r["kernel"] == "fp32" and r["backend"] == "eager"}
    goal = {
        f"{r['kernel']}@{r['width']}": r["time_us"] <= eager[(r["width"], r["batch"])]
        for r in rows
        if r["backend"] == "torch" and r["kernel"] != "fp32"
    }
    return {
        "rows": rows,
        "cpu_goal_fast_path_not_slower_than_fp32_eager": goal,
        "gpu": gpu,
        "cpu_clock": "process CPU time, 1 torch thread",
    }
