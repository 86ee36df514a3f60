"""Fusion lab: every leg of every query computed once, fusion variants scored offline.

``search_variants.py`` re-runs whole searches per variant (minutes per grid
point on ArguAna). This script instead records, once per dataset, what the
legs see: each query's BM25 list (rlm's leg and plain FTS5 porter-only) and,
per chunk, its chunk-vector cosine and its best and second-best passage
cosines. Fusion variants (how typed entries are grouped, RRF vs score-aware
combination, passage weights per query length) are then pure NumPy over those
records, so a grid over all sets takes seconds and every variant is checked on
needles (plain and typed) AND the BEIR sets at once.

    python bench/fusion_lab.py --needles --beir ../shared/bench-data/vaswani-npl=STORE \
        --beir ../shared/bench-data/arguana=STORE --limit-queries 500 --grid baseline

Grids (``--grid``): ``baseline`` (before/after of this round), ``typed``/``typed2`` (how
typed entries become legs), ``fusion``/``fusion2``/``fusion3`` (fusion methods),
``weights``/``long`` (passage weights), ``lexical`` (rlm's BM25 leg vs plain FTS5),
``claims`` (short statements, not questions: bench/claims.py sets and ``--cut-words``).

Claim sets are BEIR folders that ``bench/claims.py --set NAME --folder-only`` prints; pass
each with the store of its source set:

    python bench/fusion_lab.py --grid claims \
        --beir "$(python bench/claims.py --set arg-hard --folder-only)=ARGUANA_STORE"

Stores come from ``bench/needles.py`` (its cache) and ``rlm eval DIR --store PATH``.
Legs are cached in ``--cache`` (``lab-*.pkl``), keyed by store file and query set.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import needles
import numpy as np
import numpy.typing as npt

DEPTH = 200  # engine.MIN_CANDIDATES
LONG_WORDS = 48  # rlm.search.vector.LONG_QUERY_WORDS
F32 = npt.NDArray[np.float32]


@dataclass
class EntryLegs:
    """What one query entry's legs see."""

    text: str
    kind: str
    lex: list[tuple[int, float]]
    porter: list[tuple[int, float]]
    chunk: F32 | None  # cosine to each chunk vector (row order = ids)
    best: F32 | None  # best passage cosine per chunk (chunk cosine where no passages)
    second: F32 | None  # second-best passage cosine (best where only one)
    pooled: F32 | None = None  # long entries: the query's pooled passage vector · chunk vectors
    late: F32 | None = None  # long entries: mean over query passages of their best passage cosine


@dataclass
class Query:
    qid: str
    entries: list[EntryLegs]


@dataclass
class Dataset:
    name: str
    ids: npt.NDArray[np.int64]  # chunk id of each row
    queries: list[Query]
    judge: Callable[[str, list[int]], dict[str, float]]


def _entry_legs(store: Any, index: Any, embedder: Any, text: str, kind: str) -> EntryLegs:
    from rlm.search.lexical import lexical_ranking, porter_only_ranking

    lex = lexical_ranking(store, text, DEPTH) if kind in ("", "lex", "hyde") else []
    porter = porter_only_ranking(store, text, DEPTH) if kind in ("", "lex", "hyde") else []
    chunk = best = second = None
    if kind in ("", "vec", "hyde", "lex"):
        q = embedder.embed_query(text).astype(np.float32)
        q /= np.linalg.norm(q)
        chunk = (index.matrix @ q).astype(np.float32)
        best = chunk.copy()
        second = chunk.copy()
        p = index.passages
        if p is not None and p.size:
            sims = p.matrix @ q
            group = np.repeat(np.arange(p.starts.size), np.diff(np.r_[p.starts, sims.size]))
            ordered = sims[np.lexsort((-sims, group))]  # each group's cosines, best first
            top = ordered[p.starts]
            size = np.diff(np.r_[p.starts, sims.size])
            sec = np.where(size > 1, ordered[np.minimum(p.starts + 1, sims.size - 1)], top)
            best[p.group_rows] = top
            second[p.group_rows] = sec
    pooled = late = None
    if chunk is not None and len(text.split()) > LONG_WORDS:
        batch = embedder.embed_passages([text])
        pooled = (index.matrix @ batch.vectors[0]).astype(np.float32)
        late = np.zeros_like(chunk)
        p = index.passages
        qp = batch.passage_vectors[0]
        for row in qp:
            row = row / np.linalg.norm(row)
            per = (index.matrix @ row).astype(np.float32)
            if p is not None and p.size:
                per[p.group_rows] = np.maximum.reduceat(p.matrix @ row, p.starts)
            late += per
        late /= len(qp)
    return EntryLegs(text, kind, lex, porter, chunk, best, second, pooled, late)


