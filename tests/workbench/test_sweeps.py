"""Sweeps: spec validation, the store's state machine and guards, kill -9 and resume (local, Ray)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from workbench.cli import app
from workbench.sweeps import SpecError, StoreError, SweepBusy, SweepStore, load_spec, parse_spec, run_sweep
from workbench.sweeps.store import Process, liveness, process_ident

ROOT = Path(__file__).resolve().parents[2]
WORKBENCH = [sys.executable, "-m", "workbench.cli"]
TINY = {"log_every": 100}
DDQN = {"agent": "ddqn", "num_envs": 8, "options": {"batch_size": 32}}


def spec_data(name: str = "s", runs_root: str | Path = "runs", **extra) -> dict:
    return {
        "name": name,
        "env": "toy",  # the closed-form family: the store, executors and resume logic at no physics cost
        "budgets": 300,
        "seeds": 2,
        "settings": TINY,
        "runs_root": str(runs_root),
        "agents": [DDQN, {"agent": "random"}],
    } | extra


def write_spec(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def rows(spec) -> list[dict]:
    return [t.row(Path("/tmp/never")) for t in spec.trials()]


def new_store(tmp_path: Path, spec) -> SweepStore:
    store = SweepStore(f"sqlite:///{tmp_path / 'sweeps.db'}", create=True)
    store.register(spec.content(), spec.content_hash(), spec.source, str(tmp_path), rows(spec))
    return store


@pytest.fixture
def foreign():
    """A live process other than this one (stands in for a worker or driver), killed afterwards."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield Process(Process.current().host, proc.pid, process_ident(proc.pid))
    proc.kill()
    proc.wait()


def dead_process() -> Process:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    who = Process(Process.current().host, proc.pid, process_ident(proc.pid))
    proc.kill()
    proc.wait()
    return who


# ------------------------------------------------------------------------------------------ spec


def test_spec_expands_the_cartesian_product_with_stable_ids_and_hash(tmp_path):
    agents = [DDQN | {"grid": {"options.gamma": [0.9, 0.99]}}, {"agent": "random"}]
    data = spec_data(targets=["0.2THz", 3e11], budgets=[200, 300], agents=agents)
    spec = parse_spec(data, "a.yaml")
    trials = spec.trials()
    assert len(trials) == 2 * 2 * (2 + 1) * 2  # targets × budgets × (ddqn grid points + random) × seeds
    assert len({t.id for t in trials}) == len({t.folder for t in trials}) == len(trials)
    assert trials[0].key == "ddqn[options.gamma=0.9]|bowl|0.2THz|b200|s0"
    assert trials[0].config | {"env": {}} == trials[0].config
    assert trials[0].config["progress"] is False and trials[0].config["steps"] == 200
    reordered = dict(reversed(list(data.items()))) | {"description": "other words", "seeds": [0, 1]}
    again = parse_spec(reordered, "b.yaml")
    assert again.content_hash() == spec.content_hash()
    assert [t.id for t in again.trials()] == [t.id for t in trials]
    assert parse_spec(data | {"seeds": 3}).content_hash() != spec.content_hash()


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        ({"seeed": 3}, ["unknown key 'seeed'", "seeed"]),
        ({"budgets": "many"}, ["budgets[0] must be an integer", "'many'"]),
        ({"seeds": [0, "one"]}, ["seeds[1] must be an integer", "'one'"]),
        ({"seeds": 100_000_000}, ["seeds must be an integer in [1, 10000]", "100000000"]),
        ({"budgets": 10**9}, ["budgets[0] must be an integer in [1, 100000000]"]),
        ({"seeds": 5000, "budgets": list(range(1, 300))}, ["at most 1,000,000 trials", "2,990,000 trials"]),
        ({"targets": ["2 furlongs"]}, ["targets[0]", "'2 furlongs'"]),
        ({"name": "has space"}, ["name must be", "'has space'"]),
        ({"env": "plasma"}, ["env must be one of", "'plasma'"]),
        ({"objective": "loudness"}, ["objective", "'loudness'"]),
        ({"agents": [{"agent": "ppo"}]}, ["agents[0].agent must be one of", "'ppo'"]),
        ({"agents": [{"agent": "ddqn", "lerning_rate": 0.1}]}, ["agents[0].lerning_rate=0.1", "not a SearchConfig"]),
        (
            {"agents": [{"agent": "ddqn", "options": {"learning_rate": "fast"}}]},
            ["learning_rate must be a finite number", "'fast'", "in trial ddqn|"],
        ),
        ({"agents": [{"agent": "ddqn", "steps": 10}]}, ["agents[0].steps", "budgets", "10"]),
        ({"agents": [{"agent": "random", "options": {"popsize": 3}}]}, ["popsize", "random"]),
        ({"agents": [{"agent": "random"}, {"agent": "random"}]}, ["agents[1].label 'random' repeats agents[0]"]),
        ({"settings": {"num_envs": 0}}, ["num_envs", "0"]),
        ({"grid": {"num_envs": 8}}, ["grid.num_envs must be a non-empty list", "8"]),
    ],
)
def test_malformed_specs_are_rejected_naming_file_field_and_value(tmp_path, change, needles):
    path = write_spec(tmp_path / "bad.yaml", spec_data() | change)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    message = str(error.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]  # nothing created


