"""``rlm search QUERY``: hybrid (default), semantic or BM25 search over chunks."""

from __future__ import annotations

from typing import Any

import click

from rlm.cli.context import AppContext, pass_app
from rlm.cli.options import embedder_factory, model_options
from rlm.cli.render import Output, format_score
from rlm.defaults import DEFAULT_RRF_K, DEFAULT_THRESHOLD, DEFAULT_TOP_K, MAX_QUERY_CHARS, MODES
from rlm.defaults import SEARCH_PREVIEW_LEN as DEFAULT_PREVIEW_LEN


def _location(r: Any) -> str:
    where = r.source or r.buffer_name or f"buffer {r.buffer_id}"
    if r.line_start is not None:
        end = r.line_end if r.line_end is not None else r.line_start
        where += f":{r.line_start}-{end}"
    if r.symbol:
        where += f"  ({r.symbol})"
    return where


def _passage_line(r: Any) -> str | None:
    """Where inside the chunk the best passage is: the lines an agent can read."""
    p = r.passage
    if p is None or p.line_start is None:
        return None
    end = p.line_end if p.line_end is not None else p.line_start
    return f"  Best passage: lines {p.line_start}-{end}"


@click.command(name="search")
@click.argument("queries", nargs=-1, required=True, metavar="QUERY [QUERY...]")
@click.option(
    "-k",
    "--top-k",
    type=click.IntRange(min=0),
    default=DEFAULT_TOP_K,
    show_default=True,
    help="Maximum number of results.",
)
@click.option(
    "-t",
    "--threshold",
    type=float,
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Minimum cosine similarity for semantic matches (semantic and hybrid).",
)
@click.option(
    "-m",
    "--mode",
    default=MODES[0],
    show_default=True,
    metavar="MODE",
    help=f"{', '.join(MODES)}. (rlm-rs treated any unknown value as hybrid; rlm rejects it.)",
)
@click.option(
    "--rrf-k",
    type=click.FloatRange(min=0),
    default=DEFAULT_RRF_K,
    show_default=True,
    help="RRF constant k for hybrid fusion (larger k flattens the rank curve).",
)
@click.option(
    "-b",
    "--buffer",
    "buffers",
    multiple=True,
    metavar="BUFFER",
    help="Search only this buffer (id or name); repeatable. Applied before top-k.",
)
@click.option(
    "--collection",
    default=None,
    metavar="NAME",
    help="Search only buffers of this collection. Applied before top-k.",
)
@click.option("-p", "--preview", is_flag=True, help="Show the start of each chunk.")
@click.option(
    "--preview-len",
    type=click.IntRange(min=0),
    default=DEFAULT_PREVIEW_LEN,
    show_default=True,
    help="Preview length in characters.",
)
@click.option(
    "--max-query-chars",
    type=click.IntRange(min=1),
    default=MAX_QUERY_CHARS,
    show_default=True,
    help="Cut longer queries (with a warning); also keeps at most 1 word per 16 characters.",
)
@click.option(
    "--refresh",
    is_flag=True,
    help="First re-sync the searched buffers loaded from folders whose files changed"
    " (one stat per file; new chunks embedded like a load's).",
)
@model_options
@pass_app
def search_command(
    app: AppContext,
    queries: tuple[str, ...],
    top_k: int,
    threshold: float,
    mode: str,
    rrf_k: float,
    buffers: tuple[str, ...],
    collection: str | None,
    preview: bool,
    preview_len: int,
    refresh: bool,
    model: str | None,
    model_path: str | None,
    max_query_chars: int,
) -> Output:
    """Search chunks by meaning and keywords; results are chunk IDs for 'rlm chunk get'.

    Several queries are fused into one ranking. Prefix one with 'lex:' (keywords,
    BM25 only), 'vec:' (a rephrasing) or 'hyde:' (a sentence the answer might
    contain); without a prefix, or with 'vec:'/'hyde:', it feeds both. Each result
    names its best passage's lines. Modes: hybrid (default; RRF with top-rank
    bonuses weighed by each leg's certainty), semantic (score >= threshold), bm25
    (keywords; needs no model).
    """
    from rlm.embedding.base import start_loading
    from rlm.ops.retrieval import search
    from rlm.search.engine import resolve_embedder

    factory = embedder_factory(model, model_path)
    if mode.strip().lower() != "bm25":  # the op checks the mode; this only starts early
        # Before the store opens (trust check, migrations): see ops.search.
        start_loading(resolve_embedder(factory))
    result = search(
        app.store(),
        queries=list(queries),
        mode=mode,
        top_k=top_k,
        threshold=threshold,
        rrf_k=rrf_k,
        buffers=buffers,
        collection=collection,
        preview=preview,
        preview_len=preview_len,
        embedder_factory=factory,
        max_query_chars=max_query_chars,
        refresh=refresh,
    )
    response, data, query = result.response, result.to_json(), result.query

    done = result.refreshed
    head = f"Refreshed {len(done.changed)} changed files.\n\n" if done and done.changed else ""

    def text() -> str:
        if not response.results:
            return head + f'No results found for query: "{query}"\n'
        out = [head.rstrip("\n")] if head else []
        out += [
            f'Search results for "{query}" ({response.mode} mode, {response.count} results):',
            "",
            f"{'Chunk ID':<10} {'Score':<12} {'Semantic':<12} {'BM25':<12}",
            "-" * 50,
        ]
        for r in response.results:
            out.append(
                f"{r.chunk_id:<10} {r.score:<12.4f} {format_score(r.semantic_score):<12}"
                f" {format_score(r.bm25_score):<12}"
            )
            out.append(f"  {_location(r)}")
            passage = _passage_line(r)
            if passage:
                out.append(passage)
            if preview and r.passage is not None and r.passage.text is not None:
                out.append(f"  Passage: {r.passage.text}")
            if preview and r.preview is not None:
                out.append(f"  Preview: {r.preview}")
        out += ["", "Use 'rlm chunk get <id>' to retrieve chunk content."]
        return "\n".join(out) + "\n"

    return Output(data=data, text=text, items=data["results"], warnings=result.warnings)


def register(root: click.Group) -> None:
    root.add_command(search_command)
