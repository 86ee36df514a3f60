"""``rlm.ops``: one library function per command, each result with ``to_json()``."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

import pytest

from rlm import ops
from rlm.embedding.hashing import HashEmbedder
from rlm.errors import ConfirmationRequiredError, InvalidArgumentError, UsageError
from rlm.ingest.loader import LoadOptions
from rlm.io import from_text
from rlm.store import Store

DOC = "".join(f"Paragraph {i}: the keeper logs the tide at dawn.\n\n" for i in range(80))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.init(tmp_path / "db.sqlite")
    ops.add_buffer(
        s,
        "doc",
        DOC,
        options=LoadOptions(chunk_size=400, overlap=40),
        embedder_factory=HashEmbedder,
    )
    return s


def test_every_export_is_a_function_not_a_module() -> None:
    for module in ("buffers", "chunks", "read", "retrieval", "agents", "store"):
        importlib.import_module(f"rlm.ops.{module}")
    for name in ops.__all__:
        value = getattr(ops, name)
        assert not inspect.ismodule(value), name
        assert callable(value) or name == "Result", name


def test_results_are_json_ready(store: Store) -> None:
    results = [
        ops.list_buffers(store),
        ops.show(store, "doc", chunks=True),
        ops.chunk_list(store, "doc", preview_len=10),
        ops.chunk_get(store, 1, context=1),
        ops.chunk_status(store),
        ops.peek(store, "doc", 0, 50),
        ops.grep(store, "tide", buffer="doc", max_matches=2),
        ops.search(store, "keeper tide", mode="bm25", top_k=3),
        ops.dispatch(store, "doc", batch_size=2, record=False),
        ops.status(store),
    ]
    for result in results:
        json.dumps(result.to_json(), allow_nan=False)
        assert isinstance(result.warnings, list)
    assert ops.chunk_status(store).to_json()["total_chunks"] == store.stats().chunk_count


def test_search_filters_by_collection_before_top_k(store: Store) -> None:
    outcome = ops.search(store, "keeper", mode="bm25", collection="nowhere")
    assert outcome.to_json()["count"] == 0
    assert outcome.warnings[0] == "no buffers in collection 'nowhere'"


def test_grep_needs_exactly_one_target(store: Store) -> None:
    with pytest.raises(UsageError):
        ops.grep(store, "x")
    with pytest.raises(UsageError):
        ops.grep(store, "x", buffer="doc", all_buffers=True)
    many = ops.grep(store, "Paragraph 7\\d", all_buffers=True).to_json()
    assert {m["buffer_name"] for m in many} == {"doc"} and len(many) == 10


def test_update_buffer_inherits_the_buffers_chunk_settings(store: Store) -> None:
    edited = DOC.replace("Paragraph 40:", "Paragraph forty:")
    result = ops.update_buffer(store, "doc", from_text(edited), embedder_factory=HashEmbedder)
    assert result.mode == "region" and result.kept > result.added > 0
    assert result.to_json()["embedded"] == {"count": result.added, "model": "fallback-hash-v1-py"}
    assert store.resolve_buffer("doc").chunk_size == 400


def test_aggregate_takes_findings_inline(store: Store) -> None:
    quote = ops.chunk_get(store, 1).to_json()["content"][:20]
    findings = [
        {"chunk_id": 1, "relevance": "high", "findings": [{"text": "t", "evidence": quote}]}
    ]
    as_list = ops.aggregate(store, findings).to_json()
    as_text = ops.aggregate(store, json.dumps(findings)).to_json()
    assert as_list == as_text
    assert as_list["summary"]["verified_quotes"] == 1
    with pytest.raises(InvalidArgumentError):
        ops.aggregate(store)


def test_delete_needs_confirmation_and_removes_only_the_named_buffer(store: Store) -> None:
    ops.add_buffer(store, "other", "other text\n", embedder_factory=HashEmbedder)
    with pytest.raises(ConfirmationRequiredError):
        ops.delete(store, "doc", confirm=False)
    assert ops.delete(store, "doc", confirm=True).to_json()["deleted"] is True
    assert [b["name"] for b in ops.list_buffers(store).to_json()] == ["other"]


def test_collection_coverage_counts_its_buffers_reading_them_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ops.add_buffer(
        store, "other", DOC, options=LoadOptions(chunk_size=400, overlap=40, embed=False)
    )
    store.conn.execute("UPDATE buffers SET collection = name")
    doc_chunks = store.resolve_buffer("doc").chunk_count
    reads: list[str | None] = []
    listed = Store.list_buffers

    def counted(self: Store, collection: str | None = None) -> list:  # type: ignore[type-arg]
        reads.append(collection)
        return listed(self, collection)

    monkeypatch.setattr(Store, "list_buffers", counted)
    hashing = HashEmbedder()
    embedded = ops.search(store, "keeper", collection="doc", embedder_factory=lambda: hashing)
    assert embedded.coverage is not None and reads == ["doc"]
    assert embedded.coverage.total == embedded.coverage.covered == doc_chunks
    bare = ops.search(store, "keeper", collection="other", embedder_factory=lambda: hashing)
    assert bare.coverage is not None and bare.coverage.covered == 0
    assert bare.coverage.total == store.resolve_buffer("other").chunk_count > 0
