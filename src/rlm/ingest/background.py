"""Embedding in the background: one detached worker per store, resumable, with a lock.

Why: the lexical index of a large load is ready long before its vectors (the
bundled model embeds about 12 KB of text per second on two cores), and agents
want to search at once. So ``rlm load`` commits the text, and when embedding
would take longer than :data:`rlm.defaults.BACKGROUND_AFTER_SECONDS` it starts
this worker and returns.

The worker (``python -m rlm.ingest.background DB``):

* runs in its own session (``start_new_session``), so closing the terminal
  does not stop it; stdout and stderr go to a log file next to the database
  (``rlm-state.db.embed.log`` in ``.rlm/``);
* holds an exclusive ``flock`` on ``rlm-state.db.embed.lock`` while it works.
  The kernel drops that lock when the process dies, even by SIGKILL or a
  reboot, so a stale lock cannot exist: "is a worker running" is "is the lock
  held" (:func:`worker_running`), never a pid guess;
* claims one buffer at a time (:func:`work_backlog`: the lowest buffer id with
  chunks lacking a vector; then, only if ``rlm chunk embed`` asked
  (:func:`request_replan`), with passages of its model planned under older
  passage rules, which it re-plans keeping the chunk vector) and embeds it with
  :func:`rlm.embedding.sync.embed_buffer`, the routine ``rlm chunk embed``
  runs, which commits every batch of 64 chunks in its own short transaction:
  readers are never blocked and a concurrent load waits milliseconds;
* records its progress and the measured rate (estimated tokens per second,
  per model) in ``rlm-state.db.embed.json``, which ``rlm status`` and search
  read for the ETA, and the next load reads to decide inline or background;
* exits when nothing is missing. Before exiting it releases the lock and looks
  once more, so a load that committed while the worker was finishing (and saw
  it alive, so did not start another) is never left unembedded;
* resumes after a kill: whatever it finished is committed; the next load,
  ``rlm chunk embed`` (no arguments) or ``rlm chunk embed --wait`` starts it
  again and it carries on with the chunks still lacking a vector.

Several workers could share one store: the claim is "next buffer with missing
chunks"; on SQLite the lock makes one worker the only claimant, and a shared
server backend would replace :func:`claim_next` with a row claim (``SELECT ...
FOR UPDATE SKIP LOCKED``) and drop the lock.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rlm.defaults import BACKGROUND_AFTER_SECONDS, DEFAULT_TOKENS_PER_SECOND
from rlm.embedding.base import Embedder
from rlm.errors import ConfigError
from rlm.store import Store
from rlm.store.embed_queue import Backlog

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no background worker, embedding stays inline
    fcntl = None  # type: ignore[assignment]

HASH_TOKENS_PER_SECOND = 1_000_000.0
"""The hash fallback is not a model: its "embedding" is never worth a worker."""
STATE_EVERY = 1.0
"""Seconds between state-file writes while embedding (the heartbeat)."""
LOCK_WAIT = 5.0
"""A starting worker waits this long for the lock (a status probe holds it for microseconds)."""
LOG_LIMIT = 1 << 20
"""A log larger than this is rotated to ``.log.1`` when a worker starts."""
BUSY_RETRIES = 20
"""A batch that finds the database locked (a long load) is retried this many times."""

Log = Callable[[str], None]
EmbedderFactory = Callable[[], Embedder]


def background_supported() -> bool:
    """Background workers need ``flock`` (POSIX); elsewhere ``auto`` embeds inline."""
    return fcntl is not None


def background_after() -> float:
    """Seconds of estimated embedding above which ``--embed auto`` goes to the background."""
    raw = os.environ.get("RLM_BACKGROUND_AFTER", "").strip()
    if not raw:
        return BACKGROUND_AFTER_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigError(
            f"invalid RLM_BACKGROUND_AFTER value: {raw!r}",
            suggestion="Give seconds of estimated embedding time (e.g. 30), or unset it",
        )
    return value


# --- files next to the database ----------------------------------------------------


@dataclass(frozen=True)
class WorkerFiles:
    """The lock, log and state files of one store's worker (next to its database)."""

    db: Path
    lock: Path
    log: Path
    state: Path
    replan: Path
    """Present while a re-plan of old passages is asked for (:func:`request_replan`)."""

    @classmethod
    def of(cls, db_path: str | os.PathLike[str]) -> WorkerFiles:
        db = Path(db_path).absolute()
        return cls(
            db=db,
            lock=db.with_name(db.name + ".embed.lock"),
            log=db.with_name(db.name + ".embed.log"),
            state=db.with_name(db.name + ".embed.json"),
            replan=db.with_name(db.name + ".embed.replan"),
        )


