"""``rlm store copy`` / ``rlm store export`` from the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

pytestmark = pytest.mark.usefixtures("hash_embedder")
Cli = Callable[..., CliResult]


@pytest.fixture
def src(cli: Cli, isolated_env: Path) -> Path:
    (isolated_env / "notes.md").write_text(
        "".join(f"Note {i}: the lighthouse keeper logs the tide.\n\n" for i in range(40))
    )
    (isolated_env / "code.py").write_text("def retry():\n    return 429\n" * 30)
    assert cli("-d", "src.db", "init").code == 0
    assert (
        cli(
            "-d", "src.db", "load", "notes.md", "code.py", "--chunk-size", "400", "--overlap", "40"
        ).code
        == 0
    )
    assert cli("-d", "src.db", "var", "topic", "tides").code == 0
    return isolated_env / "src.db"


def test_copy_says_what_it_copies_and_reports_the_id_map(cli: Cli, src: Path) -> None:
    dry = cli("store", "copy", "src.db", "dst.db", "--dry-run")
    assert dry.code == 0, dry.err
    assert dry.out.startswith("Would copy 2 buffer(s)")
    assert not Path("dst.db").exists()

    text = cli("store", "copy", "src.db", "dst.db")
    assert text.code == 0, text.err
    assert "Copied 2 buffer(s)" in text.out and "(created)" in text.out
    assert text.err.startswith("Copying 2 buffer(s)") and "src.db to " in text.err
    assert "ids remapped" in text.out

    again = cli("store", "copy", "src.db", "dst.db", "--rename", "--format", "json")
    assert again.code == 0, again.err
    data = again.json()
    chunks = data["chunks"]
    assert data["id_map_count"] == chunks == len(data["id_map"]) > 2
    assert sorted(data["id_map"].values())[0] == chunks + 1  # after the first copy's ids
    listed = cli("-d", "dst.db", "list", "--format", "json").json()
    names = sorted(b["name"] for b in listed)
    assert names == ["code.py", "code.py~1", "notes.md", "notes.md~1"]
    old = next(iter(data["id_map"]))
    a = cli("-d", "src.db", "chunk", "get", old)
    b = cli("-d", "dst.db", "chunk", "get", str(data["id_map"][old]))
    assert a.code == b.code == 0 and a.out == b.out


def test_clash_is_one_error_listing_names(cli: Cli, src: Path) -> None:
    assert cli("store", "copy", "src.db", "dst.db").code == 0
    before = Path("dst.db").stat().st_size, cli("-d", "dst.db", "list", "--format", "json").out
    res = cli("store", "copy", "src.db", "dst.db", "--format", "json")
    assert res.code == 1
    err = json.loads(res.out)["error"]
    assert err["type"] == "NameClash"
    assert "buffer work/notes.md" in err["message"] and "buffer work/code.py" in err["message"]
    assert "--skip" in err["suggestion"]
    text = cli("store", "copy", "src.db", "dst.db")
    assert text.code == 1 and len(text.err.strip().splitlines()) == 2  # message + suggestion
    assert cli("-d", "dst.db", "list", "--format", "json").out == before[1]
    skipped = cli("store", "copy", "src.db", "dst.db", "--skip", "--id-map", "map.json")
    assert skipped.code == 0 and "skipped 2" in skipped.err
    assert json.loads(Path("map.json").read_text()) == {}


def test_export_then_search_without_the_source(cli: Cli, src: Path) -> None:
    want = {
        mode: cli("-d", "src.db", "search", "keeper tide", "--mode", mode, "--format", "json")
        for mode in ("bm25", "semantic")
    }
    res = cli("-d", "src.db", "store", "export", "snap.db")
    assert res.code == 0, res.err
    assert res.out.startswith("Exported 2 buffer(s)")
    refused = cli("-d", "src.db", "store", "export", "snap.db")
    assert refused.code == 1 and "--force" in refused.err
    for suffix in ("", "-wal", "-shm"):
        Path("src.db" + suffix).unlink(missing_ok=True)
    for mode, before in want.items():
        after = cli("-d", "snap.db", "search", "keeper tide", "--mode", mode, "--format", "json")
        assert after.code == 0, after.err
        ids = [(r["chunk_id"], r["buffer_name"]) for r in after.json()["results"]]
        assert ids and ids == [(r["chunk_id"], r["buffer_name"]) for r in before.json()["results"]]


def test_help_lists_the_group(cli: Cli) -> None:
    res = cli("store", "--help")
    assert res.code == 0 and "copy" in res.out and "export" in res.out