def test_an_acoustic_spec_takes_the_family_default_objective_and_target(tmp_path):
    data = {k: v for k, v in spec_data().items() if k not in ("objective", "targets")}
    spec = load_spec(write_spec(tmp_path / "acoustic.yaml", data | {"env": "acoustic"}))
    trial = spec.trials()[0]
    assert (trial.objective, trial.config["kind"]) == ("quiet", "acoustic")
    assert trial.target == 60.0


def test_example_specs_are_valid_and_quick_has_at_least_eight_trials():
    quick = load_spec(ROOT / "examples" / "sweeps" / "quick.yaml")
    compare = load_spec(ROOT / "examples" / "sweeps" / "thz_compare.yaml")
    assert len(quick.trials()) >= 8
    assert {a.agent for a in compare.agents} >= {"ddqn", "random", "de", "cmaes", "tpe"}
    assert len(compare.seeds) == 3


def test_the_ddqn_budget_study_specs_cover_the_budgets_and_seeds_of_the_study():
    folder = ROOT / "examples" / "sweeps"
    thz, acoustic, paper = (load_spec(folder / f"{n}.yaml") for n in ("ddqn_budgets", "ddqn_budgets_acoustic", "ddqn_200k"))
    for spec in (thz, acoustic, paper):
        assert [a.agent for a in spec.agents] == ["ddqn", "random", "de", "cmaes"]
        assert all(not a.options for a in spec.agents)  # the shipped defaults are what is measured
    assert (thz.env, thz.budgets, len(thz.seeds)) == ("thz", (2000, 5000, 50000), 10)
    assert (acoustic.env, acoustic.objectives, acoustic.budgets, len(acoustic.seeds)) == ("acoustic", ("quiet",), (2000,), 5)
    assert (paper.budgets, len(paper.seeds)) == ((200000,), 3)


def test_agent_env_config_merges_over_the_spec_env_config_and_keeps_old_hashes(tmp_path):
    settings = load_spec(ROOT / "examples" / "sweeps" / "ddqn_settings.yaml")
    trials = {t.method: t for t in settings.trials() if t.seed == 0}
    assert trials["earlier"].config["env"] == {"move_steps": [1]}
    assert trials["gamma09-moves16"].config["env"] == {"move_steps": [1, 4, 16]}
    assert trials["defaults"].config["env"] == {}  # the search resolves its own move steps
    data = spec_data() | {"env_config": {"start": "center"}}
    data["agents"][0] = data["agents"][0] | {"env_config": {"start": "random"}}
    spec = load_spec(write_spec(tmp_path / "s.yaml", data))
    first, last = spec.trials()[0], spec.trials()[-1]
    assert first.config["env"] == {"start": "random"} and last.config["env"] == {"start": "center"}
    plain = parse_spec(spec_data(), "a.yaml")
    assert all("env_config" not in agent for agent in plain.content()["agents"])  # hashes of older specs hold


# ----------------------------------------------------------------------------------------- store


