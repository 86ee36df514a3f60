"""``rlm store copy`` SQLite -> PostgreSQL -> SQLite and ``store export`` from PostgreSQL,
against the real test server (issue #11 "done when": every chunk's text byte-identical)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from rlm import ops
from rlm.embedding.hashing import HashEmbedder
from rlm.ingest.loader import LoadOptions
from rlm.ops.store_move import NameClashError, open_store
from rlm.store import Store
from tests.conftest import CliResult

pytestmark = [pytest.mark.pg, pytest.mark.usefixtures("hash_embedder")]

TEXTS = {
    "a.md": "".join(
        f"Section {i}: the keeper logs the tide — naïve café ☕ 東京.\r\n\n" for i in range(80)
    ),
    "b.py": "def main():\n    return retry_upload(429)\n\n" * 60 + "no final newline",
    "c.txt": "x" * 5000 + "\n" + "\t tabs and  spaces \n" * 50,
}


def _fill(store: Store) -> None:
    opts = LoadOptions(chunk_size=300, overlap=30)
    for name, text in TEXTS.items():
        ops.add_buffer(store, name, text, options=opts, embedder_factory=HashEmbedder)
    store.set_value("variables", "topic", "tides")
    ops.dispatch(store, "a.md", batch_size=4)


def _chunks(store: Store) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for b in store.list_buffers():
        out.append((b.name, b.size, b.line_count, b.content_hash, store.read_buffer_bytes(b.id)))
        chunks = store.list_chunks(b.id)
        vectors = {v.chunk_id: v for v in store.vector_rows([c.id for c in chunks])}
        passages = store.passage_rows([c.id for c in chunks])
        for c in chunks:
            v = vectors[c.id]
            out.append(
                (
                    b.name, c.index, c.content.encode("utf-8"), c.byte_start, c.byte_end,
                    c.line_start, c.line_end, c.has_overlap, c.content_hash, c.symbol,
                    v.blob, v.fingerprint,
                    [(p.ordinal, p.byte_start, p.byte_end, p.line_start, p.line_end, p.blob)
                     for p in passages if p.chunk_id == c.id],
                )
            )  # fmt: skip
    return out


def test_sqlite_to_postgres_to_sqlite_keeps_every_chunk_byte_identical(
    pg_url: str, tmp_path: Path
) -> None:
    src = Store.init(tmp_path / "src.db")
    _fill(src)
    pg = open_store(pg_url, create=True)
    there = ops.store_copy(src, pg)
    assert there.chunks == src.stats().chunk_count and there.vectors == src.vector_count()
    back_store = Store.init(tmp_path / "back.db")
    back = ops.store_copy(pg, back_store)
    assert _chunks(back_store) == _chunks(src) == _chunks(pg)
    # every chunk's text is what its span says in the buffer
    for b in pg.list_buffers():
        data = pg.read_buffer_bytes(b.id)
        for c in pg.list_chunks(b.id):
            assert data[c.byte_start : c.byte_end] == c.content.encode("utf-8")
    assert pg.get_value("variables", "topic") == {"type": "String", "value": "tides"}
    ((run_id, *_),) = [(r.run_id,) for r in src.list_runs()]
    _, _, src_run = src.get_run(run_id)
    _, _, back_run = back_store.get_run(run_id)
    composed = {old: back.id_map[new] for old, new in there.id_map.items()}
    assert back_run == [(batch, composed[cid]) for batch, cid in src_run]
    # a second copy into the same database clashes, listed, and changes nothing
    with pytest.raises(NameClashError) as caught:
        ops.store_copy(src, pg)
    assert "buffer a.md" in caught.value.clashes
    assert pg.stats().chunk_count == src.stats().chunk_count
    pg.close()


def test_export_from_postgres_searches_the_same_without_the_server(
    pg_url: str, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    src = Store.init(tmp_path / "src.db")
    _fill(src)
    pg = open_store(pg_url, create=True)
    ops.store_copy(src, pg)
    pg.close()
    want = {
        mode: cli("-d", pg_url, "search", "keeper tide retry", "--mode", mode, "--format", "json")
        for mode in ("bm25", "semantic", "hybrid")
    }
    out = tmp_path / "snap.db"
    res = cli("-d", pg_url, "store", "export", str(out))
    assert res.code == 0, res.err
    for mode, before in want.items():
        assert before.code == 0, before.err
        after = cli(
            "-d", str(out), "search", "keeper tide retry", "--mode", mode, "--format", "json"
        )
        assert after.code == 0, after.err
        got = [(r["buffer_name"], r["index"]) for r in after.json()["results"]]
        expected = [(r["buffer_name"], r["index"]) for r in before.json()["results"]]
        assert got, mode
        if mode == "semantic":  # same vectors, same exact cosine: same order
            assert got == expected
        else:  # PostgreSQL's lexer is not FTS5's: most of the top results agree
            assert len(set(got) & set(expected)) >= 0.6 * len(expected), (mode, got, expected)
    data = json.loads(cli("-d", str(out), "status", "--format", "json").out)
    assert data["chunk_count"] == src.stats().chunk_count


def test_cli_round_trip_sqlite_postgres_sqlite(
    pg_url: str, isolated_env: Path, cli: Callable[..., CliResult]
) -> None:
    """What the issue's check runs: the CLI both ways, every chunk's bytes compared."""
    for name, text in TEXTS.items():
        (isolated_env / name).write_bytes(text.encode("utf-8"))
    assert cli("-d", "a.db", "init").code == 0
    loaded = cli("-d", "a.db", "load", *TEXTS, "--chunk-size", "300", "--overlap", "30")
    assert loaded.code == 0, loaded.err
    there = cli("store", "copy", "a.db", pg_url, "--format", "json")
    assert there.code == 0, there.err
    assert there.json()["destination"].startswith("postgresql://")
    copied = cli("store", "copy", pg_url, "b.db")
    assert copied.code == 0, copied.err
    assert "Copied 3 buffer(s)" in copied.out and "(created)" in copied.out
    back = cli("store", "copy", pg_url, "c.db", "--format", "json").json()
    first = {int(k): v for k, v in there.json()["id_map"].items()}
    second = {int(k): v for k, v in back["id_map"].items()}
    assert len(first) == len(second) > 30
    for old, mid in first.items():
        a = cli("-d", "a.db", "chunk", "get", str(old))
        c = cli("-d", "c.db", "chunk", "get", str(second[mid]))
        assert a.code == c.code == 0
        assert a.out.encode("utf-8") == c.out.encode("utf-8")
    spans = [
        [
            {k: v for k, v in c.items() if k != "id"}
            for c in cli("-d", db, "chunk", "list", name, "--format", "json").json()["chunks"]
        ]
        for db in ("a.db", "c.db")
        for name in TEXTS
    ]
    assert spans[:3] == spans[3:] and all(spans)


def test_vectors_of_another_model_are_reembedded_into_postgres(pg_url: str, tmp_path: Path) -> None:
    from rlm.store import VectorRow

    src = Store.init(tmp_path / "src.db")
    _fill(src)
    first = src.list_chunks(src.resolve_buffer("b.py").id)[0]
    (row,) = src.vector_rows([first.id])
    with src.transaction():
        src.store_vectors(
            [VectorRow(first.id, row.blob, row.dimensions, "other-model", "other:fp", 1)]
        )
    pg = open_store(pg_url, create=True)
    result = ops.store_copy(src, pg, reembed=True)
    assert result.vectors_left == {"other-model": 1}
    assert result.reembedded == 1
    (vector,) = pg.vector_rows([result.id_map[first.id]])
    assert vector.fingerprint == HashEmbedder().fingerprint
    assert vector.blob == row.blob
    assert pg.vector_count() == src.vector_count()
    hits = ops.search(pg, "retry upload", mode="semantic", top_k=3).to_json()["results"]
    assert hits and all(h["semantic_score"] is not None for h in hits)
    pg.close()
