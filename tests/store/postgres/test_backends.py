"""The same CLI paths on SQLite and PostgreSQL: same shapes, same answers, same exit codes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rlm.store import Store
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

DOCS = {
    "alpha.md": "# Alpha\n\nThe parseConfigFile helper reads the settings file.\n"
    "Settings are merged with defaults.\n",
    "beta.md": "# Beta\n\nRunning servers handle requests concurrently.\n"
    "Each request gets its own connection.\n",
    "gamma.txt": "中文 搜索 测试. Unrelated words about gardening and tomatoes.\n",
}


@pytest.fixture
def loaded(cli: Cli, db: str, isolated_env: Path, hash_embedder: None) -> str:
    folder = isolated_env / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    assert cli("-d", db, "init").code == 0
    assert cli("-d", db, "load", str(folder)).code == 0
    return db


def _without_volatile(value: Any) -> Any:
    """Drop fields that differ between backends by nature (paths, sizes, timings)."""
    volatile = {"db_path", "db_size", "seconds", "elapsed_ms", "total_bytes", "free_bytes", "log"}
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in volatile}
    if isinstance(value, list):
        return [_without_volatile(v) for v in value]
    return value


def test_init_load_list_show_and_chunk_get(cli: Cli, loaded: str) -> None:
    listing = cli("-d", loaded, "--format", "json", "list")
    assert listing.code == 0
    names = sorted(b["name"] for b in listing.json())
    assert names == sorted(DOCS)
    show = cli("-d", loaded, "--format", "json", "show", "alpha.md", "--chunks")
    assert show.code == 0
    chunk_id = show.json()["chunks"][0]["id"]
    got = cli("-d", loaded, "chunk", "get", str(chunk_id))
    assert got.code == 0
    assert "parseConfigFile" in got.out
    status = cli("-d", loaded, "--format", "json", "status")
    assert status.code == 0
    assert status.json()["buffer_count"] == 3
    assert status.json()["embedded_count"] == 3
    with Store.open(loaded) as store:  # absolute sources, for --refresh and watch
        assert sorted(Path(p).name for p in store.source_paths().values()) == sorted(DOCS)
        assert all(Path(p).is_absolute() for p in store.source_paths().values())


@pytest.mark.parametrize("mode", ["bm25", "semantic", "hybrid"])
def test_search_modes_find_the_right_buffer(cli: Cli, loaded: str, mode: str) -> None:
    result = cli("-d", loaded, "--format", "json", "search", "--mode", mode, "config settings")
    assert result.code == 0
    hits = result.json()["results"]
    assert hits
    if mode != "semantic":  # the hash embedder's neighbours are arbitrary
        assert hits[0]["buffer_name"] == "alpha.md"


def test_identifier_and_cjk_queries_use_the_aux_index(cli: Cli, loaded: str) -> None:
    for query, expected in (("config", "alpha.md"), ("搜索", "gamma.txt")):
        result = cli("-d", loaded, "--format", "json", "search", "--mode", "bm25", query)
        assert result.code == 0
        assert [h["buffer_name"] for h in result.json()["results"]] == [expected]


def test_stdin_grep_peek_delete(cli: Cli, loaded: str) -> None:
    import io
    import sys

    old = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(b"piped text about tomatoes\n"))
    try:
        piped = cli("-d", loaded, "load", "-", "--name", "piped")
    finally:
        sys.stdin = old
    assert piped.code == 0
    grep = cli("-d", loaded, "--format", "json", "grep", "piped", "tomato")
    assert grep.code == 0
    assert [m["text"] for m in grep.json()] == ["piped text about tomatoes"]
    peek = cli("-d", loaded, "peek", "piped")
    assert peek.code == 0 and "tomatoes" in peek.out
    assert cli("-d", loaded, "delete", "piped", "--yes").code == 0
    with Store.open(loaded) as store:  # its lexical postings went with it
        assert store.bm25_sum([('"piped"', 1.0)], 5) == []
        assert store.bm25_sum([('"tomatoes"', 1.0)], 5) != []
    missing = cli("-d", loaded, "--format", "json", "show", "piped")
    assert missing.code != 0
    assert missing.json()["error"]["type"] == "BufferNotFound"


def test_both_backends_answer_alike(
    cli: Cli, isolated_env: Path, hash_embedder: None, pg_url: str
) -> None:
    """One corpus in both stores: bm25 results (ids, scores) and JSON shapes agree."""
    folder = isolated_env / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    outputs: dict[str, list[Any]] = {}
    for db in (str(isolated_env / "s.db"), pg_url):
        assert cli("-d", db, "init").code == 0
        assert cli("-d", db, "load", str(folder)).code == 0
        outputs[db] = [
            _without_volatile(cli("-d", db, "--format", "json", *args).json())
            for args in (
                ("search", "--mode", "bm25", "request settings 中文 parse config"),
                ("search", "--mode", "hybrid", "request settings"),
                ("list",),
                ("show", "beta.md", "--chunks"),
                ("chunk", "get", "2"),
            )
        ]
    sqlite_out, pg_out = outputs.values()
    for a, b in zip(sqlite_out, pg_out, strict=True):
        assert _strip_times(a) == _strip_times(b)


def _strip_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip_times(v)
            for k, v in value.items()
            if k not in ("created_at", "updated_at") and not k.endswith("_ms")
        }
    if isinstance(value, list):
        return [_strip_times(v) for v in value]
    if isinstance(value, float):
        return round(value, 5)
    return value


def test_hostile_names_queries_and_paths_change_nothing(
    cli: Cli, loaded: str, isolated_env: Path
) -> None:
    hostile = "x'); DROP TABLE chunks; --"
    before = cli("-d", loaded, "--format", "json", "list").json()
    for args in (
        ("search", hostile),
        ("search", "--mode", "bm25", '" OR 1=1 --'),
        ("show", hostile),
        ("chunk", "get", "1; DELETE FROM chunks"),
        ("grep", hostile, "x"),
        ("search", "--buffer", hostile, "settings"),
    ):
        result = cli("-d", loaded, *args)
        assert result.code in (0, 1, 2), args
    weird = isolated_env / "it's; DROP TABLE buffers;.md"
    weird.write_text("robert tables\n", encoding="utf-8")
    assert cli("-d", loaded, "load", str(weird), "--name", hostile).code == 0
    after = cli("-d", loaded, "--format", "json", "list").json()
    assert len(after) == len(before) + 1
    assert hostile in [b["name"] for b in after]
    with Store.open(loaded) as store:
        assert store.chunk_count_total() == 4
