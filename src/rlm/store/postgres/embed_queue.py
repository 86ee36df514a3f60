"""The embedding backlog on PostgreSQL, and claims that let many workers share it.

Several ``rlm chunk embed`` processes (on several machines) may embed one
store. Each takes a batch of chunks with ``FOR UPDATE SKIP LOCKED`` on the
chunk rows and records them in ``embed_claims`` (owner, time) in the same
short transaction, so two workers never take the same chunk. A claim is
free again once its worker's server session is gone (a killed worker's
connection drops, so its chunks resume at once) or after :data:`CLAIM_TTL`
seconds (a hung one). Claims go with their chunk (``ON DELETE CASCADE``) and are dropped
once the vector is stored.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from rlm.store.embed_queue import Backlog
from rlm.store.postgres.base import PgBase

CLAIM_TTL = 600.0


class PgEmbedQueueQueries(PgBase):
    def embedding_backlog(self, buffer_ids: Sequence[int] | None = None) -> Backlog:
        sql = (
            "SELECT c.buffer_id, COUNT(*), COALESCE(SUM(c.token_count), 0) FROM chunks c"
            " WHERE NOT EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.chunk_id = c.id)"
        )
        params: list[object] = []
        if buffer_ids is not None:
            if not buffer_ids:
                return Backlog()
            sql += " AND c.buffer_id = ANY(%s)"
            params.append([int(b) for b in buffer_ids])
        sql += " GROUP BY c.buffer_id ORDER BY c.buffer_id"
        rows = self._rows(sql, params)
        return Backlog(tuple((int(r[0]), int(r[1]), int(r[2])) for r in rows))

    def embedded_chunk_count(self) -> int:
        return int(
            self._one(
                "SELECT COUNT(*) FROM chunks c"
                " WHERE EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.chunk_id = c.id)"
            )[0]
        )

    def claim_chunks(
        self,
        owner: str,
        limit: int,
        ttl: float = CLAIM_TTL,
        *,
        replan: tuple[int, str] | None = None,
    ) -> list[int]:
        """Up to ``limit`` chunk ids with no vector that no live worker holds, now
        held by ``owner`` (in chunk order). Empty when nothing is left to take.

        ``replan`` (rules, fingerprint): also chunks whose vector and passages are of
        that model, their passages planned under older rules (what
        :meth:`chunks_to_replan` returns, so a claimed chunk is always done).
        """
        now = time.time()
        todo = "NOT EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.chunk_id = c.id)"
        params: list[object] = []
        if replan is not None:
            todo = (
                f"({todo} OR EXISTS (SELECT 1 FROM passage_embeddings p"
                " JOIN chunk_embeddings e ON e.chunk_id = p.chunk_id WHERE p.chunk_id = c.id"
                " AND p.ordinal = 0 AND p.rules < %s AND p.fingerprint = %s"
                " AND e.fingerprint = p.fingerprint))"
            )
            params += list(replan)
        with self._pg_transaction():
            rows = self._rows(
                f"SELECT c.id FROM chunks c WHERE {todo}"
                " AND NOT EXISTS (SELECT 1 FROM embed_claims k WHERE k.chunk_id = c.id"
                "  AND k.claimed_at > %s AND k.owner != %s"
                "  AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = k.backend_pid))"
                " AND c.content ~ '\\S'"
                " ORDER BY c.buffer_id, c.chunk_index, c.id LIMIT %s FOR UPDATE OF c SKIP LOCKED",
                (*params, now - ttl, owner, limit),
            )
            candidates = [int(r[0]) for r in rows]
            if not candidates:
                return []
            # The claim itself is the arbiter: the unique key makes a concurrent claimer
            # wait and then see this row, and only a stale claim (or our own) is taken over.
            taken = self._rows(
                "INSERT INTO embed_claims(chunk_id, owner, backend_pid, claimed_at)"
                " SELECT unnest(%s::bigint[]), %s, pg_backend_pid(), %s"
                " ON CONFLICT (chunk_id) DO UPDATE SET owner = EXCLUDED.owner,"
                " backend_pid = EXCLUDED.backend_pid, claimed_at = EXCLUDED.claimed_at"
                " WHERE embed_claims.claimed_at <= %s OR embed_claims.owner = EXCLUDED.owner"
                " OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a"
                "  WHERE a.pid = embed_claims.backend_pid)"
                " RETURNING chunk_id",
                (candidates, owner, now, now - ttl),
            )
        ids = sorted({int(r[0]) for r in taken}, key=candidates.index)
        return ids

    def claimed_elsewhere(self, owner: str, ttl: float = CLAIM_TTL) -> int:
        """Chunks still without a vector that live workers other than ``owner`` hold."""
        return int(
            self._one(
                "SELECT COUNT(*) FROM embed_claims k WHERE k.owner != %s AND k.claimed_at > %s"
                " AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = k.backend_pid)"
                " AND NOT EXISTS (SELECT 1 FROM chunk_embeddings e WHERE e.chunk_id = k.chunk_id)",
                (owner, time.time() - ttl),
            )[0]
        )

    def release_claims(self, owner: str, chunk_ids: Sequence[int] | None = None) -> None:
        """Drop ``owner``'s claims (all, or those of ``chunk_ids``)."""
        if chunk_ids is None:
            self._exec("DELETE FROM embed_claims WHERE owner = %s", (owner,))
        else:
            self._exec(
                "DELETE FROM embed_claims WHERE owner = %s AND chunk_id = ANY(%s)",
                (owner, [int(c) for c in chunk_ids]),
            )
