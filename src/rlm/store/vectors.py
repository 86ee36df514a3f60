"""Embedding vectors: little-endian float32 BLOBs, rlm-rs layout, plus a fingerprint.

numpy is imported inside the functions that need it: the store is opened by
commands that must start fast.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rlm.store.base import StoreBase
from rlm.store.embed_queue import Backlog
from rlm.store.models import EmbeddingStatus

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


_SIGNATURE = (
    "SELECT (SELECT COALESCE(SUM(n), 0) FROM row_counts WHERE tbl = '{table}'"
    " AND fingerprint = ? AND dimensions = ?),"
    " (SELECT COALESCE(MAX({id}), 0) FROM {table}),"
    " (SELECT COALESCE(MAX(created_at), 0) FROM {table} WHERE fingerprint = ? AND dimensions = ?)"
)
"""A vector table's signature for one model, read without counting anything: the
model's row count (kept by the m008 triggers in ``row_counts``; counting the 1M
entries of the m007 index took 124-150 ms per process at 1M passages), the table's
largest id (a seek on the rowid; any insert raises it unless it reuses the id of a
row just deleted, and then the count or the newest timestamp moves), and the
model's newest ``created_at`` (a seek on the m007 index). Reading the model's own
largest id instead cost a walk of every index entry."""


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
        # An UPSERT, not INSERT OR REPLACE: the replaced row would fire no DELETE
        # trigger, and the row counts (m008) would drift.
        self.conn.executemany(
            "INSERT INTO chunk_embeddings(chunk_id, embedding, dimensions,"
            " model_name, created_at, fingerprint, windows) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(chunk_id) DO UPDATE SET embedding = excluded.embedding,"
            " dimensions = excluded.dimensions, model_name = excluded.model_name,"
            " created_at = excluded.created_at, fingerprint = excluded.fingerprint,"
            " windows = excluded.windows",
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
        if buffer_id is None:  # every vector has its chunk (ON DELETE CASCADE): no join
            vectors = self._model_counts()[0]
            return sum(n for (fp, _), n in vectors.items() if fp != fingerprint)
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
        get a new ``created_at``). See :data:`_SIGNATURE` for how it is read.
        """
        row = self.conn.execute(_SIGNATURE.format(table="chunk_embeddings", id="chunk_id"),
            (fingerprint, dimensions, fingerprint, dimensions),
        ).fetchone()  # fmt: skip
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
        return self.vectors_after(fingerprint, dimensions, 0)

    def vectors_after(
        self, fingerprint: str, dimensions: int, after: int
    ) -> tuple[VectorMatrix, npt.NDArray[np.int64]]:
        """Like :meth:`load_vectors_with_buffers`, only chunks with an id above ``after``
        (what a chunk sidecar appends when a load added chunks)."""
        import numpy as np

        # After an id: ``+`` keeps the model index out, so SQLite reads the id range only
        # (through the model index it read every row of the model to test the id).
        model = (
            "+e.fingerprint = ? AND +e.dimensions = ?"
            if after
            else ("e.fingerprint = ? AND e.dimensions = ?")
        )
        rows = self.conn.execute(
            "SELECT e.chunk_id, c.buffer_id, e.embedding FROM chunk_embeddings e"
            f" JOIN chunks c ON c.id = e.chunk_id WHERE {model}"
            " AND length(e.embedding) = ? AND e.chunk_id > ? ORDER BY e.chunk_id",
            (fingerprint, dimensions, 4 * dimensions, after),
        ).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        buffers = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
        blob = b"".join(r[2] for r in rows)
        matrix = np.frombuffer(blob, dtype="<f4").reshape(len(rows), dimensions)
        return VectorMatrix(chunk_ids=ids, matrix=matrix.astype(np.float32, copy=False)), buffers

    def vector_rows(self, chunk_ids: Sequence[int]) -> list[VectorRow]:
        """The stored chunk vectors of some chunks, as written (any model), in chunk id
        order: what ``rlm store copy`` moves to another store. Missing ids are absent."""
        out: list[VectorRow] = []
        ids = list(dict.fromkeys(int(c) for c in chunk_ids))
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            rows = self.conn.execute(
                "SELECT chunk_id, embedding, dimensions, model_name, fingerprint, windows"
                f" FROM chunk_embeddings WHERE chunk_id IN ({','.join('?' * len(part))})"
                " ORDER BY chunk_id",
                part,
            )
            out.extend(
                VectorRow(
                    chunk_id=int(r[0]),
                    blob=bytes(r[1]),
                    dimensions=int(r[2]),
                    model_name=str(r[3] or ""),
                    fingerprint=str(r[4] or ""),
                    windows=int(r[5] or 1),
                )
                for r in rows
            )
        return out

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


