"""The lexical leg: BM25 over the porter index plus the aux (CJK / identifier) index.

The two indexes hold different tokens of the same chunk: the porter index its
stemmed words, the aux index what unicode61 cannot split (each CJK character,
the parts of camelCase identifiers). Each query word counts once: a chunk's
score is the sum over query words of the word's porter BM25 where the chunk
holds the word as a token, else its aux BM25 (the word is only a part there:
``config`` in ``parseConfigFile``, a CJK word inside a longer run). Summing
both, as at first, counted a word found by both indexes twice (``siRNA``: its
porter token and its aux parts); taking the better of the two, as next, still
let the sparse aux index's higher IDF lift prose words (ArguAna bm25 first 500:
0.4667 against plain FTS5's 0.4674). Now the leg equals plain FTS5 BM25 on
prose and adds only what the porter index cannot find.

Each index is queried as the rlm-rs OR of per-token FTS5 strings, executed as
a weighted sum of per-term BM25 scores (``Store.bm25_sum``): the same scores,
without FTS5's rows x phrases cost on long (pasted-paragraph) queries. Queries
of 8+ distinct terms also skip terms found in half the chunks or more (FTS5
clamps their IDF to 1e-6): a 155-word ArguAna query went from 0.56 s to 0.13 s
with identical nDCG/recall/MRR; only chunks matching nothing but such terms
drop off the end of the list.

For prose without CJK or identifiers the aux index has no matching rows, so
the score *is* the rlm-rs BM25 score; the list stays in BM25 units (higher
is better) and is monotonic in what is reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rlm.search.query import fts_string, piece_terms, porter_terms, query_pieces
from rlm.store import Store
from rlm.store.lexical_text import aux_query_terms


def lexical_ranking(
    store: Store,
    query: str,
    limit: int,
    buffer_ids: Sequence[int] | None = None,
) -> list[tuple[int, float]]:
    """(chunk id, BM25 score) best first, at most ``limit``; ties by chunk id.

    The buffer filter is applied inside each FTS query, before ranking.
    """
    if limit <= 0 or (buffer_ids is not None and not buffer_ids):
        return []
    pieces = Counter(query_pieces(query))
    porter: Counter[str] = Counter()
    for piece, count in pieces.items():
        for term in piece_terms(piece):
            porter[term] += count
    scores: dict[int, float] = {}
    weighted = store.informative_terms([(term, float(n)) for term, n in porter.items()])
    if weighted:
        scores.update(store.bm25_sum(weighted, limit, buffer_ids, index="porter", prune=False))
    # Words too common to count in the porter index (clamped IDF) do not count in aux either.
    kept = {term for term, _ in weighted}
    pieces = Counter({p: n for p, n in pieces.items() if piece_terms(p)[0] in kept})
    for chunk_id, extra in _aux_gains(store, pieces, buffer_ids).items():
        scores[chunk_id] = scores.get(chunk_id, 0.0) + extra
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:limit]


def _aux_gains(
    store: Store, pieces: Counter[str], buffer_ids: Sequence[int] | None
) -> dict[int, float]:
    """What the aux index adds per chunk: for each query word the chunk does not hold
    as a porter token, its aux BM25 (the word is there only as an identifier part or
    inside a CJK run). A chunk holding the word itself keeps its porter score alone."""
    aux_terms: list[str] = []
    owner: list[tuple[str, int]] = []  # (piece, weight) of each aux term
    for piece, count in pieces.items():
        for term in aux_query_terms(piece):
            aux_terms.append(term)
            owner.append((piece, count))
    if not aux_terms:
        return {}
    aux: dict[tuple[int, str], float] = {}
    for number, chunk_id, score in store.bm25_per_term(aux_terms, "aux", buffer_ids):
        piece, count = owner[number]
        aux[(chunk_id, piece)] = aux.get((chunk_id, piece), 0.0) + count * score
    if not aux:
        return {}
    words = sorted({piece for _, piece in aux})
    chunks = sorted({chunk_id for chunk_id, _ in aux})
    porter_terms_of = [(piece, term) for piece in words for term in piece_terms(piece)]
    same: dict[tuple[int, str], float] = {}
    rows = store.bm25_per_term([t for _, t in porter_terms_of], "porter", buffer_ids, chunks)
    for number, chunk_id, score in rows:
        piece = porter_terms_of[number][0]
        same[(chunk_id, piece)] = same.get((chunk_id, piece), 0.0) + pieces[piece] * score
    gains: dict[int, float] = {}
    for (chunk_id, piece), score in aux.items():
        if (chunk_id, piece) not in same:  # the word itself is not in the chunk: a part is
            gains[chunk_id] = gains.get(chunk_id, 0.0) + score
    return gains


def lexical_ranking_summed(
    store: Store,
    query: str,
    limit: int,
    buffer_ids: Sequence[int] | None = None,
) -> list[tuple[int, float]]:
    """The earlier leg, kept to measure against: porter and aux BM25 summed, so a
    word found by both indexes counted twice."""
    if limit <= 0 or (buffer_ids is not None and not buffer_ids):
        return []
    scores: dict[int, float] = {}
    porter = Counter(porter_terms(query))
    if porter:
        weighted = [(term, float(n)) for term, n in porter.items()]
        for chunk_id, score in store.bm25_sum(weighted, limit, buffer_ids, index="porter"):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + score
    aux = aux_query_terms(query)
    if aux:
        weighted = [(term, 1.0) for term in aux]
        for chunk_id, score in store.bm25_sum(weighted, limit, buffer_ids, index="aux"):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + score
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:limit]


def porter_only_ranking(
    store: Store,
    query: str,
    limit: int,
    buffer_ids: Sequence[int] | None = None,
) -> list[tuple[int, float]]:
    """Plain FTS5 BM25 over the porter index (the OR of the words): the floor the
    lexical leg must never fall below (bench/search_variants.py --lexical)."""
    if limit <= 0 or (buffer_ids is not None and not buffer_ids):
        return []
    terms = Counter(fts_string(p) for p in query_pieces(query))
    return store.bm25_sum([(t, float(n)) for t, n in terms.items()], limit, buffer_ids)
