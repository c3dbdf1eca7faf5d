"""The sweep store: one SQLite file (WAL mode) holding sweeps, their trials and an append-only log.

Why the standard library's ``sqlite3`` and not SQLAlchemy or Optuna's RDB storage: every state
change here is a compare-and-set inside a ``BEGIN IMMEDIATE`` transaction, the file is shared by
several processes (driver, pool workers, ``status`` readers), and the schema is three tables;
``sqlite3`` gives exactly that control with no connection pool to carry across process starts.

Tables:

- ``sweeps``: one row per sweep name, with the hash of its spec content (the same name with a
  different content is refused), ``total`` (fixed when the sweep is created) and the *owner*: the
  ``sweep run`` driver (host, pid, process start identity, executor, token, heartbeat).
- ``trials``: one row per trial of the spec. State machine::

      pending ──claim──▶ running ──complete──▶ done
         ▲                 │  └────fail────▶ failed ──(--retry-failed)──▶ pending
         └──release────────┘   (owner gone or stale: interrupted, never failed)

  ``claim`` increments ``attempt`` and draws a fresh ``token``; the worker running the attempt
  writes its own host, pid and start identity (``start``) and a heartbeat. ``complete``, ``fail``,
  ``heartbeat`` and ``release`` are compare-and-set on ``state='running' AND token=?``, so a
  result from a superseded attempt (an orphan that was presumed dead) is discarded, never recorded
  twice.
- ``events``: append-only (triggers forbid UPDATE and DELETE); every claim, start, completion,
  discarded late result, failure and release is a row. ``duplicates`` in :meth:`SweepStore.status`
  counts trials with more than one ``done`` event there, independently of ``trials.state``.

Liveness of an owner (driver or worker): on this host, the process must exist with the same start
identity (``/proc/<pid>/stat`` start time and the boot id, so a reused pid reads as dead) and its
heartbeat must be fresher than ``stale_after``; on another host only the heartbeat counts.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_STORE = "sqlite:///sweeps.db"
"""Default store URL: ``sweeps.db`` in the working directory."""
STATES = ("pending", "running", "done", "failed")
SCHEMA_VERSION = 1
HEARTBEAT_S = 2.0
"""Seconds between heartbeats of a worker running a trial (the driver beats every second)."""
STALE_AFTER_S = 30.0
"""Default age after which a heartbeat is stale and its owner presumed gone."""
MAX_LOSSES = 3
"""A trial whose worker process dies this many times under a live driver is marked failed."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sweeps (
    name TEXT PRIMARY KEY,
    spec_hash TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    source TEXT NOT NULL,
    sweep_dir TEXT NOT NULL,
    total INTEGER NOT NULL,
    created_at REAL NOT NULL,
    owner_host TEXT, owner_pid INTEGER, owner_ident TEXT, owner_executor TEXT,
    owner_token TEXT, owner_heartbeat REAL
);
CREATE TABLE IF NOT EXISTS trials (
    sweep TEXT NOT NULL REFERENCES sweeps(name),
    id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    key TEXT NOT NULL,
    method TEXT NOT NULL,
    objective TEXT NOT NULL,
    target REAL NOT NULL,
    budget INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    config_json TEXT NOT NULL,
    trial_dir TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempt INTEGER NOT NULL DEFAULT 0,
    token TEXT,
    host TEXT, pid INTEGER, ident TEXT, executor TEXT,
    heartbeat REAL,
    started_at REAL,
    finished_at REAL,
    result_json TEXT,
    error TEXT,
    PRIMARY KEY (sweep, id)
);
CREATE INDEX IF NOT EXISTS trials_state ON trials (sweep, state, idx);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    sweep TEXT NOT NULL,
    trial_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    token TEXT,
    event TEXT NOT NULL,
    at REAL NOT NULL,
    host TEXT,
    pid INTEGER,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_trial ON events (sweep, trial_id, event);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events is append-only'); END;
