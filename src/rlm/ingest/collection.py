"""Collections: folders and globs loaded as one buffer per file.

``rlm load DIR`` (or ``GLOB``, or several paths) calls :func:`sync_paths`,
which adds and updates one buffer per file it finds. It removes buffers only
when asked (``sync=True``, ``rlm load --sync``): the collection then mirrors
the paths, and buffers of files no longer found there are deleted.

* **Files.** :func:`collect_files` walks folders with :func:`rlm.io.walk.walk`
  (sorted; ``.gitignore`` / ``.rlmignore``; ``.git``, ``.rlm``, ``.venv``,
  ``node_modules``, ``__pycache__`` always skipped; symlink loops cut) and
  expands globs with :func:`rlm.io.walk.expand_glob`. Files named explicitly
  are loaded even if an ignore file lists them.
* **Names.** With one folder, a buffer is named by the file's path relative to
  that folder (``src/app.py``); with globs, files or several paths, by its path
  relative to the current folder (absolute when outside it). Buffer names are
  unique in a store: a name already held by a buffer outside the collection is
  skipped, unless ``options.replace`` is set (the buffer is then taken over).
* **Collection.** ``collection`` or, by default, the name of the folder given
  (for globs, files or several paths: of the folder they have in common).
* **Chunking.** ``options.chunker == "semantic"`` (the default) means *auto*:
  files whose extension is a known programming language
  (:data:`rlm.chunking.languages.TABLE`) are cut with the ``code``
  chunker (tree-sitter, with symbols); everything else with ``semantic``. Any
  other ``--chunker`` (or a ``--language``) applies to every file as given;
  to force semantic chunking of code, pass ``--chunker parallel`` or
  ``fixed``. ``SyncReport.strategies`` counts the files cut by each strategy.
* **Skipped** (with the reason in ``SyncReport.skipped``): binary files, files
  over ``max_file_size``, empty files, invalid UTF-8 (unless ``lossy``),
  special files, broken links, unreadable files, name clashes.
* **Incremental.** A file whose size and mtime match its buffer (and whose
  chunking settings did not change) is not read. Otherwise it is read and
  hashed: the same SHA-256 only refreshes the stored mtime; a different one
  re-chunks the file with :func:`rlm.ingest.update.update_text`, which keeps the ids
  (and vectors) of unchanged chunks, and only chunks without a vector are
  embedded.
* **Removal, only with ``sync``.** Buffers of the collection whose file is not
  among the paths (gone, outside the glob, or now skipped as binary, empty,
  too large...) are removed and listed in ``SyncReport.removed``; a file that
  could not be read this time keeps its buffer. Without ``sync`` nothing is
  ever removed: ``rlm load 'docs/a*.md'`` then ``rlm load 'docs/b*.md'``
  keeps both files' buffers.
* **Transactions.** Each file is stored, replaced or removed in its own
  transaction: an interruption loses at most the file in progress and never
  leaves a partial buffer. Embedding runs after all files are stored (one model
  load); buffers of the collection still lacking vectors, e.g. after an
  interrupted run, are embedded too. An embedding failure becomes a warning.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from rlm import notices
from rlm.chunking import get_chunker
from rlm.chunking.base import ChunkConfig
from rlm.chunking.languages import detect_language
from rlm.defaults import DEFAULT_CHUNKER
from rlm.embedding.base import Embedder
from rlm.errors import (
    BinaryFileError,
    EmptyInputError,
    FileNotFoundInputError,
    FileTooLargeError,
    InvalidUtf8Error,
    ReadError,
    RlmError,
    StorageError,
)
from rlm.ingest.background import BackgroundJob
from rlm.ingest.embed import EmbedderFactory, embed_after_write, missing_vectors
from rlm.ingest.loader import store_text
from rlm.ingest.options import LoadOptions, Progress
from rlm.ingest.rows import refreshed_row, same_settings
from rlm.ingest.update import update_text
from rlm.io import DEFAULT_MAX_FILE_SIZE, SourceText, open_file
from rlm.io.reader import content_type_for
from rlm.io.walk import SkipCallback, expand_glob, is_glob, split_glob, walk
from rlm.store import Store
from rlm.store.models import Buffer

AUTO_CHUNKER = DEFAULT_CHUNKER
"""The chunker value that means "code chunker for code files, this one otherwise"."""


@dataclass(frozen=True)
class SourceFile:
    """A file to load and the buffer name it gets."""

    path: Path
    name: str
    size: int
    mtime: float


@dataclass
class FileSet:
    """What :func:`collect_files` found."""

    collection: str
    """The default collection name for these paths."""
    files: list[SourceFile]
    """Sorted by buffer name, no duplicates."""
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SyncReport:
    """What :func:`sync_paths` did to a collection."""

    collection: str
    added: list[str] = field(default_factory=list)
    """Names of new buffers (including buffers taken over with ``replace``)."""
    changed: list[str] = field(default_factory=list)
    """Names of buffers whose file content (or chunking settings) changed."""
    removed: list[str] = field(default_factory=list)
    """With ``sync``: names of buffers deleted because their file is no longer in the paths."""
    sync: bool = False
    """Whether the run mirrored the paths (and so could remove buffers)."""
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(name, reason) of files not loaded."""
    chunk_count: int = 0
    """Chunks written (for re-chunked files: only the new ones when ids are kept)."""
    reused_chunks: int = 0
    """Chunks of changed files kept with their ids (and vectors)."""
    embedded_count: int = 0
    """Chunks that got a vector in this run."""
    strategies: dict[str, int] = field(default_factory=dict)
    """Chunking strategy -> number of added/changed files cut with it (auto: code/semantic)."""
    bytes_read: int = 0
    """Bytes of the files that had to be read (size or mtime changed, or new)."""
    conflicts: int = 0
    """Files skipped because their name in the collection belongs to another file."""
    warnings: list[str] = field(default_factory=list)
    background: BackgroundJob | None = None
    """Set when the embedding went to the background worker."""

    @property
    def file_count(self) -> int:
        """Files of these paths the collection holds after the run."""
        return len(self.added) + len(self.changed) + self.unchanged

    def to_json(self) -> dict[str, Any]:
        """What ``rlm load DIR --format json`` prints."""
        return {
            "added": self.added,
            "background_embedding": self.background.to_json() if self.background else None,
            "changed": self.changed,
            "chunk_count": self.chunk_count,
            "collection": self.collection,
            "embedded_count": self.embedded_count,
            "file_count": self.file_count,
            "removed": self.removed,
            "reused_chunks": self.reused_chunks,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "sync": self.sync,
            "unchanged": self.unchanged,
        }


