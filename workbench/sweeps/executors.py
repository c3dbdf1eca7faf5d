"""Executors (local process pool, Ray) and the driver loop of ``workbench sweep run``.

The driver owns the sweep in the store, claims pending trials (one attempt each) up to the number
of workers, submits them to the executor and reaps their outcomes. Once a second it releases
running trials whose worker is gone (process exited on this host, or heartbeat stale), so an
interrupted trial goes back to pending. Trials still running in live workers of a killed driver
(orphans) are left alone and take a worker slot until they finish or die.

- ``local``: ``concurrent.futures.ProcessPoolExecutor`` with the ``forkserver`` start method (a
  fresh single-threaded server, safe with torch and Numba threads, imports the search once and forks
  each worker from it), one worker per core by default; workers write to the SQLite store.
- ``ray``: ``ray.remote`` tasks (``num_cpus=1``, no automatic retries: the store decides), on a
  local Ray instance or an existing cluster (``address``); workers report through a store actor
  pinned to the driver's node, so the SQLite file stays on one host.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .spec import SweepSpec
from .store import (
    DEFAULT_STORE,
    HEARTBEAT_S,
    MAX_LOSSES,
    STALE_AFTER_S,
    Claim,
    OwnershipLost,
    Process,
    SweepStore,
    process_ident,
)
from .worker import TrialTask, execute_trial, init_local_worker, run_local_trial, run_search

EXECUTORS = ("local", "ray")
"""Values of ``run_sweep(executor=...)`` and ``workbench sweep run --executor``."""
_SEARCH_PRELOAD = ("workbench.search", "torch._dynamo")
"""Imported once by the local pool's fork server (torch.optim imports torch._dynamo on first use: ~4 s)."""
_POLL_S = 0.5
_RECOVER_EVERY_S = 1.0


class ExecutorError(RuntimeError):
    """The executor could not start (e.g. Ray did not start or the cluster address is unreachable)."""


@dataclass(frozen=True)
class SweepOutcome:
    """What one ``sweep run`` did.

    Attributes:
        status: :meth:`SweepStore.status` at the end.
        created: the sweep was new in the store.
        recovered: ``(trial key, reason)`` of running trials released at start (interrupted).
        startup_s: time to start the executor (pool workers or Ray, warmed up).
        loop_s: time from the first claim to the end.
        outcomes: how the attempts this driver submitted ended, e.g. ``{"done": 8}``.
    """

    status: dict[str, Any]
    created: bool
    recovered: list[tuple[str, str]]
    startup_s: float
    loop_s: float
    outcomes: dict[str, int] = field(default_factory=dict)


def _nap(seconds: float) -> None:
    """Warm-up task: starts a worker (imports included) without doing work."""
    time.sleep(seconds)


class _LocalExecutor:
    name = "local"

    def __init__(self, workers: int, store_url: str, preload: list[str]) -> None:
        self.workers, self.store_url = workers, store_url
        # forkserver: a clean single-threaded server imports `preload` once (torch, SB3, Numba for
        # the search) and forks each worker from it, instead of every worker importing them.
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(preload)
        self.pool = self._new_pool()

    def _new_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        self.current: set[concurrent.futures.Future] = set()  # futures of this pool (not of a broken one)
        return concurrent.futures.ProcessPoolExecutor(
            self.workers, mp_context=self.context, initializer=init_local_worker, initargs=(Process.current(),)
        )

    def warm_up(self) -> None:
        list(self.pool.map(_nap, [0.05] * self.workers))

    def submit(self, task: TrialTask) -> concurrent.futures.Future:
        future = self.pool.submit(run_local_trial, task, self.store_url)
        self.current.add(future)
        return future

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, str | None, BaseException | None]]:
        done, _ = concurrent.futures.wait(handles, timeout, concurrent.futures.FIRST_COMPLETED)
        reaped = []
        for future in done:
            error = future.exception()
            reaped.append((future, None if error else future.result(), error))
            if isinstance(error, BrokenProcessPool) and future in self.current:  # a worker died: new pool
                self.pool.shutdown(wait=False)
                self.pool = self._new_pool()
            self.current.discard(future)
        return reaped

    def stop(self, handles: list[Any], workers: list[Process]) -> None:
        me = Process.current()
        for worker in workers:  # only the pool's own workers (same host, pid and start identity)
            if worker.host == me.host and worker.pid != me.pid and process_ident(worker.pid) == worker.ident:
                os.kill(worker.pid, signal.SIGTERM)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _StoreActor:
    """Ray actor on the driver's node forwarding workers' reports to the SQLite store."""

    def __init__(self, url: str) -> None:
        self.store = SweepStore(url)

    def ready(self) -> bool:
        return True

    def start(self, *args: Any) -> bool:
        return self.store.start(*args)

    def heartbeat(self, *args: Any) -> bool:
        return self.store.heartbeat(*args)

    def complete(self, *args: Any) -> bool:
        return self.store.complete(*args)

    def fail(self, *args: Any) -> bool:
        return self.store.fail(*args)

    def release(self, *args: Any) -> bool:
        return self.store.release(*args)


