"""Resource caps (review M3): amplification and whole-buffer reads are bounded, visibly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rlm.chunking import ChunkConfig, chunk_spans
from rlm.defaults import MIN_CHUNK_SIZE
from rlm.errors import InvalidChunkConfigError, TooManyChunksError
from rlm.search.limits import DEFAULT_MAX_QUERY_WORDS, cap_query

Cli = Callable[..., Any]


@pytest.fixture
def store(cli: Cli, hash_embedder: None) -> None:
    assert cli("init").code == 0


def test_chunk_size_one_is_refused_before_any_work(
    store: None, cli: Cli, isolated_env: Path
) -> None:
    (isolated_env / "two.txt").write_text("word " * 1000)
    result = cli("load", "two.txt", "--chunk-size", "1", "--overlap", "0", "--format", "json")
    assert result.code != 0
    assert f">= {MIN_CHUNK_SIZE} bytes" in result.json()["error"]["message"]
    assert cli("list", "--format", "json").json() == []


def test_folder_load_below_the_minimum_is_refused_once_and_keeps_the_collection(
    store: None, cli: Cli, isolated_env: Path
) -> None:
    """Folder loads check the minimum up front, like single files: not one skip per file,
    and a --sync with a bad size cannot empty the collection (every file skipped, so
    none kept)."""
    folder = isolated_env / "notes"
    folder.mkdir()
    for name in ("a.txt", "b.txt"):
        (folder / name).write_text(f"{name} holds a few words\n" * 20)
    assert cli("load", "notes").code == 0
    before = cli("list", "--format", "json").json()
    assert len(before) == 2
    for extra in ((), ("--sync",)):
        result = cli(
            "load", "notes", "--chunk-size", "4", "--overlap", "0", *extra, "--format", "json"
        )
        assert result.code != 0
        error = result.json()["error"]
        assert error["type"] == "InvalidConfig"
        assert f">= {MIN_CHUNK_SIZE} bytes" in error["message"]
        assert cli("list", "--format", "json").json() == before


def test_projected_chunk_count_over_the_cap_is_refused_up_front(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RLM_MAX_CHUNKS", "1000")
    with pytest.raises(TooManyChunksError, match="make at least 6250 chunks"):
        chunk_spans(b"x" * 100_000, ChunkConfig(chunk_size=16, overlap=0), "fixed").__next__()
    with pytest.raises(InvalidChunkConfigError):
        chunk_spans(b"abc", ChunkConfig(chunk_size=8, overlap=0))


def test_chunk_cap_from_the_environment_rolls_the_load_back(
    store: None, cli: Cli, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated_env / "doc.txt").write_text("A sentence here. " * 2000)
    monkeypatch.setenv("RLM_MAX_CHUNKS", "5")
    error = cli("load", "doc.txt", "--format", "json").json()["error"]
    assert error["type"] == "TooManyChunks"
    assert "RLM_MAX_CHUNKS" in error["suggestion"]
    assert cli("list", "--format", "json").json() == []
    monkeypatch.setenv("RLM_MAX_CHUNKS", "100000")
    assert cli("load", "doc.txt").code == 0


def test_sparse_file_is_refused_not_stored(store: None, cli: Cli, isolated_env: Path) -> None:
    path = isolated_env / "sparse.txt"
    with path.open("wb") as handle:
        handle.write(b"hello world header line\n" * 400)
        handle.truncate(256 << 20)  # 256 MB of holes, a few KB on disk
    error = cli("load", str(path), "--format", "json").json()["error"]
    assert error["type"] == "BinaryFile"
    assert cli("list", "--format", "json").json() == []


def test_peek_is_capped_and_says_so(store: None, cli: Cli, isolated_env: Path) -> None:
    (isolated_env / "big.txt").write_text("0123456789" * 300_000)  # 3 MB
    assert cli("load", "big.txt").code == 0
    result = cli("peek", "big.txt", "--end", "999999999999", "--format", "json")
    data = result.json()
    assert data["size"] == 1 << 20 and data["truncated"] is True
    assert "--max-bytes" in result.err
    wide = cli("peek", "big.txt", "--end", "999999999999", "--max-bytes", "5000000")
    assert wide.code == 0 and len(wide.out) > 3_000_000
    small = cli("peek", "big.txt", "--end", "10", "--format", "json").json()
    assert "truncated" not in small and small["content"] == "0123456789"


def test_chunk_context_is_capped_and_says_so(store: None, cli: Cli, isolated_env: Path) -> None:
    (isolated_env / "doc.txt").write_text("A sentence here. " * 20_000)  # 340 KB
    assert cli("load", "doc.txt").code == 0
    result = cli(
        "chunk", "get", "60", "--context", "1000000", "--max-bytes", "20000", "--format", "json"
    )
    context = result.json()["context"]
    span = context["byte_range"]["end"] - context["byte_range"]["start"]
    assert context["truncated"] is True and span <= 20_000
    assert 60 in context["chunk_ids"] and len(context["chunk_ids"]) > 1
    assert "--max-bytes" in result.err
    plain = cli("chunk", "get", "60", "--context", "1", "--format", "json").json()["context"]
    assert "truncated" not in plain and len(plain["chunk_ids"]) == 3


def test_long_query_is_cut_with_a_warning(store: None, cli: Cli, isolated_env: Path) -> None:
    (isolated_env / "doc.txt").write_text("alpha beta gamma\n")
    assert cli("load", "doc.txt").code == 0
    query = "alpha " + " ".join(f"w{i}" for i in range(5000))
    result = cli("search", query, "--mode", "bm25", "--format", "json")
    data = result.json()
    assert len(data["query"].split()) == DEFAULT_MAX_QUERY_WORDS
    assert data["query"].startswith("alpha w0 w1 ")
    assert "query cut to" in result.err
    assert cap_query("short question") == ("short question", None)


def test_overlap_close_to_the_chunk_size_cannot_multiply_the_store() -> None:
    """chunk_size 3000 / overlap 2999 on 300 KB would store about 900 MB of chunk text."""
    with pytest.raises(InvalidChunkConfigError, match="would store about"):
        chunk_spans(b"x" * 300_000, ChunkConfig(chunk_size=3000, overlap=2999), "fixed")
    # small inputs stay free to overlap heavily (under 64 MiB of chunk text)
    spans = list(chunk_spans(b"x" * 2000, ChunkConfig(chunk_size=100, overlap=90), "fixed"))
    assert len(spans) > 100
