"""``Store``: every SQL statement rlm runs sits behind this one class.

Its public methods are the seam a PostgreSQL backend would implement; the
mixins only split the file by table family. Opening a store first checks
that its schema is rlm's own (:mod:`rlm.store.trust`), then runs pending
migrations, so an rlm-rs database (schema v1-v3) opens and works. A store
opened with ``read_only=True`` runs no migration and writes nothing: the
database file keeps its exact bytes (``rlm mcp --read-only``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from rlm.errors import DatabaseError, NotInitializedError, ReadOnlyStoreError, RlmError
from rlm.store.buffers import BufferQueries
from rlm.store.chunks import ChunkQueries
from rlm.store.connection import connect
from rlm.store.context import ContextQueries, empty_context
from rlm.store.embed_queue import EmbedQueueQueries
from rlm.store.lexical import LexicalQueries
from rlm.store.location import configured_url
from rlm.store.migrations import is_initialized, migrate, pending
from rlm.store.models import Stats
from rlm.store.runs import RunQueries
from rlm.store.trust import check_schema
from rlm.store.vectors import PassageQueries, VectorQueries

_OpenStore = TypeVar("_OpenStore", bound="Store")
"""``with Store.open(...)`` keeps the backend's own class (``PostgresStore``)."""

DEFAULT_DB_PATH = Path(".rlm") / "rlm-state.db"


