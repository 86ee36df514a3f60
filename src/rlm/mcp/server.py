"""The rlm MCP server: the store's commands as MCP tools over stdio.

Every tool turns its arguments into an ``rlm`` argv and runs that command
in-process (:mod:`rlm.mcp.invoke`), so its result is the CLI's
``--format json`` payload: a text block holding that JSON (compact) and, when
the payload is an object, the same value as ``structuredContent``. Warnings
the CLI prints on stderr come after it as ``Warning: ...`` text blocks.
A failure is a tool error (``isError: true``) whose text is the rlm error
envelope ``{"error": {"type", "message", "suggestion"}, "success": false}``.

The server process keeps the embedding model loaded between calls, so only
the first semantic search or load pays for loading it. Protocol messages are
the only thing written to stdout; logs go to stderr.
"""

from __future__ import annotations

import inspect
import json
import logging
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError

from rlm import __version__
from rlm.cli.render import Output, to_json
from rlm.errors import InvalidArgumentError, RlmError, UsageError
from rlm.mcp.invoke import CommandRunner, flag, opt, repeat

log = logging.getLogger("rlm.mcp")

INSTRUCTIONS = """\
rlm holds documents far larger than a context window as buffers split into
chunks with stable integer ids. Typical flow: list_buffers (or load) ->
search (returns chunk ids and scores, no text) -> chunk_get on the few ids
worth reading (context=N adds neighbouring chunks). grep and peek look inside
one buffer by regex or byte range. Pass chunk ids around instead of text.
To fan work out: dispatch splits a buffer (or a query's hits) into batches for
sub-agents and records a run; aggregate merges their JSON findings, checks
quoted evidence and, given the run_id, lists chunks nobody answered.
Every result is JSON; errors carry {"error": {"type", "message", "suggestion"}}."""

PURE_TOOLS = ("search", "chunk_get", "chunk_list", "grep", "peek", "list_buffers")
"""Tools that never change the store."""
READ_ONLY_TOOLS = (*PURE_TOOLS, "dispatch", "aggregate")
"""The tools of ``rlm mcp --read-only`` (dispatch records no run there, aggregate
stores no report)."""

BufferRef = Annotated[str, Field(description="Buffer id or name (see list_buffers).")]


def output_result(output: Output) -> CallToolResult:
    """An Output as a tool result: its JSON text (+ structured copy) and warnings."""
    content = [TextContent(type="text", text=to_json(output.data, pretty=False))]
    for warning in output.warnings:
        log.warning("%s", warning)
        content.append(TextContent(type="text", text=f"Warning: {warning}"))
    structured = output.data if isinstance(output.data, dict) else None
    return CallToolResult(
        content=list(content), structured_content=structured, is_error=output.exit_code != 0
    )


def error_result(error: RlmError) -> CallToolResult:
    """An rlm error as a tool error carrying the CLI's JSON error envelope."""
    envelope = error.to_dict()
    return CallToolResult(
        content=[TextContent(type="text", text=to_json(envelope, pretty=False))],
        structured_content=envelope,
        is_error=True,
    )


