"""BM25 over the two FTS5 indexes, with the buffer filter applied before ranking.

The MATCH expression is built by ``rlm.search.lexical`` from user text; this
module only runs it, so no SQL leaves ``store/``.
"""

from __future__ import annotations

import json
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
_DRIVE_BY_ROWID = 1_000
"""Scopes with at most this many chunks are read by rowid (see :meth:`_scope_filter`)."""


class LexicalQueries(StoreBase):
    def _scope_filter(self, table: str, buffer_ids: Sequence[int]) -> tuple[str, list[object]]:
        """The ``AND ...`` clause keeping rows of ``buffer_ids``, and its one parameter.

        The ids travel as one JSON array (no limit on their number, one bound
        parameter per term instead of one per buffer). With a small scope,
        ``rowid IN (...)`` lets FTS5 fetch just those rows; with a large one (a
        collection of 10k files) that plan made FTS5 re-read the term's doclist
        for every rowid: 26 s for a two-word query. There ``+rowid`` (the unary
        plus stops the planner from driving the scan by rowid) keeps the MATCH
        scan and filters its rows: about 0.1 s.
        """
        ids = json.dumps([int(b) for b in buffer_ids])
        scope = "SELECT c.id FROM chunks c WHERE c.buffer_id IN (SELECT value FROM json_each(?))"
        chunks = int(
            self.conn.execute(
                "SELECT COUNT(*) FROM chunks WHERE buffer_id IN (SELECT value FROM json_each(?))",
                (ids,),
            ).fetchone()[0]
        )
        column = "rowid" if chunks <= _DRIVE_BY_ROWID else f"+{table}.rowid"
        return f" AND {column} IN ({scope})", [ids]

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
            clause, scope = self._scope_filter(table, buffer_ids)
            sql += clause
            params.extend(scope)
        sql += " ORDER BY score DESC, rowid ASC LIMIT ?"
        params.append(limit)
        return self._scored_rows(sql, params)

    def bm25_sum(
        self,
        terms: Sequence[tuple[str, float]],
        limit: int,
        buffer_ids: Sequence[int] | None = None,
        index: str = "porter",
        *,
        prune: bool = True,
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
        if index == "porter" and prune:
            terms = self.informative_terms(terms)
        if len(terms) > _MAX_COMPOUND:
            totals: dict[int, float] = {}
            for start in range(0, len(terms), _MAX_COMPOUND):
                batch = terms[start : start + _MAX_COMPOUND]
                for chunk_id, score in self._bm25_sum(batch, None, buffer_ids, index):
                    totals[chunk_id] = totals.get(chunk_id, 0.0) + score
            ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
            return ranked[:limit]
        return self._bm25_sum(terms, limit, buffer_ids, index)

    def bm25_per_term(
        self,
        terms: Sequence[str],
        index: str,
        buffer_ids: Sequence[int] | None = None,
        chunk_ids: Sequence[int] | None = None,
    ) -> list[tuple[int, int, float]]:
        """(term number, chunk id, BM25) of every chunk each FTS5 string matches.

        For the few rows a per-word comparison needs (aux matches are rare:
        identifiers and CJK only); ``chunk_ids`` limits the rows to some chunks.
        Those are asked as a rowid range and picked here: FTS5 takes a range as a
        seek in each doclist, but ``rowid IN (...)`` as one MATCH per id (0.2-0.9 s
        for the 2,000 chunks an identifier part matched at 100k chunks).
        """
        table = _INDEXES[index]
        where = ""
        filter_params: list[object] = []
        if buffer_ids is not None:
            clause, scope = self._scope_filter(table, buffer_ids)
            where += clause
            filter_params += scope
        wanted: set[int] | None = None
        if chunk_ids is not None:
            if not chunk_ids:
                return []
            wanted = {int(c) for c in chunk_ids}
            where += " AND rowid BETWEEN ? AND ?"
            filter_params += [min(wanted), max(wanted)]
        out: list[tuple[int, int, float]] = []
        for start in range(0, len(terms), _MAX_COMPOUND):
            parts: list[str] = []
            params: list[object] = []
            for number in range(start, min(len(terms), start + _MAX_COMPOUND)):
                parts.append(
                    f"SELECT {number} AS t, rowid AS id, -bm25({table}) AS s FROM {table}"
                    f" WHERE {table} MATCH ?{where}"
                )
                params += [terms[number], *filter_params]
            rows = self._fts_rows(" UNION ALL ".join(parts), params)
            out.extend(
                (int(r[0]), int(r[1]), float(r[2]))
                for r in rows
                if wanted is None or int(r[1]) in wanted
            )
        return out

    def informative_terms(self, terms: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
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
            where, filter_params = self._scope_filter(table, buffer_ids)
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
        """Chunks in the store: SQLite counts the smallest index (about 1 ms per 100k
        chunks; m008 keeps no trigger on chunks, see there)."""
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
