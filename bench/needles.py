"""Needle benchmark: find one invented sentence in a haystack of physics abstracts.

The haystack is the NPL (Vaswani) collection from ``../shared/bench-data``
(override with ``--data``): abstracts in corpus order, one paragraph each,
until ``--size-mb`` is reached. Each fact of ``needle_facts.NEEDLES`` (``--set b``:
``NEEDLES_B``) is appended as a sentence to one abstract (evenly spread), then the file is
loaded the way a new user would (``rlm.load_file``, default chunking,
the real model) into a store cached by content hash (haystack + model
fingerprint + migrations), so search variants are measured without embedding
again. A store made by older code gets what it lacks from
``embed_buffer`` (e.g. passage vectors).

For every needle it records the rank of the first chunk holding the fact
(a chunk holding most of its bytes) for bm25, semantic and hybrid, asked as:

* ``plain``: the question alone;
* ``typed``: the question plus the agent's ``lex:``/``vec:``/``hyde:`` queries in one
  search (``queries=[...]``). Code without multi-query search gets the four
  texts joined into one query string (what an agent could pass before);
* ``blind``: the same with the typed queries of ``needle_blind_queries.json``, written
  by another agent from the questions alone (it never saw a fact).

Reports hits in the top 1, 3 and 10 out of all needles.

    python bench/needles.py                    # 2.5 MB haystack (embedding: minutes, once)
    python bench/needles.py --size-mb 0.5      # quicker
    python bench/needles.py --json --ranks     # per-needle ranks as JSON
    python bench/needles.py --join space       # facts run on after a space (or: line)
    python bench/needles.py --set b            # a second set of 20 facts, other hosts
    python bench/needles.py --layout line      # one abstract per line, not per paragraph
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from needle_facts import NEEDLES, NEEDLES_B, Needle

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "bench-data" / "vaswani-npl"
MODES = ("bm25", "semantic", "hybrid")
VARIANTS = ("plain", "typed", "blind")
CUTS = (1, 3, 10)
DEPTH = 50


JOINS = {"sentence": ". ", "space": " ", "line": "\n"}
"""How a fact is attached to its host abstract (NPL abstracts have no punctuation):
as a new sentence (the default), run on after a space, or on the next line."""


LAYOUTS = {"paragraph": "\n\n", "line": "\n"}
"""What separates one abstract from the next: a blank line (one paragraph each, the default)
or a line break (one line each, as a list or a log is written)."""


SETS = {"a": NEEDLES, "b": NEEDLES_B}
"""``a``: the facts every figure was chosen on; ``b``: a second set written later to check them
(other facts, other host abstracts: halfway between set a's)."""
BLIND_FILES = {"a": "needle_blind_queries.json", "b": "needle_blind_queries_b.json"}
"""lex/vec/hyde per needle of each set, written by a separate agent that saw only the
questions and docs/prompts/search-queries.md (a real blind; set a's question 21 is that
guide's example); set b's by another agent, the same way."""


def build_haystack(
    data: Path,
    size_mb: float,
    join: str = "sentence",
    needle_set: str = "a",
    layout: str = "paragraph",
) -> tuple[str, list[tuple[int, int]]]:
    """The haystack text and each needle's character span in it."""
    needles = SETS[needle_set]
    docs: list[str] = []
    total = 0
    limit = int(size_mb * 1_000_000)
    with open(data / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            text = " ".join((row.get("title", "") + " " + row["text"]).split())
            if not text:
                continue
            docs.append(text)
            total += len(text) + len(LAYOUTS[layout])
            if total >= limit:
                break
    step = len(docs) // (len(needles) + 1)
    shift = step // 2 if needle_set == "b" else 0
    hosts = {step * (i + 1) + shift: i for i in range(len(needles))}
    parts: list[str] = []
    spans: list[tuple[int, int]] = [(0, 0)] * len(needles)
    offset = 0
    for index, doc in enumerate(docs):
        if index in hosts:
            fact = needles[hosts[index]].fact
            doc = doc + JOINS[join] + fact
            start = offset + len(doc) - len(fact)
            spans[hosts[index]] = (start, start + len(fact))
        parts.append(doc)
        offset += len(doc) + len(LAYOUTS[layout])
    return LAYOUTS[layout].join(parts) + "\n", spans


def cached_store(text: str, cache: Path) -> tuple[Any, float]:
    """A store holding the haystack, embedded; built once per content + model + schema."""
    from rlm.embedding import get_embedder, passages
    from rlm.embedding.sync import embed_buffer
    from rlm.ingest.loader import load_file
    from rlm.store import Store

    embedder = get_embedder()
    if not embedder.is_semantic:
        raise SystemExit(f"the real model is not available: {embedder.fallback_reason}")
    recipe = [embedder.fingerprint, str(getattr(passages, "PASSAGE_TOKENS", ""))]
    # The passage rules' source: a change to how passages are cut gets a new store.
    recipe.append(hashlib.sha256(inspect.getsource(passages).encode()).hexdigest()[:12])
    if hasattr(passages, "SENTENCE_TARGET_TOKENS"):
        recipe.append(f"sentence-target {passages.SENTENCE_TARGET_TOKENS}")
    # Schema changes do not invalidate the cache: opening a store migrates it, and
    # ``embed_buffer`` below adds whatever vectors older code did not store.
    key = hashlib.sha256("\n".join([text, *recipe]).encode()).hexdigest()[:16]
    cache.mkdir(parents=True, exist_ok=True)
    db = cache / f"needles-{key}.db"
    started = time.perf_counter()
    if not db.exists():
        source = cache / f"haystack-{key}.txt"
        source.write_text(text, encoding="utf-8")
        partial = cache / f"needles-{key}.partial.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(partial) + suffix).unlink(missing_ok=True)
        store = Store.init(partial)
        load_file(store, str(source), name="haystack.txt", embedder_factory=lambda: embedder)
        store.close()
        os.replace(partial, db)
    store = Store(db)
    buffer = store.find_buffer_by_name("haystack.txt")
    assert buffer is not None
    embed_buffer(store, buffer.id, embedder)  # adds whatever older code did not store
    return store, time.perf_counter() - started


def needle_chunks(store: Any, text: str, spans: list[tuple[int, int]]) -> list[set[int]]:
    """Per needle: the chunks holding at least half of the fact's bytes."""
    buffer = store.find_buffer_by_name("haystack.txt")
    refs = store.list_chunk_refs(buffer.id)
    chunks = store.get_chunks([r.id for r in refs])
    out: list[set[int]] = []
    for start, end in spans:
        b0 = len(text[:start].encode())
        b1 = b0 + len(text[start:end].encode())
        hit = {
            c.id
            for c in chunks.values()
            if min(c.byte_end, b1) - max(c.byte_start, b0) >= (b1 - b0) / 2
        }
        out.append(hit)
    return out


def _supports_queries() -> bool:
    from rlm.search import search

    return "queries" in inspect.signature(search).parameters


def blind_queries(index: int, needle: Needle, needle_set: str = "a") -> list[str]:
    path = HERE / BLIND_FILES[needle_set]
    entry = json.loads(path.read_text(encoding="utf-8"))[index]
    return [needle.question, *(f"{kind}: {entry[kind]}" for kind in ("lex", "vec", "hyde"))]


def run_search(
    store: Any, needle: Needle, mode: str, variant: str, index: int, needle_set: str = "a"
) -> list[int]:
    from rlm.search import search

    typed = variant != "plain"
    if variant == "blind":
        queries = blind_queries(index, needle, needle_set)
    else:
        queries = needle.typed_queries()
    if typed and _supports_queries():
        response = search(store, queries=queries, mode=mode, top_k=DEPTH)
    elif typed:
        joined = " ".join(q.split(":", 1)[-1].strip() for q in queries)
        response = search(store, joined, mode=mode, top_k=DEPTH)
    else:
        response = search(store, needle.question, mode=mode, top_k=DEPTH)
    return [r.chunk_id for r in response.results]


def first_rank(ranking: list[int], targets: set[int]) -> int | None:
    for rank, chunk_id in enumerate(ranking, start=1):
        if chunk_id in targets:
            return rank
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--size-mb", type=float, default=2.5)
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("RLM_BENCH_CACHE", Path.home() / ".cache" / "rlm-bench")),
        help="where built stores are kept (default ~/.cache/rlm-bench or $RLM_BENCH_CACHE)",
    )
    parser.add_argument("--ranks", action="store_true", help="print every needle's ranks")
    parser.add_argument(
        "--passage-tokens", type=int, default=None, help="passage budget (default: rlm's)"
    )
    parser.add_argument(
        "--sentence-target",
        type=int,
        default=None,
        help="sentences are packed until a passage has this many tokens (default: rlm's)",
    )
    parser.add_argument(
        "--set",
        dest="needle_set",
        choices=sorted(SETS),
        default="a",
        help="a: the facts the figures were chosen on (default); b: a second set to check them",
    )
    parser.add_argument(
        "--join",
        choices=sorted(JOINS),
        default="sentence",
        help="how each fact is attached to its host abstract: '. ' (default), ' ' or a newline",
    )
    parser.add_argument(
        "--layout",
        choices=sorted(LAYOUTS),
        default="paragraph",
        help="what separates abstracts: a blank line (default) or a line break",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    if args.passage_tokens:
        import rlm.embedding.passages as passages

        passages.PASSAGE_TOKENS = args.passage_tokens
    if args.sentence_target is not None:
        import rlm.embedding.passages as passages

        passages.SENTENCE_TARGET_TOKENS = args.sentence_target
    needles = SETS[args.needle_set]
    text, spans = build_haystack(args.data, args.size_mb, args.join, args.needle_set, args.layout)
    store, build_seconds = cached_store(text, args.cache)
    targets = needle_chunks(store, text, spans)
    ranks: dict[str, dict[str, list[int | None]]] = {}
    started = time.perf_counter()
    for variant in VARIANTS:
        ranks[variant] = {}
        for mode in MODES:
            ranks[variant][mode] = [
                first_rank(run_search(store, needle, mode, variant, i, args.needle_set), hit)
                for i, (needle, hit) in enumerate(zip(needles, targets, strict=True))
            ]
    search_seconds = time.perf_counter() - started
    hits = {
        variant: {
            mode: {f"top{cut}": sum(1 for r in rs if r is not None and r <= cut) for cut in CUTS}
            for mode, rs in by_mode.items()
        }
        for variant, by_mode in ranks.items()
    }
    report = {
        "needles": len(needles),
        "set": args.needle_set,
        "join": args.join,
        "layout": args.layout,
        "haystack_bytes": len(text.encode()),
        "chunks": store.chunk_count_total(),
        "multi_query": _supports_queries(),
        "hits": hits,
        "seconds": {"build_or_open": round(build_seconds, 1), "search": round(search_seconds, 1)},
    }
    if args.ranks:
        report["ranks"] = ranks
    if args.json:
        print(json.dumps(report, sort_keys=True))
        return
    print(
        f"{len(needles)} needles (set {args.needle_set}) in "
        f"{report['haystack_bytes'] / 1e6:.2f} MB "
        f"({report['chunks']} chunks); multi-query search: {report['multi_query']}"
    )
    print(f"{'queries':<8}{'mode':<10}" + "".join(f"{'top' + str(c):>7}" for c in CUTS))
    for variant, by_mode in hits.items():
        for mode, counts in by_mode.items():
            print(f"{variant:<8}{mode:<10}" + "".join(f"{counts[f'top{c}']:>7}" for c in CUTS))
    if args.ranks:
        for variant, by_mode in ranks.items():
            for mode, rs in by_mode.items():
                print(f"{variant:<8}{mode:<10}", " ".join("-" if r is None else str(r) for r in rs))
    print(f"(store {build_seconds:.0f} s, searches {search_seconds:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
