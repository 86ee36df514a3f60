"""update-buffer, dispatch, aggregate: the commands of the map-reduce workflow."""

from __future__ import annotations

import shlex

import click

from rlm.cli.context import AppContext, pass_app
from rlm.cli.options import chunk_options, embedder_factory, model_options, progress_bar
from rlm.cli.render import Output
from rlm.defaults import DEFAULT_MODE, DEFAULT_THRESHOLD, MODES
from rlm.errors import InvalidArgumentError, UsageError
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
    return f"rlm -d {shlex.quote(app.db_path)}" if app.db_path else "rlm"


def parse_id_list(value: str | None) -> list[int] | None:
    if value is None:
        return None
    ids: list[int] = []
    for part in value.replace(" ", ",").split(","):
        if not part:
            continue
        try:
            ids.append(int(part))
        except ValueError:
            raise InvalidArgumentError(
                f"--chunks: {part!r} is not a chunk ID",
                suggestion="Pass comma-separated chunk IDs, e.g. --chunks 12,13,20",
            ) from None
    if not ids:
        raise InvalidArgumentError("--chunks: no chunk IDs given")
    return ids


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
    help="Only these chunks (e.g. the re-dispatch command printed by 'aggregate --run').",
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
    """
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
            ids = ", ".join(str(i) for i in b.chunk_ids[:5])
            more = ", ..." if len(b.chunk_ids) > 5 else ""
            flag = " [oversized]" if b.oversized else ""
            out.append(
                f"Batch {b.index}: {len(b.chunk_ids)} chunks, ~{b.token_count} tokens"
                f" (IDs: {ids}{more}){flag}"
            )
        out += ["", f"Usage: Feed each batch to a subagent with '{command} chunk get <id>'"]
        if plan.run_id:
            out.append(
                f"Run: {plan.run_id} (check coverage: '{command} aggregate --run {plan.run_id}')"
            )
        return "\n".join(out) + "\n"

    return Output(data=data, text=text, items=data["batches"], warnings=result.warnings)


# --- aggregate ----------------------------------------------------------------


def _read_findings(buffer: str | None, file: str | None) -> str | None:
    """The findings text from --file or stdin; None when --buffer names them."""
    from rlm.agents.findings import MAX_INPUT_BYTES
    from rlm.io import open_file

    if buffer is not None and file is not None:
        raise UsageError("pass either --buffer or --file, not both")
    if buffer is not None:
        return None
    if file is not None:
        with open_file(file, max_size=MAX_INPUT_BYTES, allow_empty=True) as src:
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
    model: str | None,
    model_path: str | None,
) -> Output:
    """Combine analyst findings (stdin, --buffer or --file): filter, group, dedup,
    verify quoted evidence, and with --run list dispatched chunks nobody answered.

    Accepts rlm-rs findings (strings) and analyst-prompt findings (objects with
    text/finding/description and evidence/quote), as a JSON array or NDJSON.
    """
    from rlm.agents.aggregate import report_text
    from rlm.ops.agents import aggregate as run_aggregate

    result = run_aggregate(
        app.store(),
        _read_findings(buffer, file),
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
    )
    return Output(
        data=result.to_json(), text=lambda: report_text(result.report), warnings=result.warnings
    )


def register(root: click.Group) -> None:
    root.add_command(update_buffer)
    root.add_command(update_buffer, name="update")
    root.add_command(dispatch)
    root.add_command(aggregate)


__all__ = ["register"]
