"""Load semantics: a load adds and updates; only an explicit sync removes (issue #13).

The glob case runs the real ``rlm`` executable as a subprocess, as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rlm
from rlm.errors import InvalidArgumentError
from rlm.ingest.collection import SyncReport
from rlm.ingest.loader import LoadOptions, LoadResult

NO_EMBED = LoadOptions(embed=False)


@pytest.fixture
def docs(isolated_env: Path) -> Path:
    folder = isolated_env / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nalpha lighthouse\n", encoding="utf-8")
    (folder / "b.md").write_text("# B\n\nbeta harbour\n", encoding="utf-8")
    return folder


def names(store: rlm.Store) -> list[str]:
    return sorted(b.name or "" for b in store.list_buffers())


@pytest.mark.usefixtures("docs")
def test_two_single_file_loads_keep_both(isolated_env: Path) -> None:
    with rlm.Store.init(".rlm/rlm-state.db") as store:
        first = rlm.load(store, ["docs/a.md"], options=NO_EMBED)
        second = rlm.load(store, ["docs/b.md"], options=NO_EMBED)
        assert isinstance(first, LoadResult) and isinstance(second, LoadResult)
        assert names(store) == ["a.md", "b.md"]


@pytest.mark.usefixtures("docs")
def test_two_glob_loads_from_one_folder_keep_both(isolated_env: Path) -> None:
    with rlm.Store.init(".rlm/rlm-state.db") as store:
        rlm.load(store, ["docs/a*.md"], options=NO_EMBED)
        second = rlm.load(store, ["docs/b*.md"], options=NO_EMBED)
        assert isinstance(second, SyncReport)
        assert second.removed == [] and second.added == ["docs/b.md"]
        assert names(store) == ["docs/a.md", "docs/b.md"]


def test_a_named_collection_is_added_to_not_replaced(docs: Path) -> None:
    other = docs.parent / "other"
    other.mkdir()
    (other / "c.md").write_text("gamma\n", encoding="utf-8")
    with rlm.Store.init(".rlm/rlm-state.db") as store:
        rlm.load(store, ["docs"], options=NO_EMBED, collection="kb")
        report = rlm.load(store, ["other"], options=NO_EMBED, collection="kb")
        assert isinstance(report, SyncReport) and report.removed == []
        assert sorted(b.name or "" for b in store.list_buffers("kb")) == ["a.md", "b.md", "c.md"]
        synced = rlm.load(store, ["other"], options=NO_EMBED, collection="kb", sync=True)
        assert isinstance(synced, SyncReport)
        assert synced.removed == ["a.md", "b.md"]
        assert sorted(b.name or "" for b in store.list_buffers("kb")) == ["c.md"]


@pytest.mark.usefixtures("docs")
def test_sync_mirrors_a_glob_and_names_what_it_removed(isolated_env: Path) -> None:
    with rlm.Store.init(".rlm/rlm-state.db") as store:
        rlm.load(store, ["docs/*.md"], options=NO_EMBED)
        report = rlm.load(store, ["docs/b*.md"], options=NO_EMBED, sync=True)
        assert isinstance(report, SyncReport)
        assert report.removed == ["docs/a.md"] and report.unchanged == 1
        assert names(store) == ["docs/b.md"]


@pytest.mark.usefixtures("docs")
@pytest.mark.parametrize("target", ["docs/a.md", "-"])
def test_sync_of_one_file_or_stdin_is_refused(isolated_env: Path, target: str) -> None:
    with rlm.Store.init(".rlm/rlm-state.db") as store:
        with pytest.raises(InvalidArgumentError, match="sync mirrors a folder or glob"):
            rlm.load(store, [target], options=NO_EMBED, sync=True)
        assert names(store) == []


def run_rlm(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RLM_EMBEDDER": "hash"}
    return subprocess.run(
        [sys.executable, "-m", "rlm", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.usefixtures("docs")
def test_cli_glob_loads_keep_both_and_sync_says_what_it_removes(isolated_env: Path) -> None:
    assert run_rlm(isolated_env, "init").returncode == 0
    first = run_rlm(isolated_env, "load", "docs/a*.md")
    assert first.returncode == 0, first.stderr
    second = run_rlm(isolated_env, "--format", "json", "load", "docs/b*.md")
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["removed"] == [] and report["sync"] is False
    listed = json.loads(run_rlm(isolated_env, "--format", "json", "list").stdout)
    assert sorted(b["name"] for b in listed) == ["docs/a.md", "docs/b.md"]
    text = run_rlm(isolated_env, "load", "--sync", "docs/b*.md")
    assert text.returncode == 0, text.stderr
    assert "removed 1 (--sync: not in the paths any more):\n    docs/a.md\n" in text.stdout
    listed = json.loads(run_rlm(isolated_env, "--format", "json", "list").stdout)
    assert [b["name"] for b in listed] == ["docs/b.md"]
    again = run_rlm(isolated_env, "--format", "json", "load", "--sync", "docs/*.md")
    assert json.loads(again.stdout)["added"] == ["docs/a.md"]
