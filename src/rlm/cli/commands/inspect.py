"""peek, grep, chunk-indices, write-chunks: looking inside a buffer without search."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from rlm.cli.context import AppContext, pass_app
from rlm.cli.render import Output
from rlm.cli.table import cell
from rlm.defaults import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_OVERLAP,
    GREP_MAX_MATCHES,
    GREP_WINDOW,
    PEEK_BYTES,
)
from rlm.errors import InvalidArgumentError, PathTraversalError, UsageError, WriteError
from rlm.ops import read as ops
from rlm.views import DEFAULT_GREP_BYTES, DEFAULT_PEEK_MAX, chunk_indices


@click.command()
@click.argument("buffer")
@click.option(
    "--start", type=click.IntRange(min=0), default=0, show_default=True, help="First byte."
)
@click.option(
    "--end", type=click.IntRange(min=0), help=f"End byte (default: start + {PEEK_BYTES})."
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_PEEK_MAX,
    show_default=True,
    help="Return at most this many bytes, whatever START..END asks for.",
)
@pass_app
def peek(app: AppContext, buffer: str, start: int, end: int | None, max_bytes: int) -> Output:
    """Show bytes START..END of a buffer (snapped to whole UTF-8 characters)."""
    result = ops.peek(app.store(), buffer, start, end, max_bytes=max_bytes)
    view = result.view
    body = view.content if view.content.endswith("\n") or not view.content else view.content + "\n"
    text = f"Bytes {view.start}..{view.end} ({view.end - view.start} bytes):\n---\n{body}---\n"
    return Output(data=result.to_json(), text=text, warnings=result.warnings)


@click.command()
@click.argument("targets", nargs=-1, required=True, metavar="[BUFFER] PATTERN")
@click.option(
    "-n",
    "--max-matches",
    type=click.IntRange(min=0),
    default=GREP_MAX_MATCHES,
    show_default=True,
    help="Stop after this many matches (per buffer with --collection/--all).",
)
@click.option(
    "-w",
    "--window",
    type=click.IntRange(min=0),
    default=GREP_WINDOW,
    show_default=True,
    help="JSON 'snippet': context bytes on each side of a match (rlm-rs).",
)
@click.option(
    "-C",
    "--context",
    "context",
    type=click.IntRange(min=0, max=100),
    default=0,
    help="Also show N whole lines before and after each matching line.",
)
@click.option("-i", "--ignore-case", is_flag=True, help="Case-insensitive matching.")
@click.option(
    "-c",
    "--collection",
    metavar="NAME",
    help="Search every buffer of this collection (then give only PATTERN).",
)
@click.option("-a", "--all", "all_buffers", is_flag=True, help="Search every buffer.")
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_GREP_BYTES,
    show_default=True,
    help="Stop once the text returned (matches, lines, context) reaches this size.",
)
@pass_app
def grep(
    app: AppContext,
    targets: tuple[str, ...],
    max_matches: int,
    window: int,
    context: int,
    ignore_case: bool,
    collection: str | None,
    all_buffers: bool,
    max_bytes: int,
) -> Output:
    """Regex search inside a buffer, a collection or all buffers (RE2 syntax, linear time).

    `rlm grep BUFFER PATTERN` searches one buffer; `rlm grep --collection NAME
    PATTERN` and `rlm grep --all PATTERN` search many. Text output is one
    line per hit, as ripgrep prints it: NAME:LINE (chunk ID): the whole line.
    JSON hits carry chunk_id (for 'rlm chunk get'), line, column, text (the
    line), before/after (with -C), offset (bytes), matched and snippet (rlm-rs);
    with --collection/--all also buffer_id, buffer_name and source. Patterns
    are RE2 (rlm-rs's syntax): no backreferences or lookaround, never a hang.
    """
    many = collection is not None or all_buffers
    if collection is not None and all_buffers:
        raise UsageError("use either --collection or --all, not both")
    if len(targets) != (1 if many else 2):
        expected = "PATTERN" if many else "BUFFER PATTERN"
        raise UsageError(
            f"expected {expected}, got {len(targets)} argument(s)",
            suggestion="rlm grep BUFFER PATTERN, or rlm grep --collection NAME PATTERN",
        )
    pattern = targets[-1]
    result = ops.grep(
        app.store(),
        pattern,
        buffer=None if many else targets[0],
        collection=collection,
        all_buffers=all_buffers,
        max_matches=max_matches,
        window=window,
        ignore_case=ignore_case,
        context=context,
        max_bytes=max_bytes,
    )
    found = result.matches

    def text() -> str:
        if not found:
            return f"No matches found for pattern: {pattern}\n"
        out = [f"Found {len(found)} matches for pattern: {pattern}", ""]
        shown: tuple[int, int] | None = None
        for b, m in found:
            name = cell(b.label)  # a name must not start a fake line
            if shown == (b.id, m.line):
                continue  # several matches on one line: print the line once
            if context and out[-1] != "":
                out.append("--")
            first = m.line - len(m.before)
            out += [f"{name}-{first + i}- {cell(t, tabs=True)}" for i, t in enumerate(m.before)]
            chunk = f" (chunk {m.chunk_id})" if m.chunk_id is not None else ""
            out.append(f"{name}:{m.line}{chunk}: {cell(m.text, tabs=True)}")
            out += [f"{name}-{m.line + 1 + i}- {cell(t, tabs=True)}" for i, t in enumerate(m.after)]
            shown = (b.id, m.line)
        return "\n".join(out) + "\n"

    return Output(data=result.to_json(), text=text, warnings=result.warnings)


@click.command(name="chunk-indices")
@click.argument("buffer")
@click.option(
    "--chunk-size", type=click.IntRange(min=0), default=DEFAULT_CHUNK_SIZE, show_default=True
)
@click.option("--overlap", type=click.IntRange(min=0), default=DEFAULT_OVERLAP, show_default=True)
@pass_app
def chunk_indices_cmd(app: AppContext, buffer: str, chunk_size: int, overlap: int) -> Output:
    """Byte ranges a fixed-size split would produce (snapped to UTF-8 characters)."""
    store = app.store()
    b = store.resolve_buffer(buffer)
    if chunk_size == 0 or overlap >= chunk_size:
        raise InvalidArgumentError(
            "Invalid chunk_size or overlap", suggestion="Use --chunk-size > --overlap"
        )
    pairs = chunk_indices(store, b, chunk_size, overlap)
    lines = [f"{len(pairs)} chunks:"] + [
        f"  [{i}] {s}..{e} ({e - s} bytes)" for i, (s, e) in enumerate(pairs)
    ]
    return Output(data=[[s, e] for s, e in pairs], text="\n".join(lines) + "\n")


_SAFE_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@click.command(name="write-chunks")
@click.argument("buffer")
@click.option(
    "-o", "--out-dir", default=".rlm/chunks", show_default=True, type=click.Path(file_okay=False)
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    help="Re-chunk with this size instead of writing the stored chunks.",
)
@click.option("--overlap", type=click.IntRange(min=0), help="Overlap when re-chunking.")
@click.option("--prefix", default="chunk", show_default=True, help="File name prefix.")
@pass_app
def write_chunks(
    app: AppContext,
    buffer: str,
    out_dir: str,
    chunk_size: int | None,
    overlap: int | None,
    prefix: str,
) -> Output:
    """Write a buffer's chunks to files (the store is not changed)."""
    if not _SAFE_PREFIX.match(prefix) or ".." in prefix:
        raise PathTraversalError(prefix)
    from rlm.views import chunks_for_files

    store = app.store()
    b = store.resolve_buffer(buffer)
    pieces = chunks_for_files(store, b, chunk_size, overlap)
    folder = Path(out_dir)
    width = max(4, len(str(max(len(pieces) - 1, 0))))
    paths: list[str] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for index, content in pieces:
            path = folder / f"{prefix}_{index:0{width}d}.txt"
            path.write_text(content, encoding="utf-8")
            paths.append(str(path))
    except OSError as exc:
        raise WriteError(f"failed to write file: {folder}: {exc.strerror}") from None
    text = f"Wrote {len(paths)} chunks:\n" + "".join(f"  {p}\n" for p in paths)
    data: Any = paths
    return Output(data=data, text=text)


def register(root: click.Group) -> None:
    for command in (peek, grep, chunk_indices_cmd, write_chunks):
        root.add_command(command)