@dataclass(frozen=True)
class PassageRow:
    """One passage of a chunk: absolute byte/line span, tokens, int8 vector."""

    chunk_id: int
    ordinal: int
    byte_start: int
    byte_end: int
    line_start: int | None
    line_end: int | None
    tokens: int
    blob: bytes
    """int8, ``dimensions`` values (the unit vector scaled so its largest component is 127)."""
    dimensions: int
    model_name: str
    fingerprint: str
    rules: int = 0
    """Version of the passage rules the chunk was cut under
    (:data:`rlm.embedding.passages.PASSAGE_RULES`); 0: unknown, older than any."""


@dataclass(frozen=True)
class PassageSpan:
    """Where a passage is (no vector): what search results point at."""

    chunk_id: int
    ordinal: int
    byte_start: int
    byte_end: int
    line_start: int | None
    line_end: int | None


@dataclass(frozen=True)
class PassageMatrix:
    """One model's passage vectors, ordered by (chunk id, ordinal), as float32."""

    chunk_ids: npt.NDArray[np.int64]
    ordinals: npt.NDArray[np.int64]
    matrix: npt.NDArray[np.float32]


class PassageQueries(StoreBase):
    def store_passages(self, chunk_ids: Sequence[int], rows: Iterable[PassageRow]) -> int:
        """Replace the passages of ``chunk_ids`` (any model) with ``rows``."""
        now = self.now()
        for start in range(0, len(chunk_ids), 500):
            part = list(chunk_ids[start : start + 500])
            marks = ",".join("?" * len(part))
            self.conn.execute(f"DELETE FROM passage_embeddings WHERE chunk_id IN ({marks})", part)
        data = [
            (
                r.chunk_id, r.ordinal, r.byte_start, r.byte_end, r.line_start, r.line_end,
                r.tokens, r.blob, r.dimensions, r.model_name, r.fingerprint, now, r.rules,
            )
            for r in rows
        ]  # fmt: skip
        self.conn.executemany(
            "INSERT INTO passage_embeddings(chunk_id, ordinal, byte_start, byte_end,"
            " line_start, line_end, tokens, embedding, dtype, dimensions, model_name,"
            " fingerprint, created_at, rules) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'i1', ?, ?, ?, ?, ?)",
            data,
        )
        return len(data)

    def chunks_to_embed_passages(
        self, buffer_id: int, fingerprint: str, *, force: bool
    ) -> list[tuple[int, str, bool, int, int | None]]:
        """(chunk id, content, has a chunk vector, byte start, line start) of the
        chunks that need vectors: those with no chunk vector or no passages of
        ``fingerprint`` (every chunk with ``force``).

        A store made before passages existed gets them here (``rlm chunk embed``);
        chunk vectors of another model stay until ``force``, as before.

        The probe names all three columns of ``idx_passages_model``, as
        ``embedding_backlog``'s does: naming only the fingerprint made SQLite walk
        every passage of the model per chunk, so a ``chunk embed`` or ``rlm eval
        --store`` with nothing to do took 13 s on NPL's 11k chunks (0.03 s now).
        """
        sql = (
            "SELECT c.id, c.content, e.chunk_id IS NOT NULL, c.byte_start, c.line_start"
            " FROM chunks c LEFT JOIN chunk_embeddings e ON e.chunk_id = c.id"
            " WHERE c.buffer_id = ?"
        )
        params: list[object] = [buffer_id]
        if not force:
            sql += (
                " AND (e.chunk_id IS NULL OR (e.fingerprint = ? AND NOT EXISTS"
                " (SELECT 1 FROM passage_embeddings p WHERE p.fingerprint = e.fingerprint"
                " AND p.dimensions = e.dimensions AND p.chunk_id = c.id)))"
            )
            params += [fingerprint]
        sql += " ORDER BY c.chunk_index, c.id"
        return [
            (int(r[0]), str(r[1]), bool(r[2]), int(r[3]), None if r[4] is None else int(r[4]))
            for r in self.conn.execute(sql, params)
        ]

    def chunks_to_replan(
        self, buffer_id: int, fingerprint: str, rules: int
    ) -> list[tuple[int, str, bool, int, int | None]]:
        """Like :meth:`chunks_to_embed_passages`, for the chunks of one buffer whose
        vector and passages are of ``fingerprint`` and whose passages were planned under
        rules older than ``rules``: their passages are re-planned, their vector kept."""
        sql = (
            "SELECT c.id, c.content, c.byte_start, c.line_start FROM passage_embeddings p"
            " JOIN chunks c ON c.id = p.chunk_id JOIN chunk_embeddings e ON e.chunk_id = c.id"
            " WHERE p.ordinal = 0 AND p.rules < ? AND p.fingerprint = ? AND c.buffer_id = ?"
            " AND e.fingerprint = ? ORDER BY c.chunk_index, c.id"
        )
        return [
            (int(r[0]), str(r[1]), True, int(r[2]), None if r[3] is None else int(r[3]))
            for r in self.conn.execute(sql, (rules, fingerprint, buffer_id, fingerprint))
        ]

    def replan_count(self, rules: int, fingerprint: str | None = None) -> int:
        """Chunks whose passages (of ``fingerprint``, or of any model) were planned under
        rules older than ``rules``: a count of ``idx_passages_rules`` entries (m009),
        none read once every chunk is current."""
        sql = "SELECT COUNT(*) FROM passage_embeddings WHERE ordinal = 0 AND rules < ?"
        params: list[object] = [rules]
        if fingerprint is not None:  # ``+``: not through the model's index (all its rows)
            sql += " AND +fingerprint = ?"
            params.append(fingerprint)
        return int(self.conn.execute(sql, params).fetchone()[0])

    def replan_backlog(
        self, rules: int, buffer_ids: Sequence[int] | None = None, *, fingerprint: str | None = None
    ) -> Backlog:
        """:meth:`replan_count` per buffer (chunks, estimated tokens): what the
        background worker re-plans (of any model: the worker's is known later)."""
        sql = (
            "SELECT c.buffer_id, COUNT(*), COALESCE(SUM(c.token_count), 0)"
            " FROM passage_embeddings p JOIN chunks c ON c.id = p.chunk_id"
            " WHERE p.ordinal = 0 AND p.rules < ?"
        )
        params: list[object] = [rules]
        if fingerprint is not None:
            sql += " AND +p.fingerprint = ?"
            params.append(fingerprint)
        if buffer_ids is not None:
            sql += f" AND c.buffer_id IN ({','.join('?' * len(buffer_ids)) or 'NULL'})"
            params.extend(buffer_ids)
        sql += " GROUP BY c.buffer_id ORDER BY c.buffer_id"
        rows = self.conn.execute(sql, params).fetchall()
        return Backlog(tuple((int(r[0]), int(r[1]), int(r[2])) for r in rows))

    def chunks_without_passages(self, fingerprint: str) -> int:
        """Chunks with a vector of ``fingerprint`` but no passages of it (older stores).

        The subquery names ``dimensions`` so it seeks ``idx_passages_model``
        (fingerprint, dimensions, chunk_id); without it SQLite walked every passage
        of the model once per chunk (2.5 s at 1k chunks, quadratic), in every new
        search process.

        Counted only when ``row_counts`` says some chunk may lack them: a chunk's
        passages are written with its vector, so the model's chunks with passages
        (``passage_chunks``) then number its vectors, and nothing is walked.
        """
        vectors, with_passages = self._model_counts()
        if all(
            with_passages.get(model, 0) >= n
            for model, n in vectors.items()
            if model[0] == fingerprint
        ):
            return 0
        return int(
            self.conn.execute(
                "SELECT COUNT(*) FROM chunk_embeddings e WHERE e.fingerprint = ? AND NOT EXISTS"
                " (SELECT 1 FROM passage_embeddings p WHERE p.fingerprint = ?"
                " AND p.dimensions = e.dimensions AND p.chunk_id = e.chunk_id)",
                (fingerprint, fingerprint),
            ).fetchone()[0]
        )

    def passages_since(self, fingerprint: str, dimensions: int, created_at: int) -> int:
        """How many of one model's passages were written at or after ``created_at``
        (seconds; an index range read): a sidecar append checks that every such row
        is one it appends, so nothing older was replaced."""
        return int(
            self.conn.execute(
                "SELECT COUNT(*) FROM passage_embeddings WHERE fingerprint = ?"
                " AND dimensions = ? AND created_at >= ?",
                (fingerprint, dimensions, created_at),
            ).fetchone()[0]
        )

    def passage_count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM passage_embeddings").fetchone()[0])

    def passage_signature(self, fingerprint: str, dimensions: int) -> tuple[int, int, int]:
        """(count, max id, newest created_at) of one model's passages (cache validity;
        the max id is the table's, see :data:`_SIGNATURE`)."""
        row = self.conn.execute(_SIGNATURE.format(table="passage_embeddings", id="id"),
            (fingerprint, dimensions, fingerprint, dimensions),
        ).fetchone()  # fmt: skip
        return int(row[0]), int(row[1]), int(row[2])

    def load_passages(self, fingerprint: str, dimensions: int) -> PassageMatrix:
        """Every passage vector of one model, ordered by (chunk id, ordinal), as float32
        (not renormalised: int8 rows keep their scale).

        Rows are int8 (``dtype`` 'i1'); float16 rows ('f2', early builds) are read too.
        int8 -> float32 is one SIMD pass (about 1 ms per million values; float16 took
        30 ns per value, seconds for a large store).
        """
        return self.passages_after(fingerprint, dimensions, 0)

    def passages_after(self, fingerprint: str, dimensions: int, after: int) -> PassageMatrix:
        """Like :meth:`load_passages`, only rows with an id above ``after`` (what a
        passage sidecar appends when a load added passages)."""
        import numpy as np

        parts: list[tuple[Any, Any, Any]] = []
        # After an id: read that id range only (rowid seek; sorted below). Through the
        # model index or in (chunk id, ordinal) order, SQLite read every row of the model.
        where, order = (
            ("+p.fingerprint = ? AND +p.dimensions = ?", "")
            if after
            else ("p.fingerprint = ? AND p.dimensions = ?", " ORDER BY p.chunk_id, p.ordinal")
        )
        for dtype, width in (("i1", 1), ("f2", 2)):
            rows = self.conn.execute(
                f"SELECT p.chunk_id, p.ordinal, p.embedding FROM passage_embeddings p WHERE {where}"
                f" AND p.dtype = ? AND length(p.embedding) = ? AND p.id > ?{order}",
                (fingerprint, dimensions, dtype, width * dimensions, after),
            ).fetchall()
            if not rows and parts:
                continue
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            ordinals = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
            raw = np.frombuffer(b"".join(r[2] for r in rows), dtype="<" + dtype)
            parts.append((ids, ordinals, raw.reshape(len(rows), dimensions).astype(np.float32)))
        if len(parts) == 1 and not after:
            return PassageMatrix(*parts[0])
        ids = np.concatenate([p[0] for p in parts])
        ordinals = np.concatenate([p[1] for p in parts])
        order_rows = np.lexsort((ordinals, ids))
        matrix = np.concatenate([p[2] for p in parts])[order_rows]
        return PassageMatrix(ids[order_rows], ordinals[order_rows], np.ascontiguousarray(matrix))

    def passage_rows(self, chunk_ids: Sequence[int]) -> list[PassageRow]:
        """The int8 passage vectors of some chunks (any model), ordered by (chunk id,
        ordinal): what ``rlm store copy`` moves. float16 rows of early builds are left
        out (``store_passages`` writes int8 only; ``rlm chunk embed`` remakes them)."""
        out: list[PassageRow] = []
        ids = list(dict.fromkeys(int(c) for c in chunk_ids))
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            rows = self.conn.execute(
                "SELECT chunk_id, ordinal, byte_start, byte_end, line_start, line_end, tokens,"
                " embedding, dimensions, model_name, fingerprint, rules FROM passage_embeddings"
                f" WHERE dtype = 'i1' AND chunk_id IN ({','.join('?' * len(part))})"
                " ORDER BY chunk_id, ordinal",
                part,
            )
            out.extend(
                PassageRow(
                    chunk_id=int(r[0]), ordinal=int(r[1]), byte_start=int(r[2]),
                    byte_end=int(r[3]), line_start=r[4], line_end=r[5], tokens=int(r[6]),
                    blob=bytes(r[7]), dimensions=int(r[8]), model_name=str(r[9] or ""),
                    fingerprint=str(r[10]), rules=int(r[11]),
                )
                for r in rows
            )  # fmt: skip
        return out

    def passage_spans(
        self, chunk_ids: Sequence[int], fingerprint: str | None = None
    ) -> dict[int, list[PassageSpan]]:
        """The passages of some chunks, in order (of one model, or of whichever
        model made them when ``fingerprint`` is None)."""
        out: dict[int, list[PassageSpan]] = {}
        ids = list(dict.fromkeys(int(c) for c in chunk_ids))
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            sql = (
                "SELECT chunk_id, ordinal, byte_start, byte_end, line_start, line_end"
                f" FROM passage_embeddings WHERE chunk_id IN ({','.join('?' * len(part))})"
            )
            params: list[object] = list(part)
            if fingerprint is not None:
                sql += " AND fingerprint = ?"
                params.append(fingerprint)
            sql += " ORDER BY chunk_id, ordinal"
            for r in self.conn.execute(sql, params):
                out.setdefault(int(r[0]), []).append(
                    PassageSpan(int(r[0]), int(r[1]), int(r[2]), int(r[3]), r[4], r[5])
                )
        return out
