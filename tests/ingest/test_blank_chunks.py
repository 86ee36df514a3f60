"""A stored chunk is embedded, or it is not stored: whitespace-only text (issue #13).

Every write path is covered: a file load, stdin, add-buffer, a folder load,
update-buffer, and blank stretches inside a longer text.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rlm.embedding.hashing import HashEmbedder
from rlm.ingest.loader import LoadOptions, load_text
from rlm.ingest.update import update_text
from rlm.io import from_text
from rlm.store import Store

BLANK = "   \n\n \t \n\u3000\n"


def consistent(store: Store) -> None:
    """chunk_count == embedded_count for every buffer, and no blank chunk is stored."""
    for status in store.embedding_status():
        assert status.embedded_count == status.chunk_count, status
        for chunk in store.list_chunks(status.buffer_id):
            assert chunk.content.strip(), chunk
            assert chunk.index == store.list_chunks(status.buffer_id).index(chunk)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.init(tmp_path / "db.sqlite")


def test_blank_text_stores_no_chunk(store: Store) -> None:
    result = load_text(store, from_text(BLANK), name="blank", embedder_factory=HashEmbedder)
    assert (result.chunk_count, result.embedded_count, result.unembedded) == (0, 0, 0)
    assert store.read_buffer(result.buffer_id) == BLANK
    consistent(store)


def test_blank_stretches_inside_a_text_are_dropped_and_indices_stay_dense(store: Store) -> None:
    text = "alpha " * 10 + " " * 300 + "\n" * 50 + "omega " * 10
    opts = LoadOptions(chunker="fixed", chunk_size=40, overlap=0)
    result = load_text(
        store, from_text(text), name="t", options=opts, embedder_factory=HashEmbedder
    )
    chunks = store.list_chunks(result.buffer_id)
    assert [c.index for c in chunks] == list(range(len(chunks))) and chunks
    assert result.chunk_count == result.embedded_count == len(chunks)
    lines = {c.content.strip().split()[0]: c.line_start for c in chunks}
    assert lines["alpha"] == 1 and lines["omega"] == 51
    consistent(store)
    # An edit after the gap re-chunks in full mode and stays consistent.
    edited = text.replace("omega", "OMEGA", 1)
    update_text(store, result.buffer_id, from_text(edited), opts, HashEmbedder)
    after = store.list_chunks(result.buffer_id)
    assert "".join(c.content for c in after).count("OMEGA") == 1
    consistent(store)


def test_update_to_blank_and_back(store: Store) -> None:
    loaded = load_text(
        store, from_text("real words here\n"), name="u", embedder_factory=HashEmbedder
    )
    blank = update_text(store, loaded.buffer_id, from_text(BLANK), LoadOptions(), HashEmbedder)
    assert (blank.new_chunk_count, blank.unembedded) == (0, 0)
    consistent(store)
    back = update_text(store, loaded.buffer_id, from_text("words\n"), LoadOptions(), HashEmbedder)
    assert back.new_chunk_count == back.embedded_count == 1
    consistent(store)


@pytest.mark.usefixtures("hash_embedder")
def test_every_cli_write_path_reports_consistent_counts(
    cli: Callable[..., Any], isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import sys

    (isolated_env / "ws.txt").write_text(BLANK, encoding="utf-8")
    (isolated_env / "folder").mkdir()
    (isolated_env / "folder" / "blank.md").write_text(BLANK, encoding="utf-8")
    (isolated_env / "folder" / "words.md").write_text("some words\n", encoding="utf-8")
    assert cli("init").code == 0
    single = cli("--format", "json", "load", "ws.txt").json()
    assert (single["chunk_count"], single["embedded_count"]) == (0, 0)
    added = cli("--format", "json", "add-buffer", "w", BLANK).json()
    assert (added["chunk_count"], added["embedded_count"]) == (0, 0)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(BLANK.encode())))
    piped = cli("--format", "json", "load", "-", "--name", "piped").json()
    assert (piped["chunk_count"], piped["embedded_count"]) == (0, 0)
    folder = cli("--format", "json", "load", "folder").json()
    assert folder["chunk_count"] == folder["embedded_count"] == 1
    updated = cli("--format", "json", "update-buffer", "words.md", BLANK).json()
    assert (updated["new_chunk_count"], updated["unembedded"]) == (0, 0)
    status = cli("--format", "json", "chunk", "status").json()
    assert status["total_chunks"] == status["total_embedded"] == 0
    assert all(b["fully_embedded"] for b in status["buffers"])
