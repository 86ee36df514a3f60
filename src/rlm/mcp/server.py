"""The rlm MCP server: the store's operations as MCP tools (stdio or streamable HTTP).

Every tool calls one :mod:`rlm.ops` function and returns its ``to_json()``,
the same value ``rlm --format json`` prints for the same arguments: a text
block holding that JSON (compact) and, when it is an object, the same value
as ``structuredContent``. Warnings follow as ``Warning: ...`` text blocks. A
failure is a tool error (``isError: true``) whose text is the rlm error
envelope ``{"error": {"type", "message", "suggestion"}, "success": false}``.

Defaults in the tools' field descriptions come from :mod:`rlm.defaults`, as
the CLI's ``--help`` does, so the two cannot disagree.

The server process keeps the embedding model loaded between calls, so only
the first semantic search or load pays for loading it. Protocol messages are
the only thing written to stdout; logs go to stderr.
"""

from __future__ import annotations

import inspect
import logging
import shlex
import threading
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import Field, ValidationError

from rlm import __version__, ops
from rlm.defaults import (
    CHUNK_PREVIEW_LEN,
    CHUNKERS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_EMBED_MODE,
    DEFAULT_MODE,
    DEFAULT_OVERLAP,
    DEFAULT_THRESHOLD,
    DEFAULT_TOP_K,
    GREP_MAX_MATCHES,
    GREP_WINDOW,
    MCP_MAX_TOKENS,
    MODES,
    PEEK_BYTES,
    SEARCH_PREVIEW_LEN,
)
from rlm.errors import InvalidArgumentError, RlmError, UsageError
from rlm.ingest.background import WorkerFiles, WorkerThread, worker_running
from rlm.ingest.loader import LoadOptions
from rlm.mcp.access import PathPolicy
from rlm.mcp.calls import DEFAULT_CALL_TIMEOUT, CallControl, CallRunner, CallStoppedError
from rlm.mcp.output import error_result, result_to_tool
from rlm.mcp.paging import chunk_page, grep_page, search_page
from rlm.ops.base import Result, default_embedder
from rlm.store import Store

log = logging.getLogger("rlm.mcp")

INSTRUCTIONS = """\
rlm holds documents far larger than a context window as buffers split into
chunks with stable integer ids. Typical flow: list_buffers (or load) ->
search (returns chunk ids and scores, no text) -> chunk_get on the few ids
worth reading (context=N adds neighbouring chunks). grep and peek look inside
one buffer by regex or byte range. Pass chunk ids around instead of text.
To fan work out: dispatch splits a buffer (or a query's hits) into batches for
sub-agents and records a run (runs lists them); aggregate merges their JSON
findings, checks quoted evidence and, given the run_id, lists chunks nobody
answered. search, chunk_get and grep fit max_tokens; a longer result comes with
next_cursor: call again with the same arguments and that cursor for the rest.
Every result is JSON; errors carry {"error": {"type", "message", "suggestion"}}."""

PURE_TOOLS = ("search", "chunk_get", "chunk_list", "grep", "peek", "list_buffers", "runs")
"""Tools that never change the store."""
READ_ONLY_TOOLS = (*PURE_TOOLS, "dispatch", "aggregate")
"""The tools of a read-only server (dispatch records no run there, aggregate stores no report)."""

BufferRef = Annotated[str, Field(description="Buffer id or name (see list_buffers).")]
PageBudget = Annotated[
    int,
    Field(
        ge=100,
        description=f"Token budget of the result (default {MCP_MAX_TOKENS}): a longer"
        " one is cut and next_cursor says where the rest starts.",
    ),
]
"""search, chunk_get and grep: how much one call may return (see rlm.mcp.paging)."""
PageCursor = Annotated[
    str | None,
    Field(description="next_cursor of the previous call (same arguments): the next page."),
]
Op = Callable[[Store], Result]


def _choices(values: tuple[str, ...]) -> str:
    return f"{values[0]} (default), " + ", ".join(values[1:-1]) + f" or {values[-1]}"


