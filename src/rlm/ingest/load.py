"""``rlm.load``: the one function that decides what ``rlm load PATH...`` means.

* ``["-"]``: standard input, one buffer (named ``stdin`` unless ``name``);
* one existing file (not a glob, not a folder): one buffer named after the
  file, no collection (rlm-rs's ``load``);
* anything else (folders, globs, several paths): one buffer per file in a
  collection (:func:`rlm.ingest.collection.sync_paths`).

Loads add and update; they never remove a buffer unless ``sync=True`` asks to
mirror a folder or glob (then the removed names are in ``SyncReport.removed``).
The CLI, the MCP server and library users all call this function.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rlm.errors import InvalidArgumentError
from rlm.ingest.collection import FileCheck, SyncReport, sync_paths
from rlm.ingest.embed import default_embedder
from rlm.ingest.loader import (
    EmbedderFactory,
    LoadOptions,
    LoadResult,
    Progress,
    load_text,
)
from rlm.io import DEFAULT_MAX_FILE_SIZE, open_file, read_stdin
from rlm.io.walk import is_glob
from rlm.store import Store

STDIN = "-"


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
) -> LoadResult | SyncReport:
    """Load stdin (``"-"``), a file, folders or globs: what ``rlm load`` does.

    ``embedder_factory`` defaults to the bundled model (loaded on first use);
    ``options.embed=False`` stores and indexes without embedding. ``check``
    may refuse files a folder or glob finds (they are reported as skipped).
    """
    targets = [paths] if isinstance(paths, str) else list(paths)
    factory = embedder_factory or default_embedder
    opts = options or LoadOptions()
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
    )
