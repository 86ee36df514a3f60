"""``rlm.ops.store_copy`` / ``store_export`` between SQLite stores (the PostgreSQL
round trip is in tests/store/postgres/test_store_move.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlm import ops
from rlm.embedding.hashing import HashEmbedder
from rlm.errors import DatabaseError, InvalidArgumentError
from rlm.ingest.loader import LoadOptions
from rlm.ops.store_move import NameClashError, copy_stores
from rlm.store import Store, VectorRow

pytestmark = pytest.mark.usefixtures("hash_embedder")

# Multi-byte text, CRLF and a line with no final newline: spans must survive byte-exact.
DOC_A = "".join(
    f"Section {i}: the keeper logs the tide — naïve café ☕ at dawn.\r\n\n" for i in range(60)
)
DOC_B = "def main():\n    return retry_upload(429)\n\n" * 40 + "tail without newline"


def _fill(store: Store) -> None:
    opts = LoadOptions(chunk_size=300, overlap=30)
    ops.add_buffer(store, "a.md", DOC_A, options=opts, embedder_factory=HashEmbedder)
    ops.add_buffer(store, "b.py", DOC_B, options=opts, embedder_factory=HashEmbedder)
    store.set_value("variables", "topic", "tides")
    store.set_value("globals", "owner", "ops")
    ops.dispatch(store, "a.md", batch_size=3)


@pytest.fixture
def src(tmp_path: Path) -> Store:
    store = Store.init(tmp_path / "src.db")
    _fill(store)
    return store


def _snapshot(store: Store) -> list[tuple[object, ...]]:
    """Everything a copy must keep, keyed by buffer name and chunk position, not id."""
    rows: list[tuple[object, ...]] = []
    for b in store.list_buffers():
        rows.append((b.name, b.collection, b.size, b.line_count, b.content_hash, b.source))
        rows.append((b.name, store.read_buffer_bytes(b.id)))
        chunks = store.list_chunks(b.id)
        vectors = {v.chunk_id: v for v in store.vector_rows([c.id for c in chunks])}
        passages = store.passage_rows([c.id for c in chunks])
        for c in chunks:
            v = vectors.get(c.id)
            rows.append(
                (
                    b.name, c.index, c.content, c.byte_start, c.byte_end, c.line_start,
                    c.line_end, c.has_overlap, c.content_hash, c.symbol, c.token_count,
                    None if v is None else (v.blob, v.fingerprint, v.dimensions, v.windows),
                    [
                        (p.ordinal, p.byte_start, p.byte_end, p.line_start, p.line_end, p.blob)
                        for p in passages
                        if p.chunk_id == c.id
                    ],
                )
            )  # fmt: skip
    return rows


def test_copy_into_a_new_store_keeps_every_byte_span_and_vector(src: Store, tmp_path: Path) -> None:
    dst = Store.init(tmp_path / "dst.db")
    dst.set_value("variables", "keep", "me")
    # Give DST ids of its own so the map is not the identity.
    ops.add_buffer(dst, "other.txt", "x y z " * 50, embedder_factory=HashEmbedder)
    before_other = _snapshot(dst)
    result = ops.store_copy(src, dst)
    assert result.chunks == src.stats().chunk_count > 10
    assert len(result.id_map) == result.chunks
    assert all(old != new for old, new in result.id_map.items())
    assert result.vectors == src.vector_count()
    assert result.passages == src.passage_count() > result.vectors
    assert result.vectors_left == {}
    copied = _snapshot(dst)
    assert copied == before_other + _snapshot(src)
    # Chunk text is what the buffer bytes say at the chunk's span.
    for b in dst.list_buffers():
        data = dst.read_buffer_bytes(b.id)
        for c in dst.list_chunks(b.id):
            assert data[c.byte_start : c.byte_end].decode("utf-8") == c.content
    assert dst.get_value("variables", "topic") == {"type": "String", "value": "tides"}
    assert dst.get_value("globals", "owner") == {"type": "String", "value": "ops"}
    assert dst.get_value("variables", "keep") == {"type": "String", "value": "me"}
    payload = result.to_json()
    assert payload["id_map"] == {str(k): v for k, v in result.id_map.items()}
    json.dumps(payload, allow_nan=False)


def test_copied_runs_point_at_the_copied_chunks(src: Store, tmp_path: Path) -> None:
    dst = Store.init(tmp_path / "dst.db")
    ops.add_buffer(dst, "pad", "pad text " * 200, embedder_factory=HashEmbedder)
    result = ops.store_copy(src, dst)
    (run,) = src.list_runs()
    _, params, chunks = src.get_run(run.run_id)
    new_buffer, new_params, new_chunks = dst.get_run(run.run_id)
    assert dst.get_buffer(new_buffer).name == "a.md"
    assert new_params == params
    assert new_chunks == [(b, result.id_map[c]) for b, c in chunks]
    assert result.runs == 1


def test_clashes_are_refused_listing_them_and_dst_is_unchanged(src: Store, tmp_path: Path) -> None:
    dst = Store.init(tmp_path / "dst.db")
    ops.add_buffer(dst, "a.md", "another a", embedder_factory=HashEmbedder)
    dst.set_value("variables", "topic", "not tides")
    dst.set_value("globals", "owner", "ops")  # same value: no clash
    before = (_snapshot(dst), dst.load_context(), dst.list_runs())
    with pytest.raises(NameClashError) as caught:
        ops.store_copy(src, dst)
    assert caught.value.clashes == ["buffer a.md", "variable topic"]
    assert "--rename" in (caught.value.suggestion or "")
    assert (_snapshot(dst), dst.load_context(), dst.list_runs()) == before


def test_skip_keeps_the_destinations_and_copies_the_rest(src: Store, tmp_path: Path) -> None:
    dst = Store.init(tmp_path / "dst.db")
    ops.add_buffer(dst, "a.md", "another a", embedder_factory=HashEmbedder)
    dst.set_value("variables", "topic", "not tides")
    result = ops.store_copy(src, dst, on_clash="skip")
    assert [b.name for b in dst.list_buffers()] == ["a.md", "b.py"]
    assert dst.read_buffer(dst.resolve_buffer("a.md").id) == "another a"
    assert dst.get_value("variables", "topic") == {"type": "String", "value": "not tides"}
    assert result.plan.runs_left == 1  # the run was a.md's, which was skipped
    assert dst.list_runs() == []
    assert any("skipped 2" in w for w in result.warnings)


def test_rename_copies_under_new_names(src: Store, tmp_path: Path) -> None:
    dst = Store.init(tmp_path / "dst.db")
    ops.store_copy(src, dst)
    result = ops.store_copy(src, dst, on_clash="rename")
    assert [b.name for b in dst.list_buffers()] == ["a.md", "b.py", "a.md~1", "b.py~1"]
    assert result.plan.renames["a.md"] == "a.md~1"
    runs = dst.list_runs()
    assert len(runs) == 2 and len({r.run_id for r in runs}) == 2
    renamed_run = result.plan.renames[f"run {src.list_runs()[0].run_id}"]
    assert dst.get_buffer(dst.get_run(renamed_run)[0]).name == "a.md~1"


def test_a_failure_mid_copy_leaves_dst_as_it_was(
    src: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dst = Store.init(tmp_path / "dst.db")
    ops.add_buffer(dst, "mine", "my text " * 100, embedder_factory=HashEmbedder)
    before = (_snapshot(dst), dst.load_context())
    calls = {"n": 0}
    real = dst.store_vectors

    def failing(rows: object) -> int:
        calls["n"] += 1
        if calls["n"] == 2:  # after the first buffer landed
            raise OSError("disk gone")
        return real(rows)  # type: ignore[arg-type]

    monkeypatch.setattr(dst, "store_vectors", failing)
    with pytest.raises(OSError, match="disk gone"):
        ops.store_copy(src, dst)
    assert calls["n"] == 2
    assert (_snapshot(dst), dst.load_context()) == before
    assert dst.stats().buffer_count == 1


def test_vectors_of_another_model_are_left_and_reembed_embeds_them(
    src: Store, tmp_path: Path
) -> None:
    first = src.list_chunks(src.resolve_buffer("b.py").id)[0]
    (row,) = src.vector_rows([first.id])
    with src.transaction():
        src.store_vectors(
            [VectorRow(first.id, row.blob, row.dimensions, "other-model", "other:fp", 1)]
        )
    dst = Store.init(tmp_path / "dst.db")
    result = ops.store_copy(src, dst)
    assert result.vectors_left == {"other-model": 1}
    assert result.vectors == src.vector_count() - 1
    assert any("--reembed" in w and "other-model" in w for w in result.warnings)
    assert dst.vector_rows([result.id_map[first.id]]) == []

    again = Store.init(tmp_path / "again.db")
    redone = ops.store_copy(src, again, reembed=True)
    assert redone.reembedded == 1
    (vector,) = again.vector_rows([redone.id_map[first.id]])
    assert vector.fingerprint == HashEmbedder().fingerprint
    assert vector.blob == row.blob  # the same model embeds the same text the same way


def test_copy_refuses_the_same_store(src: Store) -> None:
    same = Store.open(src.path)
    with pytest.raises(InvalidArgumentError, match="same store"):
        ops.store_copy(src, same)


def test_copy_stores_creates_a_missing_destination_and_removes_it_on_failure(
    src: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "new" / "dst.db"
    target.parent.mkdir()
    dry = copy_stores(src.path, target, dry_run=True)
    assert dry.dry_run and not target.exists() and dry.chunks == 0
    assert dry.plan.chunk_count == src.stats().chunk_count

    import rlm.ops.store_move as module

    def boom(*args: object, **kwargs: object) -> int:
        raise OSError("boom")

    monkeypatch.setattr(module, "_copy_buffer", boom)
    with pytest.raises(OSError):
        copy_stores(src.path, target)
    assert list(target.parent.iterdir()) == []
    monkeypatch.undo()
    monkeypatch.setenv("RLM_EMBEDDER", "hash")
    made = copy_stores(src.path, target)
    assert made.created and made.chunks == src.stats().chunk_count


def test_export_is_one_file_searchable_without_the_source(src: Store, tmp_path: Path) -> None:
    queries = ["keeper tide dawn", "retry upload"]
    expected = {
        (q, mode): [(h["buffer_name"], h["content"]) for h in _hits(src, q, mode)]
        for q in queries
        for mode in ("bm25", "semantic", "hybrid")
    }
    out = tmp_path / "export" / "snap.db"
    out.parent.mkdir()
    result = ops.store_export(src, out)
    assert result.copied.vectors == src.vector_count()
    assert sorted(p.name for p in out.parent.iterdir()) == ["snap.db"]  # no WAL, no temp
    src_path = src.path
    src.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(src_path) + suffix).unlink(missing_ok=True)
    snap = Store.open(out)
    for (q, mode), hits in expected.items():
        assert hits, (q, mode)
        assert [(h["buffer_name"], h["content"]) for h in _hits(snap, q, mode)] == hits


def _hits(store: Store, query: str, mode: str) -> list[dict[str, object]]:
    data = ops.search(store, query, mode=mode, top_k=5).to_json()
    hits: list[dict[str, object]] = []
    for r in data["results"]:
        chunk = store.get_chunk(int(r["chunk_id"]))
        hits.append({"buffer_name": r["buffer_name"], "content": chunk.content})
    return hits


def test_export_refuses_an_existing_file_unless_forced(src: Store, tmp_path: Path) -> None:
    out = tmp_path / "snap.db"
    out.write_bytes(b"precious")
    with pytest.raises(DatabaseError, match="already exists"):
        ops.store_export(src, out)
    assert out.read_bytes() == b"precious"
    result = ops.store_export(src, out, force=True)
    assert result.replaced
    assert Store.open(out).stats().chunk_count == src.stats().chunk_count
    with pytest.raises(InvalidArgumentError, match="being exported"):
        ops.store_export(src, src.path, force=True)
    with pytest.raises(InvalidArgumentError, match="one SQLite file"):
        ops.store_export(src, "postgresql://user@host/db")