# --- finding files -----------------------------------------------------------


def _cwd_name(path: Path, cwd: Path) -> str:
    absolute = Path(os.path.abspath(path))
    rel = os.path.relpath(absolute, cwd)
    if rel == ".." or rel.startswith(".." + os.sep):
        return absolute.as_posix()
    return Path(rel).as_posix()


def _folder_name(path: Path) -> str:
    return Path(os.path.abspath(path)).resolve().name or "default"


FileCheck = Callable[[Path], "str | None"]
"""Why a found file may not be loaded (a skip reason), or None when it may."""


def collect_files(
    paths: Sequence[str],
    *,
    cwd: Path | None = None,
    check: FileCheck | None = None,
    hidden: bool = False,
) -> FileSet:
    """The files ``paths`` (folders, globs, files) name, with their buffer names.

    Raises :class:`FileNotFoundInputError` for a path that does not exist and
    is not a glob. A glob that matches nothing is a warning-free empty match.
    ``check`` (the MCP server's access policy) can refuse single files; they
    are reported as skipped. Dotfiles in folders and globs count only with ``hidden``.
    """
    here = Path(os.path.abspath(cwd or Path.cwd()))

    def at(raw: str) -> Path:
        """``raw`` as given, or joined to an explicit ``cwd``."""
        return Path(raw) if cwd is None or Path(raw).is_absolute() else here / raw

    single_folder = len(paths) == 1 and not is_glob(paths[0]) and at(paths[0]).is_dir()
    roots: list[Path] = []
    skipped: list[tuple[str, str]] = []
    named: dict[str, SourceFile] = {}

    def add(path: Path, name: str, size: int, mtime: float) -> None:
        if name in named:
            skipped.append((name, "listed twice"))
            return
        refused = check(path) if check is not None else None
        if refused is not None:
            skipped.append((name, refused))
            return
        named[name] = SourceFile(path, name, size, mtime)

    for raw in paths:
        target = at(raw)
        if target.is_dir():
            roots.append(target)
            prefix = None if single_folder else target
            entries = walk(target, on_skip=_skip_to(skipped, prefix, here), hidden=hidden)
            for e in entries:
                add(e.path, _entry_name(e.rel, prefix, here), e.size, e.mtime)
        elif target.exists():
            roots.append(target.parent)
            st = target.stat()
            add(target, _cwd_name(target, here), st.st_size, st.st_mtime)
        elif is_glob(raw):
            pattern = str(target)
            base = split_glob(pattern)[0]
            roots.append(base)
            _, matched = expand_glob(pattern, on_skip=_skip_to(skipped, base, here), hidden=hidden)
            for e in matched:
                add(e.path, _entry_name(e.rel, base, here), e.size, e.mtime)
        else:
            raise FileNotFoundInputError(raw)
    if single_folder:
        collection = _folder_name(at(paths[0]))
    else:
        common = os.path.commonpath([os.path.abspath(r) for r in roots]) if roots else str(here)
        collection = _folder_name(Path(common))
    files = sorted(named.values(), key=lambda f: f.name)
    return FileSet(collection=collection, files=files, skipped=skipped)