class _ActorLedger:
    """The :class:`~workbench.sweeps.worker.Ledger` of a Ray worker: blocking calls to the actor."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    def __getattr__(self, method: str) -> Callable[..., bool]:
        import ray

        remote = getattr(self.actor, method)
        return lambda *args: ray.get(remote.remote(*args))


def run_ray_trial(task: TrialTask, actor: Any) -> str:
    """Body of the Ray task: :func:`~workbench.sweeps.worker.execute_trial` through the store actor."""
    return execute_trial(task, _ActorLedger(actor))


class _RayExecutor:
    name = "ray"

    def __init__(self, workers: int | None, address: str | None, store_url: str) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self.ray = ray
        self.started = not ray.is_initialized()
        if self.started:
            try:
                ray.init(
                    address=address,
                    num_cpus=(workers or os.cpu_count() or 1) if address is None else None,
                    include_dashboard=False,
                    log_to_driver=False,
                )
            except Exception as error:  # Ray raises bare Exception, ConnectionError, RuntimeError, ...
                ray.shutdown()
                where = f"the Ray cluster at {address}" if address else "a local Ray instance"
                raise ExecutorError(
                    f"could not start or join {where}: {type(error).__name__}: {error}. On a loaded machine the "
                    f"raylet can time out: try again, or start a cluster with `ray start --head` and pass --address "
                    f"(with RAY_AUTH_MODE=token when the cluster uses token authentication)"
                ) from None
        self.workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        node = ray.get_runtime_context().get_node_id()
        actor_class = ray.remote(num_cpus=0, max_restarts=0)(_StoreActor)
        self.actor = actor_class.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(
            store_url
        )
        self.remote = ray.remote(num_cpus=1, max_retries=0)(run_ray_trial)

    def warm_up(self) -> None:
        ray = self.ray
        ray.get(self.actor.ready.remote())
        nap = ray.remote(num_cpus=1)(_nap)
        ray.get([nap.remote(0.05) for _ in range(self.workers)])

    def submit(self, task: TrialTask) -> Any:
        return self.remote.remote(task, self.actor)

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, str | None, BaseException | None]]:
        ready, _ = self.ray.wait(handles, num_returns=1, timeout=timeout)
        reaped = []
        for ref in ready:
            try:
                reaped.append((ref, self.ray.get(ref), None))
            except self.ray.exceptions.RayError as error:
                reaped.append((ref, None, error))
        return reaped

    def stop(self, handles: list[Any], workers: list[Process]) -> None:
        for ref in handles:
            self.ray.cancel(ref, force=True)

    def close(self) -> None:
        self.ray.kill(self.actor)
        if self.started:
            self.ray.shutdown()


class _OwnerHeartbeat(threading.Thread):
    def __init__(self, store: SweepStore, name: str, token: str, me: Process) -> None:
        super().__init__(name="sweep-owner-heartbeat", daemon=True)
        self.store, self.name_, self.token, self.me = store, name, token, me
        self.stopped = threading.Event()
        self.lost = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            try:
                if not self.store.heartbeat_owner(self.name_, self.token, self.me):
                    self.lost.set()
                    return
            except Exception:  # a busy store: try again at the next beat
                continue


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_sweep(
    spec: SweepSpec,
    store_url: str = DEFAULT_STORE,
    executor: str = "local",
    address: str | None = None,
    workers: int | None = None,
    take_over: bool = False,
    retry_failed: bool = False,
    stale_after: float = STALE_AFTER_S,
    runner: Callable[[TrialTask], dict[str, Any]] = run_search,
    on_change: Callable[[dict[str, Any]], None] | None = None,
    log: Callable[[str], None] = lambda message: None,
) -> SweepOutcome:
    """Run (or resume) sweep ``spec`` until no trial is pending or running; see the module docstring.

    Args:
        spec: a validated spec (:func:`~workbench.sweeps.spec.load_spec`).
        store_url: ``sqlite:///path.db``; created when missing.
        executor: ``"local"`` (process pool) or ``"ray"``.
        address: Ray cluster address (``auto``, ``host:port``); None starts a local Ray instance.
        workers: concurrent trials; default one per core (local) or the cluster's CPUs (Ray).
        take_over: become the owner even if another live ``sweep run`` owns the sweep.
        retry_failed: put failed trials back to pending first.
        stale_after: seconds without heartbeat after which an owner counts as gone.
        runner: the trial function (default: the search); must be importable by workers.
        on_change: called with the status whenever its counts change (progress display).
        log: called with one line per notable event (released trials, failures).

    Raises:
        SpecError: a trial's config is invalid (nothing changed in the store).
        StoreError: the store cannot be opened, or holds this name with a different spec.
        SweepBusy: another live driver owns the sweep and ``take_over`` is False.
        OwnershipLost: another driver took the sweep over while this one ran; this one stopped
            its running trials (back to pending).
        ExecutorError: the executor did not start (the sweep stays as it was, without owner).
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}; got executor={executor!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1; got workers={workers}")
    if stale_after < 3 * HEARTBEAT_S:
        raise ValueError(f"stale_after must be >= {3 * HEARTBEAT_S:g} s (3 heartbeats); got stale_after={stale_after}")
    trials = spec.validate()
    sweep_dir = (Path(spec.runs_root) / spec.name).resolve()
    rows = [t.row(sweep_dir) for t in trials]
    with SweepStore(store_url, create=True) as store:
        created = store.register(spec.content(), spec.content_hash(), spec.source, str(sweep_dir), rows)
        driver = _Driver(store, spec.name, executor, stale_after, log)
        store.acquire(spec.name, driver.me, executor, driver.token, stale_after, take_over)
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _interrupt) if in_main else None
        driver.beat.start()
        try:
            if retry_failed:
                log(f"{store.retry_failed(spec.name)} failed trials back to pending")
            recovered = driver.recover()
            startup, loop_s, outcomes = driver.drive(address, workers, runner, on_change)
        finally:
            driver.beat.stopped.set()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            store.recover(spec.name, stale_after, mine=driver.me)
            store.release_owner(spec.name, driver.token)
        return SweepOutcome(store.status(spec.name, stale_after), created, recovered, startup, loop_s, outcomes)


