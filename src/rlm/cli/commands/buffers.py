"""load, list, show, delete, add-buffer, export-buffers: buffers as a whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rlm.cli.context import AppContext, pass_app
from rlm.cli.options import chunk_options, embedder_factory, model_options, progress_bar
from rlm.cli.render import Output, human_size, to_json, truncate
from rlm.errors import ConfirmationRequiredError, WriteError
from rlm.io import DEFAULT_MAX_FILE_SIZE, from_bytes, read_stdin
from rlm.loader import LoadOptions, LoadResult, load_text
from rlm.store import Buffer, Chunk, Store
from rlm.suggest import rlm_command


def buffer_json(buffer: Buffer) -> dict[str, Any]:
    """The rlm-rs buffer object, without the whole content (rlm-rs dumped it)."""
    return {
        "id": buffer.id,
        "name": buffer.name,
        "source": buffer.source,
        "collection": buffer.collection,
        "metadata": {
            "content_type": buffer.content_type,
            "created_at": buffer.created_at,
            "updated_at": buffer.updated_at,
            "size": buffer.size,
            "line_count": buffer.line_count,
            "chunk_count": buffer.chunk_count,
            "content_hash": buffer.content_hash,
            "encoding": buffer.encoding,
            "chunk_strategy": buffer.chunk_strategy,
        },
    }


def chunk_json(chunk: Chunk, *, with_content: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": chunk.id,
        "buffer_id": chunk.buffer_id,
        "byte_range": {"start": chunk.byte_start, "end": chunk.byte_end},
        "index": chunk.index,
        "metadata": {
            "strategy": chunk.strategy,
            "token_count": chunk.token_count,
            "line_range": (
                {"start": chunk.line_start, "end": chunk.line_end}
                if chunk.line_start is not None
                else None
            ),
            "created_at": chunk.created_at,
            "content_hash": chunk.content_hash,
            "has_overlap": chunk.has_overlap,
            "symbol": chunk.symbol,
        },
    }
    if with_content:
        data["content"] = chunk.content
    return data


def load_result_json(result: LoadResult) -> dict[str, Any]:
    return {
        "buffer_id": result.buffer_id,
        "chunk_count": result.chunk_count,
        "embedded_count": result.embedded_count,
        "model": result.model,
        "name": result.name,
        "replaced": result.replaced_buffer,
        "size": result.size,
        "source": result.source,
    }


def load_warnings(result: LoadResult) -> list[str]:
    warnings = []
    if result.fallback_reason:
        warnings.append(
            f"embedding model unavailable ({result.fallback_reason}); used the hash fallback,"
            " so semantic search is lexical only. Run 'rlm model doctor'."
        )
    if result.embed_error is not None:
        warnings.append(
            f"{result.unembedded} chunks not embedded ({result.embed_error.message});"
            f" run '{rlm_command('chunk', 'embed', result.name or result.buffer_id)}'"
        )
    return warnings


def run_load(
    app: AppContext,
    text_source: Any,
    name: str | None,
    opts: LoadOptions,
    model: str | None,
    model_path: str | None,
) -> LoadResult:
    """Load one validated text with progress bars for storing and embedding."""
    with progress_bar("Storing") as store_progress, progress_bar("Embedding") as embed_progress:
        return load_text(
            app.store(),
            text_source,
            name=name,
            options=opts,
            embedder_factory=embedder_factory(model, model_path),
            progress=store_progress,
            embed_progress=embed_progress,
        )


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("-n", "--name", help="Buffer name (default: the file name; 'stdin' for -).")
@chunk_options
@model_options
@click.option("--replace", is_flag=True, help="Replace a buffer of the same name.")
@click.option("--lossy", is_flag=True, help="Replace invalid UTF-8 bytes instead of failing.")
@click.option("--no-embed", is_flag=True, help="Store and index only; embed later.")
@click.option(
    "--max-file-size",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_FILE_SIZE,
    show_default=True,
    help="Refuse files larger than this many bytes.",
)
@click.option("--collection", help="Folder loads: the collection name (default: folder name).")
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
    no_embed: bool,
    max_file_size: int,
    collection: str | None,
) -> Output:
    """Load files, folders or stdin (-) into buffers, chunk, index and embed them."""
    from rlm.cli.commands.load_paths import load_paths

    opts = LoadOptions(
        chunker=chunker.lower(),
        chunk_size=chunk_size,
        overlap=overlap,
        replace=replace,
        embed=not no_embed,
        language=language,
    )
    if paths == ("-",):
        text = read_stdin(lossy=lossy, allow_empty=False)
        result = run_load(app, text, name or "stdin", opts, model, model_path)
        return _single_output(result)
    return load_paths(
        app,
        paths,
        name=name,
        opts=opts,
        model=model,
        model_path=model_path,
        lossy=lossy,
        max_file_size=max_file_size,
        collection=collection,
    )


def _single_output(result: LoadResult) -> Output:
    text = (
        f"Loaded buffer {result.name or 'unnamed'} (ID: {result.buffer_id}) with"
        f" {result.chunk_count} chunks ({result.embedded_count} embedded)"
        f" from {result.source or '<stdin>'}\n"
    )
    return Output(data=load_result_json(result), text=text, warnings=load_warnings(result))


@click.command(name="list")
@click.option("--collection", help="Only buffers of this collection.")
@pass_app
def list_buffers(app: AppContext, collection: str | None) -> Output:
    """List buffers (id, name, size, chunks, source)."""
    buffers = app.store().list_buffers(collection)

    def text() -> str:
        if not buffers:
            return "No buffers found.\n"
        lines = ["Buffers:", f"{'ID':<6} {'Name':<20} {'Size':<12} {'Chunks':<8} Source", "-" * 70]
        for b in buffers:
            lines.append(
                f"{b.id:<6} {truncate(b.name or '-', 20):<20} {human_size(b.size):<12}"
                f" {b.chunk_count if b.chunk_count is not None else '-'!s:<8}"
                f" {truncate(b.source or '-', 30)}"
            )
        return "\n".join(lines) + "\n"

    return Output(data=[buffer_json(b) for b in buffers], text=text)


@click.command()
@click.argument("buffer")
@click.option("-c", "--chunks", is_flag=True, help="Also list the buffer's chunks.")
@pass_app
def show(app: AppContext, buffer: str, chunks: bool) -> Output:
    """Show one buffer's details (and optionally its chunks)."""
    store = app.store()
    b = store.resolve_buffer(buffer)
    chunk_rows = store.list_chunks(b.id) if chunks else None

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

    data = {
        "buffer": buffer_json(b),
        "chunks": [chunk_json(c) for c in chunk_rows] if chunk_rows is not None else None,
    }
    return Output(data=data, text=text)


