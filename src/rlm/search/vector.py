"""The vector leg: exact cosine over one contiguous matrix, cached per process.

A query is one matrix-vector product over every vector of the current model
(rows L2-normalised once at load), the buffer filter applied as a mask
*before* ranking, then a partial sort. The matrix is loaded once per process
and reused until the database changes: repeated queries in one process (MCP
server, ``rlm eval``) never reload it. Validity is checked with
``PRAGMA data_version`` + this connection's change counter (microseconds), and
only when those moved with the vectors' signature (count, max id, newest
timestamp).

Passages: when the store has passage vectors (see
:mod:`rlm.embedding.passages`), a chunk's semantic score is
``PASSAGE_WEIGHT * best passage cosine + (1 - PASSAGE_WEIGHT) * chunk cosine``
(max-sim over its passages, blended with the chunk as a whole; the weight was
chosen on bench/needles.py and the shared sets, see docs/search.md), raised
:data:`CHUNK_FLOOR` of the way to the chunk cosine where that is higher (a chunk
relevant as a whole, see :func:`blend`). Chunks without passages (a store made
before them) keep their chunk cosine.

Chunk and passage vectors are mapped from sidecar files next to the database
when they are in step with the store (see :mod:`rlm.search.passage_file`), so a
new process does not decode every vector row.

**Large stores: a compact first pass.** At :data:`APPROX_MIN_ROWS` vector rows or
more (chunks plus passages), an unfiltered query does not read the whole float32
passage matrix (1.5 GB at 1M passages: memory-bandwidth bound). It first scans
the rows' sign codes (384 bits each, 48 MB at 1M; Hamming distance by XOR and
popcount, :func:`hamming`), keeps the :data:`PASSAGE_CANDIDATES` nearest passages
and scores only those exactly (float32 rows of the mapped sidecar): a chunk's best
passage is its best candidate. The :data:`CHUNK_RERANK` chunks with the best
candidates then get their chunk vector read and blended as :meth:`VectorIndex.scores`
does; chunks without passages compete by their own codes (:data:`CHUNK_CANDIDATES`).
Other chunks are left out of that query's ranking. Buffer-filtered queries stay
exact. Recall@10 against the exact ranking, and the time, are in docs/search.md
("Scale: a compact first pass over the passages").

Above :data:`ANN_MIN_VECTORS` vectors, and when ``usearch`` is installed, an
HNSW index (see :mod:`rlm.search.ann`) answers unfiltered queries instead
(chunk vectors only).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rlm.store import Store

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import numpy.typing as npt

ANN_MIN_VECTORS = 200_000
"""Below this, exact search is fast enough (about 10 ms per 100k 384-d vectors)."""
APPROX_MIN_ROWS = 300_000
"""From this many vector rows (chunks + passages) an unfiltered query takes the sign-code
first pass; below, every row is scored exactly (docs/search.md, "Scale")."""
PASSAGE_CANDIDATES = 20_000
"""Passages kept by the first pass (at least; or :data:`PASSAGES_PER_HIT` per hit asked)."""
PASSAGES_PER_HIT = 50
CHUNK_CANDIDATES = 2500
"""Chunk vectors without passages kept by the first pass (at least; or
:data:`CHUNKS_PER_HIT` per hit). Chunks with passages compete by their passages only:
on the needle and NPL stores, chunk-vector candidates added 0.005-0.008 of recall@10
for 2.5x the rows gathered."""
CHUNKS_PER_HIT = 5
CHUNK_RERANK = 4000
"""Of the chunks of candidate passages, how many (by best passage; at least, or
:data:`RERANK_PER_HIT` per hit) get their chunk vector read for the blended score: the
gathers from the mapped matrices are the first pass's main cost."""
RERANK_PER_HIT = 20
PASSAGE_WEIGHT = 0.8
"""Weight of a chunk's best passage in its semantic score (the rest: the chunk vector)."""
LONG_QUERY_WORDS = 48
"""A query of more words than a passage holds (64 tokens) leans more on whole chunks:
one passage cannot match it. ArguAna's 155-word queries (first 500), semantic / hybrid
nDCG@10 at weight 0.8: 0.448 / 0.503; 0.5: 0.479 / 0.507; 0.3: 0.486 / 0.503; before
passages 0.480 / 0.509."""
LONG_QUERY_PASSAGE_WEIGHT = 0.3
"""Measured on all 1,406 ArguAna queries with the chunk term of
:func:`long_query_chunk_vector` (docs/search.md, "Long queries")."""


