"""The embedding backlog: which chunks still lack a vector, and how much work that is.

The background worker (:mod:`rlm.ingest.background`) asks for the next buffer
to embed here, and ``load``, ``status`` and ``search`` size the backlog from
the same query, so the estimate a load acts on is the one status shows. Token
counts are the chunk rows' own (rlm-rs's bytes/4 estimate until a chunk is
embedded), which is the unit the recorded embedding rate is measured in.
"""

from __future__ import annotations

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
        fingerprint, as :func:`rlm.embedding.sync.embed_buffer` writes them. The
        passage test names all three columns of ``idx_passages_model`` so it is
        one covering-index probe per chunk (with the fingerprint alone the
        planner scanned every passage of the model per chunk: 41 s at 10k
        chunks); it costs about 0.1 s per 10k chunks on top of 0.02 s.
        """
        sql = (
            "SELECT c.buffer_id, COUNT(*), COALESCE(SUM(c.token_count), 0) FROM chunks c"
            " WHERE NOT EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.chunk_id = c.id"
            " AND EXISTS (SELECT 1 FROM passage_embeddings p WHERE p.fingerprint = e.fingerprint"
            " AND p.dimensions = e.dimensions AND p.chunk_id = c.id))"
        )
        params: list[object] = []
        if buffer_ids is not None:
            if not buffer_ids:
                return Backlog()
            sql += f" AND c.buffer_id IN ({','.join('?' * len(buffer_ids))})"
            params.extend(buffer_ids)
        sql += " GROUP BY c.buffer_id ORDER BY c.buffer_id"
        rows = self.conn.execute(sql, params).fetchall()
        return Backlog(tuple((int(r[0]), int(r[1]), int(r[2])) for r in rows))

    def embedded_chunk_count(self) -> int:
        """Chunks that have a vector (of any model)."""
        return int(
            self.conn.execute(
                "SELECT COUNT(*) FROM chunks c"
                " WHERE EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.chunk_id = c.id)"
            ).fetchone()[0]
        )
