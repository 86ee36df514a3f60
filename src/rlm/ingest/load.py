"""``rlm.load``: the one function that decides what ``rlm load PATH...`` means.

* ``["-"]``: standard input, one buffer (named ``stdin`` unless ``name``);
* one existing file (not a glob, not a folder): one buffer named after the
  file, no collection (rlm-rs's ``load``);
* anything else (folders, globs, several paths): one buffer per file in a
  collection (:func:`rlm.ingest.collection.sync_paths`).

Loads add and update; they never remove a buffer unless ``sync=True`` asks to
mirror a folder or glob (then the removed names are in ``SyncReport.removed``).
The CLI, the MCP server and library users all call this function.

Embedding (``embed``): ``now`` embeds before returning (rlm-rs's behaviour);
``off`` stores and indexes only; ``background`` commits the lexical index and
hands the chunks to the store's background worker
(:mod:`rlm.ingest.background`); ``auto`` (the CLI default) does ``now`` when the
estimated embedding time of the load is at most ``RLM_BACKGROUND_AFTER``
seconds (30 by default), else ``background``. The estimate is the load's
chunks' token estimate over the rate last measured for the model on this store
(3,000 tokens/s, about 12 KB/s, before any is measured).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from rlm.defaults import EMBED_MODES
from rlm.errors import InvalidArgumentError, RlmError
from rlm.ingest import background as bg
from rlm.ingest.collection import FileCheck, SyncReport, embed_collection, sync_paths
from rlm.ingest.embed import EmbedSummary, default_embedder, embed_after_write
from rlm.ingest.loader import (
    EmbedderFactory,
    LoadOptions,
    LoadResult,
    Progress,
    load_text,
)
from rlm.ingest.rows import refreshed_row, same_settings
from rlm.ingest.update import update_text
from rlm.io import DEFAULT_MAX_FILE_SIZE, open_file, read_stdin
from rlm.io.reader import SourceText
from rlm.io.walk import is_glob
from rlm.store import Store
from rlm.store.embed_queue import Backlog
from rlm.store.models import Buffer

STDIN = "-"

Starter = Callable[[Store, Backlog, float | None], bg.BackgroundJob]
"""Hands a store's backlog to a background embedder (default: a detached worker process;
the MCP server passes its own thread). Arguments: store, backlog of the whole store, ETA."""


def process_starter(command: bg.WorkerCommand | None = None) -> Starter:
    """Start (or join) the store's detached worker process."""

    def start(store: Store, backlog: Backlog, eta: float | None) -> bg.BackgroundJob:
        pid = bg.start_worker(store.path, command, location=store.location)
        return bg.BackgroundJob(
            chunks=backlog.chunks,
            tokens=backlog.tokens,
            eta_seconds=eta,
            started=pid is not None,
            log=str(bg.WorkerFiles.of(store.path).log),
            pid=pid,
        )

    return start


def embed_mode(options: LoadOptions, embed: str | None) -> str:
    """The effective ``--embed`` mode (``options.embed=False`` is ``off``; no flock: ``now``)."""
    mode = (embed or "now").strip().lower()
    if mode not in EMBED_MODES:
        raise InvalidArgumentError(
            f"unknown embed mode: {embed!r}", suggestion="Use one of: " + ", ".join(EMBED_MODES)
        )
    if not options.embed:
        return "off"
    if mode in ("auto", "background") and not bg.background_supported():
        return "now"
    return mode


def finish_embedding(
    store: Store,
    result: LoadResult | SyncReport,
    mode: str,
    factory: EmbedderFactory,
    embed_progress: Progress | None = None,
    starter: Starter | None = None,
) -> LoadResult | SyncReport:
    """After a write with embedding held back: embed inline (``now``, or ``auto`` when
    quick), or hand it to the background worker (a SyncReport is updated in place)."""
    if isinstance(result, LoadResult):
        mine = store.embedding_backlog([result.buffer_id])
    else:
        mine = store.embedding_backlog([b.id for b in store.list_buffers(result.collection)])
    if not mine.chunks:
        return result
    in_memory = str(store.path) == ":memory:"
    eta: float | None = None
    whole = store.embedding_backlog()
    if not in_memory:
        try:
            embedder = factory()
        except RlmError:
            # A bad model setting: the inline path reports it as today (a warning; the
            # text stays stored and searchable), never a failed command after a commit.
            embedder = None
            mode = "now"
        if embedder is not None:
            rate = bg.recorded_rate(
                bg.WorkerFiles.of(store.path), embedder.name, semantic=embedder.is_semantic
            )
            eta = whole.tokens / rate
            if mode == "auto" and mine.tokens / rate <= bg.background_after():
                mode = "now"
    job: bg.BackgroundJob | None = None
    if mode != "now" and not in_memory:
        try:
            job = replace((starter or process_starter())(store, whole, eta), chunks=mine.chunks)
        except OSError:  # no worker possible here (read-only folder...): embed inline
            job = None
    if job is None:
        if isinstance(result, LoadResult):
            summary = embed_after_write(store, result.buffer_id, factory, progress=embed_progress)
            return replace(result, embed=summary)
        embed_collection(store, result, factory, embed_progress)
        return result
    if isinstance(result, LoadResult):
        return replace(result, background=job)
    result.background = job
    return result