def _legs_for(
    store: Any, queries: list[tuple[str, list[tuple[str, str]]]], cache: Path, tag: str
) -> list[Query]:
    from rlm.embedding import get_embedder
    from rlm.search.vector import vector_index

    size = int(os.environ.get("LAB_STORE_SIZE", os.path.getsize(store.path)))
    key = hashlib.sha256(
        json.dumps([str(Path(store.path).resolve()), size, queries]).encode()
    ).hexdigest()[:12]
    path = cache / f"lab-{tag}-{key}.pkl"
    if path.exists():
        with open(path, "rb") as f:
            raw = pickle.load(f)
        return [Query(qid, [EntryLegs(**e) for e in entries]) for qid, entries in raw]
    embedder = get_embedder()
    index = vector_index(store, embedder.fingerprint, embedder.dimensions, use_ann=False)
    out = [
        Query(qid, [_entry_legs(store, index, embedder, t, k) for k, t in entries])
        for qid, entries in queries
    ]
    with open(path, "wb") as f:  # plain data: readable whichever module is __main__
        pickle.dump([(q.qid, [vars(e) for e in q.entries]) for q in out], f)
    return out


def load_needles(
    cache: Path, size_mb: float, blind: bool = False, needle_set: str = "a"
) -> Dataset:
    from rlm.embedding import get_embedder
    from rlm.search.vector import vector_index

    text, spans = needles.build_haystack(needles.DEFAULT_DATA, size_mb, needle_set=needle_set)
    store, _ = needles.cached_store(text, cache)
    targets = needles.needle_chunks(store, text, spans)
    qs: list[tuple[str, list[tuple[str, str]]]] = []
    for i, n in enumerate(needles.SETS[needle_set]):
        typed = needles.blind_queries(i, n, needle_set) if blind else n.typed_queries()
        entries = [("", n.question)] + [
            (kind.strip().lower(), text.strip())
            for kind, text in (t.split(":", 1) for t in typed[1:])
        ]
        qs.append((str(i), entries))
    tag = ("needles-blind" if blind else "needles") + ("" if needle_set == "a" else "-b")
    queries = _legs_for(store, qs, cache, tag)
    emb = get_embedder()
    ids = vector_index(store, emb.fingerprint, emb.dimensions, use_ann=False).chunk_ids.copy()

    def judge(qid: str, ranking: list[int]) -> dict[str, float]:
        hit = targets[int(qid)]
        rank = next((r for r, c in enumerate(ranking, 1) if c in hit), None)
        return {f"top{c}": float(rank is not None and rank <= c) for c in needles.CUTS}

    return Dataset(tag, ids, queries, judge)


def load_beir_set(
    folder: str, store_path: str, cache: Path, limit: int | None, cut_words: int | None = None
) -> Dataset:
    """A BEIR set's legs. ``cut_words``: each query cut to its first N words, and a query's own
    document (ArguAna's queries are documents of the corpus) removed from its legs before
    fusion, not only from the judged list: a short-query set where BM25 is the stronger leg,
    as on claim sets like SciFact, which have no self hit to distort each leg's scale."""
    from rlm.embedding import get_embedder
    from rlm.search.evaluation import _buffer_name, load_beir
    from rlm.search.metrics import mrr_at, ndcg_at, recall_at
    from rlm.search.vector import vector_index
    from rlm.store import Store

    data = load_beir(folder, limit)
    store = Store(store_path)
    buffer = store.find_buffer_by_name(_buffer_name(data))
    assert buffer is not None, f"{store_path} holds no {data.name} (run rlm eval --store)"
    refs = store.list_chunk_refs(buffer.id)
    doc_of = dict(zip([r.id for r in refs], data.doc_ids, strict=True))
    text_of = dict(zip(data.doc_ids, data.doc_texts, strict=True))
    if cut_words is not None:
        data.queries = {q: " ".join(t.split()[:cut_words]) for q, t in data.queries.items()}
    qs = [(qid, [("", text)]) for qid, text in data.queries.items()]
    queries = _legs_for(store, qs, cache, data.name)
    emb = get_embedder()
    ids = vector_index(store, emb.fingerprint, emb.dimensions, use_ann=False).chunk_ids.copy()
    if cut_words is not None:
        _drop_own_document(queries, {d: c for c, d in doc_of.items()}, ids)

    def judge(qid: str, ranking: list[int]) -> dict[str, float]:
        text = data.queries[qid]
        drop = qid in text_of and " ".join(text.split()) in " ".join(text_of[qid].split())
        docs = [doc_of[c] for c in ranking if c in doc_of]
        docs = [d for d in docs if not (drop and d == qid)][:100]
        judged = data.qrels.get(qid, {})
        return {
            "ndcg@10": ndcg_at(docs, judged, 10),
            "r@100": recall_at(docs, judged, 100),
            "mrr@10": mrr_at(docs, judged, 10),
        }

    return Dataset(data.name, ids, queries, judge)


