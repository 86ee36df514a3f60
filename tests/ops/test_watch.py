"""``ops.watch``: polling keeps a folder collection fresh; removals only with sync."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import rlm
from rlm import ops
from rlm.errors import InvalidArgumentError
from rlm.ops.watching import WatchEvent

pytestmark = pytest.mark.usefixtures("hash_embedder")


@pytest.fixture
def notes(isolated_env: Path) -> Path:
    folder = isolated_env / "notes"
    folder.mkdir()
    for i in range(3):
        (folder / f"n{i}.md").write_text(f"# Note {i}\n\nplain words {i}\n", "utf-8")
    return folder


def _edit(notes: Path) -> None:
    (notes / "n1.md").write_text("# Note 1\n\nthe zeppelin over the harbour\n", "utf-8")
    os.utime(notes / "n1.md", (1_900_000_000, 1_900_000_000))
    (notes / "n2.md").unlink()
    (notes / "new.md").write_text("a new note about lighthouses\n", "utf-8")


@pytest.mark.parametrize("sync", [False, True])
def test_polls_pick_up_added_changed_and_removed_files(notes: Path, sync: bool) -> None:
    events: list[WatchEvent] = []

    def seen(event: WatchEvent) -> None:
        events.append(event)
        if event.cycle == 1:
            _edit(notes)  # between the first and the second poll

    with rlm.Store.init(".rlm/rlm-state.db") as store:
        summary = ops.watch(store, ["notes"], interval=0, cycles=3, sync=sync, on_event=seen)
        names = {b.name for b in store.list_buffers("notes")}
        assert store.bm25('"zeppelin"', 5), "the changed file was re-indexed"
    assert [e.cycle for e in events] == [1, 2], "a quiet poll makes no event"
    assert events[0].added == ["n0.md", "n1.md", "n2.md"]
    assert events[1].added == ["new.md"] and events[1].changed == ["n1.md"]
    assert events[1].embedded_count > 0
    assert summary.cycles == 3 and summary.events == 2 and summary.stopped_by == "cycles"
    if sync:
        assert events[1].removed == ["n2.md"] and "n2.md" not in names
    else:
        assert events[1].removed == [] and "n2.md" in names  # never removed unasked
    data = events[1].to_json()
    assert data["event"] == "sync" and data["collection"] == "notes"
    assert "1 added, 1 updated" in events[1].line


def test_stop_event_ends_the_loop_between_polls(notes: Path) -> None:
    stop = threading.Event()
    with rlm.Store.init(".rlm/rlm-state.db") as store:
        summary = ops.watch(store, ["notes"], interval=30, on_event=lambda e: stop.set(), stop=stop)
    assert summary.cycles == 1 and summary.stopped_by == "stop"


def test_single_files_and_stdin_are_refused(notes: Path) -> None:
    with rlm.Store.init(".rlm/rlm-state.db") as store:
        for paths in (["notes/n0.md"], ["-"]):
            with pytest.raises(InvalidArgumentError, match="folder"):
                ops.watch(store, paths, cycles=1)
        assert store.list_buffers() == []