def _entry_name(rel: str, prefix: Path | None, here: Path) -> str:
    """A walked file's buffer name: ``rel`` itself, or its path from ``here``."""
    return rel if prefix is None else _cwd_name(prefix / rel, here)


def _skip_to(skipped: list[tuple[str, str]], prefix: Path | None, here: Path) -> SkipCallback:
    def on_skip(rel: str, reason: str) -> None:
        skipped.append((_entry_name(rel, prefix, here), reason))

    return on_skip


# --- chunking choice ---------------------------------------------------------


def effective_options(options: LoadOptions, name: str) -> LoadOptions:
    """Auto chunking: ``semantic`` (the default) becomes ``code`` for code files."""
    if options.chunker.lower() != AUTO_CHUNKER or options.language is not None:
        return options
    ext = content_type_for(Path(name))
    if ext and detect_language(ext) is not None:
        return replace(options, chunker="code")
    return options


def _skip_reason(exc: RlmError) -> str:
    if isinstance(exc, BinaryFileError):
        return "binary file" + exc.detail[exc.detail.rfind(" (") :]
    if isinstance(exc, InvalidUtf8Error):
        return f"invalid UTF-8 at byte offset {exc.offset} (use --lossy to load it)"
    if isinstance(exc, FileTooLargeError):
        return "too large: " + exc.detail.split("file too large: ", 1)[-1]
    if isinstance(exc, EmptyInputError):
        return "empty file"
    if isinstance(exc, FileNotFoundInputError):
        return "vanished while loading"
    return exc.message


# --- the sync ------------------------------------------------------------------


class Pending(NamedTuple):
    """A buffer waiting for vectors after every file of the run is stored."""

    buffer_id: int
    name: str
    missing: int


class _Embedding:
    """Creates the embedder once, lazily, for every buffer of the run."""

    def __init__(self, factory: EmbedderFactory) -> None:
        self.factory = factory
        self.embedder: Embedder | None = None

    def get(self) -> Embedder:
        if self.embedder is None:
            self.embedder = self.factory()
        return self.embedder


@dataclass
class _Run:
    """What every file of one sync shares: the store, the limits, the report, the queue."""

    store: Store
    report: SyncReport
    lossy: bool
    max_file_size: int
    to_embed: list[Pending] = field(default_factory=list)
    """Buffers to embed once every file is stored (one model load for the run)."""