def _drop_own_document(
    queries: list[Query], chunk_of: dict[str, int], ids: npt.NDArray[np.int64]
) -> None:
    row_of = {int(c): i for i, c in enumerate(ids)}
    for q in queries:
        own = chunk_of.get(q.qid)
        if own is None:
            continue
        for e in q.entries:
            e.lex = [h for h in e.lex if h[0] != own]
            e.porter = [h for h in e.porter if h[0] != own]
            for name in ("chunk", "best", "second", "pooled", "late"):
                scores = getattr(e, name)
                if scores is not None and own in row_of:
                    scores = scores.copy()
                    scores[row_of[own]] = -1.0
                    setattr(e, name, scores)


# ---------------------------------------------------------------- variants


@dataclass(frozen=True)
class Variant:
    """One way of turning legs into a ranking."""

    weight: float = 0.8  # best-passage weight, short queries
    long_weight: float = 0.5  # best-passage weight, queries of > long_words words
    long_words: int = 48
    second: float = 0.0  # share of the passage part given to the second-best passage
    long_second: float | None = None  # the same for long queries (None: ``second``)
    threshold: float = 0.3
    fusion: str = "rrf_bonus"  # rrf_bonus | rrf | score | zscore | mix
    k: float = 60.0
    bonus: tuple[float, ...] = (1.0, 0.5, 0.5)
    typed: str = "grouped"  # legs (one leg per entry) | grouped (one leg per kind)
    sem_group: str = "max"  # max | mean  (grouped: per-chunk over semantic entries)
    sem_lex: bool = False  # grouped: lex: entries are embedded too
    lex_text: str = "all"  # grouped: which entries form the one BM25 query
    sem_share: float = 0.5  # score fusion: semantic share
    mix: float = 1.0  # mix: weight of normalised-score term added to rrf_bonus
    lexical: str = "rlm"  # rlm | porter
    gap: float = 0.0  # gap: rank-1 bonus times (1 - gap + 2 * gap * certainty)
    norm_depth: int = 200  # mix: min-max over the leg's first norm_depth scores
    engine_gap: float = 0.5  # engine: rrf_certainty's GAP
    engine_score: float = 2.0  # engine: rrf_certainty's SCORE_WEIGHT
    engine_support: float = 0.5  # engine: rrf_certainty's SUPPORT (0: before the check)
    engine_depth: int = 20  # engine: rrf_certainty's SCORE_DEPTH (normalisation reference rank)
    questions_only: bool = True  # engine: check only when an entry is a question (as the engine)
    other_check: tuple[str, ...] = ()  # engine: legs checked for short non-questions
    other_support: float = 0.5  # engine: SUPPORT for those
    verify: float = 0.0  # verify: how much the other leg scales a checked leg's bonuses
    verify_legs: tuple[str, ...] = ("lex",)
    verify_score: bool = False  # verify: the checked leg's score term is scaled too
    verify_long: bool = True  # verify: long queries (> long_words words) are checked too
    long_chunk: str = "whole"  # long queries' chunk term: whole | pooled | avg (of the two)
    long_passage: str = "best"  # long queries' passage term: best | late | avg
    chunk_floor: float = 0.0  # rlm.search.vector.CHUNK_FLOOR (0: before it)
    long_floor: float | None = None  # the same for long queries (None: ``chunk_floor``)


def _sem_scores(e: EntryLegs, v: Variant) -> F32:
    assert e.chunk is not None and e.best is not None and e.second is not None
    long = len(e.text.split()) > v.long_words
    w = v.long_weight if long else v.weight
    second = v.long_second if long and v.long_second is not None else v.second
    passage = (1 - second) * e.best + second * e.second
    chunk = e.chunk
    if long and e.pooled is not None and e.late is not None:
        chunk = {"whole": e.chunk, "pooled": e.pooled, "avg": (e.chunk + e.pooled) / 2}[
            v.long_chunk
        ]
        passage = {"best": passage, "late": e.late, "avg": (passage + e.late) / 2}[v.long_passage]
    import rlm.search.vector as vector_mod

    saved = vector_mod.CHUNK_FLOOR  # the engine's blend, with this variant's floor
    vector_mod.CHUNK_FLOOR = v.long_floor if long and v.long_floor is not None else v.chunk_floor
    try:
        out: F32 = vector_mod.blend(passage.astype(np.float32), chunk.astype(np.float32), w)
    finally:
        vector_mod.CHUNK_FLOOR = saved
    return out


