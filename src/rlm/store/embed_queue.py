"""The embedding backlog: which chunks still lack a vector, and how much work that is.

The background worker (:mod:`rlm.ingest.background`) asks for the next buffer
to embed here, and ``load``, ``status`` and ``search`` size the backlog from
the same query, so the estimate a load acts on is the one status shows. Token
counts are the chunk rows' own (rlm-rs's bytes/4 estimate until a chunk is
embedded), which is the unit the recorded embedding rate is measured in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from rlm.store.base import StoreBase


@dataclass(frozen=True)
class Backlog:
    """Chunks without a vector: per buffer, and in total."""

    buffers: tuple[tuple[int, int, int], ...] = ()
    """(buffer id, chunks, estimated tokens), in buffer id order."""

    @property
    def chunks(self) -> int:
        return sum(c for _, c, _ in self.buffers)

    @property
    def tokens(self) -> int:
        return sum(t for _, _, t in self.buffers)

    @property
    def buffer_ids(self) -> list[int]:
        return [b for b, _, _ in self.buffers]


class EmbedQueueQueries(StoreBase):
    def embedding_backlog(self, buffer_ids: Sequence[int] | None = None) -> Backlog:
        """Chunks with no vector, or with a vector but no passages of its model
        (a store made before passages): what ``chunk embed`` and the worker embed.

        A chunk is done when it has a chunk vector and passage vectors of the same
        fingerprint. :func:`rlm.embedding.sync.embed_buffer` writes both in one
        transaction, so only a vector older than the passage table (migration
        m006) can lack passages: the passage probe runs for those alone. At 45k
        chunks (480k passages) on a busy machine this query takes 0.18 s, against
        0.05 s for "no vector" alone and 0.4 s probing every vector (it runs on
        each search and status). Naming only the fingerprint made SQLite scan
        every passage of the model per chunk (41 s at 10k chunks), so the probe
        names all three columns of ``idx_passages_model``.
        """
        if buffer_ids is None and not self._backlog_possible():
            return Backlog()
        sql = (
            "SELECT c.buffer_id, COUNT(*), COALESCE(SUM(c.token_count), 0) FROM chunks c"
            " WHERE NOT EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.chunk_id = c.id"
            " AND (e.created_at > ? OR EXISTS (SELECT 1 FROM passage_embeddings p"
            " WHERE p.fingerprint = e.fingerprint AND p.dimensions = e.dimensions"
            " AND p.chunk_id = c.id)))"
        )
        params: list[object] = [self._passages_since()]
        if buffer_ids is not None:
            if not buffer_ids:
                return Backlog()
            sql += f" AND c.buffer_id IN ({','.join('?' * len(buffer_ids))})"
            params.extend(buffer_ids)
        sql += " GROUP BY c.buffer_id ORDER BY c.buffer_id"
        rows = self.conn.execute(sql, params).fetchall()
        return Backlog(tuple((int(r[0]), int(r[1]), int(r[2])) for r in rows))

    def _backlog_possible(self) -> bool:
        """Whether some chunk may lack a vector or passages, by ``row_counts`` (m008).

        False only when every chunk has a vector (one per chunk, none without its
        chunk) and each model's chunks with passages number its vectors: then the
        backlog is empty without the query, which walks every chunk (150-195 ms at
        100k chunks, in every search and status).
        """
        vectors, with_passages = self._model_counts()
        chunks = int(self.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
        if chunks != sum(vectors.values()):
            return True
        return any(with_passages.get(model, 0) < n for model, n in vectors.items())

    def _passages_since(self) -> int:
        """When this store got its passage table (vectors after it have passages)."""
        try:
            row = self.conn.execute(
                "SELECT applied_at FROM _rlm_migrations WHERE name = 'm006_add_passage_embeddings'"
            ).fetchone()
        except sqlite3.OperationalError:  # a store opened read-only before the ledger existed
            row = None
        return int(row[0]) if row else 2**62  # unknown: probe every vector

    def embedded_chunk_count(self) -> int:
        """Chunks that have a vector (of any model): the vector rows, by ``row_counts``
        (one per chunk, its primary key; none without its chunk, ON DELETE CASCADE)."""
        return sum(self._model_counts()[0].values())