class _Driver:
    """The loop of one ``sweep run`` holding the sweep ``name``."""

    def __init__(self, store: SweepStore, name: str, kind: str, stale_after: float, log: Callable[[str], None]):
        self.store, self.name, self.kind, self.stale_after, self.log = store, name, kind, stale_after, log
        self.me, self.token = Process.current(), uuid.uuid4().hex
        self.beat = _OwnerHeartbeat(store, name, self.token, self.me)
        self.inflight: dict[Any, Claim] = {}
        self.outcomes: dict[str, int] = {}

    def recover(self) -> list[tuple[str, str]]:
        released = self.store.recover(self.name, self.stale_after)
        for key, reason in released:
            self.log(f"interrupted trial back to pending: {key} ({reason})")
        return released

    def drive(
        self,
        address: str | None,
        workers: int | None,
        runner: Callable[[TrialTask], dict[str, Any]],
        on_change: Callable[[dict[str, Any]], None] | None,
    ) -> tuple[float, float, dict[str, int]]:
        """Start the executor and run the loop; returns (startup s, loop s, outcome counts)."""
        started = time.perf_counter()
        if self.kind == "local":
            preload = list(_SEARCH_PRELOAD) if runner is run_search else []
            pool: _LocalExecutor | _RayExecutor = _LocalExecutor(
                workers or os.cpu_count() or 1, self.store.url, preload
            )
            threads = max(1, (os.cpu_count() or 1) // pool.workers)
        else:
            pool, threads = _RayExecutor(workers, address, self.store.url), 1
        try:
            pool.warm_up()
            startup = time.perf_counter() - started
            loop_start = time.perf_counter()
            self._loop(pool, threads, runner, on_change)
            return startup, time.perf_counter() - loop_start, self.outcomes
        except BaseException:
            self._stop(pool)
            raise
        finally:
            pool.close()

    def _loop(
        self, pool: _LocalExecutor | _RayExecutor, threads: int, runner: Callable, on_change: Callable | None
    ) -> None:
        store, name, inflight = self.store, self.name, self.inflight
        last_recover, last_counts = time.monotonic(), None
        while True:
            if self.beat.lost.is_set():
                raise OwnershipLost(f"sweep {name!r} was taken over by another `sweep run`; this one stops")
            if inflight:
                for handle, outcome, error in pool.wait(list(inflight), _POLL_S):
                    self._reaped(inflight.pop(handle), outcome, error)
            if time.monotonic() - last_recover >= _RECOVER_EVERY_S:
                self.recover()
                last_recover = time.monotonic()
            status = store.status(name, self.stale_after)
            counts = tuple(status[k] for k in ("pending", "running", "done", "failed"))
            if on_change is not None and counts != last_counts:
                on_change(status)
            last_counts = counts
            if not inflight and status["pending"] == 0 and status["running"] == 0:
                return
            foreign = max(0, status["running"] - len(inflight))  # orphans of an earlier driver, still alive
            capacity = pool.workers - len(inflight) - foreign
            if capacity > 0 and status["pending"] > 0:
                for claim in store.claim(name, self.token, capacity, self.me, pool.name):
                    task = TrialTask(
                        name, claim.trial_id, claim.attempt, claim.token, claim.config, claim.trial_dir, threads, runner
                    )
                    inflight[pool.submit(task)] = claim
            elif not inflight:
                time.sleep(_POLL_S)

    def _reaped(self, claim: Claim, outcome: str | None, error: BaseException | None) -> None:
        if error is not None:
            outcome = "lost"
            detail = f"{type(error).__name__}: {error}"
            self.store.release(self.name, claim.trial_id, claim.token, "lost", detail)
            self.log(
                f"worker died running {claim.key} ({type(error).__name__}): back to pending, or failed after "
                f"{MAX_LOSSES} such deaths"
            )
        elif outcome == "failed":
            self.log(f"trial failed: {claim.key} (its traceback is in the store)")
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def _stop(self, pool: _LocalExecutor | _RayExecutor) -> None:
        """Interrupted or taken over: stop this driver's workers, put their trials back to pending."""
        claims = list(self.inflight.values())
        workers = [self.store.worker_of(self.name, c.trial_id, c.token) for c in claims]
        pool.stop(list(self.inflight), [w for w in workers if w is not None])
        for claim in claims:
            self.store.release(self.name, claim.trial_id, claim.token, "interrupted", "driver stopped")


__all__ = ["EXECUTORS", "ExecutorError", "SweepOutcome", "run_sweep"]