class RlmTools:
    """The tool functions, bound to one database through a :class:`CommandRunner`.

    Optional arguments left out (None) are not passed to the command, so the
    CLI's own defaults apply; the descriptions name them.
    """

    def __init__(self, runner: CommandRunner, *, read_only: bool = False) -> None:
        self.runner = runner
        self.read_only = read_only
        """Read-only: no load; dispatch records no run; aggregate stores no report."""

    def call(self, argv: list[str]) -> CallToolResult:
        try:
            return output_result(self.runner.run(argv))
        except RlmError as error:
            return error_result(error)

    def search(
        self,
        query: Annotated[
            str | None, Field(description="What to look for: words or a question.")
        ] = None,
        queries: Annotated[
            list[str] | None,
            Field(
                description="More queries fused into one ranking; prefix 'lex:' (keywords),"
                " 'vec:' (a rephrasing) or 'hyde:' (a sentence the answer might contain)."
            ),
        ] = None,
        mode: Annotated[
            str | None,
            Field(description="hybrid (default: BM25 + semantic, fused), semantic or bm25."),
        ] = None,
        top_k: Annotated[
            int | None, Field(ge=0, description="Maximum number of results (default 10).")
        ] = None,
        buffers: Annotated[
            list[str] | None,
            Field(description="Only these buffers (ids or names); default all."),
        ] = None,
        collection: Annotated[
            str | None, Field(description="Only buffers of this collection.")
        ] = None,
        preview: Annotated[
            bool, Field(description="Attach the start of each chunk (content_preview).")
        ] = False,
        preview_len: Annotated[
            int | None, Field(ge=0, description="Preview length in characters (default 150).")
        ] = None,
        threshold: Annotated[
            float | None,
            Field(description="Minimum cosine for semantic matches (default 0.3)."),
        ] = None,
    ) -> CallToolResult:
        """Search chunks by keywords and meaning. Returns ranked chunk ids with scores,
        buffer, byte and line ranges and the best passage's lines (no text unless
        preview); read hits with chunk_get."""
        argv = ["search"]
        argv += opt("--mode", mode) + opt("--top-k", top_k) + repeat("--buffer", buffers)
        argv += opt("--collection", collection) + flag("--preview", preview)
        argv += opt("--preview-len", preview_len) + opt("--threshold", threshold)
        entries = ([query] if query is not None else []) + list(queries or [])
        return self.call([*argv, "--", *entries])

    def chunk_get(
        self,
        chunk_id: Annotated[int, Field(description="The chunk id (from search or chunk_list).")],
        context: Annotated[
            int,
            Field(
                ge=0,
                description="Also include N neighbouring chunks on each side, overlap merged"
                " (result.context.content).",
            ),
        ] = 0,
    ) -> CallToolResult:
        """Get one chunk's text and metadata (buffer, byte/line range, symbol) by id."""
        return self.call(["chunk", "get", "--context", str(context), "--", str(chunk_id)])

    def chunk_list(
        self,
        buffer: BufferRef,
        preview: Annotated[bool, Field(description="Attach the start of each chunk.")] = False,
        preview_len: Annotated[
            int | None, Field(ge=0, description="Preview length in characters (default 100).")
        ] = None,
    ) -> CallToolResult:
        """List a buffer's chunks: ids, index, byte and line ranges, symbols."""
        argv = ["chunk", "list", *flag("--preview", preview), *opt("--preview-len", preview_len)]
        return self.call([*argv, "--", buffer])

    def grep(
        self,
        pattern: Annotated[str, Field(description="Regular expression (Python 're' syntax).")],
        buffer: Annotated[
            str | None,
            Field(description="Buffer id or name; omit with collection or all_buffers."),
        ] = None,
        collection: Annotated[
            str | None, Field(description="Search every buffer of this collection.")
        ] = None,
        all_buffers: Annotated[bool, Field(description="Search every buffer.")] = False,
        max_matches: Annotated[
            int | None,
            Field(ge=0, description="Stop after this many matches, per buffer (default 20)."),
        ] = None,
        window: Annotated[
            int | None,
            Field(ge=0, description="Context bytes on each side of a match (default 120)."),
        ] = None,
        ignore_case: Annotated[bool, Field(description="Case-insensitive matching.")] = False,
    ) -> CallToolResult:
        """Regex search in a buffer, a collection or all buffers: offset, line, match, snippet."""
        argv = ["grep", *opt("--max-matches", max_matches), *opt("--window", window)]
        argv += flag("--ignore-case", ignore_case) + flag("--all", all_buffers)
        argv += opt("--collection", collection)
        return self.call([*argv, "--", *([buffer] if buffer is not None else []), pattern])

    def peek(
        self,
        buffer: BufferRef,
        start: Annotated[int, Field(ge=0, description="First byte.")] = 0,
        end: Annotated[
            int | None, Field(ge=0, description="End byte (default start + 3000).")
        ] = None,
    ) -> CallToolResult:
        """Read bytes start..end of a buffer (snapped to whole UTF-8 characters)."""
        argv = ["peek", "--start", str(start), *opt("--end", end)]
        return self.call([*argv, "--", buffer])

    def list_buffers(
        self,
        collection: Annotated[
            str | None, Field(description="Only buffers of this collection.")
        ] = None,
    ) -> CallToolResult:
        """List the loaded buffers: id, name, source, size, line and chunk counts."""
        return self.call(["list", *opt("--collection", collection)])

    def load(
        self,
        path: Annotated[
            str | None,
            Field(
                description="A file, folder or glob to load, as seen by the server process"
                " (relative paths resolve against its working directory; absolute is safer)."
            ),
        ] = None,
        content: Annotated[
            str | None, Field(description="Text to load instead of a path (needs name).")
        ] = None,
        name: Annotated[
            str | None,
            Field(description="Buffer name (default: the file name; required with content)."),
        ] = None,
        chunker: Annotated[
            str | None,
            Field(description="semantic (default), fixed, code, ast or parallel."),
        ] = None,
        chunk_size: Annotated[
            int | None, Field(ge=1, description="Target chunk size in bytes (default 3000).")
        ] = None,
        overlap: Annotated[
            int | None, Field(ge=0, description="Overlap between chunks in bytes (default 500).")
        ] = None,
        language: Annotated[
            str | None, Field(description="Code chunker language (default: from extension).")
        ] = None,
        replace: Annotated[
            bool, Field(description="Replace an existing buffer of the same name.")
        ] = False,
        embed: Annotated[
            bool, Field(description="Embed the chunks now (false: index only, embed later).")
        ] = True,
        lossy: Annotated[
            bool, Field(description="Path loads: replace invalid UTF-8 instead of failing.")
        ] = False,
        collection: Annotated[
            str | None,
            Field(description="Folder loads: the collection name (default: folder name)."),
        ] = None,
    ) -> CallToolResult:
        """Load a file, folder or glob (path) or a text (content + name) into the store:
        chunk, index and embed it. Returns the buffer id and chunk count (folders: a
        sync report)."""
        try:
            argv = load_argv(path, content, name)
        except RlmError as error:
            return error_result(error)
        argv += opt("--chunker", chunker) + opt("--chunk-size", chunk_size)
        argv += opt("--overlap", overlap) + opt("--language", language)
        argv += flag("--replace", replace) + flag("--no-embed", not embed)
        if path is not None:
            argv += flag("--lossy", lossy) + opt("--collection", collection)
            return self.call([*argv, "--", path])
        assert content is not None and name is not None
        return self.call([*argv, "--", name, content])

    def dispatch(
        self,
        buffer: BufferRef,
        batch_size: Annotated[
            int | None,
            Field(ge=1, description="Chunks per batch (default 10; no cap with max_tokens)."),
        ] = None,
        workers: Annotated[
            int | None,
            Field(ge=1, description="Number of sub-agents: overrides batch_size."),
        ] = None,
        max_tokens: Annotated[
            int | None,
            Field(ge=1, description="Token budget per batch (chunks packed greedily)."),
        ] = None,
        query: Annotated[
            str | None,
            Field(description="Only chunks relevant to this query, in rank order."),
        ] = None,
        mode: Annotated[
            str | None,
            Field(description="Search mode for query: hybrid (default), semantic, bm25."),
        ] = None,
        threshold: Annotated[
            float | None, Field(description="Minimum cosine for query (default 0.3).")
        ] = None,
        top_k: Annotated[
            int | None, Field(ge=0, description="At most this many chunks for query.")
        ] = None,
        chunks: Annotated[
            list[int] | None,
            Field(description="Only these chunk ids (e.g. a re-dispatch of missing chunks)."),
        ] = None,
        record: Annotated[
            bool,
            Field(description="Record the plan as a run (run_id) so aggregate can audit coverage."),
        ] = True,
    ) -> CallToolResult:
        """Split a buffer's chunks into batches for sub-agents. Each batch has chunk ids and
        a ready instruction; the run_id lets aggregate report chunks nobody answered."""
        argv = ["dispatch", *opt("--batch-size", batch_size), *opt("--workers", workers)]
        argv += opt("--max-tokens", max_tokens) + opt("--query", query) + opt("--mode", mode)
        argv += opt("--threshold", threshold) + opt("--top-k", top_k)
        if chunks is not None:
            argv += ["--chunks", ",".join(str(i) for i in chunks)]
        argv += flag("--no-record", not record or self.read_only)
        return self.call([*argv, "--", buffer])

    def aggregate(
        self,
        findings: Annotated[
            str | list[Any] | None,
            Field(
                description="The analysts' findings: a JSON array of items (or its text, or"
                ' NDJSON). Item: {"chunk_id", "relevance": high|medium|low|none, "findings":'
                ' [{"text", "evidence"}], "summary"}.'
            ),
        ] = None,
        buffer: Annotated[
            str | None, Field(description="Read the findings from this buffer instead.")
        ] = None,
        file: Annotated[
            str | None, Field(description="Read the findings from this file instead.")
        ] = None,
        run_id: Annotated[
            str | None,
            Field(description="The dispatch run to audit: lists chunks with no finding."),
        ] = None,
        min_relevance: Annotated[
            str | None,
            Field(
                description="Keep items at least this relevant: high, medium, low (default),"
                " none or all."
            ),
        ] = None,
        group_by: Annotated[
            str | None, Field(description="relevance (default), chunk_id or none.")
        ] = None,
        sort_by: Annotated[
            str | None,
            Field(description="relevance (default), chunk_id, findings_count or none."),
        ] = None,
        output_buffer: Annotated[
            str | None,
            Field(description="Also store the report as a searchable buffer of this name."),
        ] = None,
        replace: Annotated[
            bool, Field(description="With output_buffer: replace a buffer of that name.")
        ] = False,
        verify: Annotated[
            bool, Field(description="Check quoted evidence against the cited chunks.")
        ] = True,
        skip_invalid: Annotated[
            bool, Field(description="Skip invalid items with a warning instead of failing.")
        ] = False,
        embed: Annotated[
            bool, Field(description="With output_buffer: embed the report buffer.")
        ] = True,
    ) -> CallToolResult:
        """Combine sub-agent findings: filter by relevance, group, dedup, verify quoted
        evidence against the chunks and, with run_id, list dispatched chunks nobody
        answered (with a re-dispatch hint)."""
        if sum(x is not None for x in (findings, buffer, file)) != 1:
            return error_result(
                InvalidArgumentError(
                    "pass exactly one of findings, buffer or file",
                    suggestion="findings takes the JSON array the sub-agents returned",
                )
            )
        if output_buffer is not None and self.read_only:
            return error_result(
                InvalidArgumentError(
                    "output_buffer writes to the store, and this server is read-only",
                    suggestion="Leave out output_buffer, or run 'rlm mcp' without --read-only",
                )
            )
        argv = ["aggregate", *opt("--buffer", buffer), *opt("--run", run_id)]
        argv += opt("--min-relevance", min_relevance) + opt("--group-by", group_by)
        argv += opt("--sort-by", sort_by) + opt("--output-buffer", output_buffer)
        argv += flag("--replace", replace) + flag("--no-verify", not verify)
        argv += flag("--skip-invalid", skip_invalid) + flag("--no-embed", not embed)
        if findings is None:
            return self.call([*argv, *opt("--file", file)])
        text = findings if isinstance(findings, str) else json.dumps(findings, ensure_ascii=False)
        with tempfile.TemporaryDirectory(prefix="rlm-mcp-") as folder:
            path = Path(folder) / "findings.json"
            path.write_text(text, encoding="utf-8")
            return self.call([*argv, "--file", str(path)])

    def tools(self) -> list[Callable[..., CallToolResult]]:
        every: list[Callable[..., CallToolResult]] = [
            self.search,
            self.chunk_get,
            self.chunk_list,
            self.grep,
            self.peek,
            self.list_buffers,
            self.dispatch,
            self.aggregate,
            self.load,
        ]
        if self.read_only:
            return [t for t in every if t.__name__ in READ_ONLY_TOOLS]
        return every