CHUNK_FLOOR = 0.5
"""Where a chunk's own vector matches the query better than the passage blend, the score
is raised this share of the way to the chunk cosine (0: the blend alone, 1: the larger of
the two). Chosen by a sweep (bench/fusion_lab.py --grid floor, docs/search.md "A chunk
relevant as a whole"): at 0.5 the semantic leg is at or above its old figure on every set
measured; 0.25-0.75 is a plateau, 1.0 costs the hardest claim set 0.008."""


def blend(
    best: npt.NDArray[np.float32], chunk: npt.NDArray[np.float32], weight: float
) -> npt.NDArray[np.float32]:
    """A chunk's semantic score from its best passage's cosine and its chunk cosine.

    The blend leans on the best passage (``weight``), which finds one sentence in a chunk
    about something else. A chunk relevant as a whole matches through all its passages at
    once: its chunk vector (their pooled mean) can score above every passage, and the
    blend alone would rank it below chunks with one close sentence. So the score is raised
    :data:`CHUNK_FLOOR` of the way to the chunk cosine where that is the higher; a chunk
    whose best passage is the higher (the buried fact) keeps the blend.
    """
    import numpy as np

    w = np.float32(weight)
    mixed = w * best + (np.float32(1.0) - w) * chunk
    lift = np.maximum(chunk - mixed, np.float32(0.0))
    out: npt.NDArray[np.float32] = mixed + np.float32(CHUNK_FLOOR) * lift
    return out


def is_long_query(query: str) -> bool:
    """More words than a passage holds: one passage cannot match it."""
    return len(query.split()) > LONG_QUERY_WORDS


def passage_weight(query: str) -> float:
    """The best passage's weight in the semantic score for this query text."""
    return LONG_QUERY_PASSAGE_WEIGHT if is_long_query(query) else PASSAGE_WEIGHT


