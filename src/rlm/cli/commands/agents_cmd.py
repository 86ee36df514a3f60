"""update-buffer, dispatch, aggregate: the commands of the map-reduce workflow."""

from __future__ import annotations

import shlex

import click

from rlm.agents.findings import DEFAULT_MAX_INPUT_BYTES, DEFAULT_MAX_ITEMS
from rlm.cli.context import AppContext, pass_app
from rlm.cli.options import chunk_options, embedder_factory, model_options, progress_bar
from rlm.cli.render import Output
from rlm.defaults import DEFAULT_MODE, DEFAULT_THRESHOLD, MODES
from rlm.errors import UsageError
from rlm.io import from_bytes, read_stdin

# --- update-buffer ------------------------------------------------------------


def _explicit(ctx: click.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source != click.core.ParameterSource.DEFAULT


@click.command(name="update-buffer")
@click.argument("buffer")
@click.argument("content", required=False)
@chunk_options
@model_options
@click.option(
    "-e", "--embed", is_flag=True, help="Accepted for rlm-rs scripts: embedding is on by default."
)
@click.option("--no-embed", is_flag=True, help="Do not embed the new chunks now.")
@click.option("--lossy", is_flag=True, help="Replace invalid UTF-8 bytes instead of failing.")
@click.pass_context
def update_buffer(
    ctx: click.Context,
    buffer: str,
    content: str | None,
    chunker: str,
    chunk_size: int,
    overlap: int,
    language: str | None,
    model: str | None,
    model_path: str | None,
    embed: bool,
    no_embed: bool,
    lossy: bool,
) -> Output:
    """Replace a buffer's text with CONTENT (or stdin), keeping unchanged chunk IDs.

    Only the edited region is re-chunked: chunks whose text is unchanged keep
    their ID (and vector); replaced IDs answer 'chunk get' with the IDs that
    replaced them. New chunks are embedded unless --no-embed. Chunking options
    not given default to the buffer's own settings (from its load).
    """
    from rlm.cli.context import app_of
    from rlm.ops.agents import update_buffer as run_update

    del embed
    app: AppContext = app_of(ctx)
    if content is None:
        text = read_stdin(lossy=lossy)
    else:
        text = from_bytes(content.encode("utf-8"), label="<content>", lossy=lossy)
    with progress_bar("Updating") as progress:
        result = run_update(
            app.store(),
            buffer,
            text,
            chunker=chunker if _explicit(ctx, "chunker") else None,
            chunk_size=chunk_size if _explicit(ctx, "chunk_size") else None,
            overlap=overlap if _explicit(ctx, "overlap") else None,
            language=language,
            embed=not no_embed,
            embedder_factory=embedder_factory(model, model_path),
            progress=progress,
        )
    lines = [
        f"Updated buffer '{result.label}' ({result.size} bytes)",
        f"Chunks: {result.old_chunk_count} -> {result.new_chunk_count}"
        f" (using {result.strategy} strategy)",
        f"Kept {result.kept}, added {result.added}, removed {result.removed} chunks"
        f" ({result.moved} moved)",
    ]
    if result.model is not None:
        lines.append(f"Embedded {result.embedded_count} chunks using model '{result.model}'")
    return Output(data=result.to_json(), text="\n".join(lines) + "\n", warnings=result.warnings)


# --- dispatch -----------------------------------------------------------------


def _command_prefix(app: AppContext) -> str:
    """``rlm -d /abs/path/rlm-state.db``: always absolute, so a sub-agent in another
    folder (or one that never saw the orchestrator's -d) reaches the same store."""
    return "rlm -d " + shlex.quote(app.db_url or str(app.resolved_db_path.absolute()))


def parse_id_list(value: str | None) -> list[int] | None:
    """``--chunks 12,13,20-25`` (ranges as ``aggregate`` prints them)."""
    from rlm.agents.ids import parse_ids

    return None if value is None else parse_ids(value)


@click.command()
@click.argument("buffer")
@click.option(
    "--batch-size",
    type=int,
    default=None,
    help="Chunks per batch [default: 10; no cap when --max-tokens is given]."
    " Ignored when --workers is given.",
)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Number of sub-agents: batch size becomes ceil(chunks / workers),"
    " overriding --batch-size (as in rlm-rs).",
)
@click.option(
    "--max-tokens",
    type=int,
    default=None,
    help="Token budget per batch: chunks are packed greedily by token count, still capped"
    " by --batch-size/--workers when given. A chunk over the budget gets its own batch"
    " (flagged oversized).",
)
@click.option("-q", "--query", help="Only chunks of this buffer relevant to QUERY, in rank order.")
@click.option(
    "--mode",
    default=DEFAULT_MODE,
    show_default=True,
    help=f"Search mode for --query: {', '.join(MODES)}.",
)
@click.option(
    "--threshold",
    type=float,
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Minimum cosine similarity for --query (semantic leg).",
)
@click.option(
    "--top-k",
    type=int,
    default=None,
    help="At most this many chunks for --query [default: all of the buffer's chunks].",
)
@click.option(
    "--chunks",
    "chunk_list",
    metavar="ID,ID,...",
    help="Only these chunks, ids or ranges like 12,20-25 (e.g. the re-dispatch command"
    " printed by 'aggregate --run').",
)
@click.option("--no-record", is_flag=True, help="Do not record the dispatch as a run.")
@model_options
@pass_app
def dispatch(
    app: AppContext,
    buffer: str,
    batch_size: int | None,
    workers: int | None,
    max_tokens: int | None,
    query: str | None,
    mode: str,
    threshold: float,
    top_k: int | None,
    chunk_list: str | None,
    no_record: bool,
    model: str | None,
    model_path: str | None,
) -> Output:
    """Split a buffer's chunks into batches for sub-agents; records a run for 'aggregate --run'.

    Precedence: --workers sets the chunks per batch (ceil(chunks / workers)) and
    overrides --batch-size; --max-tokens then packs batches up to its token
    budget within that chunk cap (no chunk cap when neither was given).

    Every format gives the run id: text prints it, JSON has run_id, and with
    --format ndjson every batch line carries run_id (so each line is a complete
    work order). 'rlm runs' lists recorded runs.
    """
    from rlm.agents.ids import format_ids
    from rlm.ops.agents import dispatch as run_dispatch

    command = _command_prefix(app)
    result = run_dispatch(
        app.store(),
        buffer,
        batch_size=batch_size,
        workers=workers,
        max_tokens=max_tokens,
        query=query,
        mode=mode,
        threshold=threshold,
        top_k=top_k,
        chunk_ids=parse_id_list(chunk_list),
        embedder_factory=embedder_factory(model, model_path),
        record=not no_record,
        command=command,
    )
    plan, data = result.plan, result.to_json()
    label = plan.buffer_name or str(plan.buffer_id)

    def text() -> str:
        if not plan.batches:
            if plan.query_filter is not None:
                return f"No matching chunks found in buffer '{label}' for query\n"
            return f"No chunks found in buffer '{label}'\n"
        out = [
            f"Dispatch plan for buffer '{label}' ({plan.total_chunks} chunks ->"
            f" {plan.batch_count} batches):",
            "",
        ]
        for b in plan.batches:
            flag = " [oversized]" if b.oversized else ""
            out.append(
                f"Batch {b.index}: {len(b.chunk_ids)} chunks, ~{b.token_count} tokens"
                f" (IDs: {format_ids(b.chunk_ids)}){flag}"
            )
        out += ["", f"Usage: Feed each batch to a subagent with '{command} chunk get <id>'"]
        if plan.run_id:
            out.append(
                f"Run: {plan.run_id} (check coverage: '{command} aggregate --run {plan.run_id}')"
            )
        return "\n".join(out) + "\n"

    lines = [dict(b, run_id=plan.run_id) for b in data["batches"]]
    return Output(data=data, text=text, items=lines, warnings=result.warnings)


