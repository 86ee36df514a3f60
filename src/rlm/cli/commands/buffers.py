"""load, list, show, delete, add-buffer, export-buffers: buffers as a whole."""

from __future__ import annotations

from pathlib import Path

import click

from rlm.cli.context import AppContext, pass_app
from rlm.cli.options import (
    chunk_options,
    embedder_factory,
    max_file_size_option,
    model_options,
    progress_bar,
)
from rlm.cli.render import Output, human_size, safe, to_json, truncate
from rlm.defaults import DEFAULT_EMBED_MODE, EMBED_MODES
from rlm.errors import WriteError
from rlm.ingest.background import BackgroundJob, WorkerCommand
from rlm.ingest.collection import SyncReport
from rlm.ingest.load import process_starter
from rlm.ingest.loader import LoadOptions, LoadResult
from rlm.io import read_stdin
from rlm.notices import embedding_in_background
from rlm.ops import buffers as ops

LISTED = 20
"""Text mode lists at most this many skipped or removed names (JSON lists all)."""


def load_output(result: LoadResult | SyncReport) -> Output:
    """One buffer keeps rlm-rs's line; folders and globs get a summary."""
    if isinstance(result, SyncReport):
        text = report_text(result) + _background_line(result.background)
        return Output(data=result.to_json(), text=text, warnings=result.warnings)
    text = (
        f"Loaded buffer {result.name or 'unnamed'} (ID: {result.buffer_id}) with"
        f" {result.chunk_count} chunks ({result.embedded_count} embedded)"
        f" from {result.source or '<stdin>'}\n"
    ) + _background_line(result.background)
    return Output(data=result.to_json(), text=text, warnings=result.warnings)


def _background_line(job: BackgroundJob | None) -> str:
    """What happens to the vectors when the worker embeds them (text mode)."""
    if job is None:
        return ""
    return embedding_in_background(job.chunks, job.eta_seconds) + "\n"


def report_text(report: SyncReport) -> str:
    lines = [
        f"Loaded collection '{report.collection}': {report.file_count} files",
        f"  added {len(report.added)}, changed {len(report.changed)},"
        f" removed {len(report.removed)}, unchanged {report.unchanged}",
        f"  {report.chunk_count} chunks written, {report.embedded_count} embedded,"
        f" {report.reused_chunks} reused",
    ]
    if report.removed:
        lines.append(f"  removed {len(report.removed)} (--sync: not in the paths any more):")
        lines += _listed(report.removed)
    if report.skipped:
        lines.append(f"  skipped {len(report.skipped)}:")
        lines += _listed([f"{path}: {reason}" for path, reason in report.skipped])
    return "\n".join(lines) + "\n"


def _listed(items: list[str]) -> list[str]:
    lines = [f"    {safe(item)}" for item in items[:LISTED]]  # names may hold newlines
    if len(items) > LISTED:
        lines.append(f"    ... and {len(items) - LISTED} more (see --format json)")
    return lines


