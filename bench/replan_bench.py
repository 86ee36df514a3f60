"""Re-planning old passages: passages only (``whole=False``) against the path before it,
which also embedded each chunk that fits one model window whole and threw that vector away
(prints figures; not a test, not a CI gate).

A store is built from the first documents of ArguAna (``title + " " + text``, one chunk
each, as ``rlm eval`` stores them; about 74% fit one window) up to ``--size-mb``, embedded
once with the default model; then, ``--rounds`` times, its passages are marked as planned
under older rules and re-planned, alternating the new path (``passages``) and the old one
(``with_whole``: ``embed_passages`` called with the whole-text pass on). Reported: seconds
per run, medians, ratio new / old, and the texts each path embedded.

    python bench/replan_bench.py                  # 1 MB, 2 rounds (A B A B)
    python bench/replan_bench.py --size-mb 2 --rounds 3 --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "shared" / "bench-data" / "arguana" / "corpus.jsonl"


def documents(path: Path, size_mb: float) -> list[str]:
    out: list[str] = []
    total = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            text = f"{row.get('title', '')} {row.get('text', '')}".strip()
            if not text:
                continue
            out.append(text)
            total += len(text.encode("utf-8"))
            if total >= size_mb * 1_000_000:
                break
    return out


def build(db: Path, texts: Sequence[str], embedder: Any) -> int:
    import hashlib

    from rlm.embedding.sync import embed_buffer
    from rlm.store import NewBuffer, NewChunk, Store

    chunks, offset = [], 0
    for i, text in enumerate(texts):
        data = text.encode("utf-8")
        chunks.append(
            NewChunk(
                index=i, byte_start=offset, byte_end=offset + len(data), content=text,
                strategy="bench", token_count=None, line_start=i * 2 + 1,
                line_end=i * 2 + 1 + text.count("\n"), has_overlap=False,
                content_hash=hashlib.sha256(data).hexdigest()[:16],
            )
        )  # fmt: skip
        offset += len(data) + 2
    with Store.init(db) as store:
        with store.transaction():
            bid = store.insert_buffer(NewBuffer(name="arguana", source="arguana", size=offset))
            store.write_buffer_segments(bid, ["\n\n".join(texts).encode("utf-8")])
            ids = store.insert_chunks(bid, chunks)
            store.set_chunk_count(bid, len(ids))
        embed_buffer(store, bid, embedder)
        return bid


def replan(db: Path, bid: int, embedder: Any, *, whole: bool) -> tuple[float, int, int]:
    """Seconds of one re-plan of every chunk, chunks re-planned, texts embedded."""
    from rlm.embedding.sync import embed_buffer
    from rlm.store import Store

    real_passages, real_embed = embedder.embed_passages, embedder._embed
    counted = [0]

    def passages(texts: Sequence[str], *args: Any, **kwargs: Any) -> Any:
        if whole:  # the path before: every call embedded the whole texts that fit
            kwargs["whole"] = True
        return real_passages(texts, *args, **kwargs)

    def embed(texts: Sequence[str], prefix: str) -> Any:
        counted[0] += len(texts)
        return real_embed(texts, prefix)

    embedder.embed_passages, embedder._embed = passages, embed
    try:
        with Store.open(db) as store:
            with store.transaction():
                store.conn.execute("UPDATE passage_embeddings SET rules = 0")
            started = time.perf_counter()
            outcome = embed_buffer(store, bid, embedder)
            seconds = time.perf_counter() - started
    finally:
        del embedder.embed_passages, embedder._embed
    return seconds, outcome.replanned, counted[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from rlm.embedding import get_embedder

    embedder = get_embedder()
    texts = documents(args.data, args.size_mb)
    runs: dict[str, list[float]] = {"passages": [], "with_whole": []}
    embedded: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "replan.db"
        started = time.perf_counter()
        bid = build(db, texts, embedder)
        built = time.perf_counter() - started
        for r in range(args.rounds):
            order = ("passages", "with_whole") if r % 2 == 0 else ("with_whole", "passages")
            for name in order:
                seconds, chunks, count = replan(db, bid, embedder, whole=name == "with_whole")
                runs[name].append(seconds)
                embedded[name] = count
                if not args.json:
                    print(
                        f"round {r + 1} {name:<10} {seconds:7.1f} s  {chunks} chunks, {count} texts"
                    )
    new, old = statistics.median(runs["passages"]), statistics.median(runs["with_whole"])
    result = {
        "bytes": sum(len(t.encode("utf-8")) for t in texts),
        "chunks": len(texts),
        "build_seconds": round(built, 1),
        "runs": {k: [round(s, 2) for s in v] for k, v in runs.items()},
        "median_passages": round(new, 2),
        "median_with_whole": round(old, 2),
        "ratio": round(new / old, 3),
        "texts_embedded": embedded,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['bytes']:,} bytes, {len(texts)} chunks: re-plan median {new:.1f} s"
            f" (passages only) vs {old:.1f} s (with whole chunks): {new / old:.2f}x;"
            f" texts embedded {embedded['passages']:,} vs {embedded['with_whole']:,}"
        )


if __name__ == "__main__":
    main()
