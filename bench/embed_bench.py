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
at most 64 tokens, every passage embedded, the chunk vector pooled from them,
and a chunk that fits one window embedded whole too: ``--chunk-bytes 1000``);
``passages_vs_windows`` = windowed seconds / passage seconds on the same texts
in the same run (>= 1: the passage path is no slower). ``--no-bare`` skips the
bare fastembed baselines (halves the run on a busy machine).

    python bench/embed_bench.py               # 300 chunks
    python bench/embed_bench.py --size-mb 5   # a 5 MB document (~1,700 chunks, ~15 minutes)
    python bench/embed_bench.py --json
    python bench/embed_bench.py --chunk-bytes 1000 --no-bare   # small chunks (embedded whole too)
    python bench/embed_bench.py --runtimes --size-mb 5   # ONNX runtimes, same run

``--runtimes`` compares, on ``embed_passages`` and the same texts in the same
run (slices interleaved), the fastembed-driven session (``fastembed``, the
path before #12's throughput work), rlm's own session with tuned options
running one batch at a time over all cores (``direct``, see
:mod:`rlm.embedding.runtime`) and the same session fed whole batches by one
thread per core (``parallel``, what rlm runs): tokens/s, ratio to
``fastembed``, and the lowest cosine of any chunk or passage vector against
``fastembed``'s.
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


def _variants(embedder: Any, windows: bool = False) -> dict[str, Any]:
    """Today's path and the tuned ones, each its own embedder over the same model files."""
    from rlm.embedding.onnx_embedder import OnnxEmbedder

    def make(**options: Any) -> Any:
        return OnnxEmbedder(embedder.model, embedder.files, cache=embedder._cache, **options)

    variants = {
        "fastembed": make(runtime="fastembed"),  # main before #12's throughput work
        "direct": make(runtime="direct", workers=1),  # one run at a time, 2 intra-op threads
        "parallel": make(runtime="direct"),  # today: runs side by side, 1 intra-op thread each
    }
    if windows:  # the path when #12 was filed: 256-token windows (32 overlap), fastembed
        variants["windows"] = make(runtime="fastembed")
    return variants


def compare(
    count: int, rounds_of: int = 40, windows: bool = False, size: int = 3000
) -> dict[str, Any]:
    """tokens/s of ``embed_passages`` (what ``rlm load`` runs) per runtime, same run.

    The texts are cut into slices of ``rounds_of`` chunks and every slice is
    embedded by each variant in turn (rotating who goes first), so a change in
    the machine's load hits all variants alike. ``min_cosine`` compares every
    chunk and passage vector with the baseline's.
    """
    import numpy as np

    from rlm.embedding import get_embedder

    texts = make_chunks(count, size)
    embedder: Any = get_embedder()
    if not getattr(embedder, "is_semantic", False) or embedder.fallback_reason:
        raise SystemExit(f"the real model is not available: {embedder.fallback_reason}")
    variants = _variants(embedder, windows)

    def embed(name: str, part: list[str]) -> Any:
        if name == "windows":
            return variants[name].embed_documents(part)
        return variants[name].embed_passages(part)

    for name, variant in variants.items():
        variant.load()
        embed(name, texts[:4])  # warm-up: session, tokenizer, allocator
    seconds = dict.fromkeys(variants, 0.0)
    cosine = dict.fromkeys(variants, 1.0)
    passages = 0
    names = list(variants)
    for number, start in enumerate(range(0, count, rounds_of)):
        part = texts[start : start + rounds_of]
        results: dict[str, Any] = {}
        for name in names[number % len(names) :] + names[: number % len(names)]:
            started = time.perf_counter()
            results[name] = embed(name, part)
            seconds[name] += time.perf_counter() - started
        base = results["fastembed"]
        passages += sum(base.windows)
        for name, batch in results.items():
            if name == "windows":  # other vectors (windows, not passages): no cosine
                continue
            chunk = float((base.vectors * batch.vectors).sum(axis=1).min())
            rows = np.concatenate(batch.passage_vectors)
            passage = float((np.concatenate(base.passage_vectors) * rows).sum(axis=1).min())
            cosine[name] = min(cosine[name], chunk, passage)
    tokens = sum(embedder.count_tokens(texts) or [0])
    size = sum(len(t.encode()) for t in texts)
    return {
        "model": embedder.name,
        "threads": embedder.threads,
        "chunks": count,
        "bytes": size,
        "tokens": tokens,
        "passages": passages,
        "tokens_s": {name: tokens / s for name, s in seconds.items()},
        "kb_s": {name: size / 1000 / s for name, s in seconds.items()},
        "ratio": {name: seconds["fastembed"] / s for name, s in seconds.items()},
        "min_cosine": {name: cosine[name] for name in variants if name != "windows"},
    }


def bench(count: int, bare_baselines: bool = True, size: int = 3000) -> dict[str, Any]:
    from fastembed import TextEmbedding

    from rlm.embedding import get_embedder

    texts = make_chunks(count, size)
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
        "--chunk-bytes",
        type=int,
        default=3000,
        help="size of each made-up chunk (1000: chunks that fit one window, embedded whole too)",
    )
    parser.add_argument(
        "--size-mb", type=float, default=None, help="embed this much text (overrides --chunks)"
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare baselines")
    parser.add_argument(
        "--windows",
        action="store_true",
        help="with --runtimes: also the path when #12 was filed (256-token windows, fastembed)",
    )
    parser.add_argument(
        "--runtimes",
        action="store_true",
        help="compare ONNX runtimes on embed_passages (fastembed = today's path, direct)",
    )
    args = parser.parse_args()
    count = (
        args.chunks if args.size_mb is None else max(1, int(args.size_mb * 1e6 / args.chunk_bytes))
    )
    if args.runtimes:
        r = compare(count, windows=args.windows, size=args.chunk_bytes)
        if args.json:
            print(json.dumps(r))
            return
        print(f"{r['model']}, {r['threads']} threads, {r['chunks']} chunks, {r['bytes']:,} bytes,")
        print(f"  {r['tokens']:,} tokens in {r['passages']:,} passages")
        print(f"  {'runtime':10s} {'tokens/s':>9s} {'KB/s':>6s} {'ratio':>6s} {'min cosine':>11s}")
        for name, rate in r["tokens_s"].items():
            cos = r["min_cosine"].get(name)
            shown = "-" if cos is None else f"{cos:.6f}"
            kb_s, ratio = r["kb_s"][name], r["ratio"][name]
            print(f"  {name:10s} {rate:9.0f} {kb_s:6.1f} {ratio:6.2f} {shown:>11s}")
        return
    f = bench(count, bare_baselines=not args.no_bare, size=args.chunk_bytes)
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