@click.command()
@click.argument("buffer")
@click.option("-y", "--yes", is_flag=True, help="Confirm the deletion.")
@pass_app
def delete(app: AppContext, buffer: str, yes: bool) -> Output:
    """Delete a buffer with its chunks and vectors."""
    store = app.store()
    b = store.resolve_buffer(buffer)
    if not yes:
        raise ConfirmationRequiredError("deletion")
    with store.transaction():
        store.delete_buffer(b.id)
        store.context_remove_buffer(b.id)
    return Output(
        data={"buffer_id": b.id, "deleted": True, "name": b.name},
        text=f"Deleted buffer: {b.label}\n",
    )


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
    text = read_stdin() if content is None else from_bytes(content.encode("utf-8"))
    opts = LoadOptions(
        chunker=chunker.lower(),
        chunk_size=chunk_size,
        overlap=overlap,
        replace=replace,
        embed=not no_embed,
        language=language,
    )
    result = run_load(app, text, name, opts, model, model_path)
    data = load_result_json(result)
    return Output(
        data=data,
        text=f"Added buffer '{name}' (ID: {result.buffer_id}, {result.size} bytes)\n",
        warnings=load_warnings(result),
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
        records = [dict(buffer_json(b), content=store.read_buffer(b.id)) for b in buffers]
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


__all__ = ["Store", "register"]