EMBED_HINT = "--no-embed stores the text in seconds; 'rlm chunk embed' embeds it later"


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("-n", "--name", help="Buffer name (default: the file name; 'stdin' for -).")
@chunk_options
@model_options
@click.option("--replace", is_flag=True, help="Replace a buffer of the same name.")
@click.option("--lossy", is_flag=True, help="Replace invalid UTF-8 bytes instead of failing.")
@click.option(
    "--embed",
    "embed_mode",
    type=click.Choice(EMBED_MODES, case_sensitive=False),
    default=DEFAULT_EMBED_MODE,
    show_default=True,
    help="When to embed: now (before returning), background (a detached worker; search"
    " works at once, BM25 first), off, or auto: now if the estimate is at most"
    " RLM_BACKGROUND_AFTER seconds (30), else background.",
)
@click.option("--no-embed", is_flag=True, help="Store and index only; embed later (= --embed off).")
@max_file_size_option
@click.option("--collection", help="Folder loads: the collection name (default: folder name).")
@click.option(
    "--sync",
    is_flag=True,
    help="Folders and globs: mirror them, removing the collection's buffers whose files"
    " are not in PATH any more (listed in the output). Without it a load never removes.",
)
@click.option(
    "--hidden",
    is_flag=True,
    help="Folders and globs: also load dotfiles and dot-folders (.github/, .env.example);"
    " .git, .rlm and .venv stay out.",
)
@pass_app
def load(
    app: AppContext,
    paths: tuple[str, ...],
    name: str | None,
    chunker: str,
    chunk_size: int,
    overlap: int,
    language: str | None,
    model: str | None,
    model_path: str | None,
    replace: bool,
    lossy: bool,
    embed_mode: str,
    no_embed: bool,
    max_file_size: int,
    collection: str | None,
    sync: bool,
    hidden: bool,
) -> Output:
    """Load files, folders or stdin (-) into buffers, chunk, index and embed them.

    A load adds and updates buffers; it removes one only with --sync.
    """
    opts = LoadOptions(
        chunker=chunker.lower(),
        chunk_size=chunk_size,
        overlap=overlap,
        replace=replace,
        embed=not no_embed,
        language=language,
    )
    with (
        progress_bar("Loading") as progress,
        progress_bar("Embedding", hint=EMBED_HINT) as embed_progress,
    ):
        result = ops.load(
            app.store(),
            paths,
            name=name,
            options=opts,
            collection=collection,
            sync=sync,
            hidden=hidden,
            lossy=lossy,
            max_file_size=max_file_size,
            embedder_factory=embedder_factory(model, model_path),
            progress=progress,
            embed_progress=embed_progress,
            embed=embed_mode,
            starter=process_starter(WorkerCommand(model, model_path)),
        )
    return load_output(result)


@click.command(name="list")
@click.option("--collection", help="Only buffers of this collection.")
@pass_app
def list_buffers(app: AppContext, collection: str | None) -> Output:
    """List buffers (id, name, collection, size, chunks, source).

    Piped, names and sources are printed whole; in a terminal the table fits
    its width, shortening the name and source columns only as needed.
    """
    from rlm.cli.table import Column, render_table, terminal_width

    result = ops.list_buffers(app.store(), collection)
    buffers = result.buffers

    def text() -> str:
        if not buffers:
            return "No buffers found.\n"
        columns = [
            Column("ID", right=True),
            Column("Name", elastic=True),
            Column("Collection", elastic=True),
            Column("Size", right=True),
            Column("Chunks", right=True),
            Column("Source", elastic=True),
        ]
        rows = [
            [
                str(b.id),
                b.name or "-",
                b.collection or "-",
                human_size(b.size),
                str(b.chunk_count) if b.chunk_count is not None else "-",
                b.source or "-",
            ]
            for b in buffers
        ]
        return "\n".join(["Buffers:", *render_table(columns, rows, terminal_width())]) + "\n"

    return Output(data=result.to_json(), text=text)


@click.command()
@click.argument("buffer")
@click.option("-c", "--chunks", is_flag=True, help="Also list the buffer's chunks.")
@pass_app
def show(app: AppContext, buffer: str, chunks: bool) -> Output:
    """Show one buffer's details (and optionally its chunks)."""
    result = ops.show(app.store(), buffer, chunks=chunks)
    b, chunk_rows = result.buffer, result.chunks

    def text() -> str:
        lines = [
            f"Buffer: {b.name or 'unnamed'}",
            f"  ID:           {b.id}",
            f"  Size:         {b.size} bytes",
        ]
        if b.line_count is not None:
            lines.append(f"  Lines:        {b.line_count}")
        if b.chunk_count is not None:
            lines.append(f"  Chunks:       {b.chunk_count}")
        if b.content_type:
            lines.append(f"  Content type: {b.content_type}")
        if b.source:
            lines.append(f"  Source:       {b.source}")
        if b.content_hash:
            lines.append(f"  SHA-256:      {b.content_hash}")
        if chunk_rows is not None:
            lines += [
                "",
                "Chunks:",
                f"{'Index':<6} {'Start':<12} {'End':<12} {'Size':<10} Preview",
                "-" * 70,
            ]
            for c in chunk_rows:
                preview = truncate(c.content.replace("\n", "\\n"), 30)
                lines.append(
                    f"{c.index:<6} {c.byte_start:<12} {c.byte_end:<12} {c.size:<10} {preview}"
                )
        return "\n".join(lines) + "\n"

    return Output(data=result.to_json(), text=text)