def _top(
    scores: F32, ids: npt.NDArray[np.int64], limit: int, thr: float | None
) -> list[tuple[int, float]]:
    rows = np.flatnonzero(scores >= thr) if thr is not None else np.arange(scores.size)
    if rows.size > limit:
        part = np.argpartition(-scores[rows], limit - 1)[:limit]
        rows = rows[part]
    order = np.lexsort((ids[rows], -scores[rows]))
    return [(int(ids[r]), float(scores[r])) for r in rows[order]]


def _lex_of(e: EntryLegs, v: Variant) -> list[tuple[int, float]]:
    return e.porter if v.lexical == "porter" else e.lex


def legs_of(
    q: Query, ds: Dataset, v: Variant, mode: str, grouped_lex: dict[str, Any]
) -> list[list[tuple[int, float]]]:
    """The legs one mode fuses for query ``q`` under variant ``v``."""
    want_sem = mode in ("semantic", "hybrid")
    want_lex = mode in ("bm25", "hybrid")
    sem_entries = [e for e in q.entries if e.chunk is not None and e.kind != "lex"]
    if v.sem_lex and v.typed == "grouped":
        sem_entries += [e for e in q.entries if e.kind == "lex" and e.chunk is not None]
    lex_entries = [e for e in q.entries if e.kind in ("", "lex", "hyde")]
    legs: list[list[tuple[int, float]]] = []
    if v.typed == "legs" or len(q.entries) == 1:
        for e in q.entries:
            if want_sem and e.chunk is not None and e.kind != "lex":
                legs.append(_top(_sem_scores(e, v), ds.ids, DEPTH, v.threshold))
            if want_lex and e.kind in ("", "lex", "hyde"):
                legs.append(_lex_of(e, v))
        return legs
    if want_sem and sem_entries:
        stack = np.stack([_sem_scores(e, v) for e in sem_entries])
        sem = stack.max(axis=0) if v.sem_group == "max" else stack.mean(axis=0)
        legs.append(_top(sem.astype(np.float32), ds.ids, DEPTH, v.threshold))
    if want_lex and lex_entries:
        legs.append(grouped_lex[q.qid][v.lex_text])
    return legs


def fuse_legs(
    legs: list[list[tuple[int, float]]],
    v: Variant,
    kinds: list[str],
    long: bool = False,
    question: bool = False,
) -> list[int]:
    from rlm.search.fusion import Leg, fuse

    if len(legs) == 1:
        return [c for c, _ in legs[0]]
    if v.fusion in ("rrf", "rrf_bonus", "score"):
        return [f.chunk_id for f in fuse([Leg(h) for h in legs], v.fusion, v.k, v.bonus)]
    if v.fusion in ("gap", "engine"):  # the engine's rrf_certainty (gap: no score term)
        import rlm.search.fusion as fusion_mod

        saved = fusion_mod.GAP, fusion_mod.SCORE_WEIGHT, fusion_mod.SUPPORT, fusion_mod.SCORE_DEPTH
        fusion_mod.SCORE_DEPTH = v.engine_depth
        if v.fusion == "gap":
            fusion_mod.GAP, fusion_mod.SCORE_WEIGHT = v.gap, 0.0
        else:
            fusion_mod.GAP, fusion_mod.SCORE_WEIGHT = v.engine_gap, v.engine_score
            fusion_mod.SUPPORT = v.engine_support
        weights = [(2 * v.sem_share if kind == "sem" else 2 * (1 - v.sem_share)) for kind in kinds]
        # As the engine: a short question's lexical leg must be backed (Leg.checked).
        check = v.fusion == "engine" and not long and (question or not v.questions_only)
        checked = [check and kind == "lex" for kind in kinds]
        if v.fusion == "engine" and not long and not check and v.other_check:
            checked = [kind in v.other_check for kind in kinds]
            fusion_mod.SUPPORT = v.other_support
        try:
            fused = fuse(
                [Leg(h, w, c) for h, w, c in zip(legs, weights, checked, strict=True)],
                "rrf_certainty",
                v.k,
                v.bonus,
            )
        finally:
            (
                fusion_mod.GAP,
                fusion_mod.SCORE_WEIGHT,
                fusion_mod.SUPPORT,
                fusion_mod.SCORE_DEPTH,
            ) = saved
        return [f.chunk_id for f in fused]
    if v.fusion == "verify":
        if long and not v.verify_long:
            v = Variant(**{**vars(v), "verify": 0.0})
        return _verify(legs, v, kinds)
    scores: dict[int, float] = {}
    for hits, kind in zip(legs, kinds, strict=True):
        if not hits:
            continue
        vals = np.array([s for _, s in hits], dtype=np.float64)
        ref = vals[: v.norm_depth]
        share = v.sem_share if kind == "sem" else 1 - v.sem_share
        if v.fusion == "zscore":
            sd = vals.std() or 1.0
            norm = (vals - vals.mean()) / sd
        elif v.fusion == "maxnorm":  # divide by the leg's best: keeps a leg's confidence gap
            norm = vals / (vals.max() or 1.0)
        else:  # mix: rrf_bonus + mix * min-max
            lo, hi = ref.min(), ref.max()
            norm = np.clip((vals - lo) / (hi - lo), 0, 1) if hi > lo else np.ones_like(vals)
        from rlm.search.fusion import certainty

        first = 1 - v.gap + 2 * v.gap * certainty(hits) if v.gap else 1.0
        for rank, ((cid, _), n) in enumerate(zip(hits, norm, strict=True), 1):
            gain = share * 2 * float(n)
            if v.fusion == "mix":
                gain = v.mix * gain / (v.k + 1)
                b = v.bonus[rank - 1] if rank <= len(v.bonus) else 0.0
                gain += 1 / (v.k + rank) + b * (first if rank == 1 else 1.0) / (v.k + 1)
            scores[cid] = scores.get(cid, 0.0) + gain
    return [c for c, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))]


