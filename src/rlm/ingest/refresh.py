"""``rlm search --refresh``: bring folder-loaded buffers up to date before searching.

Why stat-based: an agent searches far more often than files change, so the
check must cost little when nothing changed. Each buffer loaded from a folder
or glob (it has a collection and a source path) is compared with one
``os.stat`` of its file: the same size and mtime means unchanged, and nothing
is read. A file whose size or mtime moved goes through the folder load's own
per-file step (:func:`rlm.ingest.collection.sync_file`): read and hashed, the
same SHA-256 only refreshes the stored mtime, a different one re-chunks with
:func:`rlm.ingest.update.update_text`, which keeps the ids and vectors of
unchanged chunks. New chunks are embedded like a load's (``auto``: inline when
quick, else the background worker).

What it does not do: find files added to the folder since the load (the
store keeps buffers, not folder roots; ``rlm load DIR`` again adds them), or
remove anything: a file that is gone is listed in ``missing``, and its buffer
stays until the user deletes it or runs ``rlm load --sync``.

Where the file is: the absolute path the store recorded when the buffer was
written (:meth:`rlm.store.Store.source_paths`), so the check does not depend
on the folder ``rlm`` runs from. Buffers of older stores have no record: their
relative source is resolved against the current folder, then the folder that
holds ``.rlm/`` (where loads usually run), as before; a refresh that finds such
a file records its path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlm.defaults import DEFAULT_CHUNK_SIZE, DEFAULT_CHUNKER, DEFAULT_OVERLAP
from rlm.ingest.collection import SourceFile, SyncReport, sync_file
from rlm.ingest.embed import EmbedderFactory
from rlm.ingest.load import Starter, finish_embedding
from rlm.ingest.options import LoadOptions
from rlm.io import DEFAULT_MAX_FILE_SIZE
from rlm.store import Buffer, Store


@dataclass
class RefreshReport:
    """What a refresh found: files checked, changed (re-synced) and missing."""

    checked: int = 0
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    embedded_count: int = 0
    background_chunks: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "background_chunks": self.background_chunks,
            "changed": self.changed,
            "checked": self.checked,
            "embedded_count": self.embedded_count,
            "missing": self.missing,
            "seconds": round(self.seconds, 4),
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
        }


def _stat(
    source: str, anchors: Sequence[str], recorded: str | None = None
) -> tuple[str, os.stat_result] | None:
    """The file's path and ``stat``: one system call per candidate, nothing read."""
    if recorded is not None:
        try:
            return recorded, os.stat(recorded)
        except OSError:
            return None  # the recorded file is gone; another folder's namesake is not it
    for anchor in ("",) if os.path.isabs(source) else anchors:
        path = os.path.join(anchor, source) if anchor else source
        try:
            return path, os.stat(path)
        except OSError:
            continue
    return None


def _options(buffer: Buffer) -> LoadOptions:
    """The buffer's own chunk settings, so an unchanged file is never re-chunked."""
    return LoadOptions(
        chunker=buffer.chunk_strategy or DEFAULT_CHUNKER,
        chunk_size=buffer.chunk_size or DEFAULT_CHUNK_SIZE,
        overlap=buffer.chunk_overlap if buffer.chunk_overlap is not None else DEFAULT_OVERLAP,
        embed=False,
    )


def refresh(
    store: Store,
    *,
    collection: str | None = None,
    buffer_ids: Sequence[int] | None = None,
    embedder_factory: EmbedderFactory,
    embed: str = "auto",
    starter: Starter | None = None,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
) -> RefreshReport:
    """Re-sync the folder-loaded buffers (of ``collection`` / ``buffer_ids``) whose file moved."""
    started = time.perf_counter()
    out = RefreshReport()
    anchors = [os.getcwd(), str(Path(store.path).absolute().parent.parent)]
    wanted = None if buffer_ids is None else set(buffer_ids)
    recorded = store.source_paths(buffer_ids)
    reports: dict[str, SyncReport] = {}
    for old in store.list_buffers(collection):
        if old.collection is None or old.source is None:
            continue
        if wanted is not None and old.id not in wanted:
            continue
        out.checked += 1
        found = _stat(old.source, anchors, recorded.get(old.id))
        if found is None:
            out.missing.append(old.name or old.source)
            continue
        path, st = found
        if st.st_size == old.size and st.st_mtime == old.source_mtime:
            continue
        report = reports.setdefault(old.collection, SyncReport(collection=old.collection))
        source = SourceFile(Path(path), old.name or old.source, st.st_size, st.st_mtime)
        sync_file(store, source, old, _options(old), report, max_file_size=max_file_size)
    for report in reports.values():
        out.changed += report.changed
        out.skipped += report.skipped
        if report.changed and embed != "off":
            finish_embedding(store, report, embed, embedder_factory, None, starter)
            out.embedded_count += report.embedded_count
            if report.background is not None:
                out.background_chunks += report.background.chunks
        out.warnings += report.warnings
    out.seconds = time.perf_counter() - started
    return out