def find_db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``-d``/``RLM_DB_PATH`` if given; else the nearest ``.rlm/rlm-state.db``
    in this folder or a parent (like git finds ``.git``); else ``./.rlm/...``.
    """
    if explicit:
        return Path(explicit)
    env = os.environ.get("RLM_DB_PATH")
    if env:
        return Path(env)
    cwd = Path.cwd()
    for folder in (cwd, *cwd.parents):
        candidate = folder / DEFAULT_DB_PATH
        if candidate.exists():
            return candidate.relative_to(cwd) if folder == cwd else candidate
    return DEFAULT_DB_PATH


class Store(
    BufferQueries,
    ChunkQueries,
    VectorQueries,
    PassageQueries,
    ContextQueries,
    RunQueries,
    LexicalQueries,
    EmbedQueueQueries,
):
    """An open rlm database (SQLite; ``open``/``init`` return the PostgreSQL subclass
    for a ``postgresql://`` URL, see :mod:`rlm.store.postgres`)."""

    shares_embedding_work = False
    """True when several worker processes may embed this store at once, each claiming
    chunks (:meth:`claim_chunks`, PostgreSQL); SQLite has one worker per store (a lock file)."""

    native_vector_index = False
    """True when the engine answers top-k vector queries itself (:meth:`nearest_chunks`);
    SQLite scores in memory (numpy, or usearch above ANN_MIN_VECTORS) instead."""

    def __init__(
        self, path: str | os.PathLike[str], *, _create: bool = False, read_only: bool = False
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.conn = connect(self.path, create=_create, read_only=read_only)
        try:
            self._check_and_migrate(_create)
        except RlmError:
            self.conn.close()
            raise
        except Exception as exc:
            self.conn.close()
            raise DatabaseError(f"database error: {exc}") from exc

    @property
    def identity(self) -> str:
        """A stable name of this store for cache keys (the file's resolved path)."""
        try:
            return str(self.path.resolve())
        except OSError:
            return str(self.path)

    @property
    def location(self) -> str:
        """What another process passes to :meth:`open` to reach this store."""
        return str(self.path.absolute()) if str(self.path) != ":memory:" else ":memory:"

    @property
    def display_location(self) -> str:
        """How messages name the store (absolute path; a URL without password on PG)."""
        return str(self.path.absolute())

    def sidecar_dir(self) -> Path | None:
        """The file the search caches (passage sidecar, usearch index) sit next to;
        None when there is none (in memory, or a server-side store)."""
        if str(self.path) == ":memory:":
            return None
        return Path(self.identity)

    def nearest_chunks(
        self,
        fingerprint: str,
        dimensions: int,
        query: Any,
        limit: int,
        *,
        ef_search: int = 0,
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the nearest chunk vectors, exact (SQLite has no vector
        index; the search engine keeps its in-memory path and calls this only where
        :attr:`native_vector_index` is set)."""
        import numpy as np

        del ef_search
        m = self.load_vectors(fingerprint, dimensions)
        if not m.chunk_ids.size or limit <= 0:
            return []
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        norms = np.linalg.norm(m.matrix, axis=1) * max(float(np.linalg.norm(q)), 1e-12)
        scores = (m.matrix @ q) / np.maximum(norms, 1e-12)
        order = np.lexsort((m.chunk_ids, -scores))[:limit]
        return [(int(m.chunk_ids[i]), float(scores[i])) for i in order]

    def claim_chunks(
        self,
        owner: str,
        limit: int,
        ttl: float = 600.0,
        *,
        replan: tuple[int, str] | None = None,
    ) -> list[int]:
        """Chunk ids without a vector, now held by ``owner`` (shared-work stores only)."""
        raise NotImplementedError("SQLite stores have one worker, guarded by its lock file")

    def claimed_elsewhere(self, owner: str, ttl: float = 600.0) -> int:
        """Chunks without a vector that other live workers hold (shared-work stores only)."""
        return 0

    def release_claims(self, owner: str, chunk_ids: Sequence[int] | None = None) -> None:
        """Drop ``owner``'s claims (shared-work stores only)."""
        raise NotImplementedError("SQLite stores have one worker, guarded by its lock file")

    def _check_and_migrate(self, creating: bool) -> None:
        """Trust check before any migration runs SQL against the file's schema."""
        if not creating and not is_initialized(self.conn):
            raise NotInitializedError(str(self.path))
        todo = pending(self.conn)
        check_schema(self.conn, str(self.path), fully_migrated=not todo)
        if not todo:
            return
        if self.read_only:
            raise ReadOnlyStoreError(
                f"{self.path} needs {len(todo)} schema migration(s) ({', '.join(todo)})"
                " and is opened read-only",
                suggestion="Open it once without --read-only (for example 'rlm status') to "
                "upgrade it, then serve it read-only",
            )
        migrate(self.conn)
        check_schema(self.conn, str(self.path), fully_migrated=True)

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> Store:
        """Open an initialised database (``NotInitializedError`` otherwise).

        ``read_only``: SQLite ``mode=ro`` plus ``query_only``, no migration (PostgreSQL:
        read-only transactions). A ``postgresql://`` URL opens the PostgreSQL backend.
        """
        url = configured_url(path)
        if url is not None:
            from rlm.store.postgres import open_store

            return open_store(url, read_only=read_only)
        return cls(find_db_path(path), read_only=read_only)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen together or not at all (refused when read-only)."""
        if self.read_only:
            raise ReadOnlyStoreError(
                f"{self.path} is open read-only; this command would change it",
                suggestion="Run it without --read-only",
            )
        with super().transaction():
            yield

    @staticmethod
    def default_init_path() -> Path:
        """Where ``init`` creates a database when no path is given: here, not a parent."""
        env = os.environ.get("RLM_DB_PATH")
        return Path(env) if env else DEFAULT_DB_PATH

    @classmethod
    def init(cls, path: str | os.PathLike[str] | None = None, *, force: bool = False) -> Store:
        """Create a database; refuses to touch an existing one unless ``force``.

        A PostgreSQL URL: creates the schema (and the vector extension when allowed);
        an existing store is opened as it is, or emptied with ``force``.
        """
        url = configured_url(path)
        if url is not None:
            from rlm.store.postgres import create_store

            return create_store(url, force=force)
        target = Path(path) if path else find_db_path(None)
        if target.exists():
            if not force:
                raise DatabaseError(
                    "Database already exists. Use --force to reinitialize.",
                    error_type="ExecutionFailed",
                    suggestion="Use --force to delete it and start again",
                )
            for suffix in ("", "-wal", "-shm"):
                Path(str(target) + suffix).unlink(missing_ok=True)
        store = cls(target, _create=True)
        with store.transaction():
            if store.load_context() is None:
                store.save_context(empty_context(store.now()))
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self: _OpenStore) -> _OpenStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def stats(self) -> Stats:
        c = self.conn
        version_row = c.execute("SELECT value FROM schema_info WHERE key = 'version'").fetchone()
        try:
            version = int(version_row[0]) if version_row else 0
        except ValueError:
            version = 0
        try:
            db_size: int | None = self.path.stat().st_size
        except OSError:
            db_size = None
        return Stats(
            buffer_count=int(c.execute("SELECT COUNT(*) FROM buffers").fetchone()[0]),
            chunk_count=int(c.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]),
            total_content_size=int(
                c.execute("SELECT COALESCE(SUM(size), 0) FROM buffers").fetchone()[0]
            ),
            has_context=c.execute("SELECT 1 FROM context WHERE id = 1").fetchone() is not None,
            schema_version=version,
            db_size=db_size,
        )

    def reset(self) -> None:
        """Delete every row (schema kept; ids keep counting up so old ids never come back)."""
        with self.transaction():
            for table in (
                "chunk_embeddings",
                "chunks",
                "buffer_segments",
                "buffers",
                "context",
                "metadata",
                "chunk_tombstones",
                "dispatch_run_chunks",
                "dispatch_runs",
            ):
                self.conn.execute(f"DELETE FROM {table}")
            self.conn.execute("DELETE FROM chunks_aux_fts")
            self.save_context(empty_context(self.now()))

    def integrity_check(self) -> str:
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])

    def free_space(self) -> tuple[int, int]:
        """(database bytes, bytes in free pages): what ``vacuum`` could give back."""
        page = int(self.conn.execute("PRAGMA page_size").fetchone()[0])
        pages = int(self.conn.execute("PRAGMA page_count").fetchone()[0])
        free = int(self.conn.execute("PRAGMA freelist_count").fetchone()[0])
        return page * pages, page * free

    def vacuum(self) -> None:
        """Rewrite the file without its free pages (SQLite never shrinks on its own).

        Deleting buffers leaves their pages free for reuse but the file keeps
        its size (116 MB for 1.5 MB of content in the walkthrough). VACUUM
        copies the live rows into a new file; the WAL is checkpointed first and
        after so the main file really shrinks. It waits for other writers.
        """
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.execute("VACUUM")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