def is_single_file(paths: Sequence[str], *, cwd: Path | None = None) -> bool:
    """One path that names a file (not a glob, not a folder, not stdin)."""
    if len(paths) != 1 or paths[0] == STDIN or is_glob(paths[0]):
        return False
    path = Path(paths[0])
    if cwd is not None and not path.is_absolute():
        path = cwd / path
    return not path.is_dir()


def load(
    store: Store,
    paths: Sequence[str] | str,
    *,
    name: str | None = None,
    options: LoadOptions | None = None,
    collection: str | None = None,
    sync: bool = False,
    lossy: bool = False,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    embedder_factory: EmbedderFactory | None = None,
    progress: Progress | None = None,
    embed_progress: Progress | None = None,
    cwd: Path | None = None,
    check: FileCheck | None = None,
    embed: str | None = None,
    starter: Starter | None = None,
    hidden: bool = False,
) -> LoadResult | SyncReport:
    """Load stdin (``"-"``), a file, folders or globs: what ``rlm load`` does.

    ``embedder_factory`` defaults to the bundled model (loaded on first use);
    ``options.embed=False`` stores and indexes without embedding. ``embed`` is
    the mode (see the module doc; default ``now``); ``starter`` hands a
    background job over (default: the detached worker process). ``check``
    may refuse files a folder or glob finds (they are reported as skipped).
    ``hidden``: folders and globs also load dotfiles and dot-folders.
    """
    targets = [paths] if isinstance(paths, str) else list(paths)
    factory = embedder_factory or default_embedder
    opts = options or LoadOptions()
    mode = embed_mode(opts, embed)
    result = _load(
        store,
        targets,
        name=name,
        opts=replace(opts, embed=False) if mode != "now" else opts,
        collection=collection,
        sync=sync,
        lossy=lossy,
        max_file_size=max_file_size,
        factory=factory,
        progress=progress,
        embed_progress=embed_progress,
        cwd=cwd,
        check=check,
        hidden=hidden,
    )
    if mode not in ("auto", "background"):
        return result
    return finish_embedding(store, result, mode, factory, embed_progress, starter)


def _load(
    store: Store,
    targets: list[str],
    *,
    name: str | None,
    opts: LoadOptions,
    collection: str | None,
    sync: bool,
    lossy: bool,
    max_file_size: int,
    factory: EmbedderFactory,
    progress: Progress | None,
    embed_progress: Progress | None,
    cwd: Path | None,
    check: FileCheck | None,
    hidden: bool = False,
) -> LoadResult | SyncReport:
    if targets == [STDIN] or is_single_file(targets, cwd=cwd):
        if sync:
            raise InvalidArgumentError(
                f"sync mirrors a folder or glob, and {targets[0]!r} is "
                + ("standard input" if targets == [STDIN] else "one file"),
                suggestion="Leave out sync, or name the folder or a glob",
            )
        if targets == [STDIN]:
            text = read_stdin(lossy=lossy, allow_empty=False)
            label = name or "stdin"
        else:
            path = Path(targets[0])
            text = open_file(
                path if cwd is None or path.is_absolute() else cwd / path,
                lossy=lossy,
                max_size=max_file_size,
            )
            label = name or path.name
            old = None if opts.replace else _loaded_from(store, label, text.source)
            if old is not None:
                with text:
                    return _reload(store, old, text, opts, factory, progress, embed_progress)
        with text:
            return load_text(
                store,
                text,
                name=label,
                options=opts,
                embedder_factory=factory,
                progress=progress,
                embed_progress=embed_progress,
            )
    return sync_paths(
        store,
        targets,
        options=opts,
        collection=collection,
        lossy=lossy,
        max_file_size=max_file_size,
        embedder_factory=factory,
        progress=progress,
        embed_progress=embed_progress,
        cwd=cwd,
        sync=sync,
        check=check,
        hidden=hidden,
    )


def _loaded_from(store: Store, name: str, source: str | None) -> Buffer | None:
    """The buffer ``name`` if it was loaded from this very file (no collection), else None.

    Loading a file again must not ask for ``--replace`` (which gives new ids):
    it carries on where an interrupted load stopped, or updates in place.
    """
    old = store.find_buffer_in(name, None)
    if old is None or old.source is None or source is None:
        return None
    stored = store.source_paths([old.id]).get(old.id, old.source)  # any folder's load
    try:
        return old if Path(stored).samefile(source) else None
    except OSError:
        return None


def _reload(
    store: Store,
    old: Buffer,
    text: SourceText,
    opts: LoadOptions,
    factory: EmbedderFactory,
    progress: Progress | None,
    embed_progress: Progress | None,
) -> LoadResult:
    """``rlm load FILE`` again: unchanged text is kept as it is, changed text is
    updated in place (ids of unchanged chunks and their vectors kept, as
    ``update-buffer`` does); then whatever lacks a vector is embedded."""
    if old.content_hash == text.sha256 and same_settings(old, opts):
        with store.transaction():
            store.update_buffer_meta(old.id, refreshed_row(old, text.source, text.mtime))
    else:
        update_text(store, old.id, text, opts, None, progress=progress)
    embed = EmbedSummary()
    if opts.embed:
        embed = embed_after_write(store, old.id, factory, progress=embed_progress)
    fresh = store.get_buffer(old.id)
    return LoadResult(
        buffer_id=old.id,
        name=fresh.name,
        source=text.source,
        size=text.size,
        chunk_count=fresh.chunk_count or 0,
        embed=embed,
    )