def test_store_state_machine_and_duplicate_completion_guard(tmp_path):
    spec = parse_spec(spec_data(seeds=1))
    store = new_store(tmp_path, spec)
    me = Process.current()
    store.acquire("s", me, "local", "owner", 30.0)
    assert store.status("s") | {"owner": None, "store": None} == {
        "name": "s",
        "total": 2,
        "pending": 2,
        "running": 0,
        "done": 0,
        "failed": 0,
        "duplicates": 0,
        "discarded": 0,
        "owner": None,
        "store": None,
    }
    first, second = store.claim("s", "owner", 5, me, "local")
    assert (first.attempt, second.attempt) == (1, 1) and first.token != second.token
    assert not store.start("s", first.trial_id, "wrong-token", me)
    assert store.start("s", first.trial_id, first.token, me)
    assert store.heartbeat("s", first.trial_id, first.token)
    assert store.complete("s", first.trial_id, first.token, {"best_value": 1.0}, me)
    assert not store.complete("s", first.trial_id, first.token, {"best_value": 2.0}, me)  # second completion
    assert not store.heartbeat("s", first.trial_id, first.token)
    assert store.fail("s", second.trial_id, second.token, "Traceback ...\nRuntimeError: boom", me)
    status = store.status("s")
    assert (status["done"], status["failed"], status["duplicates"], status["discarded"]) == (1, 1, 0, 1)
    assert store.trials("s")[0]["result"] == {"best_value": 1.0}
    assert store.retry_failed("s") == 1 and store.status("s")["pending"] == 1
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store._db.execute("DELETE FROM events")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store._db.execute("UPDATE events SET event = 'done'")
    store.close()


def test_duplicates_are_counted_from_the_event_log(tmp_path):
    store = new_store(tmp_path, parse_spec(spec_data(seeds=1)))
    trial_id = store.trials("s")[0]["id"]
    for _ in range(2):  # what a broken compare-and-set would leave behind
        store._db.execute(
            "INSERT INTO events (sweep, trial_id, attempt, event, at) VALUES ('s', ?, 1, 'done', 0)", (trial_id,)
        )
    assert store.status("s")["duplicates"] == 1
    store.close()


def test_liveness_detects_gone_processes_reused_pids_and_stale_heartbeats(foreign):
    now = time.time()
    host = foreign.host
    assert liveness(host, foreign.pid, foreign.ident, now, 30) == "alive"
    assert liveness(host, foreign.pid, "another-boot:1", now, 30) == "process gone"  # pid reused
    dead = dead_process()
    assert liveness(host, dead.pid, dead.ident, now, 30) == "process gone"
    assert liveness(host, foreign.pid, foreign.ident, now - 60, 30) == "heartbeat stale"
    assert liveness("elsewhere", 1, "x", now, 30) == "alive"  # remote: the heartbeat decides
    assert liveness("elsewhere", 1, "x", now - 60, 30) == "heartbeat stale"


def test_orphan_trials_rerun_only_when_the_worker_is_gone_and_late_results_are_discarded(tmp_path, foreign):
    store = new_store(tmp_path, parse_spec(spec_data(seeds=1)))
    me = Process.current()
    store.acquire("s", me, "local", "driver-1", 30.0)
    live, gone = store.claim("s", "driver-1", 2, me, "local")
    assert store.start("s", live.trial_id, live.token, foreign)  # a worker still running
    dead = dead_process()
    assert store.start("s", gone.trial_id, gone.token, dead)  # a worker that died
    store.acquire("s", me, "local", "driver-2", 30.0, take_over=True)  # a new driver, same store
    released = store.recover("s", 30.0)
    assert [key for key, _ in released] == [gone.key] and "process gone" in released[0][1]
    assert store.status("s")["running"] == 1  # the live orphan keeps its trial
    (again,) = store.claim("s", "driver-2", 5, me, "local")
    assert again.trial_id == gone.trial_id and again.attempt == 2
    assert not store.complete("s", gone.trial_id, gone.token, {"best_value": 1.0})  # late result: discarded
    assert store.complete("s", again.trial_id, again.token, {"best_value": 2.0})
    assert store.complete("s", live.trial_id, live.token, {"best_value": 3.0})  # the orphan's result counts once
    status = store.status("s")
    assert (status["done"], status["duplicates"], status["discarded"], status["total"]) == (2, 0, 1, 2)
    events = [(e["trial_id"], e["event"]) for e in store.events("s")]
    assert events.count((gone.trial_id, "done")) == events.count((live.trial_id, "done")) == 1
    assert (gone.trial_id, "interrupted") in events and ("failed" not in {e for _, e in events})
    store.close()