def _verify(legs: list[list[tuple[int, float]]], v: Variant, kinds: list[str]) -> list[int]:
    """rrf_certainty whose top-rank bonuses of one leg are checked by the other leg:
    a bonus is scaled by ``1 - verify + verify * n``, ``n`` the chunk's normalised score in
    the other leg (0 where absent). ``verify_legs``: which legs are checked."""
    from rlm.search.fusion import SCORE_DEPTH, _normalised, certainty

    norms: dict[str, dict[int, float]] = {}
    for hits, kind in zip(legs, kinds, strict=True):
        if hits:
            top, ref = hits[0][1], hits[min(SCORE_DEPTH, len(hits)) - 1][1]
            norms[kind] = {c: _normalised(s, top, ref) for c, s in hits}
    scores: dict[int, float] = {}
    best: dict[int, int] = {}
    k = v.k
    for hits, kind in zip(legs, kinds, strict=True):
        if not hits:
            continue
        other = norms.get("lex" if kind == "sem" else "sem", {})
        checked = kind in v.verify_legs
        first = 1.0 - v.engine_gap + 2.0 * v.engine_gap * certainty(hits)
        weight = 2 * v.sem_share if kind == "sem" else 2 * (1 - v.sem_share)
        for rank, (cid, _) in enumerate(hits, start=1):
            support = 1 - v.verify + v.verify * other.get(cid, 0.0) if checked else 1.0
            gain = 1.0 / (k + rank)
            if rank <= len(v.bonus):
                b = v.bonus[rank - 1] * (first if rank == 1 else 1.0)
                gain += support * b / (k + 1)
            score_term = v.engine_score * norms[kind][cid] / (k + 1)
            gain += support * score_term if v.verify_score else score_term
            scores[cid] = scores.get(cid, 0.0) + weight * gain
            best[cid] = min(best.get(cid, rank), rank)
    return [c for c, _ in sorted(scores.items(), key=lambda kv: (-kv[1], best[kv[0]], kv[0]))]


def run(
    ds: Dataset, v: Variant, modes: Sequence[str], grouped_lex: dict[str, Any], typed: bool
) -> dict[str, dict[str, float]]:
    from rlm.search.queries import is_question

    out: dict[str, dict[str, float]] = {}
    for mode in modes:
        totals: dict[str, float] = {}
        for q in ds.queries:
            qq = q if typed else Query(q.qid, q.entries[:1])
            legs = legs_of(qq, ds, v, mode, grouped_lex)
            kinds = _kinds(qq, v, mode)
            long = len(qq.entries[0].text.split()) > v.long_words
            question = any(is_question(e.text) for e in qq.entries)
            ranking = fuse_legs(legs, v, kinds, long, question)[:100]
            for name, value in ds.judge(q.qid, ranking).items():
                totals[name] = totals.get(name, 0.0) + value
        n = len(ds.queries)
        out[mode] = {
            k: (val if ds.name.startswith("needles") else val / n) for k, val in totals.items()
        }
    return out


def _kinds(q: Query, v: Variant, mode: str) -> list[str]:
    want_sem = mode in ("semantic", "hybrid")
    want_lex = mode in ("bm25", "hybrid")
    kinds: list[str] = []
    if v.typed == "legs" or len(q.entries) == 1:
        for e in q.entries:
            if want_sem and e.chunk is not None and e.kind != "lex":
                kinds.append("sem")
            if want_lex and e.kind in ("", "lex", "hyde"):
                kinds.append("lex")
        return kinds
    if want_sem:
        kinds.append("sem")
    if want_lex:
        kinds.append("lex")
    return kinds