def load_argv(path: str | None, content: str | None, name: str | None) -> list[str]:
    """``load`` for a path, ``add-buffer`` for content; exactly one of them."""
    if (path is None) == (content is None):
        raise InvalidArgumentError(
            "pass exactly one of path or content",
            suggestion="path loads a file, folder or glob; content + name loads a text",
        )
    if path is not None:
        if path.strip() in ("", "-"):
            raise InvalidArgumentError(
                f"cannot load {path!r} over MCP (stdin is the protocol)",
                suggestion="Pass the text as content, with a name",
            )
        return ["load", *opt("--name", name)]
    if not name:
        raise InvalidArgumentError("content needs a name", suggestion="Pass name too")
    return ["add-buffer"]


class RlmServer(MCPServer[Any]):
    """MCPServer whose own tool errors also carry the rlm error envelope.

    The SDK rejects an unknown tool or arguments that fail the input schema
    before any rlm code runs; those come back as a ``UsageError`` envelope
    too, so a client has one error shape to handle.
    """

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any],
        context: Context[Any, Any] | None = None,
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc, UnexpectedToolError):
                raise
            hint = "See the tool's input schema (tools/list)"
            return error_result(UsageError(tool_error_message(name, exc), suggestion=hint))


def tool_error_message(name: str, exc: ToolError) -> str:
    cause = exc.__cause__
    if isinstance(cause, ValidationError):
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
            for err in cause.errors(include_url=False)
        ]
        return f"invalid arguments for {name}: " + "; ".join(problems)
    return str(exc)