def test_a_live_owner_refuses_a_second_run_naming_it_and_a_dead_one_is_taken_over_at_once(tmp_path, foreign):
    store = new_store(tmp_path, parse_spec(spec_data(seeds=1)))
    store.acquire("s", foreign, "local", "theirs", 30.0)
    with pytest.raises(SweepBusy) as busy:
        store.acquire("s", Process.current(), "local", "mine", 30.0)
    assert f"pid {foreign.pid} on host {foreign.host}" in str(busy.value) and "--take-over" in str(busy.value)
    store.acquire("s", Process.current(), "local", "mine", 30.0, take_over=True)
    assert not store.heartbeat_owner("s", "theirs", foreign)  # the old owner learns it lost the sweep
    dead = dead_process()
    store.acquire("s", dead, "local", "dead", 30.0, take_over=True)
    store.acquire("s", Process.current(), "local", "mine", 30.0)  # no refusal: its owner is gone
    store.close()


def test_same_name_with_other_content_is_refused_and_nothing_changes(tmp_path):
    store = new_store(tmp_path, parse_spec(spec_data()))
    before = list(store._db.iterdump())
    other = parse_spec(spec_data(seeds=3))
    with pytest.raises(StoreError, match="already holds a sweep named 's' with a different spec"):
        store.register(other.content(), other.content_hash(), "other.yaml", str(tmp_path), rows(other))
    assert list(store._db.iterdump()) == before
    store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://host/db", "store URL must look like sqlite:///"),
        ("sqlite:///:memory:", "must name a database file"),
        ("sqlite:///{tmp}/missing/dir/s.db", "cannot open store"),
        ("sqlite:///{tmp}", "cannot open store"),
        ("sqlite:///{tmp}/junk.db", "file is not a database"),
        ("sqlite:///{tmp}/other.db", "not a sweep store"),
    ],
)
def test_unopenable_store_urls_give_a_clear_error(tmp_path, url, message):
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all, just some bytes" * 100)
    with sqlite3.connect(tmp_path / "other.db") as other:
        other.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match=message):
        SweepStore(url.format(tmp=tmp_path), create=True)


