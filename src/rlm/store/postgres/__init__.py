"""The PostgreSQL + pgvector backend: the same ``Store`` methods, PostgreSQL SQL.

Chosen when ``-d``/``RLM_DB_PATH`` is a ``postgresql://`` or ``postgres://`` URL
(:func:`rlm.store.location.is_postgres_url`). Each module mirrors one SQLite
module of ``rlm.store`` (buffers, chunks, context, runs, lexical, vectors,
embed queue); psycopg is imported only here, and only when such a URL is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rlm.store.store import Store


def open_store(url: str, *, read_only: bool = False) -> Store:
    """Open an initialised PostgreSQL store (psycopg imported only now)."""
    from rlm.store.postgres.connection import import_psycopg

    import_psycopg()
    from rlm.store.postgres.store import open_postgres

    return open_postgres(url, read_only=read_only)


def create_store(url: str, *, force: bool = False) -> Store:
    """``rlm init`` on a PostgreSQL URL."""
    from rlm.store.postgres.connection import import_psycopg

    import_psycopg()
    from rlm.store.postgres.store import PostgresStore

    return PostgresStore.create(url, force=force)
