"""Embedding vectors: little-endian float32 BLOBs, rlm-rs layout, plus a fingerprint.

numpy is imported inside the functions that need it: the store is opened by
commands that must start fast.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rlm.store.base import StoreBase
from rlm.store.models import EmbeddingStatus

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


@dataclass(frozen=True)
class VectorRow:
    chunk_id: int
    blob: bytes
    dimensions: int
    model_name: str
    fingerprint: str
    windows: int


@dataclass(frozen=True)
class VectorMatrix:
    """All vectors of one model as one contiguous matrix (row i is ``chunk_ids[i]``)."""

    chunk_ids: npt.NDArray[np.int64]
    matrix: npt.NDArray[np.float32]


_serials = itertools.count(1)
"""Per-process numbers for connections: ``id(conn)`` is reused once a connection
is freed, a serial never is (sqlite3 connections take no weak references)."""


class VectorQueries(StoreBase):
    def store_vectors(self, rows: Iterable[VectorRow]) -> int:
        now = self.now()
        data = [
            (r.chunk_id, r.blob, r.dimensions, r.model_name, now, r.fingerprint, r.windows)
            for r in rows
        ]
        self.conn.executemany(
            "INSERT OR REPLACE INTO chunk_embeddings(chunk_id, embedding, dimensions,"
            " model_name, created_at, fingerprint, windows) VALUES (?, ?, ?, ?, ?, ?, ?)",
            data,
        )
        return len(data)

    def chunks_to_embed(
        self, buffer_id: int, fingerprint: str, *, force: bool
    ) -> list[tuple[int, str, bool]]:
        """(chunk id, content, already has a vector) for chunks that need a vector.

        Without ``force``: chunks with no vector. With ``force``: every chunk
        (rlm-rs's --force skipped same-model chunks, against its own help text).
        Vectors of another model are reported by ``stale_vector_count``, and
        re-embedded only with ``force`` so a model switch is never silent.
        """
        sql = (
            "SELECT c.id, c.content, e.chunk_id IS NOT NULL FROM chunks c"
            " LEFT JOIN chunk_embeddings e ON e.chunk_id = c.id WHERE c.buffer_id = ?"
        )
        if not force:
            sql += " AND e.chunk_id IS NULL"
        sql += " ORDER BY c.chunk_index, c.id"
        del fingerprint  # kept in the signature: callers state which model they embed for
        return [(int(r[0]), str(r[1]), bool(r[2])) for r in self.conn.execute(sql, (buffer_id,))]

    def stale_vector_count(self, buffer_id: int | None, fingerprint: str) -> int:
        """Vectors made by a different model/fingerprint than the current one."""
        sql = (
            "SELECT COUNT(*) FROM chunk_embeddings e JOIN chunks c ON c.id = e.chunk_id"
            " WHERE (e.fingerprint IS NULL OR e.fingerprint != ?)"
        )
        params: list[object] = [fingerprint]
        if buffer_id is not None:
            sql += " AND c.buffer_id = ?"
            params.append(buffer_id)
        return int(self.conn.execute(sql, params).fetchone()[0])

    def vector_models(self, buffer_id: int | None = None) -> list[tuple[str | None, int]]:
        """(model name, count) of stored vectors, most common first."""
        sql = "SELECT e.model_name, COUNT(*) FROM chunk_embeddings e"
        params: list[object] = []
        if buffer_id is not None:
            sql += " JOIN chunks c ON c.id = e.chunk_id WHERE c.buffer_id = ?"
            params.append(buffer_id)
        sql += " GROUP BY e.model_name ORDER BY COUNT(*) DESC"
        return [(r[0], int(r[1])) for r in self.conn.execute(sql, params)]

    def load_vectors(
        self, fingerprint: str, dimensions: int, buffer_ids: Sequence[int] | None = None
    ) -> VectorMatrix:
        """Every vector made with ``fingerprint`` (optionally only some buffers).

        Filters in SQL before anything is scored, and builds one contiguous
        float32 matrix from the concatenated blobs (no Python object per row).
        """
        import numpy as np

        sql = (
            "SELECT e.chunk_id, e.embedding FROM chunk_embeddings e"
            " WHERE e.fingerprint = ? AND e.dimensions = ?"
        )
        params: list[object] = [fingerprint, dimensions]
        if buffer_ids is not None:
            marks = ",".join("?" * len(buffer_ids)) or "NULL"
            sql += f" AND e.chunk_id IN (SELECT id FROM chunks WHERE buffer_id IN ({marks}))"
            params.extend(buffer_ids)
        sql += " ORDER BY e.chunk_id"
        rows = self.conn.execute(sql, params).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        blob = b"".join(r[1] for r in rows)
        matrix = np.frombuffer(blob, dtype="<f4").reshape(len(rows), dimensions)
        return VectorMatrix(chunk_ids=ids, matrix=matrix.astype(np.float32, copy=False))

    def embedding_status(self) -> list[EmbeddingStatus]:
        """Per buffer: chunks, chunks with a vector, and the models used (one query)."""
        rows = self.conn.execute(
            "SELECT b.id, b.name, COUNT(c.id), COUNT(e.chunk_id),"
            " GROUP_CONCAT(DISTINCT e.model_name) FROM buffers b"
            " LEFT JOIN chunks c ON c.buffer_id = b.id"
            " LEFT JOIN chunk_embeddings e ON e.chunk_id = c.id"
            " GROUP BY b.id ORDER BY b.id"
        ).fetchall()
        return [
            EmbeddingStatus(
                buffer_id=int(r[0]),
                name=r[1],
                chunk_count=int(r[2]),
                embedded_count=int(r[3]),
                models=tuple(sorted(str(r[4]).split(","))) if r[4] else (),
            )
            for r in rows
        ]

    def embedding_status_for(self, buffer_id: int) -> int:
        """How many chunks of one buffer have a vector."""
        return int(
            self.conn.execute(
                "SELECT COUNT(*) FROM chunk_embeddings e JOIN chunks c ON c.id = e.chunk_id"
                " WHERE c.buffer_id = ?",
                (buffer_id,),
            ).fetchone()[0]
        )

    def vector_coverage(
        self, fingerprint: str, dimensions: int, buffer_ids: Sequence[int]
    ) -> tuple[int, int, int]:
        """(chunks, chunks with a current vector, chunks with another model's vector)
        of some buffers: search warnings about the buffers searched, not the store."""
        if not buffer_ids:
            return 0, 0, 0
        marks = ",".join("?" * len(buffer_ids))
        row = self.conn.execute(
            "SELECT COUNT(*),"
            " COALESCE(SUM(e.fingerprint = ? AND e.dimensions = ?), 0),"
            " COALESCE(SUM(e.chunk_id IS NOT NULL"
            "  AND (e.fingerprint IS NULL OR e.fingerprint != ?)), 0)"
            " FROM chunks c LEFT JOIN chunk_embeddings e ON e.chunk_id = c.id"
            f" WHERE c.buffer_id IN ({marks})",
            (fingerprint, dimensions, fingerprint, *buffer_ids),
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def vector_count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM chunk_embeddings").fetchone()[0])

    def vector_signature(self, fingerprint: str, dimensions: int) -> tuple[int, int, int]:
        """(count, max chunk id, newest created_at) of one model's vectors.

        Cheap enough to run when the database changed; a cached matrix whose
        signature still matches can be reused (ids only grow, replaced vectors
        get a new ``created_at``).
        """
        row = self.conn.execute(
            "SELECT COUNT(*), COALESCE(MAX(chunk_id), 0), COALESCE(MAX(created_at), 0)"
            " FROM chunk_embeddings WHERE fingerprint = ? AND dimensions = ?",
            (fingerprint, dimensions),
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def change_token(self) -> tuple[int, int, int]:
        """Changes whenever any connection (``data_version``) or this one wrote.

        ``data_version`` and ``total_changes`` only count from the moment a
        connection opened, so two connections opened one after the other (the
        MCP server opens one per call) give the same pair even when another
        process wrote in between; a per-connection serial tells them apart, so
        a cache keyed on this token revalidates against the data on every new
        connection instead of trusting a recycled ``id(conn)``.
        """
        version = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        serial = self.__dict__.get("_connection_serial")
        if serial is None or self.__dict__.get("_serial_conn") is not self.conn:
            serial = self.__dict__["_connection_serial"] = next(_serials)
            self.__dict__["_serial_conn"] = self.conn
        return serial, version, self.conn.total_changes

    def load_vectors_with_buffers(
        self, fingerprint: str, dimensions: int
    ) -> tuple[VectorMatrix, npt.NDArray[np.int64]]:
        """All vectors of one model plus each row's buffer id (for filtering in memory)."""
        import numpy as np

        rows = self.conn.execute(
            "SELECT e.chunk_id, c.buffer_id, e.embedding FROM chunk_embeddings e"
            " JOIN chunks c ON c.id = e.chunk_id"
            " WHERE e.fingerprint = ? AND e.dimensions = ? AND length(e.embedding) = ?"
            " ORDER BY e.chunk_id",
            (fingerprint, dimensions, 4 * dimensions),
        ).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        buffers = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        blob = b"".join(r[2] for r in rows)
        matrix = np.frombuffer(blob, dtype="<f4").reshape(len(rows), dimensions)
        return VectorMatrix(chunk_ids=ids, matrix=matrix.astype(np.float32, copy=False)), buffers

    def vector_ids_since(self, fingerprint: str, dimensions: int, created_at: int) -> list[int]:
        """Chunk ids of one model's vectors written at or after ``created_at`` (seconds)."""
        return [
            int(r[0])
            for r in self.conn.execute(
                "SELECT chunk_id FROM chunk_embeddings WHERE fingerprint = ? AND dimensions = ?"
                " AND created_at >= ?",
                (fingerprint, dimensions, created_at),
            )
        ]