@click.command()
@click.argument("buffer")
@click.option("-y", "--yes", is_flag=True, help="Confirm the deletion.")
@pass_app
def delete(app: AppContext, buffer: str, yes: bool) -> Output:
    """Delete a buffer with its chunks and vectors."""
    result = ops.delete(app.store(), buffer, confirm=yes)
    return Output(data=result.to_json(), text=f"Deleted buffer: {result.buffer.label}\n")


@click.command(name="add-buffer")
@click.argument("name")
@click.argument("content", required=False)
@chunk_options
@model_options
@click.option("--replace", is_flag=True, help="Replace a buffer of the same name.")
@click.option("--no-embed", is_flag=True, help="Store and index only; embed later.")
@pass_app
def add_buffer(
    app: AppContext,
    name: str,
    content: str | None,
    chunker: str,
    chunk_size: int,
    overlap: int,
    language: str | None,
    model: str | None,
    model_path: str | None,
    replace: bool,
    no_embed: bool,
) -> Output:
    """Add a buffer from CONTENT or stdin; it is chunked, indexed and embedded like a load."""
    opts = LoadOptions(
        chunker=chunker.lower(),
        chunk_size=chunk_size,
        overlap=overlap,
        replace=replace,
        embed=not no_embed,
        language=language,
    )
    with (
        progress_bar("Storing") as progress,
        progress_bar("Embedding", hint=EMBED_HINT) as embed_progress,
    ):
        result = ops.add_buffer(
            app.store(),
            name,
            read_stdin() if content is None else content,
            options=opts,
            embedder_factory=embedder_factory(model, model_path),
            progress=progress,
            embed_progress=embed_progress,
        )
    return Output(
        data=result.to_json(),
        text=f"Added buffer '{name}' (ID: {result.buffer_id}, {result.size} bytes)\n",
        warnings=result.warnings,
    )


@click.command(name="export-buffers")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file.")
@click.option("-p", "--pretty", is_flag=True, help="Indent JSON output (JSON is pretty anyway).")
@pass_app
def export_buffers(app: AppContext, output: str | None, pretty: bool) -> Output:
    """Export every buffer: raw text joined by blank lines, or JSON with --format json."""
    del pretty
    store = app.store()
    buffers = store.list_buffers()
    if app.json:
        records = [dict(ops.buffer_json(b), content=store.read_buffer(b.id)) for b in buffers]
        payload = (to_json(records, pretty=True) + "\n").encode("utf-8")
    else:
        records = []
        payload = b"\n\n".join(store.read_buffer_bytes(b.id) for b in buffers)
    if output is None:
        return Output(data=records, raw=payload)
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
    except OSError as exc:
        raise WriteError(f"failed to write file: {path}: {exc.strerror}") from None
    return Output(
        data={"buffer_count": len(buffers), "output": str(path)},
        text=f"Exported buffers to: {path}\n",
    )


def register(root: click.Group) -> None:
    root.add_command(load)
    root.add_command(list_buffers)
    root.add_command(list_buffers, name="ls")
    root.add_command(show)
    root.add_command(delete)
    root.add_command(delete, name="rm")
    root.add_command(add_buffer)
    root.add_command(export_buffers)


__all__ = ["load_output", "register"]