def sync_paths(
    store: Store,
    paths: Sequence[str],
    *,
    options: LoadOptions | None = None,
    collection: str | None = None,
    lossy: bool = False,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    embedder_factory: EmbedderFactory | None = None,
    progress: Progress | None = None,
    embed_progress: Progress | None = None,
    cwd: Path | None = None,
    sync: bool = False,
    check: FileCheck | None = None,
    hidden: bool = False,
) -> SyncReport:
    """Load ``paths`` into a collection, or bring it up to date (see the module docstring).

    ``sync=True`` also removes the collection's buffers whose files are not in
    ``paths`` any more; without it nothing is removed.

    ``progress(done, total)`` counts bytes of the files found (unchanged files
    count at once); ``embed_progress(done, total)`` counts chunks to embed.
    """
    opts = options or LoadOptions()
    get_chunker(opts.chunker)  # an unknown strategy fails before anything is written
    ChunkConfig(opts.chunk_size, opts.overlap).validate()
    found = collect_files(paths, cwd=cwd, check=check, hidden=hidden)
    name = collection or found.collection
    report = SyncReport(collection=name, skipped=list(found.skipped), sync=sync)
    existing = {b.name: b for b in store.list_buffers(name) if b.name is not None}
    if not found.files and existing and sync:
        raise EmptyInputError(
            f"no files to load in {' '.join(paths)}; collection '{name}' left as it was",
            suggestion="Check the paths and the ignore files; to empty the collection,"
            " delete its buffers",
        )
    if not found.files:
        report.warnings.append(notices.no_files(" ".join(paths)))
    keep: set[str] = set()
    run = _Run(store, report, lossy, max_file_size)
    total = sum(f.size for f in found.files)
    done = 0
    if progress:
        progress(0, total)
    recorded = store.source_paths([b.id for b in existing.values()]) if existing else {}
    for source in found.files:
        file_opts = effective_options(opts, source.name)
        old = existing.get(source.name)
        other = _other_file(old, source, recorded.get(old.id)) if old is not None else None
        if other is not None:
            # Same name in the collection, but another file on disk (two folders
            # with the same layout): never overwrite that file's buffer.
            report.skipped.append((source.name, notices.name_taken_by_other_file(other, name)))
            report.conflicts += 1
            keep.add(source.name)
            continue
        if _sync_file(run, source, old, file_opts):
            keep.add(source.name)
        done += source.size
        if progress:
            progress(done, total)
    if report.conflicts and not report.file_count:
        raise StorageError(
            f"nothing loaded: every file's name in collection '{name}' belongs to another"
            " folder's file",
            error_type="BufferExists",
            suggestion="Load this folder with --collection NAME to keep both",
        )
    for old_name, buffer in existing.items():
        if sync and old_name not in keep:
            with store.transaction():
                store.delete_buffer(buffer.id)
                store.context_remove_buffer(buffer.id)
            report.removed.append(old_name)
    if opts.embed and embedder_factory is not None:
        queued = {p.buffer_id for p in run.to_embed}
        run.to_embed += [p for p in _missing_vectors(store, name) if p.buffer_id not in queued]
        _embed_all(store, run.to_embed, _Embedding(embedder_factory), report, embed_progress)
    report.skipped.sort()
    return report


def _other_file(old: Buffer, source: SourceFile, recorded: str | None = None) -> str | None:
    """The source of ``old`` when it is a different file from ``source`` that still
    exists, else None.

    The file is the absolute path recorded at load time; an older buffer's
    relative source is resolved against the current folder, and if it does not
    exist there (the folder moved, or the load ran from elsewhere) the name
    decides, as before.
    """
    if old.source is None:
        return None
    stored = Path(recorded or old.source)
    try:
        if not stored.is_file() or stored.samefile(source.path):
            return None
    except OSError:
        return None
    return old.source


def sync_file(
    store: Store,
    source: SourceFile,
    old: Buffer | None,
    opts: LoadOptions,
    report: SyncReport,
    *,
    lossy: bool = False,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
) -> bool:
    """One file's step of a folder load (``search --refresh`` re-syncs files with it).

    Embedding is left to the caller (``opts.embed`` is not looked at here).
    """
    return _sync_file(_Run(store, report, lossy, max_file_size), source, old, opts)


