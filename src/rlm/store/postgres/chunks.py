"""Chunks on PostgreSQL, and their BM25 postings written in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from rlm.errors import ChunkNotFoundError, ChunkSupersededError
from rlm.store.lexical_text import aux_index_text
from rlm.store.models import Chunk, ChunkMove, ChunkRef, NewChunk
from rlm.store.postgres.base import PgBase, fits_bigint
from rlm.store.postgres.connection import errors_translated
from rlm.store.postgres.tokens import tokenize

_CHUNK_COLUMNS = (
    "id, buffer_id, content, byte_start, byte_end, chunk_index, strategy, token_count,"
    " line_start, line_end, has_overlap, content_hash, symbol, created_at"
)
_REF_COLUMNS = (
    "id, buffer_id, chunk_index, byte_start, byte_end, token_count, line_start, line_end,"
    " content_hash, symbol"
)
INSERT_BATCH = 2000


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    """``value`` as one COPY text-format field (backslash, tab, newline, CR escaped)."""
    return value.translate(_COPY_ESCAPES)


def _chunk(row: Any) -> Chunk:
    values = list(row)
    values[10] = bool(values[10])
    return Chunk(*values)


def _ref(row: Any) -> ChunkRef:
    return ChunkRef(*row)


class PgChunkQueries(PgBase):
    def insert_chunks(self, buffer_id: int, chunks: Iterable[NewChunk]) -> list[int]:
        """Insert chunks in batches with COPY; returns their ids in order.

        Ids are taken from the identity sequence first (``nextval`` per row), so
        they are known without relying on RETURNING order; the BM25 postings of
        the batch go in right after, in the caller's transaction.
        """
        ids: list[int] = []
        batch: list[NewChunk] = []
        for chunk in chunks:
            batch.append(chunk)
            if len(batch) >= INSERT_BATCH:
                ids.extend(self._insert_batch(buffer_id, batch))
                batch = []
        if batch:
            ids.extend(self._insert_batch(buffer_id, batch))
        return ids

    def _insert_batch(self, buffer_id: int, batch: Sequence[NewChunk]) -> list[int]:
        rows = self._rows(
            "SELECT nextval(pg_get_serial_sequence('chunks', 'id')) FROM generate_series(1, %s)",
            (len(batch),),
        )
        ids = [int(r[0]) for r in rows]
        now = self.now()
        with (
            errors_translated(self.url),
            self.pg.cursor() as cur,
            cur.copy(
                "COPY chunks (id, buffer_id, content, byte_start, byte_end, chunk_index, strategy,"
                " token_count, line_start, line_end, has_overlap, content_hash, symbol, created_at)"
                " FROM STDIN"
            ) as copy,
        ):
            for cid, c in zip(ids, batch, strict=True):
                copy.write_row(
                    (
                        cid, buffer_id, c.content, c.byte_start, c.byte_end, c.index,
                        c.strategy, c.token_count, c.line_start, c.line_end,
                        bool(c.has_overlap), c.content_hash, c.symbol, now,
                    )
                )  # fmt: skip
        self._index_lexical(ids, [c.content for c in batch])
        return ids

    def _index_lexical(self, ids: Sequence[int], contents: Sequence[str]) -> None:
        """The postings and lengths of both lexical indexes for these chunks.

        Index 0 (porter) gets every chunk, as ``chunks_fts`` does; index 1 (aux)
        only chunks with derived tokens, as ``chunks_aux_fts``.
        """
        aux_ids: list[int] = []
        aux_texts: list[str] = []
        for cid, content in zip(ids, contents, strict=True):
            aux = aux_index_text(content)
            if aux:
                aux_ids.append(cid)
                aux_texts.append(aux)
        with errors_translated(self.url), self.pg.cursor() as cur:
            for index, (chunk_ids, texts) in enumerate(
                ((list(ids), list(contents)), (aux_ids, aux_texts))
            ):
                if not chunk_ids:
                    continue
                tokens = tokenize(index, texts)
                docs = "".join(
                    f"{index}\t{cid}\t{tok.length}\n"
                    for cid, tok in zip(chunk_ids, tokens, strict=True)
                )
                with cur.copy("COPY lex_docs (idx, chunk_id, length) FROM STDIN") as copy:
                    copy.write(docs.encode("utf-8"))
                # COPY text format written directly: psycopg's write_row adapting an
                # int[] per posting was half of a load's time.
                lines = [
                    f"{index}\t{_copy_text(term)}\t{cid}\t{len(ps)}\t{tok.length}"
                    f"\t{{{','.join(map(str, ps))}}}\n"
                    for cid, tok in zip(chunk_ids, tokens, strict=True)
                    for term, ps in tok.positions.items()
                ]
                self.__dict__["_fresh_postings"] = self.__dict__.get("_fresh_postings", 0) + len(
                    lines
                )
                with cur.copy(
                    "COPY lex_postings (idx, term, chunk_id, tf, dl, positions) FROM STDIN"
                ) as copy:
                    for start in range(0, len(lines), 20000):
                        copy.write("".join(lines[start : start + 20000]).encode("utf-8"))

    def get_chunk(self, chunk_id: int) -> Chunk:
        if not fits_bigint(chunk_id):
            raise ChunkNotFoundError(chunk_id)
        row = self._one(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE id = %s", (chunk_id,))
        if row is not None:
            return _chunk(row)
        tomb = self._one(
            "SELECT replaced_by FROM chunk_tombstones WHERE chunk_id = %s", (chunk_id,)
        )
        if tomb is not None:
            raise ChunkSupersededError(chunk_id, [int(i) for i in json.loads(tomb[0])])
        raise ChunkNotFoundError(chunk_id)

    def get_chunks(self, chunk_ids: Sequence[int]) -> dict[int, Chunk]:
        ids = [int(c) for c in chunk_ids if fits_bigint(int(c))]
        if not ids:
            return {}
        rows = self._rows(f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE id = ANY(%s)", (ids,))
        return {int(r[0]): _chunk(r) for r in rows}

    def list_chunks(self, buffer_id: int) -> list[Chunk]:
        rows = self._rows(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE buffer_id = %s ORDER BY chunk_index, id",
            (buffer_id,),
        )
        return [_chunk(r) for r in rows]

    def list_chunk_refs(self, buffer_id: int) -> list[ChunkRef]:
        rows = self._rows(
            f"SELECT {_REF_COLUMNS} FROM chunks WHERE buffer_id = %s ORDER BY chunk_index, id",
            (buffer_id,),
        )
        return [_ref(r) for r in rows]

    def delete_chunks(self, chunk_ids: Sequence[int]) -> None:
        ids = [int(c) for c in chunk_ids]
        if ids:
            self._exec("DELETE FROM chunks WHERE id = ANY(%s)", (ids,))

    def reindex_chunk(self, chunk_id: int, index: int) -> None:
        self._exec("UPDATE chunks SET chunk_index = %s WHERE id = %s", (index, chunk_id))

    def relocate_chunks(self, moves: Iterable[ChunkMove]) -> int:
        rows = [
            (index, start, end, line_start, line_end, bool(overlap), digest, cid)
            for cid, index, start, end, line_start, line_end, overlap, digest in moves
        ]
        self._many(
            "UPDATE chunks SET chunk_index = %s, byte_start = %s, byte_end = %s,"
            " line_start = %s, line_end = %s, has_overlap = %s, content_hash = %s WHERE id = %s",
            rows,
        )
        return len(rows)

    def add_tombstones(self, buffer_id: int, replaced: dict[int, list[int]]) -> None:
        now = self.now()
        self._many(
            "INSERT INTO chunk_tombstones(chunk_id, buffer_id, replaced_by, created_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (chunk_id) DO UPDATE SET"
            " buffer_id = EXCLUDED.buffer_id, replaced_by = EXCLUDED.replaced_by,"
            " created_at = EXCLUDED.created_at",
            [(cid, buffer_id, json.dumps(new), now) for cid, new in replaced.items()],
        )

    def set_token_counts(self, counts: Iterable[tuple[int, int]]) -> None:
        pairs = list(counts)
        if not pairs:
            return
        self._exec(
            "UPDATE chunks c SET token_count = v.n FROM unnest(%s::bigint[], %s::bigint[])"
            " AS v(id, n) WHERE c.id = v.id",
            ([cid for cid, _ in pairs], [n for _, n in pairs]),
        )

    def chunk_buffer_ids(self, chunk_ids: Sequence[int]) -> dict[int, int]:
        ids = [int(c) for c in chunk_ids if fits_bigint(int(c))]
        if not ids:
            return {}
        rows = self._rows("SELECT id, buffer_id FROM chunks WHERE id = ANY(%s)", (ids,))
        return {int(r[0]): int(r[1]) for r in rows}

    def chunk_count_total(self) -> int:
        return int(self._one("SELECT COUNT(*) FROM chunks")[0])
