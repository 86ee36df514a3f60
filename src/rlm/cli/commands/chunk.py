"""chunk get / list / embed / status: chunks by reference."""

from __future__ import annotations

from typing import Any

import click

from rlm.cli.context import AppContext, pass_app
from rlm.cli.options import embedder_factory, model_options, progress_bar
from rlm.cli.render import Output, truncate
from rlm.store import Chunk


@click.group()
def chunk() -> None:
    """Work with chunks by ID: the pass-by-reference handle for sub-agents."""


def _get_json(c: Chunk, buffer_name: str | None, source: str | None) -> dict[str, Any]:
    return {
        "buffer_id": c.buffer_id,
        "buffer_name": buffer_name,
        "byte_range": {"end": c.byte_end, "start": c.byte_start},
        "chunk_id": c.id,
        "content": c.content,
        "content_hash": c.content_hash,
        "index": c.index,
        "line_range": {"end": c.line_end, "start": c.line_start},
        "size": c.size,
        "source": source,
        "symbol": c.symbol,
        "token_count": c.token_count,
    }


@chunk.command(name="get")
@click.argument("chunk_id", type=int, metavar="ID")
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
    default=1 << 20,
    show_default=True,
    help="With --context: drop the farthest neighbours beyond this many bytes.",
)
@pass_app
def get(app: AppContext, chunk_id: int, metadata: bool, context: int, max_bytes: int) -> Output:
    """Print one chunk's text (raw, nothing added) for a sub-agent to read.

    Piped or redirected, the bytes are exact. On a terminal, control
    characters (ANSI escapes and the like) are shown escaped, as \\x1b.
    """
    from rlm.views import chunk_with_context

    store = app.store()
    view = chunk_with_context(store, chunk_id, context, max_bytes)
    warnings = []
    if view.truncated:
        warnings.append(
            f"context cut to {len(view.chunk_ids)} chunks ({view.end - view.start} bytes);"
            " pass --max-bytes to raise the cap"
        )
    c = view.chunk
    data = _get_json(c, view.buffer.name, view.buffer.source)
    if context:
        data["context"] = {
            "byte_range": {"end": view.end, "start": view.start},
            "chunk_ids": view.chunk_ids,
            "content": view.content,
            "line_range": {"end": view.line_end, "start": view.line_start},
        }
        if view.truncated:
            data["context"]["truncated"] = True
    if not metadata:
        return Output(data=data, raw=view.content.encode("utf-8"), warnings=warnings)
    body = view.content if view.content.endswith("\n") else view.content + "\n"
    header = (
        f"Chunk ID: {c.id}\nBuffer ID: {c.buffer_id}\nIndex: {c.index}\n"
        f"Byte range: {view.start}..{view.end}\nLines: {view.line_start}..{view.line_end}\n"
        f"Size: {view.end - view.start} bytes\nHash: {c.content_hash}\n"
    )
    if context:
        header += f"Chunks: {', '.join(str(i) for i in view.chunk_ids)}\n"
    return Output(data=data, text=header + "---\n" + body, warnings=warnings)


@chunk.command(name="list")
@click.argument("buffer")
@click.option("-p", "--preview", is_flag=True, help="Show the start of each chunk.")
@click.option(
    "--preview-len",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Preview length in characters.",
)
@pass_app
def list_chunks(app: AppContext, buffer: str, preview: bool, preview_len: int) -> Output:
    """List a buffer's chunks: id, index, byte start, size, lines."""
    store = app.store()
    b = store.resolve_buffer(buffer)
    chunks = store.list_chunks(b.id)
    rows: list[dict[str, Any]] = []
    for c in chunks:
        row: dict[str, Any] = {
            "byte_range": {"end": c.byte_end, "start": c.byte_start},
            "content_hash": c.content_hash,
            "id": c.id,
            "index": c.index,
            "line_range": {"end": c.line_end, "start": c.line_start},
            "size": c.size,
            "symbol": c.symbol,
            "token_count": c.token_count,
        }
        if preview:
            row["preview"] = c.content[:preview_len]
        rows.append(row)
    data = {"buffer_id": b.id, "buffer_name": b.name, "chunk_count": len(rows), "chunks": rows}

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

    return Output(data=data, text=text, items=rows)


@chunk.command(name="embed")
@click.argument("buffer", required=False)
@click.option("-f", "--force", is_flag=True, help="Re-embed every chunk, even up-to-date ones.")
@click.option("--all", "all_buffers", is_flag=True, help="Embed every buffer.")
@model_options
@pass_app
def embed(
    app: AppContext,
    buffer: str | None,
    force: bool,
    all_buffers: bool,
    model: str | None,
    model_path: str | None,
) -> Output:
    """Embed the chunks of a buffer that have no vector (all with --force)."""
    from rlm.cli.commands.embed_report import embed_buffers

    with progress_bar("Embedding") as progress:
        return embed_buffers(
            app, buffer, all_buffers, force, embedder_factory(model, model_path), progress
        )


@chunk.command(name="status")
@pass_app
def status(app: AppContext) -> Output:
    """How many chunks of each buffer have a vector, and with which model."""
    rows = app.store().embedding_status()
    buffers = [
        {
            "buffer_id": r.buffer_id,
            "chunk_count": r.chunk_count,
            "embedded_count": r.embedded_count,
            "fully_embedded": r.embedded_count == r.chunk_count,
            "models": list(r.models),
            "name": r.name,
        }
        for r in rows
    ]
    total = sum(r.chunk_count for r in rows)
    done = sum(r.embedded_count for r in rows)
    data = {"buffers": buffers, "total_chunks": total, "total_embedded": done}

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

    return Output(data=data, text=text, items=buffers)


def register(root: click.Group) -> None:
    root.add_command(chunk)
