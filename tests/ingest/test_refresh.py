"""``rlm search --refresh``: stat-based re-sync of folder loads before searching (issue #12)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

import rlm
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
