"""BM25 over the two FTS5 indexes, with the buffer filter applied before ranking.

The MATCH expression is built by ``rlm.search.lexical`` from user text; this
module only runs it, so no SQL leaves ``store/``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from rlm.errors import SearchError
from rlm.store.base import StoreBase

_INDEXES = {"porter": "chunks_fts", "aux": "chunks_aux_fts"}
_PRUNE_FROM_TERMS = 8
"""Queries with this many distinct terms or more skip near-zero-IDF terms."""
_MAX_COMPOUND = 400
"""Terms per statement (SQLite's compound-SELECT limit is 500); more are batched."""


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
        return self._scored_rows(sql, params)

    def bm25_sum(
        self,
        terms: Sequence[tuple[str, float]],
        limit: int,
        buffer_ids: Sequence[int] | None = None,
        index: str = "porter",
    ) -> list[tuple[int, float]]:
        """Like :meth:`bm25` of ``t1 OR t2 OR ...``, computed as a weighted sum of
        per-term BM25 scores, inside SQLite.

        FTS5's BM25 of an OR query is exactly the sum over its phrases, but FTS5
        scores every matching row against every phrase (rows x phrases): a
        600-word query took 9 s on 9k rows. Per-term queries cost only their
        doclists, and a repeated term is one query with weight = its count.
        ``terms``: (FTS5 string, weight). Best first, ties by chunk id.
        """
        if not terms or limit <= 0:
            return []
        if index == "porter":
            terms = self._informative_terms(terms)
        if len(terms) > _MAX_COMPOUND:
            totals: dict[int, float] = {}
            for start in range(0, len(terms), _MAX_COMPOUND):
                batch = terms[start : start + _MAX_COMPOUND]
                for chunk_id, score in self._bm25_sum(batch, None, buffer_ids, index):
                    totals[chunk_id] = totals.get(chunk_id, 0.0) + score
            ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
            return ranked[:limit]
        return self._bm25_sum(terms, limit, buffer_ids, index)

    def bm25_grouped(
        self,
        groups: Sequence[tuple[float, Sequence[tuple[str, str]]]],
        limit: int,
        buffer_ids: Sequence[int] | None = None,
    ) -> list[tuple[int, float]]:
        """BM25 over both indexes where each query word counts once.

        ``groups``: one per query word, (weight, [(index, FTS5 string), ...]).
        A chunk's score is the sum over groups of ``weight * max(porter sum,
        aux sum)``: a word found by both indexes (an identifier's exact token in
        the porter index and its parts in the aux index) is not counted twice.
        Long queries skip words whose porter string is in half the chunks or
        more, as :meth:`bm25_sum` does. Best first, ties by chunk id.
        """
        if not groups or limit <= 0:
            return []
        if len(groups) >= _PRUNE_FROM_TERMS:
            heads = [(g[1][0][1], 1.0) for g in groups]
            keep = {t for t, _ in self._informative_terms(heads)}
            groups = [g for g in groups if g[1][0][1] in keep] or list(groups)
        batches: list[list[tuple[int, float, Sequence[tuple[str, str]]]]] = [[]]
        size = 0
        for number, (weight, parts) in enumerate(groups):
            if size + len(parts) > _MAX_COMPOUND and batches[-1]:
                batches.append([])
                size = 0
            batches[-1].append((number, weight, parts))
            size += len(parts)
        if len(batches) == 1:
            return self._bm25_grouped(batches[0], limit, buffer_ids)
        totals: dict[int, float] = {}
        for batch in batches:
            for chunk_id, score in self._bm25_grouped(batch, None, buffer_ids):
                totals[chunk_id] = totals.get(chunk_id, 0.0) + score
        ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:limit]

    def _bm25_grouped(
        self,
        batch: Sequence[tuple[int, float, Sequence[tuple[str, str]]]],
        limit: int | None,
        buffer_ids: Sequence[int] | None,
    ) -> list[tuple[int, float]]:
        selects: list[str] = []
        params: list[object] = []
        for number, weight, parts in batch:
            for index, term in parts:
                table = _INDEXES[index]
                sql = (
                    f"SELECT rowid AS id, {int(number)} AS g, '{index}' AS x,"
                    f" -bm25({table}) * ? AS s FROM {table} WHERE {table} MATCH ?"
                )
                params.extend([weight, term])
                if buffer_ids is not None:
                    marks = ",".join("?" * len(buffer_ids)) or "NULL"
                    sql += f" AND rowid IN (SELECT id FROM chunks WHERE buffer_id IN ({marks}))"
                    params.extend(buffer_ids)
                selects.append(sql)
        # "LIMIT -1" keeps SQLite from flattening the subquery (FTS5 refuses bm25() there).
        sql = (
            "SELECT id, SUM(s) AS score FROM (SELECT id, MAX(s) AS s FROM ("
            "SELECT id, g, x, SUM(s) AS s FROM (" + " UNION ALL ".join(selects) + " LIMIT -1)"
            " GROUP BY id, g, x) GROUP BY id, g) GROUP BY id"
        )
        if limit is not None:
            sql += " ORDER BY score DESC, id ASC LIMIT ?"
            params.append(limit)
        return self._scored_rows(sql, params)

    def _informative_terms(self, terms: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
        """``terms`` without those that occur in at least half of the chunks.

        FTS5's BM25 clamps such a term's IDF, log((N - n + 0.5) / (n + 0.5)),
        to 1e-6, so it adds at most ~2e-6 to a score, yet scoring it walks the
        longest doclists: in a pasted paragraph ("the", "of", "is"...) those
        terms were 60% of the lexical leg's time. Only long queries are
        pruned (a doc-frequency count costs a little per term), and a query
        made only of such terms keeps them all, so "the" still finds "the".
        """
        if len(terms) < _PRUNE_FROM_TERMS:
            return list(terms)
        total = self.chunk_count_total()
        kept = []
        for term, weight in terms:
            rows = self._fts_rows(
                "SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH ?", [term]
            )
            if 2 * int(rows[0][0]) < total:
                kept.append((term, weight))
        return kept or list(terms)

    def _bm25_sum(
        self,
        terms: Sequence[tuple[str, float]],
        limit: int | None,
        buffer_ids: Sequence[int] | None,
        index: str,
    ) -> list[tuple[int, float]]:
        table = _INDEXES[index]
        where = ""
        filter_params: list[object] = []
        if buffer_ids is not None:
            marks = ",".join("?" * len(buffer_ids)) or "NULL"
            where = f" AND rowid IN (SELECT id FROM chunks WHERE buffer_id IN ({marks}))"
            filter_params = list(buffer_ids)
        parts: list[str] = []
        params: list[object] = []
        for term, weight in terms:
            parts.append(
                f"SELECT rowid AS id, -bm25({table}) * ? AS s FROM {table}"
                f" WHERE {table} MATCH ?{where}"
            )
            params.extend([weight, term, *filter_params])
        # "LIMIT -1" keeps SQLite from flattening the subquery into the aggregate,
        # where FTS5 refuses bm25() ("unable to use function bm25 in the requested context").
        sql = (
            "SELECT id, SUM(s) AS score FROM ("
            + " UNION ALL ".join(parts)
            + " LIMIT -1) GROUP BY id"
        )
        if limit is not None:
            sql += " ORDER BY score DESC, id ASC LIMIT ?"
            params.append(limit)
        return self._scored_rows(sql, params)

    def chunk_count_total(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def _fts_rows(self, sql: str, params: Sequence[object]) -> list[Any]:
        """The rows of an FTS5 MATCH query; an FTS5 syntax error is a SearchError."""
        try:
            return list(self.conn.execute(sql, params).fetchall())
        except sqlite3.OperationalError as exc:
            raise SearchError(
                f"query error: {exc}",
                error_type="SearchError",
                suggestion="This is a bug in query escaping; please report the query",
            ) from exc

    def _scored_rows(self, sql: str, params: Sequence[object]) -> list[tuple[int, float]]:
        """(chunk id, score) rows of a lexical query."""
        return [(int(r[0]), float(r[1])) for r in self._fts_rows(sql, params)]