def grouped_lexical(store: Any, ds: Dataset) -> dict[str, Any]:
    """Per needle: one BM25 list per way of joining the typed entries into one query."""
    from rlm.search.lexical import lexical_ranking

    out: dict[str, Any] = {}
    for q in ds.queries:
        by = {e.kind: e.text for e in q.entries}
        joins = {
            "q+lex+hyde": [by[""], by["lex"], by["hyde"]],
            "q+lex": [by[""], by["lex"]],
            "q+2lex+hyde": [by[""], by["lex"], by["lex"], by["hyde"]],
            "all": [by[""], by["lex"], by["vec"], by["hyde"]],
            "q+vec+hyde": [by[""], by["vec"], by["hyde"]],
            "q+hyde": [by[""], by["hyde"]],
        }
        out[q.qid] = {
            name: lexical_ranking(store, " ".join(parts), DEPTH) for name, parts in joins.items()
        }
    return out


def fmt(ds: Dataset, res: dict[str, dict[str, float]]) -> str:
    if ds.name.startswith("needles"):
        return " ".join(
            f"{m[:3]} {int(r['top1'])}/{int(r['top3'])}/{int(r['top10'])}" for m, r in res.items()
        )
    return " ".join(f"{m[:3]} {r['ndcg@10']:.4f}/{r['r@100']:.4f}" for m, r in res.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--needles", action="store_true")
    parser.add_argument("--size-mb", type=float, default=2.5)
    parser.add_argument("--needle-sets", default="a", help="needle sets: a, b or a,b")
    parser.add_argument("--beir", action="append", default=[], metavar="DIR=STORE")
    parser.add_argument("--limit-queries", type=int, default=None)
    parser.add_argument(
        "--cut-words",
        type=int,
        default=None,
        metavar="N",
        help="--beir sets: queries cut to N words, own document out of the legs (load_beir_set)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("RLM_BENCH_CACHE", Path.home() / ".cache" / "rlm-bench")),
    )
    parser.add_argument("--grid", default="baseline", help="name of a grid in GRIDS")
    parser.add_argument("--modes", default="bm25,semantic,hybrid")
    args = parser.parse_args()
    sets: list[tuple[Dataset, dict[str, Any]]] = []
    for needle_set in args.needle_sets.split(",") if args.needles else []:
        ds = load_needles(args.cache, args.size_mb, needle_set=needle_set)
        text, _ = needles.build_haystack(needles.DEFAULT_DATA, args.size_mb, needle_set=needle_set)
        store, _ = needles.cached_store(text, args.cache)
        sets.append((ds, grouped_lexical(store, ds)))
        blind = load_needles(args.cache, args.size_mb, blind=True, needle_set=needle_set)
        sets.append((blind, grouped_lexical(store, blind)))
    for item in args.beir:
        folder, path = item.split("=", 1)
        ds = load_beir_set(folder, path, args.cache, args.limit_queries, args.cut_words)
        sets.append((ds, {}))
    modes = args.modes.split(",")
    for name, v in GRIDS[args.grid]():
        parts = [name]
        for ds, grouped in sets:
            if ds.name in ("needles", "needles-b"):
                suffix = ds.name[len("needles") :]
                parts.append(f"plain{suffix} " + fmt(ds, run(ds, v, modes, grouped, False)))
                parts.append(f"typed{suffix} " + fmt(ds, run(ds, v, modes, grouped, True)))
            elif ds.name.startswith("needles-blind"):
                suffix = ds.name[len("needles-blind") :]
                parts.append(f"blind{suffix} " + fmt(ds, run(ds, v, modes, grouped, True)))
            else:
                parts.append(ds.name[:6] + " " + fmt(ds, run(ds, v, modes, grouped, False)))
        print(" | ".join(parts), flush=True)


def _grid(
    label: str, fixed: dict[str, Any], *axes: tuple[str | tuple[str, ...], Sequence[Any]]
) -> list[tuple[str, Variant]]:
    """Every combination of the ``axes`` (a field, or several fields set together from
    tuples), each a Variant of ``fixed`` plus those values, named after them."""
    import itertools

    out = []
    for values in itertools.product(*(vals for _, vals in axes)):
        kwargs = dict(fixed)
        for (names, _), value in zip(axes, values, strict=True):
            if isinstance(names, str):
                kwargs[names] = value
            else:
                kwargs.update(zip(names, value, strict=True))
        named = [
            (n if isinstance(n, str) else ",".join(n), v)
            for (n, _), v in zip(axes, values, strict=True)
        ]
        name = " ".join([label] + [f"{n}={v}" for n, v in named])
        out.append((name, Variant(**kwargs)))
    return out


ENGINE = {"fusion": "engine"}


def _baseline() -> list[tuple[str, Variant]]:
    return [
        ("before: one leg per entry, rrf_bonus", Variant(typed="legs")),
        ("one leg per kind, rrf_certainty", Variant(fusion="engine", engine_support=0.0)),
        ("after: and a short question's BM25 leg checked", Variant(fusion="engine")),
    ]


def _longq() -> list[tuple[str, Variant]]:
    """Long queries (ArguAna): the query cut into passages like a document."""
    return _grid(
        "long",
        ENGINE,
        ("long_chunk", ("whole", "pooled", "avg")),
        ("long_passage", ("best", "late", "avg")),
        ("long_weight", (0.3, 0.5)),
    )


def _verifyg() -> list[tuple[str, Variant]]:
    """A leg's top-rank bonus checked by the other leg's score of the same chunk."""
    return [
        ("engine", Variant(**ENGINE)),
        *_grid(
            "verify",
            {"fusion": "verify"},
            ("verify_legs", (("lex",), ("sem", "lex"))),
            ("verify", (0.0, 0.5, 0.75, 1.0)),
        ),
    ]


def _lexical() -> list[tuple[str, Variant]]:
    """rlm's lexical leg vs plain FTS5 BM25 over the porter index (issue #10 item 7)."""
    return [("rlm bm25 leg", Variant()), ("plain FTS5 porter", Variant(lexical="porter"))]


def _typed() -> list[tuple[str, Variant]]:
    out = [("legs", Variant())]
    for group in ("max", "mean"):
        for lex in ("q+lex+hyde", "q+lex", "q+2lex+hyde", "all"):
            for fusion in ("rrf_bonus", "mix"):
                out.append(
                    (f"grouped {group} {lex} {fusion}",
                     Variant(typed="grouped", sem_group=group, lex_text=lex, fusion=fusion))
                )  # fmt: skip
    return out


def _typed2() -> list[tuple[str, Variant]]:
    out = [("legs", Variant())]
    for lex in ("q+lex+hyde", "all", "q+vec+hyde", "q+hyde"):
        for sem_lex in (False, True):
            for fusion in ("rrf_bonus",):
                out.append(
                    (f"grouped max {lex} semlex={sem_lex}",
                     Variant(typed="grouped", lex_text=lex, sem_lex=sem_lex, fusion=fusion))
                )  # fmt: skip
    return out


def _fusion() -> list[tuple[str, Variant]]:
    out = [("rrf_bonus", Variant())]
    for k in (10.0, 30.0):
        out.append((f"rrf_bonus k{k:g}", Variant(k=k)))
    out.append(("rrf", Variant(fusion="rrf")))
    out.append(("score", Variant(fusion="score")))
    for share in (0.3, 0.5, 0.7):
        for fusion in ("zscore", "maxnorm"):
            out.append((f"{fusion} s{share}", Variant(fusion=fusion, sem_share=share)))
    for mix in (0.5, 1.0, 2.0, 4.0):
        for share in (0.5, 0.7):
            out.append((f"mix {mix} s{share}", Variant(fusion="mix", mix=mix, sem_share=share)))
    return out


def _fusion2() -> list[tuple[str, Variant]]:
    out = [("rrf_bonus", Variant())]
    for gap in (0.25, 0.5, 1.0):
        out.append((f"gap {gap}", Variant(fusion="gap", gap=gap)))
    for depth in (20, 50):
        for mix in (0.5, 1.0, 2.0):
            for share in (0.5, 0.7):
                out.append(
                    (f"mix {mix} s{share} d{depth}",
                     Variant(fusion="mix", mix=mix, sem_share=share, norm_depth=depth))
                )  # fmt: skip
    return out


def _fusion3() -> list[tuple[str, Variant]]:
    out = [("rrf_bonus", Variant()), ("rrf_certainty 0.5", Variant(fusion="gap", gap=0.5))]
    for gap in (0.0, 0.25, 0.5):
        for mix, share in ((1.0, 0.5), (2.0, 0.5), (1.0, 0.6), (2.0, 0.6), (3.0, 0.5)):
            out.append(
                (f"mix {mix} s{share} d20 gap{gap}",
                 Variant(fusion="mix", mix=mix, sem_share=share, norm_depth=20, gap=gap))
            )  # fmt: skip
    return out


def _long() -> list[tuple[str, Variant]]:
    return [
        (f"long {lw} rrf_certainty", Variant(fusion="engine", long_weight=lw))
        for lw in (0.35, 0.4, 0.45, 0.5)
    ]


def _weights() -> list[tuple[str, Variant]]:
    out = []
    for w in (0.6, 0.7, 0.8, 0.9):
        for second in (0.0, 0.3):
            out.append((f"w{w} 2nd{second}", Variant(weight=w, second=second)))
    for lw in (0.3, 0.4, 0.5, 0.6):
        out.append((f"long {lw}", Variant(long_weight=lw)))
    return out


def _share() -> list[tuple[str, Variant]]:
    """rrf_certainty with the semantic leg weighed more (sentence passages, issue #10)."""
    return [
        ("engine", Variant(**ENGINE)),
        *_grid("engine", ENGINE, ("sem_share", (0.55, 0.6, 0.65, 0.7))),
    ]


def _thr() -> list[tuple[str, Variant]]:
    """The semantic threshold under sentence passages, with and without a semantic share."""
    return _grid("engine", ENGINE, ("threshold", (0.3, 0.25, 0.2, 0.0)), ("sem_share", (0.5, 0.6)))


def _share2() -> list[tuple[str, Variant]]:
    """Semantic share with the score weight and GAP around it."""
    pairs = ((0.5, 2.0), (0.5, 3.0), (0.25, 2.0), (0.5, 1.5))
    return _grid(
        "engine", ENGINE, ("sem_share", (0.55, 0.6)), (("engine_gap", "engine_score"), pairs)
    )


def _long2() -> list[tuple[str, Variant]]:
    """Long queries over sentence passages: chunk-vector weight and second-best passage."""
    return _grid(
        "long", ENGINE, ("long_weight", (0.5, 0.35, 0.2, 0.0)), ("long_second", (0.0, 0.5))
    )


def _final() -> list[tuple[str, Variant]]:
    """The candidates left after ``share``/``share2``/``thr`` (sentence passages)."""
    return [
        ("engine s0.5 score2 (before)", Variant(fusion="engine")),
        ("engine s0.6 score1.5", Variant(fusion="engine", sem_share=0.6, engine_score=1.5)),
        ("engine s0.6 score2", Variant(fusion="engine", sem_share=0.6)),
        ("engine s0.55 score1.5", Variant(fusion="engine", sem_share=0.55, engine_score=1.5)),
        ("engine thr0.2", Variant(fusion="engine", threshold=0.2)),
    ]


def _claims() -> list[tuple[str, Variant]]:
    """Screens on short statements (bench/claims.py sets, ArguAna ``--cut-words 24``): what
    the engine does to a short query that is not a question, against the alternatives."""
    return [
        ("rrf", Variant(fusion="rrf")),
        ("score (min-max sum)", Variant(fusion="score")),
        ("engine", Variant(**ENGINE)),
        ("engine, statements' BM25 checked too", Variant(fusion="engine", questions_only=False)),
        *_grid("engine, statements check", ENGINE, ("other_check", (("lex", "sem"),))),
        *_grid("engine", ENGINE, ("engine_depth", (50, 200))),
        *_grid("engine", ENGINE, ("weight", (0.6, 0.7))),
    ]


def _floor() -> list[tuple[str, Variant]]:
    """A chunk relevant as a whole: its semantic score raised part of the way to its chunk
    vector's cosine where that is above the passage blend (long queries as the engine)."""
    engine = {"fusion": "engine", "long_weight": 0.3, "long_chunk": "avg"}
    return [
        ("engine", Variant(**engine)),
        *_grid("engine", engine, (("chunk_floor", "long_floor"), ((0.5, 0.0), (0.5, 0.5)))),
        *_grid("engine", engine, (("chunk_floor", "long_floor"), ((0.75, 0.5), (1.0, 0.5)))),
    ]


GRIDS: dict[str, Callable[[], list[tuple[str, Variant]]]] = {
    "claims": _claims,
    "floor": _floor,
    "final": _final,
    "long2": _long2,
    "share": _share,
    "share2": _share2,
    "thr": _thr,
    "baseline": _baseline,
    "lexical": _lexical,
    "typed": _typed,
    "typed2": _typed2,
    "fusion": _fusion,
    "fusion2": _fusion2,
    "fusion3": _fusion3,
    "long": _long,
    "weights": _weights,
    "longq": _longq,
    "verify": _verifyg,
    "verify3": lambda: _grid(
        "verify",
        {"fusion": "verify", "verify_long": False, "verify_score": True},
        ("verify", (0.25, 0.4, 0.5, 0.6, 0.75)),
    ),
    "verify2": lambda: [
        ("engine", Variant(**ENGINE)),
        *_grid(
            "verify",
            {"fusion": "verify"},
            ("verify_long", (False, True)),
            ("verify_score", (False, True)),
            ("verify", (0.5, 1.0)),
        ),
    ],
    "longq2": lambda: _grid(
        "long",
        ENGINE,
        ("long_chunk", ("avg",)),
        ("long_passage", ("best", "avg")),
        ("long_weight", (0.1, 0.2, 0.25)),
    ),
}


if __name__ == "__main__":
    main()