def long_query_chunk_vector(
    whole: npt.NDArray[np.float32], pooled: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """The vector a long query's chunk term is scored with: the mean of its whole-text
    vector and its passages pooled as a chunk's are (not renormalised, so its dot
    product is the mean of the two cosines).

    A chunk vector is pooled from the chunk's passages; a long query embedded whole
    is a different kind of vector. Scoring the chunk term by the mean of both gave
    ArguAna (155-word queries, all 1,406) semantic 0.4882 against 0.4805 for the
    whole vector alone and 0.4790 for the pooled one alone (docs/search.md).
    """
    return ((_unit(whole) + _unit(pooled)) / 2).astype(whole.dtype)


@dataclass
class VectorIndex:
    """One model's vectors, ready to score."""

    chunk_ids: npt.NDArray[np.int64]
    buffer_ids: npt.NDArray[np.int64]
    matrix: npt.NDArray[np.float32]
    """Row-normalised (zero rows stay zero), C-contiguous float32."""
    signature: tuple[int, int, int]
    ann: Any = None
    """An :class:`rlm.search.ann.AnnIndex` or None."""
    token: tuple[int, int, int] | None = field(default=None, repr=False)
    passages: PassageIndex | None = None
    codes: npt.NDArray[np.uint64] | None = None
    """Sign codes of the chunk rows (``words`` x rows, see :mod:`rlm.search.passage_file`)."""
    centre: npt.NDArray[np.float32] | None = None
    approximate: bool = False
    """Unfiltered queries take the sign-code first pass (set by :func:`vector_index`)."""

    @property
    def size(self) -> int:
        return int(self.chunk_ids.shape[0])

    @property
    def nbytes(self) -> int:
        """Memory held by the matrices (the vector memory the benchmarks report)."""
        extra = self.passages.nbytes if self.passages is not None else 0
        codes = self.codes.nbytes if self.codes is not None else 0
        return int(
            self.matrix.nbytes + self.chunk_ids.nbytes + self.buffer_ids.nbytes + extra + codes
        )

    def scores(
        self,
        q: npt.NDArray[np.float32],
        weight: float | None = None,
        chunk_query: npt.NDArray[np.float32] | None = None,
    ) -> npt.NDArray[np.float32]:
        """Every chunk row's semantic score for the unit query ``q`` (``weight``: of the
        best passage; default :data:`PASSAGE_WEIGHT`; ``chunk_query``: the vector the
        chunk term is scored with instead of ``q``, see :func:`long_query_chunk_vector`)."""
        chunk: npt.NDArray[np.float32] = self.matrix @ (q if chunk_query is None else chunk_query)
        p = self.passages
        if p is None or p.size == 0:
            return chunk
        import numpy as np

        best = np.maximum.reduceat(p.matrix @ q, p.starts)
        rows = p.group_rows
        chunk[rows] = blend(best, chunk[rows], PASSAGE_WEIGHT if weight is None else weight)
        return chunk

    def approximate_scores(
        self,
        q: npt.NDArray[np.float32],
        limit: int,
        weight: float | None = None,
        chunk_query: npt.NDArray[np.float32] | None = None,
    ) -> npt.NDArray[np.float32]:
        """:meth:`scores` through the sign-code first pass: exact scores for the
        candidate chunks, ``-inf`` for the others (see the module docstring)."""
        import numpy as np

        n = self.size
        out = np.full(n, -np.inf, dtype=np.float32)
        if self.codes is None or self.centre is None:
            return self.scores(q, weight, chunk_query)
        cq = q if chunk_query is None else chunk_query
        chunk_count = max(CHUNK_CANDIDATES, CHUNKS_PER_HIT * limit)
        p = self.passages
        if p is None or p.size == 0 or p.codes is None or p.centre is None:
            rows = nearest_rows(self.codes, self.centre, q, chunk_count)
            out[rows] = _dots(self.matrix, rows, cq)
            return out
        assert p.group_of_row is not None
        prows = nearest_rows(
            p.codes, p.centre, q, max(PASSAGE_CANDIDATES, PASSAGES_PER_HIT * limit)
        )
        groups = p.group_of_passage[prows].astype(np.int64)
        best = np.full(p.starts.shape[0], -np.inf, dtype=np.float32)
        np.maximum.at(best, groups, p.dots(prows, q))
        # Boolean marks, not np.unique / union1d: those hash or sort (10 ms here).
        seen = np.zeros(p.starts.shape[0], dtype=bool)
        seen[groups] = True
        hit = np.flatnonzero(seen)
        keep = max(CHUNK_RERANK, RERANK_PER_HIT * limit)
        if hit.size > keep:  # the chunk vector weighs 1 - w: rerank the best groups only
            hit = hit[np.argpartition(best[hit], hit.size - keep)[hit.size - keep :]]
        grows = p.group_rows[hit]
        mark = np.zeros(n, dtype=bool)
        mark[grows] = True
        if p.starts.shape[0] < n:  # chunks without passages compete by their chunk vector
            rows = nearest_rows(self.codes, self.centre, q, chunk_count)
            mark[rows[p.group_of_row[rows] < 0]] = True
        both = np.flatnonzero(mark)
        out[both] = _dots(self.matrix, both, cq)
        out[grows] = blend(best[hit], out[grows], PASSAGE_WEIGHT if weight is None else weight)
        return out

    def best_passages(
        self, chunk_ids: list[int], queries: list[npt.NDArray[np.float32]]
    ) -> dict[int, tuple[int, float]]:
        """Per chunk id: (ordinal, cosine) of its passage closest to any of ``queries``."""
        import numpy as np

        p = self.passages
        if p is None or p.size == 0 or not queries:
            return {}
        qs = np.stack([_unit(q) for q in queries], axis=1)
        out: dict[int, tuple[int, float]] = {}
        for cid in chunk_ids:
            lo = int(np.searchsorted(p.chunk_ids, cid, side="left"))
            hi = int(np.searchsorted(p.chunk_ids, cid, side="right"))
            if hi <= lo:
                continue
            sims = (p.matrix[lo:hi] @ qs).max(axis=1)
            i = int(np.argmax(sims))
            out[cid] = (int(p.ordinals[lo + i]), float(sims[i]))
        return out

    def search(
        self,
        query: npt.NDArray[np.float32],
        limit: int,
        threshold: float | None = None,
        buffer_ids: list[int] | None = None,
        *,
        exact: bool = False,
        passages: bool = True,
        weight: float | None = None,
        chunk_query: npt.NDArray[np.float32] | None = None,
    ) -> list[tuple[int, float]]:
        """(chunk id, score) best first; ties by chunk id; ``score >= threshold``.

        The score blends each chunk's best passage with its chunk vector
        (``passages=False``: the chunk cosine alone, what the ANN index answers;
        ``chunk_query``: see :meth:`scores`).
        """
        import numpy as np

        if limit <= 0 or self.size == 0:
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.matrix.shape[1]:
            return []
        norm = float(np.linalg.norm(q))
        if norm == 0.0:
            return []
        q = q / np.float32(norm)
        if self.ann is not None and buffer_ids is None and not exact:
            hits: list[tuple[int, float]] = self.ann.search(q, limit)
            if threshold is not None:
                hits = [(cid, s) for cid, s in hits if s >= threshold]
            return hits
        if self.approximate and passages and buffer_ids is None and not exact:
            scores = self.approximate_scores(q, limit, weight, chunk_query)
        else:
            scores = self.scores(q, weight, chunk_query) if passages else self.matrix @ q
        if buffer_ids is not None:
            scores[~np.isin(self.buffer_ids, np.asarray(buffer_ids, dtype=np.int64))] = -np.inf
        return top_scores(scores, self.chunk_ids, limit, threshold)

    def search_max(
        self,
        queries: list[tuple[npt.NDArray[np.float32], float | None]],
        limit: int,
        threshold: float | None = None,
        buffer_ids: list[int] | None = None,
        chunk_queries: Sequence[npt.NDArray[np.float32] | None] | None = None,
    ) -> list[tuple[int, float]]:
        """Like :meth:`search` for several (query vector, passage weight) pairs at once:
        each chunk scored by its best score over the queries (one semantic leg for the
        typed entries of one search). ``chunk_queries``: per query, its chunk-term
        vector or None (see :meth:`scores`)."""
        import numpy as np

        chunk_vectors = list(chunk_queries) if chunk_queries else [None] * len(queries)
        if len(queries) == 1:
            q, w = queries[0]
            return self.search(
                q, limit, threshold, buffer_ids, weight=w, chunk_query=chunk_vectors[0]
            )
        if limit <= 0 or self.size == 0 or not queries:
            return []
        if self.ann is not None and buffer_ids is None:
            best: dict[int, float] = {}
            for q, w in queries:  # the HNSW index answers from chunk vectors only
                for cid, score in self.search(q, limit, threshold, weight=w):
                    best[cid] = max(score, best.get(cid, score))
            return sorted(best.items(), key=lambda item: (-item[1], item[0]))[:limit]
        scores: npt.NDArray[np.float32] | None = None
        for (q, w), cq in zip(queries, chunk_vectors, strict=True):
            v = np.ascontiguousarray(q, dtype=np.float32).reshape(-1)
            norm = float(np.linalg.norm(v))
            if v.shape[0] != self.matrix.shape[1] or norm == 0.0:
                continue
            v = v / np.float32(norm)
            if self.approximate and buffer_ids is None:
                one = self.approximate_scores(v, limit, w, cq)
            else:
                one = self.scores(v, w, cq)
            scores = one if scores is None else np.maximum(scores, one, out=scores)
        if scores is None:
            return []
        if buffer_ids is not None:
            scores[~np.isin(self.buffer_ids, np.asarray(buffer_ids, dtype=np.int64))] = -np.inf
        return top_scores(scores, self.chunk_ids, limit, threshold)


@dataclass
class PassageIndex:
    """One model's passage vectors, grouped by chunk (rows sorted by chunk id, ordinal)."""

    chunk_ids: npt.NDArray[np.int64]
    ordinals: npt.NDArray[np.int64]
    matrix: npt.NDArray[np.float32]
    starts: npt.NDArray[np.int64]
    """First passage row of each chunk group (for ``np.maximum.reduceat``)."""
    group_rows: npt.NDArray[np.int64]
    """The chunk-matrix row of each group."""
    signature: tuple[int, int, int]
    group_of_passage: npt.NDArray[np.int32]
    """Per passage row: its group (a lookup for the first pass's candidates, where a
    ``searchsorted`` of 24k rows in the group starts took 1.3 ms)."""
    group_of_row: npt.NDArray[np.int64] | None = None
    """Per chunk-matrix row: its group, or -1 (no passages)."""
    codes: npt.NDArray[np.uint64] | None = None
    """Sign codes of the passage rows (``words`` x rows)."""
    centre: npt.NDArray[np.float32] | None = None
    matrix8: npt.NDArray[np.int8] | None = None
    """The int8 copy the first pass rescores candidates with (``matrix8 * scales``
    is ``matrix``; see :func:`rlm.search.passage_file.int8_rows`)."""
    scales: npt.NDArray[np.float32] | None = None

    @property
    def size(self) -> int:
        return int(self.chunk_ids.shape[0])

    @property
    def nbytes(self) -> int:
        return int(
            self.matrix.nbytes
            + self.chunk_ids.nbytes
            + self.ordinals.nbytes
            + self.starts.nbytes
            + self.group_rows.nbytes
            + (self.codes.nbytes if self.codes is not None else 0)
            + (self.group_of_row.nbytes if self.group_of_row is not None else 0)
            + (self.matrix8.nbytes if self.matrix8 is not None else 0)
            + (self.scales.nbytes if self.scales is not None else 0)
            + self.group_of_passage.nbytes
        )

    def dots(
        self, rows: npt.NDArray[np.int64], q: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """Cosines of passage ``rows`` with the unit query ``q``, read from the int8
        copy when there is one (a quarter of the bytes to gather)."""
        if self.matrix8 is None or self.scales is None:
            return _dots(self.matrix, rows, q)
        return _dots8(self.matrix8, self.scales, rows, q)


def _unit(q: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    import numpy as np

    v = np.ascontiguousarray(q, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(v))
    out: npt.NDArray[np.float32] = v / np.float32(norm) if norm > 0 else v
    return out


def _dots(
    matrix: npt.NDArray[np.float32], rows: npt.NDArray[np.int64], q: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """``matrix[rows] @ q`` without BLAS: for a few thousand rows, a threaded OpenBLAS
    gemv cost 3-15 ms of thread wake-ups on the loaded 2-core machine, einsum 0.9 ms."""
    import numpy as np

    out: npt.NDArray[np.float32] = np.einsum("ij,j->i", matrix[rows], q)
    return out


def _dots8(
    matrix8: npt.NDArray[np.int8],
    scales: npt.NDArray[np.float32],
    rows: npt.NDArray[np.int64],
    q: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """:func:`_dots` over the int8 copy: ``(matrix8[rows] @ q) * scales[rows]``.

    einsum casts the int8 rows to float32 in cache-sized buffers as it goes; an
    ``astype`` copy first, or a float32 buffer filled in blocks, was no faster
    (24k rows of 1M: 9.1 ms with the gather against 21.1 ms for the float32 rows,
    interleaved)."""
    import numpy as np

    out: npt.NDArray[np.float32] = np.einsum("ij,j->i", matrix8[rows], q)
    out *= scales[rows]
    return out


def hamming(codes: npt.NDArray[np.uint64], query: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint16]:
    """Hamming distance of every code column to ``query`` (one code, ``words`` uint64).

    Word-major codes, scanned in blocks that stay in cache (XOR, popcount, add into
    preallocated buffers): 13 ms per 1M 384-bit codes on a loaded 2-core machine,
    against 215 ms for the float32 matrix-vector product in the same run.
    """
    import numpy as np

    n = int(codes.shape[1])
    out = np.empty(n, dtype=np.uint16)
    block = 32768
    x = np.empty(block, dtype=np.uint64)
    c = np.empty(block, dtype=np.uint8)
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        k = hi - lo
        dst = out[lo:hi]
        for w in range(codes.shape[0]):
            np.bitwise_xor(codes[w, lo:hi], query[w], out=x[:k])
            np.bitwise_count(x[:k], out=c[:k])
            if w == 0:
                dst[:] = c[:k]
            else:
                np.add(dst, c[:k], out=dst)
    return out


def nearest_rows(
    codes: npt.NDArray[np.uint64],
    centre: npt.NDArray[np.float32],
    q: npt.NDArray[np.float32],
    count: int,
) -> npt.NDArray[np.int64]:
    """At least ``count`` rows (all rows tied at the cut) nearest to ``q`` by sign code."""
    import numpy as np

    from rlm.search.passage_file import sign_codes

    n = int(codes.shape[1])
    if n <= count:
        return np.arange(n, dtype=np.int64)
    qcode = sign_codes(q.reshape(1, -1), centre)[:, 0]
    dist = hamming(codes, qcode)
    cut = _cut(dist, count, codes.shape[0] * 64)
    return np.flatnonzero(dist <= cut).astype(np.int64, copy=False)


CUT_SAMPLE = 16
"""The Hamming cut is guessed from every this-many-th distance, then checked."""


def _cut(dist: npt.NDArray[np.uint16], count: int, bits: int) -> int:
    """The smallest distance ``d`` with at least ``count`` rows at ``d`` or nearer.

    A histogram of every :data:`CUT_SAMPLE`-th row guesses it, and counts over all
    rows move the guess to the exact answer (usually one or two steps): the same cut
    as a full ``bincount`` (which converts 1M distances to int64 first: 3.7 ms of
    the 5.6 ms cut, against 2.4 ms for this, flatnonzero included).
    """
    import numpy as np

    sample = np.bincount(dist[::CUT_SAMPLE], minlength=bits + 1)
    cut = int(np.searchsorted(np.cumsum(sample), count / CUT_SAMPLE))
    cut = min(cut, bits)
    if int(np.count_nonzero(dist <= cut)) >= count:
        while cut > 0 and int(np.count_nonzero(dist <= cut - 1)) >= count:
            cut -= 1
    else:
        while cut < bits and int(np.count_nonzero(dist <= cut)) < count:
            cut += 1
    return cut


def top_scores(
    scores: npt.NDArray[np.float32],
    ids: npt.NDArray[np.int64],
    limit: int,
    threshold: float | None,
) -> list[tuple[int, float]]:
    """The ``limit`` best (id, score), ties by id, never ``-inf`` (filtered out).

    One pass selects the candidates (threshold, else a partial sort), so the
    cost over a bare matrix-vector product is a few linear scans.
    """
    import numpy as np

    if threshold is not None:
        rows = np.flatnonzero(scores >= np.float32(threshold))
    elif scores.size > limit:
        rows = np.argpartition(scores, scores.size - limit)[scores.size - limit :]
        # Every row tied with the weakest kept score competes on chunk id.
        rows = np.flatnonzero(scores >= scores[rows].min())
    else:
        rows = np.arange(scores.size)
    rows = rows[scores[rows] > -np.inf]
    if rows.size > limit:
        sub = scores[rows]
        kth = np.partition(sub, sub.size - limit)[sub.size - limit]
        rows = rows[sub >= kth]
    order = np.lexsort((ids[rows], -scores[rows]))[:limit]
    chosen = rows[order]
    return [(int(i), float(s)) for i, s in zip(ids[chosen], scores[chosen], strict=True)]


_cache: dict[tuple[str, str, int], VectorIndex] = {}
_lock = threading.Lock()


def _store_key(store: Store) -> str:
    return store.identity


def vector_index(
    store: Store, fingerprint: str, dimensions: int, *, use_ann: bool | None = None
) -> VectorIndex:
    """The (cached) vectors of one model in ``store``.

    ``use_ann``: None = automatic (at least :data:`ANN_MIN_VECTORS` vectors and
    usearch installed), True = build/open the index whenever usearch is
    installed, False = do not build one (an index already open stays; pass
    ``exact=True`` to :meth:`VectorIndex.search` to bypass it).
    """
    key = (_store_key(store), fingerprint, dimensions)
    with _lock:
        token = store.change_token()
        entry = _cache.get(key)
        if entry is None or entry.token != token:
            entry = _refresh(store, key, entry, fingerprint, dimensions)
            entry.token = token
        rows = entry.size + (entry.passages.size if entry.passages is not None else 0)
        entry.approximate = rows >= APPROX_MIN_ROWS
        if entry.approximate:
            _ensure_codes(entry)
        want_ann = entry.size >= ANN_MIN_VECTORS if use_ann is None else use_ann
        if want_ann and entry.ann is None and entry.size:
            from rlm.search.ann import load_or_build

            entry.ann = load_or_build(store, fingerprint, entry)
        return entry


def _refresh(
    store: Store,
    key: tuple[str, str, int],
    entry: VectorIndex | None,
    fingerprint: str,
    dimensions: int,
) -> VectorIndex:
    signature = store.vector_signature(fingerprint, dimensions)
    psig = store.passage_signature(fingerprint, dimensions)
    if entry is None or entry.signature != signature:
        from rlm.search import passage_file

        # Mapped from the sidecar when in step (a new process decodes no rows).
        chunks = passage_file.load_chunks(store, fingerprint, dimensions, signature)
        entry = VectorIndex(
            chunk_ids=chunks.chunk_ids,
            buffer_ids=chunks.buffer_ids,
            matrix=chunks.matrix,
            signature=signature,
            codes=chunks.codes,
            centre=chunks.centre,
        )
        _cache[key] = entry
    if entry.passages is None or entry.passages.signature != psig:
        entry.passages = _load_passages(store, entry, fingerprint, dimensions, psig)
    return entry


def _load_passages(
    store: Store,
    entry: VectorIndex,
    fingerprint: str,
    dimensions: int,
    signature: tuple[int, int, int],
) -> PassageIndex:
    """The passages of the chunks in ``entry``, grouped by chunk (others are dropped).

    Rows come from the memory-mapped sidecar when it matches ``signature`` (see
    :mod:`rlm.search.passage_file`), else from SQLite (and the sidecar is rewritten).
    """
    import numpy as np

    from rlm.search import passage_file

    loaded = passage_file.load(store, fingerprint, dimensions, signature)
    rows = np.searchsorted(entry.chunk_ids, loaded.chunk_ids)
    rows = np.minimum(rows, max(entry.size - 1, 0))
    keep = (
        entry.chunk_ids[rows] == loaded.chunk_ids
        if entry.size
        else np.zeros(loaded.chunk_ids.shape[0], dtype=bool)
    )
    matrix = loaded.matrix  # row-normalised already
    chunk_ids, ordinals, codes = loaded.chunk_ids, loaded.ordinals, loaded.codes
    matrix8, scales = loaded.matrix8, loaded.scales
    if not keep.all():  # passages of chunks without a chunk vector (rare): drop them
        chunk_ids, ordinals = chunk_ids[keep], ordinals[keep]
        rows, matrix = rows[keep], matrix[keep]
        codes = None if codes is None else codes[:, keep]
        matrix8 = None if matrix8 is None else matrix8[keep]
        scales = None if scales is None else scales[keep]
    rows = rows.astype(np.int64, copy=False)
    if chunk_ids.size:
        starts = np.flatnonzero(np.r_[True, chunk_ids[1:] != chunk_ids[:-1]]).astype(np.int64)
    else:
        starts = np.zeros(0, dtype=np.int64)
    group_rows = rows[starts]
    group_of_row = np.full(entry.size, -1, dtype=np.int64)
    group_of_row[group_rows] = np.arange(group_rows.shape[0], dtype=np.int64)
    sizes = np.diff(starts, append=chunk_ids.shape[0])
    group_of_passage = np.repeat(np.arange(starts.shape[0], dtype=np.int32), sizes)
    return PassageIndex(
        chunk_ids=chunk_ids,
        ordinals=ordinals,
        matrix=matrix,
        starts=starts,
        group_rows=group_rows,
        signature=signature,
        group_of_row=group_of_row,
        codes=codes,
        centre=loaded.centre,
        matrix8=matrix8,
        scales=scales,
        group_of_passage=group_of_passage,
    )


def _ensure_codes(entry: VectorIndex) -> None:
    """Sign codes for matrices that came without them (decoded from SQLite: a
    read-only or in-memory store); the sidecars carry them."""
    from rlm.search.passage_file import ChunkArrays, PassageArrays, with_codes

    if entry.codes is None:
        coded = with_codes(ChunkArrays(entry.chunk_ids, entry.buffer_ids, entry.matrix))
        entry.codes, entry.centre = coded.codes, coded.centre
    p = entry.passages
    if p is not None and (p.codes is None or p.matrix8 is None):
        passages = with_codes(PassageArrays(p.chunk_ids, p.ordinals, p.matrix))
        assert isinstance(passages, PassageArrays)
        p.codes, p.centre = passages.codes, passages.centre
        p.matrix8, p.scales = passages.matrix8, passages.scales


def clear_cache() -> None:
    """Forget every cached matrix (tests; or to free memory)."""
    with _lock:
        _cache.clear()
