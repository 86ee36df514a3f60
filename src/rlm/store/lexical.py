"""BM25 over the two FTS5 indexes, with the buffer filter applied before ranking.

The MATCH expression is built by ``rlm.search.lexical`` from user text; this
module only runs it, so no SQL leaves ``store/``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from rlm.errors import SearchError
from rlm.store.base import StoreBase

_INDEXES = {"porter": "chunks_fts", "aux": "chunks_aux_fts"}


class LexicalQueries(StoreBase):
    def bm25(
        self,
        match: str,
        limit: int,
        buffer_ids: Sequence[int] | None = None,
        index: str = "porter",
    ) -> list[tuple[int, float]]:
        """(chunk id, score) best first; score = -bm25 so higher is better.

        Ties are broken by chunk id so the order never depends on SQLite's mood.
        """
        table = _INDEXES[index]
        sql = f"SELECT rowid, -bm25({table}) AS score FROM {table} WHERE {table} MATCH ?"
        params: list[object] = [match]
        if buffer_ids is not None:
            marks = ",".join("?" * len(buffer_ids)) or "NULL"
            sql += f" AND rowid IN (SELECT id FROM chunks WHERE buffer_id IN ({marks}))"
            params.extend(buffer_ids)
        sql += " ORDER BY score DESC, rowid ASC LIMIT ?"
        params.append(limit)
        try:
            rows = self.conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise SearchError(
                f"query error: {exc}",
                error_type="SearchError",
                suggestion="This is a bug in query escaping; please report the query",
            ) from exc
        return [(int(r[0]), float(r[1])) for r in rows]

    def chunk_count_total(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
