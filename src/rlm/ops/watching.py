"""``rlm watch PATH...``: keep a folder collection fresh by polling.

Why polling: every cycle is the folder load's own incremental pass
(:func:`rlm.ingest.load.load` on folders or globs), whose change test is one
``stat`` per file (same size and mtime: nothing read), so a quiet tree costs a
walk and a stat per file per interval and nothing else; it works the same on
every OS and file system (network mounts, containers) where inotify-like
APIs do not, and needs no dependency. Unlike ``search --refresh`` it also
sees files added since the load.

What it changes: like ``rlm load`` it adds and updates buffers; it removes a
buffer only with ``sync=True`` (``--sync``, as ``load --sync``), and every
removal is named in the event. New chunks are embedded as a load embeds them
(``embed``: ``auto`` inline when quick, else the background worker).

One event per cycle that changed something (and always for the first, the
initial sync); ``on_event`` gets it as it happens. The loop ends after
``cycles`` polls, when ``stop`` is set, or by KeyboardInterrupt (the CLI turns
Ctrl-C into exit 130 and SIGTERM into 143, after a summary).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlm.errors import InvalidArgumentError
from rlm.ingest.collection import SyncReport
from rlm.ingest.load import Starter, is_single_file, load
from rlm.ingest.loader import LoadOptions
from rlm.io import DEFAULT_MAX_FILE_SIZE
from rlm.ops.base import EmbedderFactory, default_embedder
from rlm.store import Store

DEFAULT_INTERVAL = 2.0
"""Seconds between polls: a quiet 10k-file tree costs about 0.5 s a poll (refresh_bench.py)."""


@dataclass(frozen=True)
class WatchEvent:
    """One sync of the watched paths that changed the collection (or the first)."""

    cycle: int
    collection: str
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int
    skipped: list[tuple[str, str]]
    embedded_count: int
    background_chunks: int
    seconds: float
    at: float
    warnings: list[str] = field(default_factory=list)

    @property
    def line(self) -> str:
        """The one stderr line: counts, not names (JSON has the names)."""
        parts = [
            f"{len(self.added)} added",
            f"{len(self.changed)} updated",
            f"{len(self.removed)} removed",
        ]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        stamp = time.strftime("%H:%M:%S", time.localtime(self.at))
        return f"{stamp} {self.collection}: {', '.join(parts)} ({self.seconds:.2f} s)"

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "sync",
            "added": self.added,
            "at": round(self.at, 3),
            "background_chunks": self.background_chunks,
            "changed": self.changed,
            "collection": self.collection,
            "cycle": self.cycle,
            "embedded_count": self.embedded_count,
            "removed": self.removed,
            "seconds": round(self.seconds, 4),
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "unchanged": self.unchanged,
        }


@dataclass
class WatchSummary:
    """What a watch did until it stopped."""

    cycles: int = 0
    events: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    stopped_by: str = "cycles"
    """``cycles``, ``stop``, ``interrupt`` or ``terminate``."""

    def add(self, event: WatchEvent) -> None:
        self.events += 1
        self.added += len(event.added)
        self.changed += len(event.changed)
        self.removed += len(event.removed)

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "stopped",
            "added": self.added,
            "changed": self.changed,
            "cycles": self.cycles,
            "events": self.events,
            "removed": self.removed,
            "stopped_by": self.stopped_by,
        }


def check_paths(paths: Sequence[str], cwd: Path | None = None) -> list[str]:
    """The watched paths, refused early when one is stdin or a single file."""
    targets = list(paths)
    if not targets:
        raise InvalidArgumentError("watch needs a folder or glob to watch")
    if "-" in targets or is_single_file(targets, cwd=cwd):
        raise InvalidArgumentError(
            f"watch keeps a folder collection fresh, and {targets[0]!r} is "
            + ("standard input" if "-" in targets else "one file"),
            suggestion="Name the folder (or a glob) that holds it",
        )
    return targets


def watch(
    store: Store,
    paths: Sequence[str],
    *,
    interval: float = DEFAULT_INTERVAL,
    cycles: int | None = None,
    sync: bool = False,
    collection: str | None = None,
    options: LoadOptions | None = None,
    embed: str | None = "auto",
    embedder_factory: EmbedderFactory | None = None,
    starter: Starter | None = None,
    hidden: bool = False,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    on_event: Callable[[WatchEvent], None] | None = None,
    stop: threading.Event | None = None,
    cwd: Path | None = None,
    summary: WatchSummary | None = None,
) -> WatchSummary:
    """Poll ``paths`` every ``interval`` seconds and sync the collection; see the module doc.

    ``summary`` is updated in place as the loop runs, so a caller interrupted
    by Ctrl-C still has the tally.
    """
    targets = check_paths(paths, cwd)
    if interval < 0:
        raise InvalidArgumentError("watch interval must be >= 0 seconds")
    if summary is None:
        summary = WatchSummary()
    factory = embedder_factory or default_embedder
    while cycles is None or summary.cycles < cycles:
        if stop is not None and stop.is_set():
            summary.stopped_by = "stop"
            break
        if summary.cycles:
            if stop is not None:
                if stop.wait(interval):
                    summary.stopped_by = "stop"
                    break
            else:
                time.sleep(interval)
        started = time.perf_counter()
        report = load(
            store,
            targets,
            options=options,
            collection=collection,
            sync=sync,
            max_file_size=max_file_size,
            embedder_factory=factory,
            embed=embed,
            starter=starter,
            hidden=hidden,
            cwd=cwd,
        )
        summary.cycles += 1
        assert isinstance(report, SyncReport)  # check_paths refused single files
        if summary.cycles > 1 and not (report.added or report.changed or report.removed):
            continue
        event = _event(summary.cycles, report, time.perf_counter() - started)
        summary.add(event)
        if on_event is not None:
            on_event(event)
    return summary


def _event(cycle: int, report: SyncReport, seconds: float) -> WatchEvent:
    return WatchEvent(
        cycle=cycle,
        collection=report.collection,
        added=list(report.added),
        changed=list(report.changed),
        removed=list(report.removed),
        unchanged=report.unchanged,
        skipped=list(report.skipped),
        embedded_count=report.embedded_count,
        background_chunks=report.background.chunks if report.background else 0,
        seconds=seconds,
        at=time.time(),
        warnings=list(report.warnings),
    )
