"""The one error hierarchy of rlm.

Every failure a user can cause is an :class:`RlmError` carrying a stable ``type``
(the rlm-rs JSON ``error.type`` name), a message and, where we know one, a
suggestion that says how to fix it. The CLI renders these in exactly one place
(``rlm.cli.render``); the library never prints.

Messages keep the rlm-rs prefixes (``storage error: ``, ``chunking error: ``...)
so scripts that match on rlm-rs error text keep working.
"""

from __future__ import annotations

from typing import ClassVar

from rlm.defaults import STRATEGIES


class RlmError(Exception):
    """Base class: a user-facing failure with a type, a message and a suggestion."""

    prefix: ClassVar[str] = ""
    default_type: ClassVar[str] = "Error"
    default_suggestion: ClassVar[str | None] = None
    default_tool_suggestion: ClassVar[str | None] = None
    exit_code: ClassVar[int] = 1

    def __init__(
        self,
        detail: str,
        *,
        error_type: str | None = None,
        suggestion: str | None = None,
        tool_suggestion: str | None = None,
    ) -> None:
        self.detail = detail
        self.error_type = error_type or self.default_type
        self.suggestion = suggestion if suggestion is not None else self.default_suggestion
        self.tool_suggestion = (
            tool_suggestion if tool_suggestion is not None else self.default_tool_suggestion
        )
        """The same advice for an MCP client, naming tools and arguments (an MCP-only
        agent cannot run 'rlm list'); None when the CLI suggestion applies as it is."""
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The full message, with the rlm-rs category prefix."""
        return f"{self.prefix}{self.detail}"

    def to_dict(self, *, for_tools: bool = False) -> dict[str, object]:
        """The rlm-rs error envelope (keys sorted as rlm-rs prints them).

        ``for_tools``: the MCP server's envelope, whose suggestion names tools
        and arguments where the error knows them (:attr:`tool_suggestion`).
        """
        suggestion = self.suggestion
        if for_tools and self.tool_suggestion is not None:
            suggestion = self.tool_suggestion
        return {
            "error": {
                "message": self.message,
                "suggestion": suggestion,
                "type": self.error_type,
            },
            "success": False,
        }


class UsageError(RlmError):
    """Bad flags or arguments: exit code 2, like clap/click usage errors."""

    default_type = "UsageError"
    exit_code = 2


# --- storage -----------------------------------------------------------------


class StorageError(RlmError):
    prefix = "storage error: "
    default_type = "DatabaseError"


class NotInitializedError(StorageError):
    """No store where one was expected; the message names the place looked at.

    "Run rlm init" alone sent users (and sub-agents in another folder) to
    create an empty store in the wrong place; saying where rlm looked lets
    them see the real mistake (a wrong -d, the wrong folder).
    """

    default_type = "NotInitialized"
    default_suggestion = "Run 'rlm init' to initialize the database"
    default_tool_suggestion = (
        "The server's store does not exist: restart 'rlm mcp' with -d PATH (or RLM_DB_PATH)"
        " naming an initialised store, or run 'rlm init' where it should be"
    )

    def __init__(
        self, path: str = "", *, detail: str | None = None, suggestion: str | None = None
    ) -> None:
        if detail is None:
            detail = "RLM not initialized"
            if path:
                import os

                detail += f": no rlm database at {os.path.abspath(path)}"
        super().__init__(detail, suggestion=suggestion)
        self.path = path


def did_you_mean(close: list[str]) -> str:
    """``Did you mean 'a' or 'b'? `` (empty when nothing is close)."""
    if not close:
        return ""
    return "Did you mean " + " or ".join(f"'{c}'" for c in close) + "? "


class BufferNotFoundError(StorageError):
    default_type = "BufferNotFound"
    default_suggestion = "Run 'rlm list' to see available buffers"

    def __init__(self, identifier: str, close: list[str] | None = None) -> None:
        super().__init__(
            f"buffer not found: {identifier}",
            suggestion=did_you_mean(close or []) + "Run 'rlm list' to see available buffers",
            tool_suggestion=did_you_mean(close or [])
            + "Call the list_buffers tool to see buffer names",
        )
        self.close = close or []


class CollectionNotFoundError(StorageError):
    default_type = "CollectionNotFound"

    def __init__(self, name: str, close: list[str] | None = None) -> None:
        super().__init__(
            f"collection not found: {name}",
            suggestion=did_you_mean(close or [])
            + "Run 'rlm list' to see buffers and their collections",
            tool_suggestion=did_you_mean(close or [])
            + "Call the list_buffers tool to see buffers and their collections",
        )
        self.close = close or []


class BufferExistsError(StorageError):
    default_type = "BufferExists"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"a buffer named '{name}' already exists",
            suggestion="Use --replace to overwrite it, or --name to choose another name",
        )


class AmbiguousBufferError(StorageError):
    """A name that buffers of several collections share (names are unique per collection)."""

    default_type = "AmbiguousBuffer"

    def __init__(self, name: str, holders: list[tuple[int, str | None]]) -> None:
        where = ", ".join(
            f"{buffer_id} ({'collection ' + repr(c) if c else 'no collection'})"
            for buffer_id, c in holders
        )
        super().__init__(
            f"'{name}' names buffers of several collections: ids {where}",
            suggestion="Name the buffer by its id ('rlm list' shows ids and collections)",
            tool_suggestion="Pass the buffer's id (list_buffers shows ids and collections)",
        )


class ChunkNotFoundError(StorageError):
    default_type = "ChunkNotFound"
    default_suggestion = "Run 'rlm chunk list <buffer>' to see valid chunk IDs"
    default_tool_suggestion = "Call chunk_list with the buffer argument to see valid chunk IDs"

    def __init__(self, chunk_id: int) -> None:
        super().__init__(f"chunk not found: {chunk_id}")


class ChunkSupersededError(StorageError):
    """A chunk id that existed once but was replaced by ``update-buffer``."""

    default_type = "ChunkSuperseded"

    def __init__(self, chunk_id: int, replacements: list[int]) -> None:
        ids = ", ".join(str(i) for i in replacements) or "nothing (its text was removed)"
        super().__init__(
            f"chunk {chunk_id} was superseded by {ids}",
            suggestion="Use the new chunk IDs; run 'rlm chunk list <buffer>' to see them",
            tool_suggestion="Use the new chunk IDs; chunk_list with the buffer shows them",
        )
        self.replacements = replacements


class MigrationError(StorageError):
    default_type = "MigrationError"


class DatabaseError(StorageError):
    default_type = "DatabaseError"


class UntrustedStoreError(StorageError):
    """The store holds schema objects rlm did not create (see rlm.store.trust)."""

    default_type = "UntrustedStore"

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(
            f"refusing to open {path}: {detail}",
            suggestion="A crafted or damaged store can run its own SQL: inspect it with "
            "sqlite3 and drop what rlm did not create, or rebuild it with 'rlm init --force'",
        )
        self.path = path


class ReadOnlyStoreError(StorageError):
    """A write was attempted on a store opened read-only, or it needs a migration first."""

    default_type = "ReadOnly"


class EmbeddingError(StorageError):
    default_type = "EmbeddingError"
    default_suggestion = "Run 'rlm model doctor' to diagnose the embedding model"


class RunNotFoundError(StorageError):
    default_type = "RunNotFound"
    default_suggestion = "Run 'rlm dispatch' first; its JSON output carries the run_id"
    default_tool_suggestion = "Call the dispatch tool first; its result carries run_id"

    def __init__(self, run_id: str) -> None:
        super().__init__(f"dispatch run not found: {run_id}")


# --- chunking ----------------------------------------------------------------


class ChunkingError(RlmError):
    prefix = "chunking error: "
    default_type = "InvalidConfig"


class InvalidChunkConfigError(ChunkingError):
    default_type = "InvalidConfig"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"invalid chunk configuration: {reason}",
            suggestion="Check --chunk-size and --overlap",
        )


class ChunkTooLargeError(ChunkingError):
    default_type = "ChunkTooLarge"
    default_suggestion = "Use a smaller --chunk-size value"

    def __init__(self, size: int, maximum: int) -> None:
        super().__init__(f"chunk size {size} exceeds maximum {maximum}")


class OverlapTooLargeError(ChunkingError):
    default_type = "OverlapTooLarge"
    default_suggestion = "Overlap must be less than chunk size"

    def __init__(self, overlap: int, size: int) -> None:
        super().__init__(f"overlap {overlap} must be less than chunk size {size}")


class TooManyChunksError(ChunkingError):
    """A load would make more chunks than the cap (rlm.chunking.base.max_chunks)."""

    default_type = "TooManyChunks"

    def __init__(self, detail: str, maximum: int) -> None:
        super().__init__(
            detail,
            suggestion=f"Use a larger --chunk-size, or raise the cap of {maximum} chunks per "
            "buffer with RLM_MAX_CHUNKS",
        )


class UnknownStrategyError(ChunkingError):
    default_type = "UnknownStrategy"
    default_suggestion = "Valid strategies: " + ", ".join(STRATEGIES)

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown chunking strategy: {name}")


# --- input / output ----------------------------------------------------------


class InputError(RlmError):
    prefix = "I/O error: "
    default_type = "IoError"


class FileNotFoundInputError(InputError):
    default_type = "FileNotFound"
    default_suggestion = "Verify the file path exists"

    def __init__(self, path: str) -> None:
        super().__init__(f"file not found: {path}")


class ReadError(InputError):
    default_type = "ReadError"


class BinaryFileError(InputError):
    default_type = "BinaryFile"
    default_suggestion = "rlm loads text only; convert the file to text first"

    def __init__(self, path: str, offset: int) -> None:
        super().__init__(f"{path} looks like a binary file (NUL byte at offset {offset})")


class InvalidUtf8Error(InputError):
    default_type = "InvalidUtf8"
    default_suggestion = "Re-encode the file as UTF-8, or pass --lossy to replace bad bytes"

    def __init__(self, path: str, offset: int) -> None:
        super().__init__(f"{path}: invalid UTF-8 at byte offset {offset}")
        self.offset = offset


class EmptyInputError(InputError):
    default_type = "EmptyInput"


class FileTooLargeError(InputError):
    default_type = "FileTooLarge"
    default_suggestion = "Split the file, or raise the limit with --max-file-size"

    def __init__(self, path: str, size: int, maximum: int) -> None:
        super().__init__(f"{path}: file too large: {size} bytes (max: {maximum} bytes)")


class WriteError(InputError):
    default_type = "WriteError"


class PathTraversalError(InputError):
    default_type = "PathTraversalDenied"
    default_suggestion = "Use a plain name without '/', '\\' or '..'"

    def __init__(self, path: str) -> None:
        super().__init__(f"path traversal denied: {path}")


class AccessDeniedError(InputError):
    """A path outside the allowed roots, or one that looks like a secret (rlm.io.access)."""

    default_type = "AccessDenied"

    def __init__(self, path: str, reason: str, roots: tuple[object, ...] = ()) -> None:
        where = ", ".join(str(r) for r in roots) or "none"
        super().__init__(
            f"access denied: {path}: {reason}",
            suggestion=f"Load files below the allowed roots ({where}); the server's operator "
            "can add roots with --root or allow secret-looking names explicitly",
        )
        self.path = path
        self.reason = reason


class FileChangedError(ReadError):
    """The file's size or modification time moved while it was being read.

    A ``ReadError``: transient, so a folder sync keeps the file's previous buffer.
    """

    default_type = "FileChanged"
    default_suggestion = "Load it again once it has stopped changing"

    def __init__(self, path: str, what: str) -> None:
        super().__init__(f"{path}: file changed while loading ({what}); nothing was stored")


# --- commands and search ------------------------------------------------------


class CommandError(RlmError):
    prefix = "command error: "
    default_type = "ExecutionFailed"


class InvalidArgumentError(CommandError):
    """A value that parsed but makes no sense (exit 2: it is the caller's usage)."""

    default_type = "InvalidArgument"
    exit_code = 2

    def __init__(self, detail: str, suggestion: str | None = None) -> None:
        super().__init__(f"invalid argument: {detail}", suggestion=suggestion)


class ConfirmationRequiredError(CommandError):
    default_type = "ExecutionFailed"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"command execution failed: Use --yes to confirm {what}.",
            suggestion="Re-run with --yes",
        )


class InvalidFindingsError(CommandError):
    default_type = "InvalidFindings"

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"invalid findings: {detail}",
            suggestion="Findings must be a JSON array of objects with chunk_id and relevance",
        )


class SearchError(RlmError):
    prefix = "search error: "
    default_type = "SearchError"


class ConfigError(RlmError):
    prefix = "configuration error: "
    default_type = "ConfigError"


class CommandInterrupted(RlmError):
    """Ctrl-C (SIGINT, exit 130) or SIGTERM (exit 143) stopped the command.

    Writes are transactions: a load's text and index are committed together
    and vectors in short batches, so what finished before the signal is kept
    and running the same command again carries on from there.
    """

    default_type = "Interrupted"
    default_suggestion = (
        "Run the same command again: 'rlm load PATH' on a file already loaded keeps its"
        " chunks and embeds only what is missing ('rlm chunk embed --all' does the same"
        " for every buffer)"
    )
    exit_code = 130

    def __init__(self, signal_name: str = "SIGINT", exit_code: int = 130) -> None:
        super().__init__(
            f"interrupted by {signal_name}; everything committed before it is kept"
            " (a load's text and index, and vectors already written)"
        )
        self.exit_code = exit_code  # type: ignore[misc]
