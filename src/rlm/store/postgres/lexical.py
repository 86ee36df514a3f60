"""BM25 on PostgreSQL with FTS5's exact formula, over postings tables.

SQLite ranks with FTS5's ``bm25()``; to rank the same here, chunks are
tokenised by the very same FTS5 tokenizers (:mod:`.tokens`) at load time and
their postings (term, chunk, tf, positions) and lengths stored in
``lex_postings`` / ``lex_docs``, in the load's transaction. A query term is one
FTS5 string (a phrase of one or more tokens) scored as FTS5 does::

    idf   = max(ln((N - n + 0.5) / (n + 0.5)), 1e-6)
    score = idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)),  k1 = 1.2, b = 0.75

with N, avgdl over every row of that index and n the rows holding the phrase,
all counted at query time (always exact, no statistics row for concurrent
loads to fight over). One-token terms are scored entirely in SQL through the
``(idx, term, chunk_id)`` primary key; phrases are matched on positions in
Python. The query semantics above this (OR of terms, weights, pruning of
common terms, the aux index) are the same code as SQLite's: rlm.search.lexical.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rlm.store.postgres.base import PgBase
from rlm.store.postgres.tokens import INDEX_NUMBERS, phrase_tokens

K1 = 1.2
B = 0.75
_PRUNE_FROM_TERMS = 8
_FTS_STRING = re.compile(r'"((?:[^"]|"")*)"')

_SCORE = (
    "h.weight * greatest(ln((st.n - h.n + 0.5) / (h.n + 0.5)), 1e-6)"
    f" * h.tf * {K1 + 1} / (h.tf + {K1} * ({1 - B} + {B} * h.dl / st.avgdl))"
)


class PgLexicalQueries(PgBase):
    def chunk_count_total(self) -> int:
        return int(self._one("SELECT COUNT(*) FROM chunks")[0])

    def _stats(self, idx: int) -> tuple[int, float]:
        row = self._one(
            "SELECT COUNT(*), COALESCE(SUM(length), 0) FROM lex_docs WHERE idx = %s", (idx,)
        )
        n = int(row[0])
        return n, (float(row[1]) / n if n else 1.0)

    def _single_rows(
        self,
        idx: int,
        terms: Sequence[tuple[int, str, float]],
        buffer_ids: Sequence[int] | None,
        chunk_ids: Sequence[int] | None,
        limit: int | None,
        extra: Sequence[tuple[int, int, float]] = (),
    ) -> list[tuple[int, int, float]]:
        """(term number, chunk id, weighted BM25) of one-token terms; with ``limit``,
        summed per chunk (plus the ``extra`` rows, phrases scored in Python) and cut:
        (-1, chunk id, total)."""
        if not terms and not extra:
            return []
        params: dict[str, object] = {
            "idx": idx,
            "k": [k for k, _, _ in terms],
            "terms": [t for _, t, _ in terms],
            "weights": [w for _, _, w in terms],
        }
        where = ""
        if buffer_ids is not None:
            where += " AND h.chunk_id IN (SELECT id FROM chunks WHERE buffer_id = ANY(%(b)s))"
            params["b"] = [int(b) for b in buffer_ids]
        if chunk_ids is not None:
            where += " AND h.chunk_id = ANY(%(c)s)"
            params["c"] = [int(c) for c in chunk_ids]
        inner = (
            "WITH st AS MATERIALIZED (SELECT COUNT(*)::float8 AS n,"
            "  GREATEST(COALESCE(SUM(length), 0)::float8 / NULLIF(COUNT(*), 0), 1e-9) AS avgdl"
            "  FROM lex_docs WHERE idx = %(idx)s),"
            " q AS MATERIALIZED (SELECT * FROM unnest(%(k)s::int[], %(terms)s::text[],"
            "  %(weights)s::float8[]) AS q(k, term, weight)),"
            # One scan of each posting list: the document frequency is the window count
            # over the term's rows, taken before any buffer filter (as FTS5's is).
            " h AS (SELECT q.k, q.weight, p.chunk_id, p.tf, p.dl,"
            "  COUNT(*) OVER (PARTITION BY q.k)::float8 AS n FROM q"
            "  JOIN lex_postings p ON p.idx = %(idx)s AND p.term = q.term)"
            f" SELECT h.k, h.chunk_id, {_SCORE} AS s FROM h CROSS JOIN st WHERE true{where}"
        )
        if limit is None:
            rows = self._rows(inner, params)
            return [(int(r[0]), int(r[1]), float(r[2])) for r in rows]
        params["limit"] = limit
        params["xid"] = [cid for _, cid, _ in extra]
        params["xs"] = [s for _, _, s in extra]
        rows = self._rows(
            f"SELECT -1, chunk_id, SUM(s) AS score FROM ({inner}"
            " UNION ALL SELECT 0, x.id, x.s FROM unnest(%(xid)s::bigint[], %(xs)s::float8[])"
            " AS x(id, s)) x GROUP BY chunk_id ORDER BY score DESC, chunk_id LIMIT %(limit)s",
            params,
        )
        return [(int(r[0]), int(r[1]), float(r[2])) for r in rows]

    def _phrase_hits(self, idx: int, tokens: Sequence[str]) -> dict[int, int]:
        """chunk id -> occurrences of the phrase ``tokens`` (every chunk of the index)."""
        wanted = sorted(set(tokens))
        rows = self._rows(
            "WITH c AS (SELECT chunk_id FROM lex_postings WHERE idx = %(idx)s"
            "  AND term = ANY(%(t)s) GROUP BY chunk_id HAVING COUNT(*) = %(n)s)"
            " SELECT p.term, p.chunk_id, p.positions FROM lex_postings p JOIN c USING (chunk_id)"
            " WHERE p.idx = %(idx)s AND p.term = ANY(%(t)s)",
            {"idx": idx, "t": wanted, "n": len(wanted)},
        )
        by_chunk: dict[int, dict[str, set[int]]] = {}
        for term, chunk_id, positions in rows:
            by_chunk.setdefault(int(chunk_id), {})[str(term)] = set(positions)
        hits: dict[int, int] = {}
        for chunk_id, terms in by_chunk.items():
            if len(terms) < len(wanted):
                continue
            first = terms[tokens[0]]
            count = sum(
                1
                for start in first
                if all(start + i in terms[tok] for i, tok in enumerate(tokens) if i)
            )
            if count:
                hits[chunk_id] = count
        return hits

    def _phrase_rows(
        self,
        idx: int,
        number: int,
        tokens: Sequence[str],
        weight: float,
        buffer_ids: Sequence[int] | None,
        chunk_ids: Sequence[int] | None,
        stats: tuple[int, float],
    ) -> list[tuple[int, int, float]]:
        import math

        hits = self._phrase_hits(idx, tokens)
        if not hits:
            return []
        n_rows, avgdl = stats
        idf = max(math.log((n_rows - len(hits) + 0.5) / (len(hits) + 0.5)), 1e-6)
        ids = list(hits)
        if chunk_ids is not None:
            keep = {int(c) for c in chunk_ids}
            ids = [c for c in ids if c in keep]
        if buffer_ids is not None and ids:
            ids = [
                int(r[0])
                for r in self._rows(
                    "SELECT id FROM chunks WHERE id = ANY(%s) AND buffer_id = ANY(%s)",
                    (ids, [int(b) for b in buffer_ids]),
                )
            ]
        if not ids:
            return []
        lengths = dict(
            self._rows(
                "SELECT chunk_id, length FROM lex_docs WHERE idx = %s AND chunk_id = ANY(%s)",
                (idx, ids),
            )
        )
        out = []
        for cid in ids:
            tf = hits[cid]
            dl = float(lengths.get(cid, 0))
            score = idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / max(avgdl, 1e-9)))
            out.append((number, cid, weight * score))
        return out

    def _term_rows(
        self,
        idx: int,
        terms: Sequence[tuple[str, float]],
        buffer_ids: Sequence[int] | None,
        chunk_ids: Sequence[int] | None,
        limit: int | None = None,
    ) -> list[tuple[int, int, float]]:
        """Per-term rows (term number, chunk id, weighted score); with ``limit`` and no
        phrase among ``terms``, already summed per chunk and cut in SQL."""
        singles: list[tuple[int, str, float]] = []
        phrases: list[tuple[int, list[str], float]] = []
        for number, (term, weight) in enumerate(terms):
            tokens = phrase_tokens(idx, term)
            if len(tokens) == 1:
                singles.append((number, tokens[0], weight))
            elif tokens:
                phrases.append((number, tokens, weight))
        if not phrases:
            return self._single_rows(idx, singles, buffer_ids, chunk_ids, limit)
        stats = self._stats(idx)
        extra: list[tuple[int, int, float]] = []
        for number, tokens, weight in phrases:
            extra += self._phrase_rows(idx, number, tokens, weight, buffer_ids, chunk_ids, stats)
        if limit is not None:
            return self._single_rows(idx, singles, buffer_ids, chunk_ids, limit, extra)
        return self._single_rows(idx, singles, buffer_ids, chunk_ids, None) + extra

    def bm25(
        self,
        match: str,
        limit: int,
        buffer_ids: Sequence[int] | None = None,
        index: str = "porter",
    ) -> list[tuple[int, float]]:
        """The OR of the FTS5 strings in ``match`` (what rlm builds), as FTS5 scores it."""
        terms = [(m.group(0), 1.0) for m in _FTS_STRING.finditer(match)]
        return self.bm25_sum(terms, limit, buffer_ids, index, prune=False)

    def bm25_sum(
        self,
        terms: Sequence[tuple[str, float]],
        limit: int,
        buffer_ids: Sequence[int] | None = None,
        index: str = "porter",
        *,
        prune: bool = True,
    ) -> list[tuple[int, float]]:
        if not terms or limit <= 0:
            return []
        if index == "porter" and prune:
            terms = self.informative_terms(terms)
        idx = INDEX_NUMBERS[index]
        rows = self._term_rows(idx, terms, buffer_ids, None, limit)
        if rows and rows[0][0] == -1:
            return [(cid, score) for _, cid, score in rows]
        totals: dict[int, float] = {}
        for _, cid, score in rows:
            totals[cid] = totals.get(cid, 0.0) + score
        ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:limit]

    def bm25_per_term(
        self,
        terms: Sequence[str],
        index: str,
        buffer_ids: Sequence[int] | None = None,
        chunk_ids: Sequence[int] | None = None,
    ) -> list[tuple[int, int, float]]:
        idx = INDEX_NUMBERS[index]
        return self._term_rows(idx, [(t, 1.0) for t in terms], buffer_ids, chunk_ids)

    def informative_terms(self, terms: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
        """``terms`` without those in at least half of the chunks (as SQLite's).

        Only "at least half" matters, so each token's postings are counted up to
        half the chunks and no further, and a phrase is matched on positions only
        when every one of its tokens is that common (a phrase is never more
        frequent than its rarest token).
        """
        if len(terms) < _PRUNE_FROM_TERMS:
            return list(terms)
        total = self.chunk_count_total()
        half = (total + 1) // 2  # 2 * df < total  <=>  df < half
        tokens_of = [phrase_tokens(0, term) for term, _ in terms]
        distinct = sorted({t for tokens in tokens_of for t in tokens})
        common: set[str] = set()
        if distinct:
            rows = self._rows(
                "SELECT q.term, (SELECT COUNT(*) FROM (SELECT 1 FROM lex_postings p"
                " WHERE p.idx = 0 AND p.term = q.term LIMIT %s) x)"
                " FROM unnest(%s::text[]) AS q(term)",
                (half, distinct),
            )
            common = {str(r[0]) for r in rows if int(r[1]) >= half}
        kept = []
        for (term, weight), tokens in zip(terms, tokens_of, strict=True):
            if not tokens or not all(t in common for t in tokens):
                kept.append((term, weight))  # rare (or matches nothing): informative
            elif len(tokens) > 1 and 2 * len(self._phrase_hits(0, tokens)) < total:
                kept.append((term, weight))
        return kept or list(terms)