def test_status_reads_while_another_connection_holds_the_write_lock(tmp_path):
    store = new_store(tmp_path, parse_spec(spec_data()))
    writer = sqlite3.connect(store.path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE trials SET state = 'running'")  # uncommitted
    with SweepStore(store.url) as reader:
        assert reader.status("s")["pending"] == 4
    writer.execute("ROLLBACK")
    writer.close()
    store.close()


# ------------------------------------------------------------------------------- driver, in-process


def explode(task):
    """A trial runner that raises (used by the failure test; must be importable by pool workers)."""
    if task.config["seed"] == 1:
        raise RuntimeError(f"seed {task.config['seed']} explodes")
    return {"best_value": 1.0, "iterations": task.config["steps"]}


def test_a_raising_trial_is_failed_with_its_traceback_and_retry_failed_runs_it_again(tmp_path):
    spec = parse_spec(spec_data(runs_root=tmp_path / "runs", agents=[{"agent": "random"}]))
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    outcome = run_sweep(spec, url, workers=2, runner=explode)
    assert (outcome.status["done"], outcome.status["failed"]) == (1, 1)
    with SweepStore(url) as store:
        (failed,) = [t for t in store.trials("s") if t["state"] == "failed"]
        assert "RuntimeError: seed 1 explodes" in failed["error"] and "Traceback" in failed["error"]
    again = run_sweep(spec, url, workers=1, runner=explode, retry_failed=True)
    assert again.status["failed"] == 1 and again.status["total"] == 2 and again.status["duplicates"] == 0
    assert again.outcomes == {"failed": 1}


def die(task):
    """A trial runner whose worker process dies (as on a segfault) for seed 1."""
    if task.config["seed"] == 1:
        os._exit(3)
    return {"best_value": 1.0, "iterations": task.config["steps"]}


def test_a_trial_whose_worker_keeps_dying_is_retried_then_failed(tmp_path):
    spec = parse_spec(spec_data(runs_root=tmp_path / "runs", agents=[{"agent": "random"}], seeds=3))
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    outcome = run_sweep(spec, url, workers=1, runner=die)
    assert (outcome.status["done"], outcome.status["failed"], outcome.outcomes["lost"]) == (2, 1, 3)
    with SweepStore(url) as store:
        (failed,) = [t for t in store.trials("s") if t["state"] == "failed"]
    assert failed["seed"] == 1 and failed["attempt"] == 3 and "died 3 times" in failed["error"]


def test_bench_sweep_prints_milliseconds_per_trial_as_json(tmp_path):
    out = tmp_path / "bench.json"
    args = ["bench", "sweep", "--executor", "local", "--trials", "20", "--json", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    local = json.loads(result.stdout)["executors"]["local"]
    assert local["trials"] == 20 and local["duplicates"] == 0 and local["ms_per_trial"] > 0
    assert json.loads(out.read_text())["executors"]["local"]["trials"] == 20


# ----------------------------------------------------------------------------------- CLI, in-process


def test_cli_refuses_a_second_run_while_the_owner_lives(tmp_path, foreign):
    path = write_spec(tmp_path / "s.yaml", spec_data(runs_root=tmp_path / "runs"))
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    spec = load_spec(path)
    with SweepStore(url, create=True) as store:
        trials = [r | {"trial_dir": str(tmp_path / "runs" / r["key"])} for r in rows(spec)]
        store.register(spec.content(), spec.content_hash(), str(path), str(tmp_path / "runs"), trials)
        store.acquire("s", foreign, "local", "theirs", 30.0)
    result = CliRunner().invoke(app, ["sweep", "run", str(path), "--store", url])
    assert result.exit_code == 3
    message = " ".join(result.output.split())
    assert f"pid {foreign.pid} on host {foreign.host}" in message and "--take-over" in message
    status = CliRunner().invoke(app, ["sweep", "status", "--store", url, "--json"])
    payload = json.loads(status.stdout)
    assert payload["owner"]["pid"] == foreign.pid and payload["owner"]["alive"] and payload["pending"] == 4
    other = write_spec(tmp_path / "other.yaml", spec_data(runs_root=tmp_path / "runs", seeds=5))
    conflict = CliRunner().invoke(app, ["sweep", "run", str(other), "--store", url])
    assert conflict.exit_code == 2 and "different spec" in " ".join(conflict.output.split())
    assert not (tmp_path / "runs").exists()


# ------------------------------------------------------------------------------ kill -9 and resume


def poll(url: str, until, timeout: float = 240.0) -> dict:
    """Status of the only sweep in ``url`` once ``until(status, trials)`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.3)
        try:
            with SweepStore(url) as store:
                if store.sweeps():
                    name = store.sweeps()[0]
                    status, trials = store.status(name), store.trials(name)
                    if until(status, trials):
                        return status
        except (StoreError, sqlite3.Error):
            continue
    raise AssertionError(f"timed out waiting on {url}")


def some_done_and_some_started(status: dict, trials: list[dict]) -> bool:
    started = [t for t in trials if t["state"] == "running" and t["started_at"] is not None]
    return status["done"] >= 1 and bool(started)


def kill_and_resume(tmp_path: Path, extra_args: list[str], env: dict | None = None, **spec) -> dict:
    """Start ``sweep run`` of 8 trials, kill -9 it mid-sweep, run the same command again; returns the status."""
    data = spec_data("kill", runs_root=tmp_path / "runs", seeds=4) | spec
    path = write_spec(tmp_path / "kill.yaml", data)
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    command = [*WORKBENCH, "sweep", "run", str(path), "--store", url, "--workers", "2", *extra_args]
    env = {**os.environ, **(env or {})}
    with open(tmp_path / "driver.log", "w") as log:
        driver = subprocess.Popen(command, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            try:
                poll(url, some_done_and_some_started)
            except AssertionError:
                raise AssertionError((tmp_path / "driver.log").read_text()[-3000:]) from None
            status = CliRunner().invoke(app, ["sweep", "status", "--store", url, "--json"])  # while it runs
            assert status.exit_code == 0, status.output
            during = json.loads(status.stdout)  # stdout holds exactly one JSON object
            assert during["total"] == 8 and during["duplicates"] == 0 and during["owner"]["pid"] == driver.pid
            os.kill(driver.pid, signal.SIGKILL)
            driver.wait(timeout=60)
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.wait()
    with SweepStore(url) as store:
        killed = store.status("kill")
        orphans = [Process(t["host"], t["pid"], t["ident"]) for t in store.trials("kill") if t["state"] == "running"]
        handed_back = [e for e in store.events("kill") if e["event"] == "interrupted"]
    # A trial was in flight at the kill: still running, or already handed back by its dying worker (Ray may do
    # that before this read).
    assert killed["owner"]["alive"] is False and killed["done"] < 8 and killed["running"] + len(handed_back) >= 1
    again = subprocess.run(command + ["--json"], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0, again.stderr
    final = json.loads(again.stdout)
    with SweepStore(url) as store:
        events = store.events("kill")
        trials = store.trials("kill")
    done_events = [e["trial_id"] for e in events if e["event"] == "done"]
    assert sorted(done_events) == sorted(t["id"] for t in trials)  # each trial recorded exactly once
    assert all(t["state"] == "done" and Path(t["result"]["run_dir"], "metrics.csv").is_file() for t in trials)
    assert not any(e["event"] == "failed" for e in events)
    for orphan in orphans:  # orphaned workers finish their trial (or are stopped by Ray) and exit
        deadline = time.monotonic() + 60
        while process_ident(orphan.pid) == orphan.ident and time.monotonic() < deadline:
            time.sleep(0.2)
        assert process_ident(orphan.pid) != orphan.ident
    return final | {"events": events, "killed": killed, "url": url}


def test_kill_9_and_resume_with_the_local_pool_loses_and_doubles_nothing(tmp_path):
    final = kill_and_resume(tmp_path, [])
    assert {k: final[k] for k in ("total", "pending", "running", "done", "failed", "duplicates")} == {
        "total": 8,
        "pending": 0,
        "running": 0,
        "done": 8,
        "failed": 0,
        "duplicates": 0,
    }
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["sweep", "report", "--store", final["url"], "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = (out / "report.md").read_text()
    assert "| ddqn | bowl | 1Hz | 300 | 4/4 |" in table and "| random |" in table
    assert (out / "best_vs_evaluations.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def ray_address():
    """A local Ray instance (2 CPUs) for this module, shared by the subprocess drivers by address."""
    ray = pytest.importorskip("ray")
    for attempt in range(3):  # the raylet gives its agents 15 s to start: a loaded machine can miss that
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            break
        except Exception:
            ray.shutdown()
            if attempt == 2:
                raise
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def test_kill_9_and_resume_with_ray_loses_and_doubles_nothing(tmp_path, ray_address):
    # Connecting to a cluster by address needs Ray's token mode on (the token is in ~/.ray/auth_token).
    args = ["--executor", "ray", "--address", ray_address]
    # DDQN trials (about a second each) leave the kill a wide window mid-trial; random ones end within the poll.
    final = kill_and_resume(tmp_path, args, {"RAY_AUTH_MODE": "token"}, agents=[DDQN], seeds=8)
    assert (final["total"], final["done"], final["duplicates"], final["failed"]) == (8, 8, 0, 0)
    events = {e["event"] for e in final["events"]}
    assert "interrupted" in events  # Ray ended the dead driver's tasks: their trials went back to pending
    assert events <= {"claimed", "started", "done", "interrupted", "discarded"}


def test_a_new_attempt_resumes_an_interrupted_rl_attempt_from_its_checkpoint(tmp_path):
    from workbench.search import SearchConfig, search
    from workbench.sweeps.worker import TrialTask, run_search

    config = {"kind": "toy", "steps": 800, "num_envs": 8, "log_every": 100, "checkpoint_every": 400, "progress": False}
    first = search(SearchConfig(**config | {"steps": 400}, runs_root=str(tmp_path), name="attempt-1"))
    # As if the worker of an 800-iteration trial died right after its checkpoint at 400:
    (first.run_dir / "best.json").unlink()
    config_json = first.run_dir / "config.json"
    config_json.write_text(config_json.read_text().replace('"steps": 400', '"steps": 800'))
    pointer = json.loads((first.run_dir / "checkpoint.json").read_text())
    state_json = first.run_dir / pointer["path"] / "state.json"
    state = json.loads(state_json.read_text())
    state_json.write_text(json.dumps(state | {"config_sha256": hashlib.sha256(config_json.read_bytes()).hexdigest()}))
    task = TrialTask("s", "t", 2, "token", config, str(tmp_path), 1, run_search)
    before = (first.run_dir / "metrics.csv").read_text()
    result = run_search(task)
    assert result["resumed_from"] == str(first.run_dir) and result["run_dir"] == str(tmp_path / "attempt-2")
    assert pointer["iterations"] == 400 and result["iterations"] >= 800
    assert (tmp_path / "attempt-2" / "best.json").is_file()
    assert (first.run_dir / "metrics.csv").read_text() == before  # the earlier attempt is left as it was
    resumed_rows = (tmp_path / "attempt-2" / "metrics.csv").read_text().splitlines()
    kept = [r for r in before.splitlines()[1:] if int(r.split(",")[0]) <= pointer["iterations"]]
    assert resumed_rows[1 : 1 + len(kept)] == kept
    fresh = run_search(TrialTask("s", "t", 1, "token", config, str(tmp_path / "other"), 1, run_search))
    assert fresh["resumed_from"] is None