def build_server(db_path: str | None, *, read_only: bool = False) -> RlmServer:
    """An MCP server exposing the rlm tools for the store at ``db_path``."""
    server = RlmServer(
        name="rlm",
        title="rlm context engine",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
    )
    tools = RlmTools(CommandRunner(db_path), read_only=read_only)
    for fn in tools.tools():
        reads = fn.__name__ in PURE_TOOLS or read_only
        annotations = ToolAnnotations(
            read_only_hint=reads,
            destructive_hint=fn.__name__ in ("load", "aggregate") and not read_only,
            idempotent_hint=reads,
            open_world_hint=False,
        )
        server.add_tool(
            fn,
            name=fn.__name__,
            description=inspect.cleandoc(fn.__doc__ or ""),
            annotations=annotations,
        )
    return server


def warm_model() -> None:
    """Load the embedding model in a background thread (errors only logged)."""

    def load() -> None:
        try:
            from rlm.embedding import get_embedder

            embedder = get_embedder()
            log.info("embedding model ready: %s", getattr(embedder, "name", "?"))
        except Exception as exc:
            log.warning("could not preload the embedding model: %s", exc)

    threading.Thread(target=load, name="rlm-warm-model", daemon=True).start()


def serve(db_path: str | None, *, read_only: bool = False, warm: bool = False) -> None:
    """Serve the store over stdio until the client closes stdin."""
    server = build_server(db_path, read_only=read_only)
    if warm:
        warm_model()
    server.run("stdio")
