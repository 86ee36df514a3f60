"""Chunk vectors in pgvector (HNSW over halfvec), passage vectors as int8 bytea.

Chunk vectors are ``vector`` (float32, exact when read back, as SQLite's
BLOBs). Each dimension count gets a partial HNSW index over the halfvec cast,
``(embedding::halfvec(D)) halfvec_cosine_ops WHERE dimensions = D``: half the
index size, and :meth:`nearest_chunks` rescores the HNSW candidates with the
exact float32 cosine, so scores equal the in-memory path's. Passages keep
SQLite's int8 layout (``dtype`` 'i1'), so the search engine decodes both
backends' rows with the same code.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rlm.store.embed_queue import Backlog
from rlm.store.models import EmbeddingStatus
from rlm.store.postgres.base import PgBase
from rlm.store.postgres.connection import errors_translated
from rlm.store.vectors import PassageMatrix, PassageRow, PassageSpan, VectorMatrix, VectorRow

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
EF_SEARCH = 100
"""HNSW candidates per query (at least 2 x limit): recall@10 >= 0.95 on real embeddings
(bench/pg_agreement.py --recall)."""

HNSW_LOCK = 0x726C6D02
"""Advisory lock key serialising HNSW index creation."""

_serials = itertools.count(1)


def _array(value: Any) -> Any:
    """A pgvector value (``Vector``, or a numpy array on older pgvector) as float32."""
    import numpy as np

    to_numpy = getattr(value, "to_numpy", None)
    return np.asarray(to_numpy() if to_numpy else value, dtype=np.float32)


def nearest_sql(dims: int) -> str:
    """HNSW candidates (the partial index's own predicate, ordered by the indexed
    expression, so the planner can only pick the index or a full sort), then the
    model filter and the exact float32 cosine."""
    d = int(dims)
    return (
        "SELECT chunk_id, 1 - (embedding <=> %(q)s::vector) FROM ("
        " SELECT chunk_id, embedding, fingerprint FROM chunk_embeddings"
        f" WHERE dimensions = {d}"
        f" ORDER BY embedding::halfvec({d}) <=> %(q)s::halfvec({d}) LIMIT %(depth)s) s"
        " WHERE fingerprint = %(fp)s"
    )


def _index_name(dimensions: int) -> str:
    return f"idx_chunk_embeddings_hnsw_{int(dimensions)}"


class PgVectorQueries(PgBase):
    _hnsw_known: set[int]

    def _ensure_hnsw(self, dimensions: int) -> None:
        """The HNSW index for vectors of ``dimensions`` (created with the first one)."""
        dims = int(dimensions)
        known = self.__dict__.setdefault("_hnsw_known", set())
        if dims in known or not 0 < dims <= 4000:
            return
        if self._one("SELECT to_regclass(%s) IS NOT NULL", (_index_name(dims),))[0]:
            known.add(dims)
            return
        # On its own connection, outside the caller's transaction: CREATE INDEX takes a
        # SHARE lock, which inside two concurrent embedding transactions deadlocks with
        # their inserts. An advisory lock makes concurrent creators take turns.
        from rlm.store.postgres.connection import connect

        with connect(self.url, read_only=False) as side:
            side.execute("SELECT pg_advisory_lock(%s)", (HNSW_LOCK,))
            try:
                side.execute(
                    f"CREATE INDEX IF NOT EXISTS {_index_name(dims)} ON chunk_embeddings"
                    f" USING hnsw ((embedding::halfvec({dims})) halfvec_cosine_ops)"
                    f" WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
                    f" WHERE dimensions = {dims}"
                )
            finally:
                side.execute("SELECT pg_advisory_unlock(%s)", (HNSW_LOCK,))
        known.add(dims)

    def store_vectors(self, rows: Iterable[VectorRow]) -> int:
        import numpy as np

        now = self.now()
        data = [
            (
                r.chunk_id,
                np.frombuffer(r.blob, dtype="<f4").astype(np.float32),
                r.dimensions,
                r.model_name,
                now,
                r.fingerprint,
                r.windows,
            )
            for r in rows
        ]
        for dims in {d[2] for d in data}:
            self._ensure_hnsw(dims)
        self._many(
            "INSERT INTO chunk_embeddings(chunk_id, embedding, dimensions, model_name,"
            " created_at, fingerprint, windows) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (chunk_id) DO UPDATE SET embedding = EXCLUDED.embedding,"
            " dimensions = EXCLUDED.dimensions, model_name = EXCLUDED.model_name,"
            " created_at = EXCLUDED.created_at, fingerprint = EXCLUDED.fingerprint,"
            " windows = EXCLUDED.windows",
            data,
        )
        return len(data)

    def chunks_to_embed(
        self, buffer_id: int, fingerprint: str, *, force: bool
    ) -> list[tuple[int, str, bool]]:
        sql = (
            "SELECT c.id, c.content, e.chunk_id IS NOT NULL FROM chunks c"
            " LEFT JOIN chunk_embeddings e ON e.chunk_id = c.id WHERE c.buffer_id = %s"
        )
        if not force:
            sql += " AND e.chunk_id IS NULL"
        sql += " ORDER BY c.chunk_index, c.id"
        del fingerprint
        return [(int(r[0]), str(r[1]), bool(r[2])) for r in self._rows(sql, (buffer_id,))]

    def stale_vector_count(self, buffer_id: int | None, fingerprint: str) -> int:
        sql = (
            "SELECT COUNT(*) FROM chunk_embeddings e JOIN chunks c ON c.id = e.chunk_id"
            " WHERE (e.fingerprint IS NULL OR e.fingerprint != %s)"
        )
        params: list[object] = [fingerprint]
        if buffer_id is not None:
            sql += " AND c.buffer_id = %s"
            params.append(buffer_id)
        return int(self._one(sql, params)[0])

    def vector_models(self, buffer_id: int | None = None) -> list[tuple[str | None, int]]:
        sql = "SELECT e.model_name, COUNT(*) FROM chunk_embeddings e"
        params: list[object] = []
        if buffer_id is not None:
            sql += " JOIN chunks c ON c.id = e.chunk_id WHERE c.buffer_id = %s"
            params.append(buffer_id)
        sql += " GROUP BY e.model_name ORDER BY COUNT(*) DESC, e.model_name"
        return [(r[0], int(r[1])) for r in self._rows(sql, params)]

    def _matrix(self, rows: list[Any], column: int, dimensions: int) -> Any:
        import numpy as np

        if not rows:
            return np.zeros((0, dimensions), dtype=np.float32)
        return np.stack([_array(r[column]) for r in rows])

    def load_vectors(
        self, fingerprint: str, dimensions: int, buffer_ids: Sequence[int] | None = None
    ) -> VectorMatrix:
        import numpy as np

        sql = (
            "SELECT e.chunk_id, e.embedding FROM chunk_embeddings e"
            " WHERE e.fingerprint = %s AND e.dimensions = %s"
        )
        params: list[object] = [fingerprint, dimensions]
        if buffer_ids is not None:
            sql += " AND e.chunk_id IN (SELECT id FROM chunks WHERE buffer_id = ANY(%s))"
            params.append([int(b) for b in buffer_ids])
        sql += " ORDER BY e.chunk_id"
        rows = self._rows(sql, params)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return VectorMatrix(chunk_ids=ids, matrix=self._matrix(rows, 1, dimensions))

    def load_vectors_with_buffers(
        self, fingerprint: str, dimensions: int
    ) -> tuple[VectorMatrix, npt.NDArray[np.int64]]:
        return self.vectors_after(fingerprint, dimensions, 0)

    def vectors_after(
        self, fingerprint: str, dimensions: int, after: int
    ) -> tuple[VectorMatrix, npt.NDArray[np.int64]]:
        import numpy as np

        rows = self._rows(
            "SELECT e.chunk_id, c.buffer_id, e.embedding FROM chunk_embeddings e"
            " JOIN chunks c ON c.id = e.chunk_id"
            " WHERE e.fingerprint = %s AND e.dimensions = %s AND vector_dims(e.embedding) = %s"
            " AND e.chunk_id > %s ORDER BY e.chunk_id",
            (fingerprint, dimensions, dimensions, after),
        )
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        buffers = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        return VectorMatrix(chunk_ids=ids, matrix=self._matrix(rows, 2, dimensions)), buffers

    def nearest_chunks(
        self,
        fingerprint: str,
        dimensions: int,
        query: npt.NDArray[np.float32],
        limit: int,
        *,
        ef_search: int = EF_SEARCH,
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the ``limit`` nearest chunk vectors, through HNSW.

        Candidates come from the halfvec HNSW index; their score is the exact
        float32 cosine (what the in-memory path computes), best first, ties by id.
        """
        import numpy as np

        dims = int(dimensions)
        if limit <= 0:
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != dims:
            return []
        depth = max(2 * limit, 40)
        with self._pg_read_transaction():
            ef = max(ef_search, depth)
            self._rows(f"SELECT set_config('hnsw.ef_search', '{ef}', true)")
            rows = self._rows(nearest_sql(dims), {"q": q, "fp": fingerprint, "depth": depth})
        hits = [(int(r[0]), float(r[1])) for r in rows]
        hits.sort(key=lambda h: (-h[1], h[0]))
        return hits[:limit]

    def exact_nearest_chunks(
        self, fingerprint: str, dimensions: int, query: npt.NDArray[np.float32], limit: int
    ) -> list[tuple[int, float]]:
        """Like :meth:`nearest_chunks` without the index (a full scan): recall checks."""
        import numpy as np

        dims = int(dimensions)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        rows = self._rows(
            "SELECT chunk_id, 1 - (embedding <=> %s::vector) AS s FROM chunk_embeddings"
            f" WHERE dimensions = {dims} AND fingerprint = %s ORDER BY s DESC, chunk_id LIMIT %s",
            (q, fingerprint, limit),
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def embedding_status(self) -> list[EmbeddingStatus]:
        rows = self._rows(
            "SELECT b.id, b.name, COUNT(c.id), COUNT(e.chunk_id),"
            " string_agg(DISTINCT e.model_name, ',') FROM buffers b"
            " LEFT JOIN chunks c ON c.buffer_id = b.id"
            " LEFT JOIN chunk_embeddings e ON e.chunk_id = c.id"
            " GROUP BY b.id ORDER BY b.id"
        )
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
        return int(
            self._one(
                "SELECT COUNT(*) FROM chunk_embeddings e JOIN chunks c ON c.id = e.chunk_id"
                " WHERE c.buffer_id = %s",
                (buffer_id,),
            )[0]
        )

    def vector_coverage(
        self, fingerprint: str, dimensions: int, buffer_ids: Sequence[int]
    ) -> tuple[int, int, int]:
        if not buffer_ids:
            return 0, 0, 0
        row = self._one(
            "SELECT COUNT(*),"
            " COUNT(*) FILTER (WHERE e.fingerprint = %s AND e.dimensions = %s),"
            " COUNT(*) FILTER (WHERE e.chunk_id IS NOT NULL"
            "  AND (e.fingerprint IS NULL OR e.fingerprint != %s))"
            " FROM chunks c LEFT JOIN chunk_embeddings e ON e.chunk_id = c.id"
            " WHERE c.buffer_id = ANY(%s)",
            (fingerprint, dimensions, fingerprint, [int(b) for b in buffer_ids]),
        )
        return int(row[0]), int(row[1]), int(row[2])

    def vector_count(self) -> int:
        return int(self._one("SELECT COUNT(*) FROM chunk_embeddings")[0])

    def vector_signature(self, fingerprint: str, dimensions: int) -> tuple[int, int, int]:
        row = self._one(
            "SELECT COUNT(*), COALESCE(MAX(chunk_id), 0), COALESCE(MAX(created_at), 0)"
            " FROM chunk_embeddings WHERE fingerprint = %s AND dimensions = %s",
            (fingerprint, dimensions),
        )
        return int(row[0]), int(row[1]), int(row[2])

    def change_token(self) -> tuple[int, int, int]:
        """Changes after every committed write by any process (``rlm_change_seq``), and
        differs between connections, as SQLite's token does."""
        row = self._one("SELECT last_value, is_called FROM rlm_change_seq")
        serial = self.__dict__.get("_connection_serial")
        if serial is None:
            serial = self.__dict__["_connection_serial"] = next(_serials)
        return serial, int(row[0]) if row[1] else 0, 0

    def vector_rows(self, chunk_ids: Sequence[int]) -> list[VectorRow]:
        """The stored chunk vectors of some chunks (any model), in chunk id order, as
        float32 little-endian blobs: what ``rlm store copy`` moves (added by pgmove)."""
        import numpy as np

        ids = list(dict.fromkeys(int(c) for c in chunk_ids))
        if not ids:
            return []
        rows = self._rows(
            "SELECT chunk_id, embedding, dimensions, model_name, fingerprint, windows"
            " FROM chunk_embeddings WHERE chunk_id = ANY(%s) ORDER BY chunk_id",
            (ids,),
        )
        return [
            VectorRow(
                chunk_id=int(r[0]),
                blob=np.asarray(_array(r[1]), dtype="<f4").tobytes(),
                dimensions=int(r[2]),
                model_name=str(r[3] or ""),
                fingerprint=str(r[4] or ""),
                windows=int(r[5] or 1),
            )
            for r in rows
        ]

    def vector_ids_since(self, fingerprint: str, dimensions: int, created_at: int) -> list[int]:
        return [
            int(r[0])
            for r in self._rows(
                "SELECT chunk_id FROM chunk_embeddings WHERE fingerprint = %s"
                " AND dimensions = %s AND created_at >= %s",
                (fingerprint, dimensions, created_at),
            )
        ]


class PgPassageQueries(PgBase):
    def store_passages(self, chunk_ids: Sequence[int], rows: Iterable[PassageRow]) -> int:
        now = self.now()
        ids = [int(c) for c in chunk_ids]
        if ids:
            self._exec("DELETE FROM passage_embeddings WHERE chunk_id = ANY(%s)", (ids,))
        data = [
            (
                r.chunk_id, r.ordinal, r.byte_start, r.byte_end, r.line_start, r.line_end,
                r.tokens, r.blob, r.dimensions, r.model_name, r.fingerprint, now, r.rules,
            )
            for r in rows
        ]  # fmt: skip
        if data:
            with (
                errors_translated(self.url),
                self.pg.cursor() as cur,
                cur.copy(
                    "COPY passage_embeddings (chunk_id, ordinal, byte_start, byte_end, line_start,"
                    " line_end, tokens, embedding, dimensions, model_name, fingerprint, created_at,"
                    " rules) FROM STDIN"
                ) as copy,
            ):
                for row in data:
                    copy.write_row(row)
        return len(data)

    def chunks_to_embed_passages(
        self, buffer_id: int, fingerprint: str, *, force: bool
    ) -> list[tuple[int, str, bool, int, int | None]]:
        sql = (
            "SELECT c.id, c.content, e.chunk_id IS NOT NULL, c.byte_start, c.line_start"
            " FROM chunks c LEFT JOIN chunk_embeddings e ON e.chunk_id = c.id"
            " WHERE c.buffer_id = %s"
        )
        params: list[object] = [buffer_id]
        if not force:
            sql += (
                " AND (e.chunk_id IS NULL OR (e.fingerprint = %s AND NOT EXISTS"
                " (SELECT 1 FROM passage_embeddings p WHERE p.chunk_id = c.id"
                " AND p.fingerprint = %s)))"
            )
            params += [fingerprint, fingerprint]
        sql += " ORDER BY c.chunk_index, c.id"
        return [
            (int(r[0]), str(r[1]), bool(r[2]), int(r[3]), None if r[4] is None else int(r[4]))
            for r in self._rows(sql, params)
        ]

    def chunks_to_replan(
        self, buffer_id: int, fingerprint: str, rules: int
    ) -> list[tuple[int, str, bool, int, int | None]]:
        rows = self._rows(
            "SELECT c.id, c.content, c.byte_start, c.line_start FROM passage_embeddings p"
            " JOIN chunks c ON c.id = p.chunk_id JOIN chunk_embeddings e ON e.chunk_id = c.id"
            " WHERE p.ordinal = 0 AND p.rules < %s AND p.fingerprint = %s AND c.buffer_id = %s"
            " AND e.fingerprint = %s ORDER BY c.chunk_index, c.id",
            (rules, fingerprint, buffer_id, fingerprint),
        )
        return [
            (int(r[0]), str(r[1]), True, int(r[2]), None if r[3] is None else int(r[3]))
            for r in rows
        ]

    def replan_count(self, rules: int, fingerprint: str | None = None) -> int:
        sql = "SELECT COUNT(*) FROM passage_embeddings WHERE ordinal = 0 AND rules < %s"
        params: list[object] = [rules]
        if fingerprint is not None:
            sql += " AND fingerprint = %s"
            params.append(fingerprint)
        return int(self._one(sql, params)[0])

    def replan_backlog(
        self, rules: int, buffer_ids: Sequence[int] | None = None, *, fingerprint: str | None = None
    ) -> Backlog:
        sql = (
            "SELECT c.buffer_id, COUNT(*), COALESCE(SUM(c.token_count), 0)"
            " FROM passage_embeddings p JOIN chunks c ON c.id = p.chunk_id"
            " WHERE p.ordinal = 0 AND p.rules < %s"
        )
        params: list[object] = [rules]
        if fingerprint is not None:
            sql += " AND p.fingerprint = %s"
            params.append(fingerprint)
        if buffer_ids is not None:
            sql += " AND c.buffer_id = ANY(%s)"
            params.append([int(b) for b in buffer_ids])
        sql += " GROUP BY c.buffer_id ORDER BY c.buffer_id"
        return Backlog(tuple((int(r[0]), int(r[1]), int(r[2])) for r in self._rows(sql, params)))

    def chunks_without_passages(self, fingerprint: str) -> int:
        return int(
            self._one(
                "SELECT COUNT(*) FROM chunk_embeddings e WHERE e.fingerprint = %s AND NOT EXISTS"
                " (SELECT 1 FROM passage_embeddings p WHERE p.chunk_id = e.chunk_id"
                " AND p.fingerprint = %s)",
                (fingerprint, fingerprint),
            )[0]
        )

    def passage_count(self) -> int:
        return int(self._one("SELECT COUNT(*) FROM passage_embeddings")[0])

    def passage_signature(self, fingerprint: str, dimensions: int) -> tuple[int, int, int]:
        row = self._one(
            "SELECT COUNT(*), COALESCE(MAX(id), 0), COALESCE(MAX(created_at), 0)"
            " FROM passage_embeddings WHERE fingerprint = %s AND dimensions = %s",
            (fingerprint, dimensions),
        )
        return int(row[0]), int(row[1]), int(row[2])

    def passages_since(self, fingerprint: str, dimensions: int, created_at: int) -> int:
        return int(
            self._one(
                "SELECT COUNT(*) FROM passage_embeddings WHERE fingerprint = %s"
                " AND dimensions = %s AND created_at >= %s",
                (fingerprint, dimensions, created_at),
            )[0]
        )

    def load_passages(self, fingerprint: str, dimensions: int) -> PassageMatrix:
        return self.passages_after(fingerprint, dimensions, 0)

    def passages_after(self, fingerprint: str, dimensions: int, after: int) -> PassageMatrix:
        import numpy as np

        rows = self._rows(
            "SELECT p.chunk_id, p.ordinal, p.embedding FROM passage_embeddings p"
            " WHERE p.fingerprint = %s AND p.dimensions = %s AND p.dtype = 'i1'"
            " AND length(p.embedding) = %s AND p.id > %s ORDER BY p.chunk_id, p.ordinal",
            (fingerprint, dimensions, dimensions, after),
        )
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        ordinals = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        raw = np.frombuffer(b"".join(bytes(r[2]) for r in rows), dtype="<i1")
        return PassageMatrix(ids, ordinals, raw.reshape(len(rows), dimensions).astype(np.float32))

    def passage_rows(self, chunk_ids: Sequence[int]) -> list[PassageRow]:
        """The int8 passage vectors of some chunks (any model), ordered by (chunk id,
        ordinal): what ``rlm store copy`` moves (added by pgmove)."""
        ids = list(dict.fromkeys(int(c) for c in chunk_ids))
        if not ids:
            return []
        rows = self._rows(
            "SELECT chunk_id, ordinal, byte_start, byte_end, line_start, line_end, tokens,"
            " embedding, dimensions, model_name, fingerprint, rules FROM passage_embeddings"
            " WHERE dtype = 'i1' AND chunk_id = ANY(%s) ORDER BY chunk_id, ordinal",
            (ids,),
        )
        return [
            PassageRow(
                chunk_id=int(r[0]), ordinal=int(r[1]), byte_start=int(r[2]),
                byte_end=int(r[3]), line_start=r[4], line_end=r[5], tokens=int(r[6]),
                blob=bytes(r[7]), dimensions=int(r[8]), model_name=str(r[9] or ""),
                fingerprint=str(r[10]), rules=int(r[11]),
            )
            for r in rows
        ]  # fmt: skip

    def passage_spans(
        self, chunk_ids: Sequence[int], fingerprint: str | None = None
    ) -> dict[int, list[PassageSpan]]:
        out: dict[int, list[PassageSpan]] = {}
        ids = list(dict.fromkeys(int(c) for c in chunk_ids))
        if not ids:
            return out
        sql = (
            "SELECT chunk_id, ordinal, byte_start, byte_end, line_start, line_end"
            " FROM passage_embeddings WHERE chunk_id = ANY(%s)"
        )
        params: list[object] = [ids]
        if fingerprint is not None:
            sql += " AND fingerprint = %s"
            params.append(fingerprint)
        sql += " ORDER BY chunk_id, ordinal"
        for r in self._rows(sql, params):
            out.setdefault(int(r[0]), []).append(
                PassageSpan(int(r[0]), int(r[1]), int(r[2]), int(r[3]), r[4], r[5])
            )
        return out
