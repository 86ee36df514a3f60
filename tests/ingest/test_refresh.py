"""``rlm search --refresh``: stat-based re-sync of folder loads before searching (issue #12)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

import rlm
from rlm.embedding import get_embedder
from rlm.ingest.loader import LoadOptions
from rlm.ingest.refresh import refresh
from tests.conftest import CliResult


@pytest.fixture
def tree(isolated_env: Path) -> Path:
    folder = isolated_env / "notes"
    folder.mkdir()
    for i in range(5):
        (folder / f"n{i}.md").write_text(f"# Note {i}\n\nplain words number {i}\n", "utf-8")
    return folder


@pytest.mark.usefixtures("hash_embedder")
def test_refresh_resyncs_changed_files_and_keeps_gone_ones(
    cli: Callable[..., CliResult], tree: Path
) -> None:
    assert cli("init").code == 0
    assert cli("load", "notes").code == 0
    before = {c["id"] for c in cli("chunk", "list", "n0.md", "--format", "json").json()["chunks"]}
    stale = cli("search", "zeppelin", "--mode", "bm25", "--format", "json").json()
    assert stale["count"] == 0 and stale["refresh"] is None
    (tree / "n3.md").write_text("# Note 3\n\nthe zeppelin over the harbour\n", "utf-8")
    os.utime(tree / "n3.md", (1_900_000_000, 1_900_000_000))
    (tree / "n4.md").unlink()
    found = cli("search", "zeppelin", "--refresh", "--format", "json")
    assert found.code == 0, found.err
    data = found.json()
    assert data["refresh"]["changed"] == ["n3.md"]
    assert data["refresh"]["missing"] == ["n4.md"]
    assert data["refresh"]["checked"] == 5
    assert data["refresh"]["embedded_count"] > 0
    assert data["count"] >= 1 and data["results"][0]["buffer_name"] == "n3.md"
    assert "gone" in found.err  # one line about n4.md, which is kept
    names = {b["name"] for b in cli("list", "--format", "json").json()}
    assert "n4.md" in names and len(names) == 5
    after = {c["id"] for c in cli("chunk", "list", "n0.md", "--format", "json").json()["chunks"]}
    assert after == before  # unchanged files are not touched
    again = cli("search", "zeppelin", "--refresh", "--format", "json").json()
    assert again["refresh"]["changed"] == []


def test_nothing_changed_reads_nothing(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with rlm.Store.init(".rlm/rlm-state.db") as store:
        rlm.load(store, ["notes"], options=LoadOptions(embed=False))
        import rlm.ingest.collection as collection

        def no_read(*args: object, **kwargs: object) -> None:
            raise AssertionError("an unchanged file was read")

        monkeypatch.setattr(collection, "open_file", no_read)
        report = refresh(store, embedder_factory=lambda: pytest.fail("no model for nothing"))
        assert (report.checked, report.changed, report.missing) == (5, [], [])


def test_refresh_scope_follows_the_collection(tree: Path, isolated_env: Path) -> None:
    other = isolated_env / "other"
    other.mkdir()
    (other / "o.md").write_text("other words\n", "utf-8")
    with rlm.Store.init(".rlm/rlm-state.db") as store:
        rlm.load(store, ["notes"], options=LoadOptions(embed=False))
        rlm.load(store, ["other"], options=LoadOptions(embed=False))
        (other / "o.md").write_text("other words, changed\n", "utf-8")
        os.utime(other / "o.md", (1_900_000_000, 1_900_000_000))
        factory = lambda: pytest.fail("embed off")  # noqa: E731
        only_notes = refresh(store, collection="notes", embedder_factory=factory, embed="off")
        assert (only_notes.checked, only_notes.changed) == (5, [])
        both = refresh(store, embedder_factory=factory, embed="off")
        assert both.changed == ["o.md"]


def test_refresh_finds_files_from_any_folder(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sources are stored as given (relative), yet resolved through the absolute
    path recorded at load time: running from an unrelated folder still works."""
    db = tree.parent / ".rlm" / "rlm-state.db"
    with rlm.Store.init(db) as store:
        rlm.load(store, ["notes"], options=LoadOptions(embed=False))
        n3 = next(b for b in store.list_buffers() if b.name == "n3.md")
        assert n3.source == "notes/n3.md"  # displayed as rlm-rs shows it
        assert store.source_paths([n3.id]) == {n3.id: str(tree / "n3.md")}
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    (elsewhere / "notes").mkdir()
    (elsewhere / "notes" / "n3.md").write_text("a namesake that is not the file\n", "utf-8")
    monkeypatch.chdir(elsewhere)
    (tree / "n3.md").write_text("# Note 3\n\nthe zeppelin over the harbour\n", "utf-8")
    os.utime(tree / "n3.md", (1_900_000_000, 1_900_000_000))
    with rlm.Store.open(db) as store:
        report = refresh(store, embedder_factory=get_embedder, embed="off")
        assert report.changed == ["n3.md"] and report.missing == []
        assert store.find_buffer_in("n3.md", "notes") is not None
        hits = store.bm25('"zeppelin"', 5)
        assert hits, "the changed file was re-read from its recorded path"
        gone = next(b for b in store.list_buffers() if b.name == "n2.md")
        store.delete_buffer(gone.id)
        assert gone.id not in store.source_paths()


def test_reloading_a_file_from_another_folder_updates_in_place(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = isolated_env / "doc.txt"
    doc.write_text("first version of the lighthouse log\n", "utf-8")
    db = isolated_env / ".rlm" / "rlm-state.db"
    with rlm.Store.init(db) as store:
        first = rlm.load(store, ["doc.txt"], options=LoadOptions(embed=False))
    sub = isolated_env / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    doc.write_text("second version of the lighthouse log, longer\n", "utf-8")
    with rlm.Store.open(db) as store:
        again = rlm.load(store, ["../doc.txt"], name="doc.txt", options=LoadOptions(embed=False))
        assert again.buffer_id == first.buffer_id
        assert "second version" in store.read_buffer(first.buffer_id)