def _sync_file(run: _Run, source: SourceFile, old: Buffer | None, opts: LoadOptions) -> bool:
    """Bring one file's buffer up to date. Returns whether its buffer should be kept."""
    report = run.report
    if (
        old is not None
        and old.size == source.size
        and old.source_mtime == source.mtime
        and same_settings(old, opts)
    ):
        report.unchanged += 1
        return True
    try:
        text = open_file(source.path, lossy=run.lossy, max_size=run.max_file_size)
    except (ReadError, FileNotFoundInputError) as exc:
        report.skipped.append((source.name, _skip_reason(exc)))
        return old is not None  # a transient read failure keeps the old buffer
    except RlmError as exc:
        report.skipped.append((source.name, _skip_reason(exc)))
        return False
    with text:
        report.bytes_read += text.size
        text.source = source.path.as_posix()
        try:
            return _store_file(run, source, text, old, opts)
        except RlmError as exc:
            report.skipped.append((source.name, _skip_reason(exc)))
            return old is not None


def _store_file(
    run: _Run, source: SourceFile, text: SourceText, old: Buffer | None, opts: LoadOptions
) -> bool:
    store, report = run.store, run.report
    if old is not None and old.content_hash == text.sha256 and same_settings(old, opts):
        with store.transaction():
            store.update_buffer_meta(old.id, refreshed_row(old, text.source, text.mtime))
        report.unchanged += 1
        return True
    strategy = opts.chunker.lower()
    if old is not None:
        # Embedding waits until every file is stored (one model load for the run).
        result = update_text(store, old.id, text, opts, None)
        report.chunk_count += result.added
        report.reused_chunks += result.kept
        report.changed.append(source.name)
        report.strategies[strategy] = report.strategies.get(strategy, 0) + 1
        if result.unembedded:
            run.to_embed.append(Pending(old.id, source.name, result.unembedded))
        return True
    buffer_id, count, _ = store_text(store, text, source.name, opts, collection=report.collection)
    report.chunk_count += count
    report.added.append(source.name)
    report.strategies[strategy] = report.strategies.get(strategy, 0) + 1
    if count:
        run.to_embed.append(Pending(buffer_id, source.name, count))
    return True


def _missing_vectors(store: Store, collection: str) -> list[Pending]:
    """Buffers of the collection with chunks lacking a vector (an interrupted run)."""
    ids = {b.id for b in store.list_buffers(collection)}
    out: list[Pending] = []
    for status in store.embedding_status():
        if status.buffer_id in ids and status.embedded_count < status.chunk_count:
            missing = missing_vectors(store, status.buffer_id)
            if missing:
                out.append(Pending(status.buffer_id, status.name or str(status.buffer_id), missing))
    return out


def embed_collection(
    store: Store,
    report: SyncReport,
    embedder_factory: EmbedderFactory,
    progress: Progress | None = None,
) -> None:
    """Embed the collection's buffers lacking vectors now (what a load does inline)."""
    pending = _missing_vectors(store, report.collection)
    _embed_all(store, pending, _Embedding(embedder_factory), report, progress)


def _embed_all(
    store: Store,
    queue: list[Pending],
    embedding: _Embedding,
    report: SyncReport,
    progress: Progress | None,
) -> None:
    total = sum(p.missing for p in queue)
    offset = 0
    for position, pending in enumerate(queue):

        def step(done: int, _total: int, base: int = offset) -> None:
            if progress:
                progress(min(base + done, total), total)

        summary = embed_after_write(store, pending.buffer_id, embedding.get, progress=step)
        if summary.error is not None:
            left = len(queue) - position
            report.warnings.append(
                notices.embedding_stopped(
                    pending.name, summary.error.message, left, report.collection
                )
            )
            break
        report.embedded_count += summary.embedded
        offset += pending.missing
    if embedding.embedder is not None and embedding.embedder.fallback_reason:
        report.warnings.append(notices.hash_fallback(embedding.embedder.fallback_reason))