def read_state(files: WorkerFiles) -> dict[str, Any]:
    """The last state the worker wrote ({} if none, or unreadable)."""
    try:
        data = json.loads(files.state.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(files: WorkerFiles, state: dict[str, Any]) -> None:
    """Replace the state file atomically (readers never see half a file)."""
    tmp = files.state.with_name(f"{files.state.name}.tmp{os.getpid()}.{threading.get_ident()}")
    try:
        tmp.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
        os.replace(tmp, files.state)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def recorded_rate(files: WorkerFiles, model: str, *, semantic: bool = True) -> float:
    """Estimated tokens per second last measured for ``model`` on this store, else the default."""
    if not semantic:
        return HASH_TOKENS_PER_SECOND
    rates = read_state(files).get("rates", {})
    value = rates.get(model) if isinstance(rates, dict) else None
    if isinstance(value, int | float) and value > 0:
        return float(value)
    return DEFAULT_TOKENS_PER_SECOND


def record_rate(files: WorkerFiles, model: str, tokens: int, seconds: float) -> None:
    """Remember a measured rate (only from runs long enough to mean something)."""
    if tokens < 2000 or seconds < 1.0:
        return
    state = read_state(files)
    rates = state.get("rates") if isinstance(state.get("rates"), dict) else {}
    assert isinstance(rates, dict)
    rates[model] = round(tokens / seconds, 1)
    state["rates"] = rates
    write_state(files, state)


def request_replan(files: WorkerFiles) -> None:
    """Ask the store's worker to re-plan the passages planned under older rules once
    nothing lacks a vector: what ``rlm chunk embed`` asks, a load never does (its worker
    embeds what is missing and stops). A file, not an argument, so a worker a load
    already started sees the request at its next claim, and a killed worker's
    successor carries the re-plan on; the worker that finds nothing left to re-plan
    removes it."""
    files.replan.parent.mkdir(parents=True, exist_ok=True)
    files.replan.touch()


def replan_requested(files: WorkerFiles) -> bool:
    """Whether a re-plan was asked for and no worker has finished it yet."""
    return files.replan.exists()


def _replan_finished(files: WorkerFiles) -> None:
    with contextlib.suppress(OSError):
        files.replan.unlink()


# --- the lock -------------------------------------------------------------------------


class WorkerLock:
    """An exclusive ``flock`` on the lock file: held by the one embedding worker."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self, wait: float = 0.0) -> bool:
        if fcntl is None:
            return False
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held while locked
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    return False
                time.sleep(0.05)
                continue
            self._file = handle
            return True

    def release(self) -> None:
        if self._file is not None:
            if fcntl is not None:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None


def worker_running(files: WorkerFiles) -> bool:
    """Whether some process holds the worker lock (a live worker, never a stale file)."""
    if fcntl is None or not files.lock.exists():
        return False
    try:
        handle = open(files.lock, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False


# --- starting a worker ------------------------------------------------------------------


@dataclass(frozen=True)
class BackgroundJob:
    """What a load handed to the background worker."""

    chunks: int
    tokens: int
    eta_seconds: float | None
    started: bool
    """True: this call started a worker; False: one was already running."""
    log: str
    pid: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "chunks": self.chunks,
            "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds, 1),
            "log": self.log,
            "pid": self.pid,
            "started": self.started,
        }


@dataclass(frozen=True)
class WorkerCommand:
    """How to run a worker for a store: the model and device the load asked for."""

    model: str | None = None
    model_path: str | None = None
    device: str | None = None

    def argv(self, db: Path) -> list[str]:
        args = [sys.executable, "-m", "rlm.ingest.background", str(db)]
        if self.model:
            args += ["--model", self.model]
        if self.model_path:
            args += ["--model-path", str(Path(self.model_path).absolute())]
        if self.device:
            args += ["--device", self.device]
        return args


def _rotate(log: Path) -> None:
    with contextlib.suppress(OSError):
        if log.stat().st_size > LOG_LIMIT:
            os.replace(log, log.with_name(log.name + ".1"))


def start_worker(
    db_path: str | os.PathLike[str],
    command: WorkerCommand | None = None,
    *,
    location: str | None = None,
) -> int | None:
    """Start a detached worker for the store unless one runs; returns its pid (None: running).

    ``db_path`` anchors the worker's files; ``location`` (``Store.location``) is what the
    worker opens when it differs (a PostgreSQL URL: passed in the environment, not argv,
    so its password never shows in ``ps``).
    """
    files = WorkerFiles.of(db_path)
    if worker_running(files):
        return None
    _rotate(files.log)
    env = None
    if location is not None and location != str(files.db):
        env = dict(os.environ, RLM_WORKER_DB=location)
    with open(files.log, "ab") as log:
        process = subprocess.Popen(
            (command or WorkerCommand()).argv(files.db),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
            cwd=str(files.db.parent),
        )
    return process.pid


# --- progress and ETA -------------------------------------------------------------------


@dataclass(frozen=True)
class EmbedProgress:
    """How far the store's embedding is, for ``status``, search and ``chunk embed --wait``."""

    total_chunks: int
    embedded_chunks: int
    backlog: Backlog
    worker_running: bool
    tokens_per_second: float
    state: dict[str, Any] = field(default_factory=dict)
    log: str = ""
    replan_chunks: int = 0
    """Chunks whose passages (of the current model, when known) were planned under older
    passage rules: searched as they are, re-planned by ``rlm chunk embed``."""
    replan_other_chunks: int = 0
    """Such chunks of another model: their vectors are not searched at all, and only
    ``rlm chunk embed --force`` (a new vector with the current model) changes them."""
    replan_requested: bool = False
    """``rlm chunk embed`` asked the worker to re-plan them (:func:`request_replan`)."""

    @property
    def missing(self) -> int:
        return self.backlog.chunks

    @property
    def percent(self) -> float:
        if self.total_chunks == 0:
            return 100.0
        return 100.0 * self.embedded_chunks / self.total_chunks

    @property
    def eta_seconds(self) -> float | None:
        if not self.missing:
            return 0.0
        return self.backlog.tokens / self.tokens_per_second if self.tokens_per_second else None

    def to_json(self) -> dict[str, Any]:
        eta = self.eta_seconds
        return {
            "embedded_chunks": self.embedded_chunks,
            "eta_seconds": None if eta is None else round(eta, 1),
            "missing_chunks": self.missing,
            "percent": round(self.percent, 1),
            "replan_chunks": self.replan_chunks,
            "replan_other_chunks": self.replan_other_chunks,
            "replan_requested": self.replan_requested,
            "tokens_per_second": round(self.tokens_per_second, 1),
            "total_chunks": self.total_chunks,
            "worker": {
                "error": self.state.get("error"),
                "heartbeat": self.state.get("updated_at"),
                "log": self.log,
                "model": self.state.get("model"),
                "pid": self.state.get("pid") if self.worker_running else None,
                "running": self.worker_running,
            },
        }


def progress(store: Store, fingerprint: str | None = None) -> EmbedProgress:
    """Chunks with and without a vector, the worker's liveness and the rate it measured.

    ``fingerprint``: the current model's; old passages are then counted for it (what
    ``rlm chunk embed`` re-plans) apart from other models' (None: all in one count).
    """
    from rlm.embedding.passages import PASSAGE_RULES

    files = WorkerFiles.of(store.path)
    state = read_state(files)
    model = state.get("model")
    rate = (
        recorded_rate(files, str(model), semantic=bool(state.get("semantic", True)))
        if model
        else DEFAULT_TOKENS_PER_SECOND
    )
    live = state.get("tokens_per_second")
    running = worker_running(files)
    if running and isinstance(live, int | float) and live > 0:
        rate = float(live)
    old = store.replan_count(PASSAGE_RULES)
    mine = old if fingerprint is None or not old else store.replan_count(PASSAGE_RULES, fingerprint)
    return EmbedProgress(
        total_chunks=store.chunk_count_total(),
        embedded_chunks=store.embedded_chunk_count(),
        backlog=store.embedding_backlog(),
        worker_running=running,
        tokens_per_second=rate,
        state=state,
        log=str(files.log),
        replan_chunks=mine,
        replan_other_chunks=old - mine,
        replan_requested=replan_requested(files),
    )


# --- the worker loop --------------------------------------------------------------------


class _Meter:
    """Counts what the worker embedded and writes the state file about once a second."""

    def __init__(self, files: WorkerFiles, model: str, semantic: bool) -> None:
        self.files = files
        self.model = model
        self.semantic = semantic
        self.started = time.time()
        self.embed_started: float | None = None
        self.chunks = 0
        self.tokens = 0
        self.last_write = 0.0
        self.rates = read_state(files).get("rates", {})

    def rate(self) -> float | None:
        if self.embed_started is None:
            return None
        seconds = time.monotonic() - self.embed_started
        return self.tokens / seconds if seconds > 0 and self.tokens else None

    def write(self, status: str, error: str | None = None, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < STATE_EVERY:
            return
        self.last_write = now
        rate = self.rate()
        rates = dict(self.rates) if isinstance(self.rates, dict) else {}
        if rate is not None and self.tokens >= 2000 and self.semantic:
            rates[self.model] = round(rate, 1)
        write_state(
            self.files,
            {
                "chunks_done": self.chunks,
                "error": error,
                "model": self.model,
                "pid": os.getpid(),
                "rates": rates,
                "semantic": self.semantic,
                "started_at": round(self.started, 3),
                "status": status,
                "tokens_done": self.tokens,
                "tokens_per_second": None if rate is None else round(rate, 1),
                "updated_at": round(time.time(), 3),
            },
        )


def work_backlog(
    store: Store, buffer_ids: list[int] | None = None, *, replan: str | None = None
) -> Backlog:
    """What the worker has to do, per buffer: chunks lacking a vector (the embedding
    backlog), plus, with ``replan`` (a model's fingerprint), the chunks whose passages
    of that model were planned under older passage rules
    (:data:`rlm.embedding.passages.PASSAGE_RULES`), which it re-plans: exactly what
    :func:`rlm.embedding.sync.embed_buffer` does with that model, so a worker never
    claims a buffer it cannot move (another model's old passages change only with
    ``--force``). Buffers with missing vectors come first (then by id): search works
    without new passages, not without vectors.

    The re-plans are not in the embedding backlog: those chunks have vectors and
    passages that still work, so coverage, status and a load's inline-or-background
    choice leave them out; a worker does them once no buffer lacks vectors, and only
    when ``rlm chunk embed`` asked (:func:`request_replan`).
    """
    from rlm.embedding.passages import PASSAGE_RULES

    missing = store.embedding_backlog(buffer_ids)
    if replan is None:
        return missing
    merged = {b: (c, t) for b, c, t in missing.buffers}
    old = store.replan_backlog(PASSAGE_RULES, buffer_ids, fingerprint=replan)
    for buffer_id, chunks, tokens in old.buffers:
        c, t = merged.get(buffer_id, (0, 0))
        merged[buffer_id] = (c + chunks, t + tokens)
    first = set(missing.buffer_ids)
    order = sorted(merged, key=lambda b: (b not in first, b))
    return Backlog(tuple((b, *merged[b]) for b in order))


def claim_next(
    store: Store, skip: set[int], replan: str | None = None
) -> tuple[int, int, int] | None:
    """The next buffer to embed (or, with ``replan``, to re-plan: see
    :func:`work_backlog`): (id, chunks to do, estimated tokens), or None."""
    for row in work_backlog(store, replan=replan).buffers:
        if row[0] not in skip:
            return row
    return None


@dataclass
class WorkerOutcome:
    chunks: int = 0
    buffers: int = 0
    error: str | None = None
    ran: bool = True
    """False: another worker held the lock, so this one did nothing."""


def _embed_claimed(
    store: Store,
    claim: tuple[int, int, int],
    embedder: Embedder,
    meter: _Meter,
    log: Log,
    stop: threading.Event | None,
    tick: Callable[[], None] | None,
    replan: str | None = None,
) -> bool:
    """Embed one claimed buffer; True if it made progress."""
    from rlm.embedding.sync import embed_buffer

    buffer_id, chunks, tokens = claim
    counted = [0]

    def step(done: int, total: int) -> None:
        if meter.embed_started is None:
            meter.embed_started = time.monotonic()
        new = done - counted[0]
        if new > 0 and total:
            counted[0] = done
            meter.chunks += new
            meter.tokens += tokens * new // max(total, chunks, 1)
        meter.write("running")
        if tick is not None:
            tick()
        if stop is not None and stop.is_set():
            raise _Stopped

    for attempt in range(BUSY_RETRIES):
        try:
            embed_buffer(store, buffer_id, embedder, progress=step, replan=replan is not None)
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            log(f"buffer {buffer_id}: database busy ({exc}); retry {attempt + 1}")
            time.sleep(1.0)
    left = work_backlog(store, [buffer_id], replan=replan).chunks
    return left < chunks


CLAIM_BATCH = 64
"""Chunks a shared-queue worker claims at a time (one embedding batch)."""
CLAIM_POLL = 0.5
"""Seconds between looks at other workers' claims once nothing is left to claim."""


def run_shared_worker(
    store: Store,
    embedder_factory: EmbedderFactory,
    *,
    log: Log = lambda _: None,
    stop: threading.Event | None = None,
    tick: Callable[[], None] | None = None,
    replan: bool = False,
) -> WorkerOutcome:
    """Embed claimed batches until no chunk is left unclaimed (PostgreSQL).

    Any number of these, on any machines, share one backlog: a claim is taken
    with ``FOR UPDATE SKIP LOCKED`` and recorded under this worker's name, so no
    chunk is embedded twice; a killed worker's claims free up when its server
    session ends, so another worker (or a restart) resumes them. Once no chunk lacks
    a vector, and if ``replan`` or a request (:func:`request_replan`) asks for it,
    chunks whose passages (of this worker's model) were planned under older passage
    rules are claimed the same way and re-planned.
    """
    import socket

    from rlm.embedding.passages import PASSAGE_RULES
    from rlm.embedding.sync import embed_buffer

    files = WorkerFiles.of(store.path)
    owner = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    outcome = WorkerOutcome()
    embedder: Embedder | None = None
    meter: _Meter | None = None
    buffers: set[int] = set()
    replanning: tuple[int, str] | None = None
    try:
        while stop is None or not stop.is_set():
            ids = store.claim_chunks(owner, CLAIM_BATCH, replan=replanning)
            if not ids:
                # Others still hold chunks: stay until they finish, and take over what a
                # worker that dies leaves (its claims free up with its session).
                if store.claimed_elsewhere(owner):
                    time.sleep(CLAIM_POLL)
                    continue
                if replanning is not None:
                    if outcome.error is None:
                        _replan_finished(files)
                    break
                if not (replan or replan_requested(files)) or not store.replan_count(PASSAGE_RULES):
                    break
            if embedder is None:
                try:
                    embedder = embedder_factory()
                except Exception as exc:
                    outcome.error = f"cannot load the embedding model: {exc}"
                    log(outcome.error)
                    break
                meter = _Meter(files, embedder.name, bool(embedder.is_semantic))
                log(f"worker {owner}: embedding with {embedder.name}")
            assert meter is not None
            if not ids:  # no vector missing: now the passages planned under older rules
                replanning = (PASSAGE_RULES, embedder.fingerprint)
                continue
            by_buffer: dict[int, set[int]] = {}
            for chunk_id, buffer_id in store.chunk_buffer_ids(ids).items():
                by_buffer.setdefault(buffer_id, set()).add(chunk_id)
            for buffer_id, chunk_ids in sorted(by_buffer.items()):
                done = embed_buffer(
                    store, buffer_id, embedder, only=chunk_ids, replan=replanning is not None
                )
                outcome.chunks += done.embedded + done.replaced + done.replanned
                meter.chunks += done.embedded + done.replaced + done.replanned
                buffers.add(buffer_id)
            store.release_claims(owner, ids)
            meter.write("running", outcome.error)
            if tick is not None:
                tick()
    finally:
        with contextlib.suppress(Exception):
            store.release_claims(owner)
        if meter is not None:
            meter.write("failed" if outcome.error else "done", outcome.error, force=True)
    outcome.buffers = len(buffers)
    log(f"worker {owner}: embedded {outcome.chunks} chunks")
    return outcome


def start_shared_workers(
    store: Store, count: int, command: WorkerCommand | None = None
) -> list[int]:
    """Start ``count`` detached workers on a shared-work store (PostgreSQL); their pids.

    They need no lock file: each claims its own batches (:func:`run_shared_worker`),
    so any number of them, on this machine or others, split the backlog. What
    ``rlm chunk embed --workers`` starts, so they re-plan old passages too
    (:func:`request_replan`).
    """
    if count <= 0:
        return []
    if not store.shares_embedding_work:
        raise ConfigError(
            "--workers needs a store several workers can share (a postgresql:// URL)",
            suggestion="A SQLite store has one worker: run 'rlm chunk embed' without --workers",
        )
    files = WorkerFiles.of(store.path)
    files.log.parent.mkdir(parents=True, exist_ok=True)
    request_replan(files)
    _rotate(files.log)
    env = dict(os.environ, RLM_WORKER_DB=store.location)
    pids = []
    with open(files.log, "ab") as log:
        for _ in range(count):
            process = subprocess.Popen(
                (command or WorkerCommand()).argv(files.db),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                close_fds=True,
            )
            pids.append(process.pid)
    return pids


class _Stopped(Exception):
    """The owner asked the worker to stop (MCP shutdown)."""


@dataclass
class _WorkerModel:
    """The SQLite worker's embedder, made on first need: the first buffer to embed, or
    a re-plan (whose model must be known to find its work; making the embedder is
    cheap, the ONNX session loads on the first embed)."""

    factory: EmbedderFactory
    files: WorkerFiles
    log: Log
    outcome: WorkerOutcome
    replan: bool
    embedder: Embedder | None = None
    meter: _Meter | None = None
    failed: bool = False

    def load(self) -> tuple[Embedder | None, _Meter | None]:
        if self.embedder is None and not self.failed:
            try:
                self.embedder = self.factory()
            except Exception as exc:  # a bad model setting: say so in the log and state
                self.failed = True
                self.outcome.error = f"cannot load the embedding model: {exc}"
                self.log(self.outcome.error)
                state = {**read_state(self.files), "status": "failed", "error": self.outcome.error}
                write_state(self.files, state)
                return None, None
            self.meter = _Meter(self.files, self.embedder.name, bool(self.embedder.is_semantic))
            self.log(f"worker {os.getpid()}: embedding with {self.embedder.name}")
        return self.embedder, self.meter

    def replan_fingerprint(self) -> str | None:
        """The model whose old passages to re-plan, if asked (``replan`` or a request)."""
        if not (self.replan or replan_requested(self.files)):
            return None
        embedder, _ = self.load()
        return None if embedder is None else embedder.fingerprint


def run_worker(
    store: Store,
    embedder_factory: EmbedderFactory,
    *,
    log: Log = lambda _: None,
    stop: threading.Event | None = None,
    tick: Callable[[], None] | None = None,
    replan: bool = False,
) -> WorkerOutcome:
    """Embed every chunk lacking a vector, holding the store's worker lock; see the module doc.

    Then, if ``replan`` or a request (:func:`request_replan`) asks for it, re-plan the
    passages of the worker's model planned under older rules; the worker that finds
    none left removes the request. A worker a load started does only the first part.

    Also used in-process: ``rlm chunk embed --wait`` when no worker runs, and the
    MCP server's thread (with its warm model and a ``stop`` event).

    A store several workers may share (PostgreSQL) takes no lock file: each
    worker claims batches of chunks instead (:func:`run_shared_worker`).
    """
    if store.shares_embedding_work:
        return run_shared_worker(
            store, embedder_factory, log=log, stop=stop, tick=tick, replan=replan
        )
    files = WorkerFiles.of(store.path)
    lock = WorkerLock(files.lock)
    outcome = WorkerOutcome()
    if not lock.acquire(LOCK_WAIT):
        log("another worker holds the lock; nothing to do")
        outcome.ran = False
        return outcome
    model = _WorkerModel(embedder_factory, files, log, outcome, replan)
    skip: set[int] = set()
    try:
        while True:
            replanned = model.replan_fingerprint()
            if model.failed:
                break
            claim = claim_next(store, skip, replanned)
            if claim is None:
                lock.release()
                # A load may have committed while we finished (and seen us alive), or
                # ``rlm chunk embed`` asked for a re-plan.
                if stop is not None and stop.is_set():
                    break
                replanned = model.replan_fingerprint()
                if claim_next(store, skip, replanned) is None:
                    if replanned is not None and not skip and outcome.error is None:
                        _replan_finished(files)
                    break
                if not lock.acquire(LOCK_WAIT):
                    break
                continue
            embedder, meter = model.load()
            if embedder is None or meter is None:
                break
            try:
                moved = _embed_claimed(store, claim, embedder, meter, log, stop, tick, replanned)
            except _Stopped:
                log("stopped on request")
                break
            except Exception as exc:  # one bad buffer must not stop the others
                log(f"buffer {claim[0]}: {type(exc).__name__}: {exc}")
                outcome.error = str(exc)
                moved = False
            if moved:
                outcome.buffers += 1
            else:
                skip.add(claim[0])
            meter.write("running", outcome.error, force=True)
    finally:
        lock.release()
        meter = model.meter
        if meter is not None:
            outcome.chunks = meter.chunks
            meter.write("done" if outcome.error is None else "failed", outcome.error, force=True)
    log(f"worker {os.getpid()}: done, {outcome.chunks} chunks in {outcome.buffers} buffers")
    return outcome


@contextlib.contextmanager
def _log_to_stderr() -> Iterator[Log]:
    def log(message: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{stamp} {message}", file=sys.stderr, flush=True)

    yield log


def main(argv: list[str] | None = None) -> int:
    """``python -m rlm.ingest.background DB [--model M] [--model-path P] [--device D]``."""
    parser = argparse.ArgumentParser(prog="rlm-embed-worker")
    parser.add_argument("db")
    parser.add_argument("--model")
    parser.add_argument("--model-path")
    parser.add_argument("--device")
    args = parser.parse_args(argv)
    if args.device:
        os.environ["RLM_DEVICE"] = args.device
    with _log_to_stderr() as log:
        try:
            store = Store.open(os.environ.get("RLM_WORKER_DB") or args.db)
        except Exception as exc:
            log(f"cannot open {args.db}: {exc}")
            return 1

        def factory() -> Embedder:
            from rlm.embedding import get_embedder

            embedder = get_embedder(model=args.model, model_path=args.model_path)
            notice = getattr(embedder, "device_notice", None)
            if notice:
                log(notice)
            return embedder

        with store:
            outcome = run_worker(store, factory, log=log)
    return 1 if outcome.error else 0


if __name__ == "__main__":
    sys.exit(main())


class WorkerThread:
    """The worker as a thread of a long-lived process (the MCP server), with its warm model.

    It runs :func:`run_worker` on its own connection (SQLite connections stay in
    their thread) and takes the same lock, so it and a worker process never
    embed one store at once. :meth:`kick` starts it when it is not running; it
    ends when nothing is missing, and :meth:`stop` ends it after the current batch.
    """

    def __init__(
        self, db_path: str | os.PathLike[str], embedder_factory: EmbedderFactory, log: Log
    ) -> None:
        self.db_path = str(db_path)
        self.factory = embedder_factory
        self.log = log
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self.last: WorkerOutcome | None = None

    def kick(self) -> bool:
        """Start the thread unless it runs; True if this call started it."""
        with self._guard:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._stop.clear()
            from rlm.embedding.base import import_numpy_here

            import_numpy_here()  # the thread's embedding must not race a search's import
            self._thread = threading.Thread(target=self._run, name="rlm-embed", daemon=True)
            self._thread.start()
            return True

    def _run(self) -> None:
        try:
            with Store.open(self.db_path) as store:
                self.last = run_worker(store, self.factory, log=self.log, stop=self._stop)
        except Exception as exc:  # a thread must not die silently
            self.log(f"background embedding failed: {type(exc).__name__}: {exc}")

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def starter(self) -> Callable[[Store, Backlog, float | None], BackgroundJob]:
        """A load ``starter`` that hands the backlog to this thread."""

        def start(store: Store, backlog: Backlog, eta: float | None) -> BackgroundJob:
            started = self.kick()
            return BackgroundJob(
                chunks=backlog.chunks,
                tokens=backlog.tokens,
                eta_seconds=eta,
                started=started,
                log="(this server's embedding thread)",
            )

        return start
