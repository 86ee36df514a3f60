"""The backend seam: PostgresStore overrides every method that runs SQLite SQL."""

from __future__ import annotations

import inspect

from rlm.store import Store
from rlm.store.postgres.store import PostgresStore

# SQLite-only helpers the PostgreSQL mixins never reach (called only from SQLite methods).
SQLITE_PRIVATE = {
    "_fts_rows",
    "_scored_rows",
    "_bm25_sum",
    "_check_and_migrate",
    "_scope_filter",  # FTS5 plan choice for a buffer filter
    "_passages_since",  # stores older than the passage table: PostgreSQL has none
    "_row_counts",  # the m008 trigger-kept counts: PostgreSQL counts in its own methods
    "_backlog_possible",
}


BACKEND_AWARE = {"mcp/calls.py"}
"""Hooks SQLite's progress handler for call cancellation; a no-op for other backends."""


def _uses_sqlite_connection(func: object) -> bool:
    try:
        source = inspect.getsource(func)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return False
    return "self.conn" in source


def test_no_sqlite_method_is_left_to_run_on_a_postgres_store() -> None:
    leftovers = []
    for name, member in inspect.getmembers(Store):
        if not callable(member) or name.startswith("__") or name in SQLITE_PRIVATE:
            continue
        if not _uses_sqlite_connection(member):
            continue
        owner = next(k for k in PostgresStore.__mro__ if name in k.__dict__)
        if not owner.__module__.startswith("rlm.store.postgres"):
            leftovers.append(f"{name} (from {owner.__module__})")
    assert leftovers == []


def test_nothing_above_the_store_reads_the_sqlite_connection() -> None:
    """search/, ops/, ingest/ get what they need from Store methods, not ``store.conn``."""
    import pathlib

    import rlm

    root = pathlib.Path(rlm.__file__).parent
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "store" not in path.relative_to(root).parts[:1]
        and path.relative_to(root).as_posix() not in BACKEND_AWARE
        and ("store.conn" in path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
