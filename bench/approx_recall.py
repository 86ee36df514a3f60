"""Recall of the sign-code first pass on real MiniLM vectors (prints figures; not a test).

The approximate vector path (:mod:`rlm.search.vector`, "compact first pass") keeps
``PASSAGE_CANDIDATES`` passages and ``CHUNK_CANDIDATES`` chunk vectors out of every
row. At 100k chunks / 1M passages and the engine's default depth (200 chunks) that is
4,000 passages (0.4 %) and 1,000 chunks (1 %). The real stores at hand are smaller
(about 1k-11k chunks, 14k passages), so this bench scales the candidate counts to the
same *fractions* of the store (``--scale 1``), or a multiple of them, forces the
approximate path on, and compares each query's final hybrid top 10 (and the vector
leg's) with the exact path's in the same process.

Stores: a copy of each ``--db`` (so no sidecar is written next to the original),
queries by store: the needles store gets the 20 needle questions and their typed
``vec:``/``hyde:`` entries (bench/needle_facts.py), an NPL store the NPL queries.

    python bench/approx_recall.py --db ~/.cache/rlm-bench/needles-<hash>.db \\
        --db ~/.cache/rlm-bench/npl.db --scale 1,2
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
from pathlib import Path

from rlm.embedding import get_embedder
from rlm.search import vector as vector_mod
from rlm.search.engine import SearchEngine
from rlm.store import Store

AT_SCALE_PASSAGES = 1_000_000
AT_SCALE_CHUNKS = 100_000
AT_SCALE_DEPTH = 200
KNOBS = (
    "APPROX_MIN_ROWS",
    "PASSAGE_CANDIDATES",
    "PASSAGES_PER_HIT",
    "CHUNK_CANDIDATES",
    "CHUNKS_PER_HIT",
    "CHUNK_RERANK",
    "RERANK_PER_HIT",
)
"""The first pass's module constants this bench sets (restored after each store)."""


def queries_for(db: Path) -> list[str]:
    if "needles" in db.name:
        import sys

        sys.path.insert(0, str(Path(__file__).parent))
        from needle_facts import NEEDLES

        out = [n.question for n in NEEDLES]
        out += [n.vec for n in NEEDLES] + [n.hyde for n in NEEDLES]
        return out
    npl = Path(__file__).resolve().parents[2] / "shared/bench-data/vaswani-npl/queries.jsonl"
    if not npl.exists():
        npl = Path("/work/shared/bench-data/vaswani-npl/queries.jsonl")
    return [json.loads(line)["text"] for line in npl.read_text().splitlines() if line.strip()]


def run(db: Path, scales: list[float], chunk_scale: float = 1.0) -> None:
    emb = get_embedder()
    with tempfile.TemporaryDirectory(prefix="rlm-recall-") as tmp:
        copy = Path(tmp) / "store.db"
        shutil.copy(db, copy)
        for suffix in ("-wal",):
            if Path(str(db) + suffix).exists():
                shutil.copy(Path(str(db) + suffix), Path(str(copy) + suffix))
        store = Store(copy)
        engine = SearchEngine(store, emb)
        texts = queries_for(db)
        vectors = [emb.embed_query(t) for t in texts]
        index = vector_mod.vector_index(store, emb.fingerprint, emb.dimensions)
        n_chunks = index.size
        n_pass = index.passages.size if index.passages is not None else 0
        saved = tuple(getattr(vector_mod, name) for name in KNOBS)
        r_frac = max(saved[5], saved[6] * AT_SCALE_DEPTH) / AT_SCALE_CHUNKS
        p_frac = max(saved[1], saved[2] * AT_SCALE_DEPTH) / AT_SCALE_PASSAGES
        c_frac = max(saved[3], saved[4] * AT_SCALE_DEPTH) / AT_SCALE_CHUNKS
        print(f"\n{db.name}: {n_chunks:,} chunks, {n_pass:,} passages, {len(texts)} queries")
        try:
            vector_mod.APPROX_MIN_ROWS = 1 << 62
            exact = [engine.rank(t, ["hybrid", "semantic"], query_vector=v)
                     for t, v in zip(texts, vectors, strict=True)]  # fmt: skip
            for scale in scales:
                vector_mod.APPROX_MIN_ROWS = 0
                vector_mod.PASSAGES_PER_HIT = vector_mod.CHUNKS_PER_HIT = 0
                vector_mod.RERANK_PER_HIT = 0
                vector_mod.CHUNK_RERANK = max(1, round(scale * r_frac * n_chunks))
                vector_mod.PASSAGE_CANDIDATES = max(1, round(scale * p_frac * n_pass))
                vector_mod.CHUNK_CANDIDATES = max(1, round(chunk_scale * scale * c_frac * n_chunks))
                rec: dict[str, list[float]] = {"hybrid": [], "semantic": []}
                for t, v, want in zip(texts, vectors, exact, strict=True):
                    got = engine.rank(t, ["hybrid", "semantic"], query_vector=v)
                    for mode in rec:
                        a = [r.chunk_id for r in got[mode][:10]]
                        b = [r.chunk_id for r in want[mode][:10]]
                        rec[mode].append(len(set(a) & set(b)) / len(b) if b else float(not a))
                print(
                    f"  scale {scale:g} ({vector_mod.PASSAGE_CANDIDATES} passages,"
                    f" {vector_mod.CHUNK_CANDIDATES} chunks, rerank {vector_mod.CHUNK_RERANK}):"
                    f" recall@10 hybrid"
                    f" {statistics.mean(rec['hybrid']):.3f} (min {min(rec['hybrid']):.1f}),"
                    f" semantic leg {statistics.mean(rec['semantic']):.3f}"
                    f" (min {min(rec['semantic']):.1f})"
                )
        finally:
            for name, value in zip(KNOBS, saved, strict=True):
                setattr(vector_mod, name, value)
            store.close()
            vector_mod.clear_cache()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", action="append", required=True, type=Path)
    parser.add_argument("--scale", default="0.5,1,2", help="multiples of the at-scale fractions")
    parser.add_argument(
        "--chunk-scale", type=float, default=1.0, help="a further factor for chunk candidates"
    )
    args = parser.parse_args()
    scales = [float(s) for s in args.scale.split(",")]
    for db in args.db:
        run(db.expanduser(), scales, args.chunk_scale)


if __name__ == "__main__":
    main()
