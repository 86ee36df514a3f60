"""chunk get / list / embed / status: chunks by reference."""

from __future__ import annotations

import click

from rlm import notices
from rlm.cli.context import AppContext, pass_app
from rlm.cli.options import embedder_factory, model_options, progress_bar
from rlm.cli.render import Output, safe, truncate
from rlm.defaults import CHUNK_PREVIEW_LEN
from rlm.errors import InvalidArgumentError
from rlm.ingest.background import WorkerCommand
from rlm.notices import duration, embedding_in_background
from rlm.ops import chunks as ops
from rlm.views import DEFAULT_CONTEXT_MAX


@click.group()
def chunk() -> None:
    """Work with chunks by ID: the pass-by-reference handle for sub-agents."""


@chunk.command(name="get")
@click.argument("chunk_ids", type=int, metavar="ID...", nargs=-1, required=True)
@click.option("-m", "--metadata", is_flag=True, help="Text: a header with ids and spans.")
@click.option(
    "-C",
    "--context",
    "context",
    type=click.IntRange(min=0),
    default=0,
    help="Include N neighbouring chunks on each side, overlap merged once.",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_CONTEXT_MAX,
    show_default=True,
    help="With --context: leave out the farthest neighbours beyond this many bytes.",
)
@pass_app
def get(
    app: AppContext, chunk_ids: tuple[int, ...], metadata: bool, context: int, max_bytes: int
) -> Output:
    """Print chunks' text (raw, nothing added) for a sub-agent to read.

    One ID prints the chunk as it is (JSON: one object). Several IDs (a whole
    batch in one call) print each chunk after a '--- chunk ID (NAME, lines
    A-B) ---' line; JSON is then a list of objects, NDJSON one per line.
    Piped or redirected, the bytes are exact; on a terminal, control
    characters (ANSI escapes and the like) are shown escaped, as \\x1b.
    """
    store = app.store()
    results = [
        ops.chunk_get(store, chunk_id, context=context, max_bytes=max_bytes)
        for chunk_id in chunk_ids
    ]
    items = [r.to_json() for r in results]
    warnings = [w for r in results for w in r.warnings]
    texts: list[str] = []
    for result in results:
        view, c = result.view, result.view.chunk
        body = view.content if view.content.endswith("\n") else view.content + "\n"
        if metadata:
            header = (
                f"Chunk ID: {c.id}\nBuffer ID: {c.buffer_id}\nIndex: {c.index}\n"
                f"Byte range: {view.start}..{view.end}\nLines: {view.line_start}..{view.line_end}\n"
                f"Size: {view.end - view.start} bytes\nHash: {c.content_hash}\n"
            )
            if context:
                header += f"Chunks: {', '.join(str(i) for i in view.chunk_ids)}\n"
            texts.append(header + "---\n" + body)
        elif len(results) > 1:
            lines = f", lines {view.line_start}-{view.line_end}" if view.line_start else ""
            texts.append(f"--- chunk {c.id} ({view.buffer.label}{lines}) ---\n{body}")
    if len(results) == 1:
        if not metadata:
            raw = results[0].view.content.encode("utf-8")
            return Output(data=items[0], raw=raw, warnings=warnings)
        return Output(data=items[0], text=texts[0], warnings=warnings)
    return Output(data=items, text="".join(texts), items=items, warnings=warnings)


