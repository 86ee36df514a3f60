"""``PostgresStore``: the :class:`rlm.store.Store` methods on PostgreSQL + pgvector.

It subclasses ``Store`` so every caller's type stays ``Store``; each SQLite
method is overridden by the PostgreSQL mixin of its table family (a test
checks none is left to run SQLite SQL on this connection). ``path`` is a local
folder for this machine's worker lock and log files (under the user's cache
folder, named by a hash of the server and database), never the data itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rlm.errors import DatabaseError, NotInitializedError, ReadOnlyStoreError, RlmError
from rlm.store.context import empty_context
from rlm.store.models import Stats
from rlm.store.postgres.buffers import PgBufferQueries
from rlm.store.postgres.chunks import PgChunkQueries
from rlm.store.postgres.connection import (
    connect,
    errors_translated,
    missing_extension_error,
    redact,
    register_vector,
)
from rlm.store.postgres.context import PgContextQueries
from rlm.store.postgres.embed_queue import PgEmbedQueueQueries
from rlm.store.postgres.lexical import PgLexicalQueries
from rlm.store.postgres.migrations import (
    ensure_vector_extension,
    has_vector_extension,
    is_initialized,
    migrate,
    pending,
)
from rlm.store.postgres.runs import PgRunQueries
from rlm.store.postgres.vectors import PgPassageQueries, PgVectorQueries
from rlm.store.store import Store

_TABLES = (
    "embed_claims",
    "lex_postings",
    "lex_docs",
    "passage_embeddings",
    "chunk_embeddings",
    "chunks",
    "buffer_segments",
    "buffers",
    "context",
    "metadata",
    "chunk_tombstones",
    "dispatch_run_chunks",
    "dispatch_runs",
)


def local_state_path(identity: str) -> Path:
    """This machine's anchor for a PostgreSQL store's worker files (lock, log, state)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rlm" / "postgres"
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
    return base / digest / "rlm-state.db"


class PostgresStore(
    PgBufferQueries,
    PgChunkQueries,
    PgVectorQueries,
    PgPassageQueries,
    PgContextQueries,
    PgRunQueries,
    PgLexicalQueries,
    PgEmbedQueueQueries,
    Store,
):
    """An open rlm store on a PostgreSQL server."""

    native_vector_index = True
    shares_embedding_work = True

    def __init__(self, url: str, *, _create: bool = False, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self.path = local_state_path(self.identity)
        self.pg = connect(url, read_only=read_only)
        # Code that hooks a SQLite connection (MCP call cancellation) checks its type
        # and leaves any other alone; every query of this store goes through ``pg``.
        self.conn = self.pg  # type: ignore[assignment]
        try:
            with errors_translated(url):
                self._check_and_migrate(_create)
                register_vector(self.pg)
        except BaseException:
            self.pg.close()
            raise
        if not read_only:
            with contextlib.suppress(OSError):
                self.path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def identity(self) -> str:
        """Server and database without the password: cache keys and messages."""
        return redact(self.url)

    @property
    def location(self) -> str:
        """What another process passes to :meth:`Store.open` to reach this store."""
        return self.url

    @property
    def display_location(self) -> str:
        return redact(self.url)

    def sidecar_dir(self) -> Path | None:
        """No files next to the data: the server holds everything (HNSW included)."""
        return None

    def _check_and_migrate(self, creating: bool) -> None:
        if not creating and not is_initialized(self.pg):
            raise NotInitializedError(
                self.identity,
                detail=f"RLM not initialized: no rlm store in {self.identity}",
                suggestion=f"Run 'rlm -d {self.identity} init' to create one",
            )
        todo = pending(self.pg)
        if self.read_only:
            if todo:
                raise ReadOnlyStoreError(
                    f"{self.identity} needs {len(todo)} schema migration(s)"
                    f" ({', '.join(todo)}) and is opened read-only",
                    suggestion="Open it once without --read-only (for example 'rlm status')"
                    " to upgrade it, then serve it read-only",
                )
            if not has_vector_extension(self.pg):
                raise missing_extension_error(self.url)
            return
        ensure_vector_extension(self.pg, self.url)
        if todo:
            migrate(self.pg)

    @classmethod
    def connect_url(cls, url: str, *, read_only: bool = False) -> PostgresStore:
        return cls(url, read_only=read_only)

    @classmethod
    def create(cls, url: str, *, force: bool = False) -> PostgresStore:
        """Create (or, idempotently, open and migrate) the store; ``force`` empties it."""
        store = cls(url, _create=True)
        try:
            if force:
                store.reset()
            with store.transaction():
                if store.load_context() is None:
                    store.save_context(empty_context(store.now()))
        except BaseException:
            store.close()
            raise
        return store

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._pg_transaction():
            yield

    def close(self) -> None:
        self.pg.close()

    def stats(self) -> Stats:
        row = self._one(
            "SELECT (SELECT value FROM schema_info WHERE key = 'version'),"
            " (SELECT COUNT(*) FROM buffers), (SELECT COUNT(*) FROM chunks),"
            " (SELECT COALESCE(SUM(size), 0) FROM buffers),"
            " EXISTS (SELECT 1 FROM context WHERE id = 1), pg_database_size(current_database())"
        )
        try:
            version = int(row[0]) if row[0] is not None else 0
        except ValueError:
            version = 0
        return Stats(
            buffer_count=int(row[1]),
            chunk_count=int(row[2]),
            total_content_size=int(row[3]),
            has_context=bool(row[4]),
            schema_version=version,
            db_size=int(row[5]),
        )

    def reset(self) -> None:
        with self.transaction():
            for table in _TABLES:
                self._exec(f"DELETE FROM {table}")
            self.save_context(empty_context(self.now()))

    def integrity_check(self) -> str:
        """PostgreSQL checks its own pages; this checks rlm's invariants instead."""
        bad = self._one(
            "SELECT (SELECT COUNT(*) FROM chunks c WHERE NOT EXISTS"
            "  (SELECT 1 FROM lex_docs d WHERE d.idx = 0 AND d.chunk_id = c.id)),"
            " (SELECT COUNT(*) FROM buffers b WHERE b.size > 0 AND NOT EXISTS"
            "  (SELECT 1 FROM buffer_segments s WHERE s.buffer_id = b.id))"
        )
        problems = []
        if int(bad[0]):
            problems.append(f"{bad[0]} chunk(s) missing from the lexical index")
        if int(bad[1]):
            problems.append(f"{bad[1]} buffer(s) without text")
        return "; ".join(problems) or "ok"

    def free_space(self) -> tuple[int, int]:
        size = int(self._one("SELECT pg_database_size(current_database())")[0])
        return size, 0

    def vacuum(self) -> None:
        """VACUUM ANALYZE every rlm table (PostgreSQL reuses space by itself)."""
        if self.read_only:
            raise ReadOnlyStoreError(f"{self.identity} is open read-only")
        for table in _TABLES:
            self._rows_noresult(f"VACUUM (ANALYZE) {table}")

    def _rows_noresult(self, sql: str) -> None:
        with errors_translated(self.url):
            self.pg.execute(sql)


def open_postgres(url: str, *, read_only: bool = False) -> PostgresStore:
    try:
        return PostgresStore(url, read_only=read_only)
    except RlmError:
        raise
    except Exception as exc:  # anything psycopg did not map is still one line
        raise DatabaseError(f"database error: {exc}") from exc
