"""Opening the SQLite file: pragmas, locking and transactions.

Concurrency model: WAL journal (readers never block the writer or each other),
one writer at a time, and a generous busy timeout so a second writer waits
instead of failing with "database is locked". Transactions are explicit
(``isolation_level=None``) and writes take the lock up front with
``BEGIN IMMEDIATE`` so two writers can never deadlock on a lock upgrade.

The store file may come from someone else, so SQL from its schema is not
trusted: :class:`~rlm.store.Store` refuses at open any trigger, view or
virtual table whose SQL is not exactly rlm's own (:mod:`rlm.store.trust`).
A read-only connection also sets ``PRAGMA trusted_schema=OFF``, opens the file
with ``mode=ro`` and ``PRAGMA query_only=ON``, and changes no pragma that
writes (``journal_mode``), so the database file's bytes stay as they were.
A read-write connection must keep ``trusted_schema=ON``: rlm-rs keeps its FTS5
index in step with triggers, and SQLite refuses a trigger that writes an FTS5
table from an untrusted schema ("unsafe use of virtual table"); the exact-SQL
check at open is what makes that safe.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rlm.errors import ConfigError, DatabaseError, NotInitializedError

BUSY_TIMEOUT_MS = 30_000
MIN_SQLITE = (3, 31, 0)
"""The oldest SQLite rlm opens a store with. What sets it:

* ``PRAGMA trusted_schema`` (3.31.0): a read-only open turns it off so a crafted
  store's SQL cannot call functions; an older SQLite ignores the unknown pragma
  *silently*, so below 3.31 that protection would quietly be missing;
* FTS5's ``unicode61 remove_diacritics 2`` tokenizer option (3.27.0), used by
  the accent-folding index (m006);
* FTS5 itself, which must be compiled in (checked separately: distributions
  can leave it out whatever the version).

Not needed, so not required: window functions, ``RETURNING``, UPSERT and the
JSON functions (rlm parses JSON in Python).
"""
BUSY_SLICE_MS = 200
"""A stoppable connection waits for the write lock in slices this long, checking its
stop flag in between (SQLite's own busy wait cannot be interrupted)."""
PROGRESS_EVERY = 10_000
"""SQLite VM steps between two checks of a call's stop flag (about 0.1 ms of work):
often enough that a stopped statement ends at once, rarely enough to cost nothing."""


class Connection(sqlite3.Connection):
    """An SQLite connection that a running call can be told to stop (:func:`interruptible`).

    Once stopped, it refuses to *start* a statement (a read that runs many short
    queries, one per segment or batch, would otherwise carry on: each is too short
    for the progress handler), except those that end a transaction.
    """

    stopped: Callable[[], bool] | None = None
    """Set while a stoppable call owns the connection: true once it must stop."""

    # Called on every statement: kept lean (about 0.5 us on a trivial SELECT).
    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        if self.stopped is not None and self.stopped():
            _refuse(sql)
        return _EXECUTE(self, sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        if self.stopped is not None and self.stopped():
            _refuse(sql)
        return _EXECUTEMANY(self, sql, parameters)


_EXECUTE = sqlite3.Connection.execute
_EXECUTEMANY = sqlite3.Connection.executemany
_ALWAYS_RUN = ("ROLLBACK", "RELEASE", "PRAGMA")
"""Statements a stopped connection still runs: they end work (roll back, release a
savepoint, restore the busy timeout), never start it."""


def _refuse(sql: str) -> None:
    if not sql.lstrip()[:8].upper().startswith(_ALWAYS_RUN):
        raise sqlite3.OperationalError("interrupted")


def connect(path: Path | str, *, create: bool, read_only: bool = False) -> sqlite3.Connection:
    """Open the database, creating parent folders only when ``create`` is set.

    Without ``create`` a missing file is :class:`NotInitializedError` and
    nothing is written to disk (rlm-rs created an empty file here, which then
    broke ``init``). ``read_only`` opens with ``mode=ro`` and ``query_only``.
    """
    require_sqlite()
    memory = str(path) == ":memory:"
    if not memory:
        path = Path(path)
        if not create and not path.exists():
            raise NotInitializedError(str(path))
        if create and not read_only:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"failed to create directory {path.parent}: {exc}") from exc
    try:
        if read_only and not memory:
            uri = "file:" + quote(str(Path(path).absolute())) + "?mode=ro"
            conn = sqlite3.connect(
                uri,
                uri=True,
                isolation_level=None,
                timeout=BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
                factory=Connection,
            )
        else:
            conn = sqlite3.connect(
                str(path),
                isolation_level=None,
                timeout=BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
                factory=Connection,
            )
        _harden(conn, trust_schema=not read_only)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if read_only:
            conn.execute("PRAGMA query_only = ON")
        elif not memory:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"database error: {exc}") from exc
    return conn