@chunk.command(name="list")
@click.argument("buffer")
@click.option("-p", "--preview", is_flag=True, help="Show the start of each chunk.")
@click.option(
    "--preview-len",
    type=click.IntRange(min=0),
    default=CHUNK_PREVIEW_LEN,
    show_default=True,
    help="Preview length in characters.",
)
@pass_app
def list_chunks(app: AppContext, buffer: str, preview: bool, preview_len: int) -> Output:
    """List a buffer's chunks: id, index, byte start, size, lines."""
    result = ops.chunk_list(app.store(), buffer, preview_len=preview_len if preview else None)
    b, chunks, data = result.buffer, result.chunks, result.to_json()

    def text() -> str:
        if not chunks:
            return f"No chunks found for buffer: {b.label}\n"
        out = [f"Chunks for buffer '{b.label}' ({len(chunks)} chunks):", ""]
        symbols = any(c.symbol for c in chunks)  # code chunks: show what they define
        head = f"{'ID':<8} {'Index':<6} {'Start':<12} {'Size':<12} {'Lines':<14}"
        head += " Symbol" if symbols and not preview else ""
        out += [head + (" Preview" if preview else ""), "-" * (70 if preview or symbols else 54)]
        for c in chunks:
            lines = f"{c.line_start}-{c.line_end}" if c.line_start is not None else "-"
            line = f"{c.id:<8} {c.index:<6} {c.byte_start:<12} {c.size:<12} {lines:<14}"
            if symbols and not preview:
                line += " " + (c.symbol or "-")
            if preview:
                line += " " + truncate(c.content.replace("\n", " "), preview_len + 3)
            out.append(line)
        return "\n".join(out) + "\n"

    return Output(data=data, text=text, items=data["chunks"])


@chunk.command(name="embed")
@click.argument("buffer", required=False)
@click.option("-f", "--force", is_flag=True, help="Re-embed every chunk, even up-to-date ones.")
@click.option("--all", "all_buffers", is_flag=True, help="Embed every buffer.")
@click.option(
    "--wait",
    is_flag=True,
    help="Without BUFFER: block until every chunk has a vector, following the background"
    " worker (or embedding here when none runs), with a progress bar.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Without BUFFER, on a postgresql:// store: start this many worker processes that"
    " share the backlog (with --wait, this process is one of them). Run it on several"
    " machines to split one big job; no chunk is embedded twice.",
)
@model_options
@pass_app
def embed(
    app: AppContext,
    buffer: str | None,
    force: bool,
    all_buffers: bool,
    wait: bool,
    workers: int | None,
    model: str | None,
    model_path: str | None,
) -> Output:
    """Embed the chunks of a buffer that have no vector (all with --force).

    Passages planned under older passage rules are planned and embedded again
    (chunk vectors are kept); the count is said on stderr first.

    Without BUFFER or --all: start the background worker for every chunk that
    lacks a vector (it resumes a killed one) and return; --wait blocks until done.
    The worker re-plans the old passages once nothing lacks a vector: asked through
    a file next to the store (e.g. rlm-state.db.embed.replan), so a worker already
    running sees the request too.
    """
    if buffer is None and not all_buffers:
        if force:
            raise InvalidArgumentError(
                "--force needs a BUFFER or --all", suggestion="rlm chunk embed --all --force"
            )
        if workers is not None:
            _start_workers(app, workers - 1 if wait else workers, model, model_path)
            if not wait:
                return _workers_started(workers)
        return _embed_store(app, wait, model, model_path)
    if workers is not None:
        raise InvalidArgumentError(
            "--workers shares the whole store's backlog; leave out BUFFER and --all",
            suggestion="rlm chunk embed --workers N [--wait]",
        )
    if wait:
        raise InvalidArgumentError(
            "--wait waits for the whole store; leave out BUFFER and --all",
            suggestion="rlm chunk embed --wait",
        )
    with progress_bar("Embedding") as progress:
        result = ops.chunk_embed(
            app.store(),
            buffer,
            all_buffers=all_buffers,
            force=force,
            embedder_factory=embedder_factory(model, model_path),
            progress=progress,
            announce=_announce,
        )
    data = result.to_json()
    items = data if isinstance(data, list) else [data]
    texts: list[str] = []
    up_to_date: list[int] = []
    for e in result.buffers:
        o = e.outcome
        if all_buffers and not (e.model_warning or o.embedded or o.replaced or o.replanned):
            up_to_date.append(o.total_chunks)  # one summary line, not one per buffer
            continue
        texts.append(_embed_text(e))
    if up_to_date:
        texts.append(
            f"{len(up_to_date)} buffers already fully embedded ({sum(up_to_date)} chunks)."
            " Use --force to re-embed.\n"
        )
    return Output(data=data, text="".join(texts), items=items, warnings=result.warnings)


def _announce(message: str) -> None:
    """Say on stderr, before the work starts, what a long run is about to do."""
    click.echo(safe(message[:1].upper() + message[1:] + "."), err=True)


