"""Opening the SQLite file: pragmas, locking and transactions.

Concurrency model: WAL journal (readers never block the writer or each other),
one writer at a time, and a generous busy timeout so a second writer waits
instead of failing with "database is locked". Transactions are explicit
(``isolation_level=None``) and writes take the lock up front with
``BEGIN IMMEDIATE`` so two writers can never deadlock on a lock upgrade.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rlm.errors import DatabaseError, NotInitializedError

BUSY_TIMEOUT_MS = 30_000


def connect(path: Path | str, *, create: bool) -> sqlite3.Connection:
    """Open the database, creating parent folders only when ``create`` is set.

    Without ``create`` a missing file is :class:`NotInitializedError` and
    nothing is written to disk (rlm-rs created an empty file here, which then
    broke ``init``).
    """
    memory = str(path) == ":memory:"
    if not memory:
        path = Path(path)
        if not create and not path.exists():
            raise NotInitializedError(str(path))
        if create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"failed to create directory {path.parent}: {exc}") from exc
    try:
        conn = sqlite3.connect(
            str(path),
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not memory:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"database error: {exc}") from exc
    return conn


@contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction: all or nothing, whatever exception escapes."""
    if conn.in_transaction:
        # Nested use joins the outer transaction through a savepoint.
        conn.execute("SAVEPOINT rlm_nested")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK TO rlm_nested")
            conn.execute("RELEASE rlm_nested")
            raise
        conn.execute("RELEASE rlm_nested")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