"""


class StoreError(ValueError):
    """The store URL cannot be opened, is not a sweep store, or conflicts with the spec."""


class SweepBusy(RuntimeError):
    """Another live ``sweep run`` owns the sweep."""


class OwnershipLost(RuntimeError):
    """This driver no longer owns the sweep (another ``sweep run --take-over`` took it)."""


_HOST = socket.gethostname()


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


_BOOT = _boot_id()


def process_ident(pid: int) -> str | None:
    """Start identity of process ``pid`` on this host, or None when no such process exists.

    On Linux: ``<boot id>:<start time in clock ticks>`` from ``/proc/<pid>/stat``, so a pid reused
    by a later process gives a different identity. Elsewhere: ``""`` when the process exists.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return ""
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    if fields[0] in ("Z", "X"):  # zombie or dead: the process has exited
        return None
    return f"{_BOOT}:{fields[19]}"


@dataclass(frozen=True)
class Process:
    """A process that owns a sweep or a trial: host name, pid and start identity."""

    host: str
    pid: int
    ident: str

    @classmethod
    def current(cls) -> Process:
        """This process."""
        pid = os.getpid()
        return cls(_HOST, pid, process_ident(pid) or "")


def liveness(host: str | None, pid: int | None, ident: str | None, heartbeat: float | None, stale_after: float) -> str:
    """``"alive"``, or why the owner counts as gone: ``"process gone"`` or ``"heartbeat stale"``.

    An owner on this host is gone as soon as its process is (same pid and start identity); any
    owner is gone once its heartbeat is older than ``stale_after`` seconds.
    """
    if host == _HOST and pid is not None:
        current = process_ident(pid)
        if current is None or (ident and current and current != ident):
            return "process gone"
    if heartbeat is None or time.time() - heartbeat > stale_after:
        return "heartbeat stale"
    return "alive"


def parse_url(url: str) -> Path:
    """The database file of a ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` URL."""
    prefix = "sqlite:///"
    if not isinstance(url, str) or not url.startswith(prefix) or len(url) == len(prefix):
        raise StoreError(
            f"store URL must look like sqlite:///sweeps.db (relative) or sqlite:////abs/path.db; got {url!r}"
        )
    path = url[len(prefix) :]
    if path == ":memory:" or path.startswith("file:"):
        raise StoreError(f"store URL must name a database file shared by all processes; got {url!r}")
    return Path(path).expanduser().resolve()


@dataclass(frozen=True)
class Claim:
    """A trial claimed for one attempt: what a worker needs to run and report it."""

    trial_id: str
    attempt: int
    token: str
    config: dict[str, Any]
    trial_dir: str
    key: str


