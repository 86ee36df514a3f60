"""The importable package: what ``import rlm`` offers, as the README shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

import rlm
from rlm.ingest.collection import SyncReport
from rlm.ingest.load import load
from rlm.ingest.loader import LoadResult


def test_public_names_resolve() -> None:
    for name in rlm.__all__:
        assert getattr(rlm, name) is not None, name
    assert rlm.load is load
    with pytest.raises(AttributeError):
        _ = rlm.no_such_name  # type: ignore[attr-defined]


@pytest.mark.usefixtures("hash_embedder")
def test_load_files_and_folders_through_the_package(isolated_env: Path) -> None:
    (isolated_env / "docs").mkdir()
    (isolated_env / "docs" / "a.md").write_text("# A\n\nalpha beacon\n", encoding="utf-8")
    (isolated_env / "note.txt").write_text("a loose note\n", encoding="utf-8")
    with rlm.Store.init(".rlm/rlm-state.db") as store:
        report = rlm.load(store, ["docs"])
        assert isinstance(report, SyncReport)
        assert report.collection == "docs" and report.added == ["a.md"]
        single = rlm.load_file(store, "note.txt")
        assert isinstance(rlm.load(store, "note.txt", name="again.txt"), LoadResult)
        assert single.name == "note.txt" and single.chunk_count == 1
        again = rlm.load(store, ["docs"])
        assert isinstance(again, SyncReport)
        assert again.added == [] and again.unchanged == 1
        names = sorted(b.name or "" for b in store.list_buffers())
    assert names == ["a.md", "again.txt", "note.txt"]