# --- aggregate ----------------------------------------------------------------


def _read_findings(buffer: str | None, file: str | None, limit: int) -> str | None:
    """The findings text from --file or stdin; None when --buffer names them."""
    from rlm.io import open_file

    if buffer is not None and file is not None:
        raise UsageError("pass either --buffer or --file, not both")
    if buffer is not None:
        return None
    if file is not None:
        with open_file(file, max_size=limit, allow_empty=True) as src:
            return bytes(src.data).decode("utf-8")
    return bytes(read_stdin().data).decode("utf-8")


@click.command()
@click.option("-b", "--buffer", help="Read the findings from this buffer.")
@click.option(
    "-f", "--file", "file", type=click.Path(dir_okay=False), help="Read the findings from a file."
)
@click.option(
    "--min-relevance",
    default="low",
    show_default=True,
    help="Keep items at least this relevant: high, medium, low, none or all (case-insensitive).",
)
@click.option(
    "--group-by",
    default="relevance",
    show_default=True,
    help="relevance (high, medium, low, none, other), chunk_id, or none.",
)
@click.option(
    "--sort-by",
    default="relevance",
    show_default=True,
    help="relevance, chunk_id, findings_count (most first), or none (input order).",
)
@click.option("--run", "run_id", metavar="RUN_ID", help="Audit coverage of this dispatch run.")
@click.option(
    "-o",
    "--output-buffer",
    metavar="NAME",
    help="Store the report as a new buffer (chunked, indexed and embedded: searchable).",
)
@click.option("--replace", is_flag=True, help="With -o: replace a buffer of the same name.")
@click.option("--no-verify", is_flag=True, help="Do not check quoted evidence against chunks.")
@click.option(
    "--skip-invalid", is_flag=True, help="Skip invalid items with a warning instead of failing."
)
@click.option("--no-embed", is_flag=True, help="With -o: do not embed the report buffer.")
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 when a quote is unverified, a dispatched chunk (--run) has no finding,"
    " or an invalid item was skipped; the report is still printed.",
)
@click.option(
    "--max-findings",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_ITEMS,
    show_default=True,
    help="Refuse input with more items than this.",
)
@click.option(
    "--max-input-size",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_INPUT_BYTES,
    show_default=True,
    help="Refuse findings input larger than this many bytes.",
)
@model_options
@pass_app
def aggregate(
    app: AppContext,
    buffer: str | None,
    file: str | None,
    min_relevance: str,
    group_by: str,
    sort_by: str,
    run_id: str | None,
    output_buffer: str | None,
    replace: bool,
    no_verify: bool,
    skip_invalid: bool,
    no_embed: bool,
    strict: bool,
    max_findings: int,
    max_input_size: int,
    model: str | None,
    model_path: str | None,
) -> Output:
    """Combine analyst findings (stdin, --buffer or --file): filter, group, dedup,
    verify quoted evidence, and with --run list dispatched chunks nobody answered.

    Accepts rlm-rs findings (strings) and analyst-prompt findings (objects with
    text/finding/description and evidence/quote). Input is a stream of JSON
    values: arrays, objects and NDJSON lines, in any mix, Markdown fences
    allowed, so 'cat reply-*.json | rlm aggregate' works. Relevance words
    other than high/medium/low/none are mapped (critical -> high...) or kept
    under 'unknown' with a warning, never dropped.
    """
    from rlm.agents.aggregate import report_text
    from rlm.ops.agents import aggregate as run_aggregate

    store = app.store()
    if run_id is not None:
        store.get_run(run_id)  # a wrong id fails before stdin is read
    result = run_aggregate(
        store,
        _read_findings(buffer, file, max_input_size),
        buffer=buffer,
        run_id=run_id,
        min_relevance=min_relevance,
        group_by=group_by,
        sort_by=sort_by,
        output_buffer=output_buffer,
        replace=replace,
        verify=not no_verify,
        skip_invalid=skip_invalid,
        embed=not no_embed,
        embedder_factory=embedder_factory(model, model_path),
        command=_command_prefix(app),
        strict=strict,
        max_items=max_findings,
        max_input_bytes=max_input_size,
    )
    return Output(
        data=result.to_json(),
        text=lambda: report_text(result.report),
        warnings=result.warnings,
        exit_code=1 if result.failed else 0,
    )


def register(root: click.Group) -> None:
    root.add_command(update_buffer)
    root.add_command(update_buffer, name="update")
    root.add_command(dispatch)
    root.add_command(aggregate)


__all__ = ["register"]