class SweepStore:
    """A sweep store (see the module docstring); safe to share between threads of one process.

    Args:
        url: ``sqlite:///path.db``; relative paths are taken from the working directory.
        create: create the file and the schema when missing (``sweep run``); otherwise the store
            must exist (``status``, ``report``).

    Raises:
        StoreError: the file cannot be opened or created, or is not a sweep store of this version.
    """

    def __init__(self, url: str = DEFAULT_STORE, create: bool = False) -> None:
        self.path = parse_url(url)
        self.url = f"sqlite:///{self.path}"
        if not create and not self.path.is_file():
            raise StoreError(f"cannot open store {url!r}: {self.path} does not exist (run `workbench sweep run` first)")
        try:
            self._db = sqlite3.connect(
                f"file:{self.path}?mode={'rwc' if create else 'rw'}",
                uri=True,
                timeout=60.0,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as error:
            raise StoreError(f"cannot open store {url!r} ({self.path}): {error}") from None
        try:
            self._check(url, create)
        except StoreError:
            self._db.close()
            raise
        except sqlite3.Error as error:
            self._db.close()
            raise StoreError(f"cannot open store {url!r} ({self.path}): {error}") from None
        self._lock = threading.RLock()

    def _check(self, url: str, create: bool) -> None:
        """Check the file is a sweep store of this version; with ``create``, set WAL and the schema."""
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA busy_timeout = 60000")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version > SCHEMA_VERSION:
            raise StoreError(f"store {url!r} has schema version {version}, newer than this workbench's")
        if version == 0 and tables - {"sqlite_sequence"}:
            raise StoreError(f"store {url!r} is an SQLite file but not a sweep store (tables {sorted(tables)})")
        if create:
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"store {url!r} cannot use WAL mode (got journal_mode={mode})")
            self._db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable against kill -9
            if version == 0:
                self._db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions and reads

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    @staticmethod
    def _log(
        db: sqlite3.Connection,
        sweep: str,
        trial_id: str,
        attempt: int,
        token: str | None,
        event: str,
        who: Process | None = None,
        detail: str | None = None,
    ) -> None:
        db.execute(
            "INSERT INTO events (sweep, trial_id, attempt, token, event, at, host, pid, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sweep, trial_id, attempt, token, event, time.time(), who and who.host, who and who.pid, detail),
        )

    def sweeps(self) -> list[str]:
        """Names of the sweeps in the store, oldest first."""
        if not self._has_schema():
            return []
        return [r["name"] for r in self._read("SELECT name FROM sweeps ORDER BY created_at")]

    def _has_schema(self) -> bool:
        return bool(self._read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sweeps'"))

    def resolve_name(self, name: str | None) -> str:
        """``name``, checked to exist; or the only sweep of the store when ``name`` is None."""
        names = self.sweeps()
        if name is None:
            if len(names) == 1:
                return names[0]
            if not names:
                raise StoreError(f"store {self.url} holds no sweep yet")
            raise StoreError(f"store {self.url} holds several sweeps ({', '.join(names)}); pass --name")
        if name not in names:
            raise StoreError(f"store {self.url} holds no sweep named {name!r} (it has: {', '.join(names) or 'none'})")
        return name

    def sweep(self, name: str) -> dict[str, Any]:
        """The sweep row of ``name`` (spec, total, owner) as a dict."""
        return dict(self._read("SELECT * FROM sweeps WHERE name = ?", (self.resolve_name(name),))[0])

    def trials(self, name: str) -> list[dict[str, Any]]:
        """All trial rows of ``name`` in spec order, ``result`` decoded from JSON."""
        rows = [dict(r) for r in self._read("SELECT * FROM trials WHERE sweep = ? ORDER BY idx", (name,))]
        for row in rows:
            row["config"] = json.loads(row.pop("config_json"))
            row["result"] = json.loads(row.pop("result_json") or "null")
        return rows

    def worker_of(self, name: str, trial_id: str, token: str) -> Process | None:
        """The process holding the running attempt ``token`` (a worker, or the claiming driver)."""
        rows = self._read(
            "SELECT host, pid, ident FROM trials WHERE sweep = ? AND id = ? AND state = 'running' AND token = ?",
            (name, trial_id, token),
        )
        if not rows or rows[0]["pid"] is None:
            return None
        return Process(rows[0]["host"], rows[0]["pid"], rows[0]["ident"] or "")

    def events(self, name: str) -> list[dict[str, Any]]:
        """The append-only event log of ``name``, oldest first."""
        return [dict(r) for r in self._read("SELECT * FROM events WHERE sweep = ? ORDER BY seq", (name,))]

    def status(self, name: str, stale_after: float = STALE_AFTER_S) -> dict[str, Any]:
        """Counts of ``name``: total, pending, running, done, failed, duplicates, discarded; owner.

        ``duplicates`` is the number of trials with more than one recorded completion in the event
        log (must be 0); ``discarded`` counts late results of superseded attempts. ``owner`` is the
        driver holding the sweep (None when no ``sweep run`` holds it), with ``alive`` judged as
        :meth:`acquire` would.
        """
        name = self.resolve_name(name)
        with self._lock:
            sweep = self._db.execute("SELECT * FROM sweeps WHERE name = ?", (name,)).fetchone()
            counts = dict.fromkeys(STATES, 0)
            for row in self._db.execute("SELECT state, COUNT(*) FROM trials WHERE sweep = ? GROUP BY state", (name,)):
                counts[row[0]] = row[1]
            duplicates = self._db.execute(
                "SELECT COUNT(*) FROM (SELECT trial_id FROM events WHERE sweep = ? AND event = 'done'"
                " GROUP BY trial_id HAVING COUNT(*) > 1)",
                (name,),
            ).fetchone()[0]
            discarded = self._db.execute(
                "SELECT COUNT(*) FROM events WHERE sweep = ? AND event = 'discarded'", (name,)
            ).fetchone()[0]
        owner = None
        if sweep["owner_token"]:
            owner = {
                "host": sweep["owner_host"],
                "pid": sweep["owner_pid"],
                "executor": sweep["owner_executor"],
                "heartbeat_age_s": round(time.time() - sweep["owner_heartbeat"], 3),
                "alive": liveness(
                    sweep["owner_host"], sweep["owner_pid"], sweep["owner_ident"], sweep["owner_heartbeat"], stale_after
                )
                == "alive",
            }
        status = {"name": name, "total": sweep["total"], **counts, "duplicates": duplicates, "discarded": discarded}
        return {**status, "owner": owner, "store": self.url}

    # ------------------------------------------------------------------ sweeps and ownership

    def register(
        self, spec: dict[str, Any], spec_hash: str, source: str, sweep_dir: str, trials: Sequence[dict[str, Any]]
    ) -> bool:
        """Create sweep ``spec["name"]`` with its pending trials, or check the stored one matches.

        Returns True when the sweep was created. Raises StoreError, changing nothing, when the name
        exists with a different spec content (or its trials differ from ``trials``).
        """
        name = spec["name"]
        with self._write() as db:
            row = db.execute("SELECT spec_hash, source, total FROM sweeps WHERE name = ?", (name,)).fetchone()
            if row is not None:
                if row["spec_hash"] != spec_hash:
                    raise StoreError(
                        f"store {self.url} already holds a sweep named {name!r} with a different spec "
                        f"(created from {row['source']}, spec hash {row['spec_hash'][:12]}, this spec "
                        f"{spec_hash[:12]}); rename the sweep (`name:`) or use another --store"
                    )
                stored = {r[0] for r in db.execute("SELECT id FROM trials WHERE sweep = ?", (name,))}
                if stored != {t["id"] for t in trials} or row["total"] != len(trials):
                    raise StoreError(f"store {self.url}: the trials of sweep {name!r} do not match its spec")
                return False
            db.execute(
                "INSERT INTO sweeps (name, spec_hash, spec_json, source, sweep_dir, total, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, spec_hash, json.dumps(spec, sort_keys=True), source, sweep_dir, len(trials), time.time()),
            )
            db.executemany(
                "INSERT INTO trials (sweep, id, idx, key, method, objective, target, budget, seed, config_json,"
                " trial_dir) VALUES (:sweep, :id, :idx, :key, :method, :objective, :target, :budget, :seed,"
                " :config_json, :trial_dir)",
                [{**t, "sweep": name, "config_json": json.dumps(t["config"], sort_keys=True)} for t in trials],
            )
            return True

    def acquire(
        self, name: str, me: Process, executor: str, token: str, stale_after: float, take_over: bool = False
    ) -> None:
        """Make ``me`` the owner of sweep ``name`` (the only driver that may claim its trials).

        Raises:
            SweepBusy: another owner is alive (its process runs on this host, or its heartbeat is
                fresher than ``stale_after`` s) and ``take_over`` is False. The message names it.
        """
        with self._write() as db:
            row = db.execute("SELECT * FROM sweeps WHERE name = ?", (name,)).fetchone()
            if row["owner_token"] and row["owner_token"] != token and not take_over:
                state = liveness(
                    row["owner_host"], row["owner_pid"], row["owner_ident"], row["owner_heartbeat"], stale_after
                )
                if state == "alive":
                    age = time.time() - row["owner_heartbeat"]
                    raise SweepBusy(
                        f"sweep {name!r} is being run by pid {row['owner_pid']} on host {row['owner_host']} "
                        f"({row['owner_executor']} executor, heartbeat {age:.1f} s ago). Wait for it to finish, "
                        f"stop it (Ctrl-C; its trials go back to pending), or pass --take-over to make this run "
                        f"the owner (the other run then stops and its running trials go back to pending); a driver on another host is taken over "
                        f"automatically once its heartbeat is older than {stale_after:g} s."
                    )
            db.execute(
                "UPDATE sweeps SET owner_host = ?, owner_pid = ?, owner_ident = ?, owner_executor = ?,"
                " owner_token = ?, owner_heartbeat = ? WHERE name = ?",
                (me.host, me.pid, me.ident, executor, token, time.time(), name),
            )

    def heartbeat_owner(self, name: str, token: str, me: Process) -> bool:
        """Refresh the owner heartbeat (and of trials claimed but not yet started by a worker).

        Returns False when ``token`` no longer owns the sweep.
        """
        now = time.time()
        with self._write() as db:
            owned = db.execute(
                "UPDATE sweeps SET owner_heartbeat = ? WHERE name = ? AND owner_token = ?", (now, name, token)
            ).rowcount
            db.execute(
                "UPDATE trials SET heartbeat = ? WHERE sweep = ? AND state = 'running' AND host = ? AND pid = ?"
                " AND ident = ?",
                (now, name, me.host, me.pid, me.ident),
            )
        return bool(owned)

    def release_owner(self, name: str, token: str) -> None:
        """Give up ownership of ``name`` if ``token`` still holds it."""
        with self._write() as db:
            db.execute(
                "UPDATE sweeps SET owner_host = NULL, owner_pid = NULL, owner_ident = NULL, owner_executor = NULL,"
                " owner_token = NULL, owner_heartbeat = NULL WHERE name = ? AND owner_token = ?",
                (name, token),
            )

    def retry_failed(self, name: str) -> int:
        """Put the failed trials of ``name`` back to pending; returns how many."""
        with self._write() as db:
            rows = db.execute("SELECT id, attempt FROM trials WHERE sweep = ? AND state = 'failed'", (name,)).fetchall()
            for row in rows:
                db.execute(
                    "UPDATE trials SET state = 'pending', token = NULL, error = NULL WHERE sweep = ? AND id = ?",
                    (name, row["id"]),
                )
                self._log(db, name, row["id"], row["attempt"], None, "retry")
        return len(rows)

    # ------------------------------------------------------------------ trial state machine

    def claim(self, name: str, owner_token: str, n: int, me: Process, executor: str) -> list[Claim]:
        """Move up to ``n`` pending trials of ``name`` to running for a new attempt each.

        Raises OwnershipLost when ``owner_token`` no longer owns the sweep.
        """
        claims = []
        with self._write() as db:
            owner = db.execute("SELECT owner_token FROM sweeps WHERE name = ?", (name,)).fetchone()[0]
            if owner != owner_token:
                raise OwnershipLost(f"sweep {name!r} was taken over by another `sweep run`")
            rows = db.execute(
                "SELECT id, attempt, key, config_json, trial_dir FROM trials WHERE sweep = ? AND state = 'pending'"
                " ORDER BY idx LIMIT ?",
                (name, n),
            ).fetchall()
            now = time.time()
            for row in rows:
                token = uuid.uuid4().hex
                attempt = row["attempt"] + 1
                db.execute(
                    "UPDATE trials SET state = 'running', attempt = ?, token = ?, host = ?, pid = ?, ident = ?,"
                    " executor = ?, heartbeat = ?, started_at = NULL WHERE sweep = ? AND id = ? AND state = 'pending'",
                    (attempt, token, me.host, me.pid, me.ident, executor, now, name, row["id"]),
                )
                self._log(db, name, row["id"], attempt, token, "claimed", me)
                claims.append(
                    Claim(row["id"], attempt, token, json.loads(row["config_json"]), row["trial_dir"], row["key"])
                )
        return claims

    def _cas(self, db: sqlite3.Connection, name: str, trial_id: str, token: str, sets: str, args: Sequence[Any]) -> int:
        return db.execute(
            f"UPDATE trials SET {sets} WHERE sweep = ? AND id = ? AND state = 'running' AND token = ?",
            (*args, name, trial_id, token),
        ).rowcount

    def _attempt(self, db: sqlite3.Connection, name: str, trial_id: str) -> int:
        return db.execute("SELECT attempt FROM trials WHERE sweep = ? AND id = ?", (name, trial_id)).fetchone()[0]

    def start(self, name: str, trial_id: str, token: str, worker: Process) -> bool:
        """The worker ``worker`` begins the attempt ``token``; False when that attempt was revoked."""
        with self._write() as db:
            now = time.time()
            ok = self._cas(
                db,
                name,
                trial_id,
                token,
                "host = ?, pid = ?, ident = ?, heartbeat = ?, started_at = ?",
                (worker.host, worker.pid, worker.ident, now, now),
            )
            if ok:
                self._log(db, name, trial_id, self._attempt(db, name, trial_id), token, "started", worker)
        return bool(ok)

    def heartbeat(self, name: str, trial_id: str, token: str) -> bool:
        """Refresh the heartbeat of attempt ``token``; False when that attempt was revoked."""
        with self._write() as db:
            return bool(self._cas(db, name, trial_id, token, "heartbeat = ?", (time.time(),)))

    def complete(
        self, name: str, trial_id: str, token: str, result: dict[str, Any], worker: Process | None = None
    ) -> bool:
        """Record the result of attempt ``token``: True if recorded, False if discarded (superseded)."""
        with self._write() as db:
            now = time.time()
            ok = self._cas(
                db,
                name,
                trial_id,
                token,
                "state = 'done', result_json = ?, finished_at = ?, heartbeat = ?",
                (json.dumps(result, default=float), now, now),
            )
            attempt = self._attempt(db, name, trial_id)
            self._log(db, name, trial_id, attempt, token, "done" if ok else "discarded", worker)
        return bool(ok)

    def fail(self, name: str, trial_id: str, token: str, error: str, worker: Process | None = None) -> bool:
        """Mark attempt ``token`` failed with ``error`` (the traceback); False when it was superseded."""
        with self._write() as db:
            now = time.time()
            ok = self._cas(db, name, trial_id, token, "state = 'failed', error = ?, finished_at = ?", (error, now))
            attempt = self._attempt(db, name, trial_id)
            self._log(db, name, trial_id, attempt, token, "failed" if ok else "discarded", worker, error)
        return bool(ok)

    def release(self, name: str, trial_id: str, token: str, event: str = "interrupted", detail: str = "") -> bool:
        """Put the running attempt ``token`` back to pending (``event`` ``"lost"``: its worker died).

        After :data:`MAX_LOSSES` ``"lost"`` events the trial is marked failed instead, so a trial
        that kills its worker every time cannot loop forever. Returns False when superseded.
        """
        with self._write() as db:
            attempt = self._attempt(db, name, trial_id)
            losses = 0
            if event == "lost":
                losses = (
                    1
                    + db.execute(
                        "SELECT COUNT(*) FROM events WHERE sweep = ? AND trial_id = ? AND event = 'lost'",
                        (name, trial_id),
                    ).fetchone()[0]
                )
            if losses >= MAX_LOSSES:
                message = f"the worker process died {losses} times running this trial (last: {detail})"
                ok = self._cas(db, name, trial_id, token, "state = 'failed', error = ?", (message,))
            else:
                ok = self._cas(
                    db,
                    name,
                    trial_id,
                    token,
                    "state = 'pending', token = NULL, host = NULL, pid = NULL, ident = NULL, heartbeat = NULL",
                    (),
                )
            if ok:
                self._log(db, name, trial_id, attempt, token, event, None, detail)
        return bool(ok)

    def recover(self, name: str, stale_after: float, mine: Process | None = None) -> list[tuple[str, str]]:
        """Release running trials of ``name`` whose owner is gone (see :func:`liveness`).

        With ``mine``, also release those still held by that process itself (a driver stopping
        before its workers started them). Returns ``(trial key, reason)`` of each released trial.
        """
        released = []
        with self._write() as db:
            rows = db.execute(
                "SELECT id, key, attempt, token, host, pid, ident, heartbeat FROM trials"
                " WHERE sweep = ? AND state = 'running'",
                (name,),
            ).fetchall()
            for row in rows:
                state = liveness(row["host"], row["pid"], row["ident"], row["heartbeat"], stale_after)
                if mine is not None and (row["host"], row["pid"], row["ident"]) == (mine.host, mine.pid, mine.ident):
                    state = "claimed by the stopping driver"
                if state == "alive":
                    continue
                detail = f"{state}: pid {row['pid']} on {row['host']}"
                self._cas(
                    db,
                    name,
                    row["id"],
                    row["token"],
                    "state = 'pending', token = NULL, host = NULL, pid = NULL, ident = NULL, heartbeat = NULL",
                    (),
                )
                self._log(db, name, row["id"], row["attempt"], row["token"], "interrupted", None, detail)
                released.append((row["key"], detail))
        return released


__all__ = [
    "DEFAULT_STORE",
    "HEARTBEAT_S",
    "MAX_LOSSES",
    "STALE_AFTER_S",
    "STATES",
    "Claim",
    "OwnershipLost",
    "Process",
    "StoreError",
    "SweepBusy",
    "SweepStore",
    "liveness",
    "parse_url",
    "process_ident",
]
