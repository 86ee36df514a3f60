"""Embedding throughput benchmark (prints figures; not a test, not a CI gate).

chunks/s of rlm's embedder (``get_embedder()``, the default model, windowing
long texts, batch 8 sorted by length) on ~3000-byte chunks, next to a bare
fastembed ``TextEmbedding.embed`` of the same texts with the same model folder
and thread count, measured in the same run; ratio = rlm / bare.

The bare call truncates each text to the model's window (256 tokens) while
rlm embeds every window of a long chunk (a 3000-byte chunk is ~3 windows), so
a second baseline embeds exactly rlm's windows with bare fastembed: that ratio
is rlm's own overhead.

What ``rlm load`` runs is ``embed_passages`` (each chunk cut into passages of
at most 64 tokens, every passage embedded, the chunk vector pooled from them);
``passages_vs_windows`` = windowed seconds / passage seconds on the same texts
in the same run (>= 1: the passage path is no slower). ``--no-bare`` skips the
bare fastembed baselines (halves the run on a busy machine).

    python bench/embed_bench.py               # 300 chunks
    python bench/embed_bench.py --size-mb 5   # a 5 MB document (~1,700 chunks, ~15 minutes)
    python bench/embed_bench.py --json
"""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import Any

_WORD_TEXT = (
    "the of and to in is that for it as with was on be by this are from or an at which "
    "river stone lantern harbour signal quartz meadow copper falcon ledger orbit parser "
    "token buffer window search index chunk vector model query result retrieval context"
)
WORDS = _WORD_TEXT.split()


def make_chunks(count: int, size: int = 3000, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    chunks = []
    for _ in range(count):
        words: list[str] = []
        length = 0
        while length < size:
            word = rng.choice(WORDS)
            words.append(word + ("." if rng.random() < 0.07 else ""))
            length += len(word) + 1
        chunks.append(" ".join(words)[:size])
    return chunks


def bench(count: int, bare_baselines: bool = True) -> dict[str, Any]:
    from fastembed import TextEmbedding

    from rlm.embedding import get_embedder

    texts = make_chunks(count)
    embedder: Any = get_embedder()
    if not getattr(embedder, "is_semantic", False) or embedder.fallback_reason:
        raise SystemExit(f"the real model is not available: {embedder.fallback_reason}")
    embedder.load()
    embedder.embed_documents(texts[:8])  # warm-up: session, tokenizer, allocator

    started = time.perf_counter()
    batch = embedder.embed_documents(texts)
    rlm_seconds = time.perf_counter() - started
    windows = [piece for plan in embedder._plan(texts, "") for piece, _ in plan]
    tokens = sum(embedder.count_tokens(texts) or [0])
    started = time.perf_counter()
    passages = embedder.embed_passages(texts)
    passage_seconds = time.perf_counter() - started
    figures: dict[str, Any] = {
        "model": embedder.name,
        "threads": embedder.threads,
        "chunks": count,
        "windows": sum(batch.windows),
        "passages": sum(passages.windows),
        "tokens": tokens,
        "rlm_chunks_s": count / rlm_seconds,
        "rlm_tokens_s": tokens / rlm_seconds,
        "passage_chunks_s": count / passage_seconds,
        "passages_vs_windows": rlm_seconds / passage_seconds,
    }
    if not bare_baselines:
        return figures

    bare = TextEmbedding(
        model_name=embedder._fastembed_name(),
        specific_model_path=str(embedder.model_dir()),
        threads=embedder.threads,
        providers=["CPUExecutionProvider"],
    )
    list(bare.embed(texts[:8]))  # warm-up
    started = time.perf_counter()
    list(bare.embed(texts))
    bare_seconds = time.perf_counter() - started
    started = time.perf_counter()
    list(bare.embed(windows))
    bare_windows_seconds = time.perf_counter() - started
    return {
        **figures,
        "bare_windows_tokens_s": tokens / bare_windows_seconds,
        "bare_chunks_s": count / bare_seconds,
        "ratio": bare_seconds / rlm_seconds,
        "bare_windows_chunks_s": count / bare_windows_seconds,
        "overhead_ratio": bare_windows_seconds / rlm_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=300)
    parser.add_argument(
        "--size-mb", type=float, default=None, help="embed this much text (overrides --chunks)"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare baselines")
    args = parser.parse_args()
    count = args.chunks if args.size_mb is None else max(1, int(args.size_mb * 1e6 / 3000))
    f = bench(count, bare_baselines=not args.no_bare)
    if args.json:
        print(json.dumps(f))
        return
    print(f"{f['model']}, {f['threads']} threads, {f['chunks']} chunks of ~3000 bytes")
    print(f"  rlm embed_documents   {f['rlm_chunks_s']:8.1f} chunks/s ({f['windows']} windows)")
    print(f"  rlm tokens/s          {f['rlm_tokens_s']:8.0f} ({f['tokens']} tokens)")
    print(f"  rlm embed_passages    {f['passage_chunks_s']:8.1f} chunks/s", end=" ")
    print(f"({f['passages']} passages)")
    print(f"  passages vs windows   {f['passages_vs_windows']:8.2f} (>= 1: no slower)")
    if args.no_bare:
        return
    print(f"  bare fastembed        {f['bare_chunks_s']:8.1f} chunks/s (truncated to 1 window)")
    print(f"  ratio                 {f['ratio']:8.2f}")
    print(f"  bare, rlm's windows   {f['bare_windows_chunks_s']:8.1f} chunks/s")
    print(f"  bare, tokens/s        {f['bare_windows_tokens_s']:8.0f}")
    print(f"  overhead ratio        {f['overhead_ratio']:8.2f}")


if __name__ == "__main__":
    main()