def require_sqlite() -> None:
    """Refuse an SQLite library that lacks what rlm relies on (see :data:`MIN_SQLITE`)."""
    found = sqlite3.sqlite_version_info
    if found < MIN_SQLITE:
        need = ".".join(map(str, MIN_SQLITE))
        raise ConfigError(
            f"SQLite {sqlite3.sqlite_version} is too old: rlm needs {need} or newer"
            " (trusted_schema, FTS5 options)",
            error_type="UnsupportedSQLite",
            suggestion="Use a Python built with a newer SQLite (current python.org builds"
            " and distributions ship 3.40+)",
        )
    if not has_fts5():
        raise ConfigError(
            f"this Python's SQLite {sqlite3.sqlite_version} has no FTS5 full-text index",
            error_type="UnsupportedSQLite",
            suggestion="Use a Python whose sqlite3 module is built with FTS5"
            " (python.org builds and most distributions have it)",
        )


@functools.cache
def has_fts5() -> bool:
    """Whether the linked SQLite has FTS5 (probed once per process, in memory)."""
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE probe USING fts5(x)")
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()
    return True


def _harden(conn: sqlite3.Connection, *, trust_schema: bool) -> None:
    """Distrust the file's own SQL where rlm can (see the module docstring)."""
    conn.execute(f"PRAGMA trusted_schema = {'ON' if trust_schema else 'OFF'}")
    setconfig = getattr(conn, "setconfig", None)  # Python 3.12+
    defensive = getattr(sqlite3, "SQLITE_DBCONFIG_DEFENSIVE", None)
    if setconfig is not None and defensive is not None:
        setconfig(defensive, True)


def interruptible(conn: object, stopped: Callable[[], bool]) -> Callable[[], None]:
    """Make ``conn`` give up its statements once ``stopped()`` turns true.

    Three hooks, because each misses something:

    * the progress handler aborts a running statement within
      :data:`PROGRESS_EVERY` VM steps of the flag being set;
    * the returned function calls ``sqlite3_interrupt`` (safe from any thread)
      for work that runs long inside one step (a sort, an FTS5 query);
    * a stopped :class:`Connection` refuses to start another statement (a short
      one never reaches the handler's period), and :func:`immediate_transaction`
      neither begins nor commits for it and stops waiting for another writer.

    The statement fails with ``sqlite3.OperationalError: interrupted`` and an
    open write transaction rolls back. Another backend's connection gets no
    hooks (a no-op interrupt).
    """
    if not isinstance(conn, sqlite3.Connection):  # another backend: nothing to hook here
        return lambda: None
    conn.set_progress_handler(lambda: 1 if stopped() else 0, PROGRESS_EVERY)
    if isinstance(conn, Connection):
        conn.stopped = stopped

    def interrupt() -> None:
        with contextlib.suppress(sqlite3.ProgrammingError):  # already closed: nothing runs
            conn.interrupt()

    return interrupt


@contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction: all or nothing, whatever exception escapes."""
    if conn.in_transaction:
        # Nested use joins the outer transaction through a savepoint.
        conn.execute("SAVEPOINT rlm_nested")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK TO rlm_nested")
                conn.execute("RELEASE rlm_nested")
            raise
        conn.execute("RELEASE rlm_nested")
        return
    stopped = getattr(conn, "stopped", None)
    _begin_immediate(conn, stopped)
    try:
        yield
        if stopped is not None and stopped():
            raise sqlite3.OperationalError("interrupted")  # never commit a stopped call
    except BaseException:
        # An interrupted write (sqlite3_interrupt) can end the transaction itself;
        # a second ROLLBACK would then raise and hide the error that caused it.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _begin_immediate(conn: sqlite3.Connection, stopped: Callable[[], bool] | None) -> None:
    """``BEGIN IMMEDIATE``; a stoppable connection waits for the lock in slices."""
    if stopped is None:
        conn.execute("BEGIN IMMEDIATE")
        return
    waited = 0
    conn.execute(f"PRAGMA busy_timeout = {BUSY_SLICE_MS}")
    try:
        while True:
            if stopped():
                raise sqlite3.OperationalError("interrupted")
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                waited += BUSY_SLICE_MS
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if waited >= BUSY_TIMEOUT_MS:
                    raise
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
