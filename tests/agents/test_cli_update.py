"""rlm update-buffer / update through the CLI (in-process)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.agents.conftest import Cli, join, make_document


def chunk_ids(cli: Cli, db: str, buffer: str) -> dict[str, int]:
    rows = cli("-d", db, "--format", "json", "chunk", "list", buffer).json()["chunks"]
    return {r["content_hash"]: r["id"] for r in rows}


def test_update_keeps_ids_and_reports_counts(cli: Cli, db: str, doc: str) -> None:
    before = chunk_ids(cli, db, doc)
    paras = make_document(40_000)
    paras[20] = paras[20] + " A new closing sentence."
    result = cli("-d", db, "--format", "json", "update-buffer", doc, join(paras))
    assert result.code == 0, result.err
    data = result.json()
    for key in (
        "buffer_id",
        "buffer_name",
        "content_size",
        "embedded",
        "new_chunk_count",
        "old_chunk_count",
        "strategy",
    ):
        assert key in data
    assert data["content_size"] == len(join(paras).encode())
    assert data["kept"] + data["added"] == data["new_chunk_count"]
    assert data["removed"] >= 1 and data["added"] >= 1
    assert data["kept"] >= data["old_chunk_count"] - 3
    assert data["embedded"] == {"count": data["added"], "model": "fallback-hash-v1-py"}
    # The stored chunk size (1000) was kept although no --chunk-size was passed.
    assert data["new_chunk_count"] > 30
    after = chunk_ids(cli, db, doc)
    assert sum(1 for h, i in after.items() if before.get(h) == i) == data["kept"]
    old_id = int(next(iter(data["superseded"])))
    replaced = cli("-d", db, "--format", "json", "chunk", "get", str(old_id))
    assert replaced.code == 1
    error = replaced.json()["error"]
    assert error["type"] == "ChunkSuperseded"
    assert str(data["superseded"][str(old_id)][0]) in error["message"]


def test_update_alias_reads_stdin_and_text_output(
    cli: Cli, db: str, doc: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = join(make_document(40_000)).replace("Section 5.", "Section five.")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(new.encode())))
    result = cli("-d", db, "update", doc)
    assert result.code == 0, result.err
    assert f"Updated buffer 'doc' ({len(new.encode())} bytes)" in result.out
    assert "Chunks: " in result.out and "(using semantic strategy)" in result.out
    assert "Kept " in result.out
    show = cli("-d", db, "--format", "json", "show", doc).json()["buffer"]["metadata"]
    assert show["size"] == len(new.encode())


def test_update_no_embed_leaves_new_chunks_unembedded(cli: Cli, db: str, doc: str) -> None:
    paras = make_document(40_000)
    paras[3] = "Rewritten entirely."
    data = cli("-d", db, "--format", "json", "update", doc, join(paras), "--no-embed").json()
    assert data["embedded"] is None
    assert data["unembedded"] == data["added"] > 0
    status = cli("-d", db, "--format", "json", "chunk", "status").json()
    assert status["total_embedded"] == status["total_chunks"] - data["added"]


def test_update_with_new_chunk_size_rechunks(cli: Cli, db: str, doc: str) -> None:
    text = join(make_document(40_000))
    data = cli(
        "-d", db, "--format", "json", "update", doc, text, "--chunk-size", "500", "--overlap", "0"
    ).json()
    assert data["mode"] == "full"
    assert data["new_chunk_count"] > data["old_chunk_count"]


def test_update_unknown_buffer_and_bad_config(cli: Cli, db: str, doc: str) -> None:
    missing = cli("-d", db, "--format", "json", "update", "nope", "text")
    assert missing.code == 1
    assert missing.json()["error"]["type"] == "BufferNotFound"
    bad = cli("-d", db, "--format", "json", "update", doc, "x", "--chunk-size", "100000")
    assert bad.code == 1
    assert bad.json()["error"]["type"] == "ChunkTooLarge"
    # Nothing changed.
    assert "---\nSection 0\n---" in cli("-d", db, "peek", doc, "--end", "9").out


def test_update_unchanged_embeds_nothing(cli: Cli, db: str, doc: str, isolated_env: Path) -> None:
    text = (isolated_env / "doc.txt").read_text(encoding="utf-8")
    data = cli("-d", db, "--format", "json", "update", doc, text, "-e").json()
    assert data["mode"] == "unchanged"
    assert (data["added"], data["removed"], data["embedded"]) == (0, 0, None)