def _start_workers(app: AppContext, count: int, model: str | None, model_path: str | None) -> None:
    """``--workers``: detached workers sharing the backlog (PostgreSQL stores only)."""
    from rlm.ingest.background import start_shared_workers

    store = app.store()
    if not store.shares_embedding_work:
        raise InvalidArgumentError(
            "--workers needs a postgresql:// store; a SQLite store has one worker",
            suggestion="rlm chunk embed [--wait] (without --workers)",
        )
    start_shared_workers(store, count, WorkerCommand(model, model_path))


def _workers_started(count: int) -> Output:
    text = f"Started {count} embedding worker(s) sharing the backlog; see 'rlm status'.\n"
    return Output(data={"workers_started": count}, text=text)


def _embed_store(app: AppContext, wait: bool, model: str | None, model_path: str | None) -> Output:
    """``chunk embed [--wait]``: the store-wide backlog, in the background or waited for."""
    if wait:
        with progress_bar("Embedding") as progress:
            waited = ops.chunk_embed_wait(
                app.store(),
                embedder_factory=embedder_factory(model, model_path),
                progress_cb=progress,
            )
        p = waited.final
        text = (
            f"All {p.total_chunks:,} chunks embedded ({duration(waited.seconds)}).\n"
            if not p.missing
            else f"{p.missing:,} of {p.total_chunks:,} chunks still lack a vector.\n"
        )
        return Output(data=waited.to_json(), text=text, warnings=waited.warnings)
    result = ops.chunk_embed_background(
        app.store(),
        command=WorkerCommand(model, model_path),
        embedder_factory=embedder_factory(model, model_path),
    )
    if result.replan_chunks:
        _announce(notices.replanning(result.replan_chunks))
    job = result.job
    if job is None:
        text = "Every chunk already has a vector.\n"
    else:
        text = embedding_in_background(job.chunks, job.eta_seconds)
        text += "\n" if job.started else " (the worker was already running)\n"
    return Output(data=result.to_json(), text=text, warnings=result.warnings)


def _embed_text(e: ops.BufferEmbedding) -> str:
    """rlm-rs's wording for what ``chunk embed`` did to one buffer."""
    o, label = e.outcome, e.buffer.label
    lines = [f"Warning: {e.model_warning}"] if e.model_warning else []
    if o.replanned:
        lines.append(
            f"Re-planned the passages of {o.replanned} chunks in buffer '{label}'"
            " (planned under older passage rules; chunk vectors kept)."
        )
    if o.embedded == 0 and o.replaced == 0:
        lines.append(
            f"Buffer '{label}' already fully embedded ({o.total_chunks} chunks)."
            " Use --force to re-embed."
        )
    else:
        if o.embedded:
            lines.append(
                f"Embedded {o.embedded} new chunks in buffer '{label}' using model '{o.model}'."
            )
        if o.replaced:
            lines.append(f"Re-embedded {o.replaced} chunks with updated model.")
        if o.skipped:
            lines.append(f"Skipped {o.skipped} chunks (already embedded with current model).")
    return "\n".join(lines) + "\n"


@chunk.command(name="status")
@pass_app
def status(app: AppContext) -> Output:
    """How many chunks of each buffer have a vector, and with which model."""
    result = ops.chunk_status(app.store())
    rows, data = result.rows, result.to_json()
    total, done = result.total_chunks, result.total_embedded

    def text() -> str:
        out = [
            "Embedding Status",
            "================",
            "",
            f"Total: {done}/{total} chunks embedded",
            "",
        ]
        if rows:
            out += [f"{'ID':<6} {'Name':<20} {'Chunks':<10} {'Embedded':<10} Status", "-" * 60]
            for r in rows:
                mark = (
                    "✓ complete"
                    if r.embedded_count == r.chunk_count
                    else "◐ partial"
                    if r.embedded_count
                    else "○ none"
                )
                out.append(
                    f"{r.buffer_id:<6} {truncate(r.name or '-', 20):<20}"
                    f" {r.chunk_count:<10} {r.embedded_count:<10} {mark}"
                )
        return "\n".join(out) + "\n"

    return Output(data=data, text=text, items=data["buffers"])


def register(root: click.Group) -> None:
    root.add_command(chunk)
