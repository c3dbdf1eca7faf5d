"""``workbench bench kernels``: the fused MLP paths against the fp32 torch surrogate, measured in one run.

CPU rows (always): for each surrogate shape (``workbench.compress`` ``make_mlp``), the fp32 torch
model (eager, through the fused torch path, and ``torch.compile`` when asked), torch's dynamic int8 quantization of it
(fbgemm/oneDNN, per-tensor activation scales: other numerics, compared with the fp32 output), and
for W8A8, int8 and int4 (RTN) compressed copies their own forward (``eager``) and the fused torch
fast path (``torch``). CUDA rows (only with a GPU and triton): the Triton kernel in fp32, bf16,
W8A8 and int4 against fp32 eager and ``torch.compile(mode="max-autotune")``.

Block-sparse rows (``bsr75``): the same MLP with every hidden layer pruned to 75 % in unaligned
1×16 blocks (BED); on the CPU its fast path (``torch``) against torch's own sparse CSR product
of the pruned layers (``torch.sparse``), on a GPU the Triton kernel against the dense fp32 one.

End-to-end rows (``env_rows``): the shipped surrogate of each kind (``workbench.surrogates.load``)
as the ``model=`` of its vector env, fp32 and compressed to W8A8 (``workbench.compress.w8a8`` of
its whole network), each as is and through the kernels (:func:`accelerate`); env steps per second
over the same actions, and the largest reward difference from the fp32 surrogate.

Times are the best of ``repeats`` calls, the candidates of one shape interleaved. CPU rows use
the process's CPU time (torch is set to one thread for them), so that other processes sharing the
cores do not count; GPU rows use wall time after a device synchronisation.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from workbench.compress import CompressedLinear, QuantSpec, prune, ptq, sparse_model, w8a8
from workbench.compress._data import KINDS, make_mlp

from ._backend import FusedMLP, triton_available
from ._reference import mlp_reference
from ._spec import extract_layers
from ._surrogate import accelerate

GPU_BATCHES = (1, 4096, 65536)
SPARSITY = 0.75
ENV_IDS = {"thz": "workbench/NanogapLoop-v0", "acoustic": "workbench/PlateCavity-v0"}


def _compressed(model: nn.Module) -> dict[str, nn.Module]:
    return {
        "w8a8": w8a8(model)[0],
        "int8": ptq(model, QuantSpec(bits=8), method="rtn")[0],
        "int4": ptq(model, QuantSpec(bits=4), method="rtn")[0],
    }


def _block_sparse(model: nn.Module) -> nn.Module:
    """``model`` with its hidden layers pruned to ``SPARSITY`` in unaligned 1×16 blocks, packed as block lists."""
    pruned, masks, _ = prune(model, SPARSITY, method="bed", block=16)
    return sparse_model(pruned, masks, 16)


def _csr_forward(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """The block-sparse model with each block-list layer as a torch CSR weight (``torch.sparse.mm``)."""
    steps: list[Callable[[torch.Tensor], torch.Tensor]] = []
    for module in model:
        if isinstance(module, CompressedLinear):
            with warnings.catch_warnings():  # sparse CSR support is flagged beta
                warnings.simplefilter("ignore")
                weight = module.dense_weight().detach().to_sparse_csr()
            bias = module.bias.detach()[:, None]
            steps.append(lambda h, w=weight, b=bias: torch.sparse.addmm(b, w, h.t()).t())
        else:
            steps.append(module)

    def forward(x: torch.Tensor) -> torch.Tensor:
        for step in steps:
            x = step(x)
        return x

    return forward


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
    variants = _compressed(model) | {"bsr75": _block_sparse(model)}
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
    csr = _csr_forward(variants["bsr75"])
    candidates["bsr75/torch.sparse"] = lambda: csr(x)
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
    variants = {"fp32": model} | _compressed(model) | {"bsr75": _block_sparse(model)}
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


def _env_rows(kind: str, num_envs: int, steps: int, repeats: int, seed: int) -> list[dict]:
    """Steps/s of the surrogate env (cache off: every step calls the model) per surrogate variant."""
    import gymnasium as gym

    import envs  # noqa: F401  (registers the env ids)
    from workbench.surrogates import load

    fp32 = load(kind)
    compressed = copy.copy(fp32)
    compressed.net = w8a8(fp32.net)[0]
    variants = {("fp32", False): fp32, ("fp32", True): accelerate(fp32)}
    variants |= {("w8a8", False): compressed, ("w8a8", True): accelerate(compressed)}
    venvs = {
        key: gym.make_vec(
            ENV_IDS[kind], num_envs, vectorization_mode="vector_entry_point", config={"cache_size": 0}, model=model
        )
        for key, model in variants.items()
    }
    space = venvs["fp32", False].action_space
    space.seed(seed)
    actions = [space.sample() for _ in range(steps + 1)]
    best = dict.fromkeys(venvs, float("inf"))
    rewards: dict[Any, np.ndarray] = {}
    for _ in range(repeats):
        for key, venv in venvs.items():
            venv.reset(seed=seed)
            venv.step(actions[0])  # warm-up: the first model call builds packed weights and workspaces
            start = time.process_time()
            rewards[key] = np.stack([venv.step(action)[1] for action in actions[1:]])
            best[key] = min(best[key], time.process_time() - start)
    rows = []
    for (name, kernels), seconds in best.items():
        diff = float(np.abs(rewards[name, kernels] - rewards["fp32", False]).max())
        if not np.isfinite(diff):
            raise ValueError(f"rewards of the {name} surrogate must be finite; got max difference {diff}")
        rows.append(
            {
                "surrogate": kind,
                "model": name,
                "kernels": kernels,
                "num_envs": num_envs,
                "steps_per_s": round(num_envs * steps / seconds, 1),
                "speedup_vs_fp32": round(best["fp32", False] / seconds, 3),
                "max_reward_diff_vs_fp32": diff,
            }
        )
    return rows


def run_bench(
    kinds: tuple[str, ...] = KINDS,
    batch: int = 4096,
    repeats: int = 20,
    use_compile: bool = False,
    seed: int = 0,
    log: Callable[[str], None] = lambda _msg: None,
    num_envs: int = 256,
    env_steps: int = 10,
) -> dict:
    """All rows and the CPU goal (compressed fast path at least as fast as fp32 eager) of one run.

    Args:
        kinds: surrogate shapes from ``workbench.compress`` (``"thz"``: 4×256, ``"acoustic"``: 3×128).
        batch: rows per call of the CPU rows, ≥ 1.
        repeats: timed calls per candidate, ≥ 1.
        use_compile: also time ``torch.compile`` of the fp32 model on the CPU.
        seed: weights and inputs.
        num_envs: sub-environments of the end-to-end rows, ≥ 1.
        env_steps: timed vector steps per end-to-end candidate and repeat (0 skips those rows).
    """
    if batch < 1 or repeats < 1 or num_envs < 1 or env_steps < 0:
        raise ValueError(
            "batch, repeats and num_envs must be >= 1 and env_steps >= 0; got "
            f"batch={batch}, repeats={repeats}, num_envs={num_envs}, env_steps={env_steps}"
        )
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
        env_rows = []
        for kind in kinds if env_steps else ():
            log(f"end-to-end rows: {kind} surrogate env, {num_envs} envs")
            env_rows += _env_rows(kind, num_envs, env_steps, min(repeats, 5), seed)
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
        "env_rows": env_rows,
        "cpu_goal_fast_path_not_slower_than_fp32_eager": goal,
        "gpu": gpu,
        "cpu_clock": "process CPU time, 1 torch thread",
    }