class RlmTools:
    """The tool functions, bound to one database.

    Calls run concurrently (:mod:`rlm.mcp.calls`): each opens the store in its
    own worker thread (SQLite connections never cross threads), runs one
    operation and closes it, under the server's per-call deadline; a
    cancelled or timed-out call is interrupted and rolls back. The embedding
    model is cached per process by :func:`rlm.embedding.get_embedder`, so it
    stays warm between calls and is shared by them.
    """

    def __init__(
        self,
        db_path: str,
        *,
        read_only: bool = False,
        policy: PathPolicy | None = None,
        call_timeout: float | None = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        self.db_path = db_path
        self.read_only = read_only
        """Read-only: no load; dispatch records no run; aggregate stores no report."""
        self.policy = policy or PathPolicy.for_roots([Path.cwd()])
        """Which paths ``load`` may read (roots, deny-list)."""
        self.command = f"rlm -d {shlex.quote(db_path)}"
        """How dispatch instructions spell the CLI, as ``rlm -d PATH dispatch`` does."""
        self.runner = CallRunner(call_timeout)
        """Runs each call in its own thread, with the deadline and cancellation."""
        self.embedding = WorkerThread(db_path, default_embedder, log.info)
        """Big loads embed in this thread with the warm model (see rlm.ingest.background)."""
        self._closed = threading.Event()
        self._resume: threading.Thread | None = None

    async def call(self, tool: str, op: Op) -> CallToolResult:
        """Run ``op`` on a store of its own in a worker thread, under the deadline."""
        try:
            return await self.runner.run(tool, partial(self._run, tool, op))
        except RlmError as error:  # DeadlineExceeded (a cancelled call gets no answer)
            log.warning("%s", error.message)
            return error_result(error)

    def _run(self, tool: str, op: Op, control: CallControl) -> CallToolResult:
        try:
            # read-only: SQLite mode=ro, no migration, the file's bytes never change
            store = Store.open(self.db_path, read_only=self.read_only)
        except RlmError as error:
            return error_result(error)
        control.attach(store)
        try:
            return result_to_tool(op(store))
        except Exception as exc:
            if control.stopped:  # the deadline or a cancel interrupted its SQL
                raise CallStoppedError(tool) from exc
            if isinstance(exc, RlmError):
                return error_result(exc)
            log.exception("tool call failed unexpectedly")
            return error_result(
                RlmError(
                    f"internal error: {type(exc).__name__}: {exc}",
                    error_type="InternalError",
                    suggestion="See the server's stderr for a traceback and report it",
                )
            )
        finally:
            control.detach(store)
            store.close()

    def resume_embedding(self) -> bool:
        """Start the embedding thread if the store has chunks without a vector.

        A server that starts on a store a killed load or worker left half
        embedded finishes the job with its warm model. Not on a read-only
        server, nor while a detached worker (``rlm load``'s) holds the store's
        worker lock: the thread takes that same lock, so the two never embed
        one store at once. True if the thread was started.
        """
        if self.read_only or self._closed.is_set():
            return False
        if worker_running(WorkerFiles.of(self.db_path)):
            return False
        try:
            with Store.open(self.db_path) as store:
                backlog = store.embedding_backlog().chunks
        except RlmError as error:  # not initialised yet, untrusted...: calls will say so
            log.info("no background embedding at start: %s", error.message)
            return False
        if backlog == 0 or self._closed.is_set():
            return False
        log.info("%d chunks lack a vector: embedding them in the background", backlog)
        return self.embedding.kick()

    def resume_embedding_soon(self) -> None:
        """:meth:`resume_embedding` in a thread: counting the backlog of a big store
        takes a moment, and the client is waiting for the server to answer."""
        self._resume = threading.Thread(
            target=self.resume_embedding, name="rlm-embed-resume", daemon=True
        )
        self._resume.start()

    def close(self, timeout: float = 10.0) -> None:
        """Shutdown: stop running calls and the embedding thread (after its batch)."""
        self._closed.set()
        self.runner.stop_all()
        if self._resume is not None:
            self._resume.join(timeout)  # so it cannot start the thread after this
        self.embedding.stop(timeout)

    async def search(
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
            str,
            Field(description=f"{_choices(MODES)}: hybrid fuses BM25 and semantic rankings (RRF)."),
        ] = DEFAULT_MODE,
        top_k: Annotated[
            int, Field(ge=0, description=f"Maximum number of results (default {DEFAULT_TOP_K}).")
        ] = DEFAULT_TOP_K,
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
            int,
            Field(
                ge=0, description=f"Preview length in characters (default {SEARCH_PREVIEW_LEN})."
            ),
        ] = SEARCH_PREVIEW_LEN,
        threshold: Annotated[
            float,
            Field(
                description=f"Minimum cosine for semantic matches (default {DEFAULT_THRESHOLD})."
            ),
        ] = DEFAULT_THRESHOLD,
        max_tokens: PageBudget = MCP_MAX_TOKENS,
        cursor: PageCursor = None,
        refresh: Annotated[
            bool,
            Field(
                description="First re-sync searched buffers loaded from folders whose files"
                " changed (one stat per file; not on a read-only server)."
            ),
        ] = False,
    ) -> CallToolResult:
        """Search chunks by keywords and meaning. Returns ranked chunk ids with scores,
        buffer, byte and line ranges and the best passage's lines (no text unless
        preview); read hits with chunk_get.
        semantic_coverage says how many chunks have a vector yet."""
        if refresh and self.read_only:
            return error_result(
                InvalidArgumentError(
                    "refresh writes to the store, and this server is read-only",
                    suggestion="Search without refresh, or start the server with writes allowed",
                )
            )
        starter = self.embedding.starter()
        return await self.call(
            "search",
            lambda store: search_page(
                ops.search(
                    store,
                    query,
                    queries=queries or (),
                    mode=mode,
                    top_k=top_k,
                    threshold=threshold,
                    buffers=buffers or (),
                    collection=collection,
                    preview=preview,
                    preview_len=preview_len,
                    refresh=refresh,
                    starter=starter,
                ),
                cursor,
                max_tokens,
            ),
        )

    async def chunk_get(
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
        max_tokens: PageBudget = MCP_MAX_TOKENS,
        cursor: PageCursor = None,
    ) -> CallToolResult:
        """Get one chunk's text and metadata (buffer, byte/line range, symbol) by id."""
        return await self.call(
            "chunk_get",
            lambda store: chunk_page(
                ops.chunk_get(store, chunk_id, context=context), cursor, max_tokens
            ),
        )

    async def chunk_list(
        self,
        buffer: BufferRef,
        preview: Annotated[bool, Field(description="Attach the start of each chunk.")] = False,
        preview_len: Annotated[
            int,
            Field(ge=0, description=f"Preview length in characters (default {CHUNK_PREVIEW_LEN})."),
        ] = CHUNK_PREVIEW_LEN,
    ) -> CallToolResult:
        """List a buffer's chunks: ids, index, byte and line ranges, symbols."""
        shown = preview_len if preview else None
        return await self.call(
            "chunk_list", lambda store: ops.chunk_list(store, buffer, preview_len=shown)
        )

    async def grep(
        self,
        pattern: Annotated[str, Field(description="Regular expression (RE2: no backreferences).")],
        buffer: Annotated[
            str | None,
            Field(description="Buffer id or name; omit with collection or all_buffers."),
        ] = None,
        collection: Annotated[
            str | None, Field(description="Search every buffer of this collection.")
        ] = None,
        all_buffers: Annotated[bool, Field(description="Search every buffer.")] = False,
        max_matches: Annotated[
            int,
            Field(
                ge=0,
                description=f"Stop after this many matches, per buffer (default"
                f" {GREP_MAX_MATCHES}).",
            ),
        ] = GREP_MAX_MATCHES,
        window: Annotated[
            int,
            Field(
                ge=0,
                description=f"Context bytes on each side of a match (default {GREP_WINDOW}).",
            ),
        ] = GREP_WINDOW,
        ignore_case: Annotated[bool, Field(description="Case-insensitive matching.")] = False,
        context: Annotated[
            int,
            Field(ge=0, le=100, description="Whole lines before and after each hit (default 0)."),
        ] = 0,
        max_tokens: PageBudget = MCP_MAX_TOKENS,
        cursor: PageCursor = None,
    ) -> CallToolResult:
        """Regex (RE2) search in a buffer, a collection or all buffers: each hit has its
        chunk_id (for chunk_get), line, column and the whole line (text)."""
        return await self.call(
            "grep",
            lambda store: grep_page(
                ops.grep(
                    store,
                    pattern,
                    buffer=buffer,
                    collection=collection,
                    all_buffers=all_buffers,
                    max_matches=max_matches,
                    window=window,
                    ignore_case=ignore_case,
                    context=context,
                ),
                cursor,
                max_tokens,
            ),
        )

    async def peek(
        self,
        buffer: BufferRef,
        start: Annotated[int, Field(ge=0, description="First byte.")] = 0,
        end: Annotated[
            int | None, Field(ge=0, description=f"End byte (default start + {PEEK_BYTES}).")
        ] = None,
    ) -> CallToolResult:
        """Read bytes start..end of a buffer (snapped to whole UTF-8 characters)."""
        return await self.call("peek", lambda store: ops.peek(store, buffer, start, end))

    async def list_buffers(
        self,
        collection: Annotated[
            str | None, Field(description="Only buffers of this collection.")
        ] = None,
    ) -> CallToolResult:
        """List the loaded buffers: id, name, source, size, line and chunk counts."""
        return await self.call("list_buffers", lambda store: ops.list_buffers(store, collection))

    async def runs(
        self,
        run_id: Annotated[
            str | None,
            Field(description="One run's parameters and batches; omit to list the runs."),
        ] = None,
        limit: Annotated[
            int | None, Field(ge=1, description="Only the newest N runs (default: all).")
        ] = None,
    ) -> CallToolResult:
        """The dispatch runs recorded for aggregate(run_id=...), newest first: buffer,
        batch and chunk counts; with run_id, that run's batches."""
        if run_id is not None:
            return await self.call("runs", lambda store: ops.run_detail(store, run_id))
        return await self.call("runs", lambda store: ops.runs(store, limit))

    async def load(
        self,
        path: Annotated[
            str | None,
            Field(
                description="A file, folder or glob to load, below the server's roots"
                " (relative paths resolve against its working directory)."
            ),
        ] = None,
        content: Annotated[
            str | None, Field(description="Text to load instead of a path (needs name).")
        ] = None,
        name: Annotated[
            str | None,
            Field(description="Buffer name (default: the file name; required with content)."),
        ] = None,
        chunker: Annotated[str, Field(description=f"{_choices(CHUNKERS)}.")] = CHUNKERS[0],
        chunk_size: Annotated[
            int,
            Field(ge=1, description=f"Target chunk size in bytes (default {DEFAULT_CHUNK_SIZE})."),
        ] = DEFAULT_CHUNK_SIZE,
        overlap: Annotated[
            int,
            Field(
                ge=0, description=f"Overlap between chunks in bytes (default {DEFAULT_OVERLAP})."
            ),
        ] = DEFAULT_OVERLAP,
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
        sync: Annotated[
            bool,
            Field(
                description="Folders and globs: mirror them, removing the collection's buffers"
                " whose files are no longer there (the result lists them). Default: never remove."
            ),
        ] = False,
        hidden: Annotated[
            bool,
            Field(description="Folders and globs: also load dotfiles and dot-folders."),
        ] = False,
    ) -> CallToolResult:
        """Load a file, folder or glob (path) or a text (content + name) into the store:
        chunk, index and embed it. Returns the buffer id and chunk count (folders: a
        report of what was added, changed or skipped). A load whose embedding would take
        long returns at once and embeds in the server's background thread
        (background_embedding); search meanwhile reports semantic_coverage."""
        try:
            check_load_source(path, content, name)
            if chunker.lower() not in CHUNKERS:
                raise UsageError(
                    f"invalid arguments for load: chunker: {chunker!r} is not one of"
                    f" {', '.join(CHUNKERS)}"
                )
            if path is not None:
                self.policy.check(path)
        except RlmError as error:
            return error_result(error)
        opts = LoadOptions(
            chunker=chunker.lower(),
            chunk_size=chunk_size,
            overlap=overlap,
            replace=replace,
            embed=embed,
            language=language,
        )
        starter = self.embedding.starter()
        if content is not None:
            label = name or ""
            return await self.call(
                "load", lambda store: ops.add_buffer(store, label, content, options=opts)
            )
        target = path or ""
        return await self.call(
            "load",
            lambda store: ops.load(
                store,
                [target],
                name=name,
                options=opts,
                collection=collection,
                sync=sync,
                hidden=hidden,
                lossy=lossy,
                check=self.policy.denied_reason,
                embed=DEFAULT_EMBED_MODE,
                starter=starter,
            ),
        )

    async def dispatch(
        self,
        buffer: BufferRef,
        batch_size: Annotated[
            int | None,
            Field(
                ge=1,
                description=f"Chunks per batch (default {DEFAULT_BATCH_SIZE}; no cap with"
                " max_tokens).",
            ),
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
            str, Field(description=f"Search mode for query: {_choices(MODES)}.")
        ] = DEFAULT_MODE,
        threshold: Annotated[
            float,
            Field(description=f"Minimum cosine for query (default {DEFAULT_THRESHOLD})."),
        ] = DEFAULT_THRESHOLD,
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
        if chunks is not None and not chunks:
            return error_result(InvalidArgumentError("chunks: no chunk IDs given"))
        return await self.call(
            "dispatch",
            lambda store: ops.dispatch(
                store,
                buffer,
                batch_size=batch_size,
                workers=workers,
                max_tokens=max_tokens,
                query=query,
                mode=mode,
                threshold=threshold,
                top_k=top_k,
                chunk_ids=chunks,
                record=record and not self.read_only,
                command=self.command,
            ),
        )

    async def aggregate(
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
        run_id: Annotated[
            str | None,
            Field(description="The dispatch run to audit: lists chunks with no finding."),
        ] = None,
        min_relevance: Annotated[
            str,
            Field(
                description="Keep items at least this relevant: high, medium, low (default),"
                " none or all."
            ),
        ] = "low",
        group_by: Annotated[
            str, Field(description="relevance (default), chunk_id or none.")
        ] = "relevance",
        sort_by: Annotated[
            str,
            Field(description="relevance (default), chunk_id, findings_count or none."),
        ] = "relevance",
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
        strict: Annotated[
            bool,
            Field(
                description="Report strict.failed (and a tool error) when a quote is"
                " unverified, a dispatched chunk unanswered or an item skipped."
            ),
        ] = False,
    ) -> CallToolResult:
        """Combine sub-agent findings: filter by relevance, group, dedup, verify quoted
        evidence against the chunks and, with run_id, list dispatched chunks nobody
        answered (with a re-dispatch hint)."""
        if output_buffer is not None and self.read_only:
            return error_result(
                InvalidArgumentError(
                    "output_buffer writes to the store, and this server is read-only",
                    suggestion="Leave out output_buffer, or run the server with writes allowed",
                )
            )
        return await self.call(
            "aggregate",
            lambda store: ops.aggregate(
                store,
                findings,
                buffer=buffer,
                run_id=run_id,
                min_relevance=min_relevance,
                group_by=group_by,
                sort_by=sort_by,
                output_buffer=output_buffer,
                replace=replace,
                verify=verify,
                skip_invalid=skip_invalid,
                embed=embed,
                command=self.command,
                strict=strict,
            ),
        )

    def tools(self) -> list[Callable[..., Awaitable[CallToolResult]]]:
        every: list[Callable[..., Awaitable[CallToolResult]]] = [
            self.search,
            self.chunk_get,
            self.chunk_list,
            self.grep,
            self.peek,
            self.list_buffers,
            self.runs,
            self.dispatch,
            self.aggregate,
            self.load,
        ]
        if self.read_only:
            return [t for t in every if t.__name__ in READ_ONLY_TOOLS]
        return every


def check_load_source(path: str | None, content: str | None, name: str | None) -> None:
    """Exactly one of a path or a named content; stdin is the protocol, not a source."""
    if (path is None) == (content is None):
        raise InvalidArgumentError(
            "pass exactly one of path or content",
            suggestion="path loads a file, folder or glob; content + name loads a text",
        )
    if path is not None and path.strip() in ("", "-"):
        raise InvalidArgumentError(
            f"cannot load {path!r} over MCP (stdin is the protocol)",
            suggestion="Pass the text as content, with a name",
        )
    if content is not None and not name:
        raise InvalidArgumentError("content needs a name", suggestion="Pass name too")


class RlmServer(MCPServer[Any]):
    """MCPServer whose own tool errors also carry the rlm error envelope.

    The SDK rejects an unknown tool or arguments that fail the input schema
    before any rlm code runs; those come back as a ``UsageError`` envelope
    too, so a client has one error shape to handle.
    """

    rlm_tools: RlmTools
    """The tools behind the server (set by :func:`build_server`)."""

    def start_background(self) -> None:
        """At start-up: embed what a previous load left without vectors (see
        :meth:`RlmTools.resume_embedding`), checked in a thread of its own."""
        self.rlm_tools.resume_embedding_soon()

    def close(self) -> None:
        """At shutdown: stop running calls and the embedding thread."""
        self.rlm_tools.close()

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


def build_server(
    db_path: str | Path,
    *,
    read_only: bool = False,
    policy: PathPolicy | None = None,
    call_timeout: float | None = DEFAULT_CALL_TIMEOUT,
    tools: RlmTools | None = None,
) -> RlmServer:
    """An MCP server exposing the rlm tools for the store at ``db_path``.

    ``call_timeout``: seconds each tool call may run (None or 0: no deadline).
    ``tools``: the tool object to serve (default: a new :class:`RlmTools`).
    """
    server = RlmServer(
        name="rlm",
        title="rlm context engine",
        instructions=INSTRUCTIONS,
        version=__version__,
        log_level="WARNING",
    )
    if tools is None:
        tools = RlmTools(
            str(db_path), read_only=read_only, policy=policy, call_timeout=call_timeout
        )
    server.rlm_tools = tools
    for fn in tools.tools():
        reads = fn.__name__ in PURE_TOOLS or tools.read_only
        annotations = ToolAnnotations(
            read_only_hint=reads,
            destructive_hint=fn.__name__ in ("load", "aggregate") and not tools.read_only,
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

    from rlm.embedding.base import import_numpy_here

    import_numpy_here()  # the load must not race a first search's import
    threading.Thread(target=load, name="rlm-warm-model", daemon=True).start()
