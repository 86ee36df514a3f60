"""The memory-mapped passage sidecar: same scores, kept in step, rebuilt when damaged."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest

from rlm.embedding.hashing import HashEmbedder
from rlm.search import passage_file
from rlm.search import vector as vector_mod
from rlm.store import Store
from tests.search.conftest import SIDECAR_QUERIES as QUERIES
from tests.search.conftest import SIDECAR_TEXTS as TEXTS
from tests.search.conftest import AddBuffer


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every clock reading a second later than the one before: searches come a second
    after the last embedding (a sidecar is written only then)."""
    clock = itertools.count(int(time.time()))
    monkeypatch.setattr(Store, "now", staticmethod(lambda: next(clock)))


def _results(store: Store) -> list[list[tuple[int, float]]]:
    emb = HashEmbedder()
    index = vector_mod.vector_index(store, emb.fingerprint, emb.dimensions)
    assert index.passages is not None and index.passages.size > 0
    return [index.search(emb.embed_query(q), 10) for q in QUERIES]


def _path(store: Store) -> Path:
    emb = HashEmbedder()
    return passage_file.sidecar_path(Path(store.path).resolve(), emb.fingerprint, emb.dimensions)


def _same(a: list[list[tuple[int, float]]], b: list[list[tuple[int, float]]]) -> None:
    assert [[c for c, _ in r] for r in a] == [[c for c, _ in r] for r in b]
    for ra, rb in zip(a, b, strict=True):
        assert np.allclose([s for _, s in ra], [s for _, s in rb], atol=1e-6, rtol=0)


def _ids_offset(data: bytes) -> int:
    """Where a sidecar's chunk id array starts (from its header's capacity)."""
    import json

    length = int.from_bytes(data[12:16], "little")
    meta = json.loads(data[16 : 16 + length])
    return passage_file._layout(meta["capacity"], meta["dimensions"], meta["kind"]).ids


def _no_sqlite_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("passages decoded from SQLite")

    monkeypatch.setattr(Store, "load_passages", refuse)


def test_sidecar_gives_the_same_results_and_skips_sqlite(
    store: Store, add: AddBuffer, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    add("notes", TEXTS)
    path = _path(store)
    assert not path.exists()
    baseline = _results(store)  # from SQLite; writes the sidecar
    assert path.exists()
    vector_mod.clear_cache()
    with monkeypatch.context() as m:
        _no_sqlite_rows(m)
        mapped = _results(store)
    _same(baseline, mapped)
    index = vector_mod.vector_index(store, HashEmbedder().fingerprint, HashEmbedder().dimensions)
    assert index.passages is not None and not index.passages.matrix.flags.writeable


def test_sidecar_follows_the_store(store: Store, add: AddBuffer, later: None) -> None:
    add("notes", TEXTS[:2])
    _results(store)
    first = _path(store).read_bytes()
    add("more", TEXTS[2:])  # new passages: new signature
    vector_mod.clear_cache()
    rebuilt = _results(store)
    assert _path(store).read_bytes() != first
    vector_mod.clear_cache()
    _path(store).unlink()
    _same(rebuilt, _results(store))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "header", "ids"])
def test_damaged_sidecar_is_ignored_and_rebuilt(
    store: Store, add: AddBuffer, later: None, damage: str
) -> None:
    add("notes", TEXTS)
    baseline = _results(store)
    path = _path(store)
    good = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(good[: len(good) - 100])
    elif damage == "garbage":
        path.write_bytes(b"\xff" * len(good))
    elif damage == "header":
        path.write_bytes(good[:16] + b"{not json" + good[25:])
    else:  # chunk ids out of order (the first id made huge)
        at = _ids_offset(good)
        path.write_bytes(good[:at] + (2**62).to_bytes(8, "little") + good[at + 8 :])
    vector_mod.clear_cache()
    _same(baseline, _results(store))
    assert path.read_bytes() == good


def test_no_sidecar_in_the_second_of_the_newest_passage(store: Store, add: AddBuffer) -> None:
    add("notes", TEXTS)
    emb = HashEmbedder()
    sig = store.passage_signature(emb.fingerprint, emb.dimensions)
    if store.now() > sig[2]:
        pytest.skip("the clock moved on to the next second")
    _results(store)
    assert not _path(store).exists()


def test_read_only_store_writes_no_sidecar(tmp_path: Path, later: None) -> None:
    from tests.search.conftest import add_chunks

    db = tmp_path / "ro.db"
    with Store.init(db) as store:
        add_chunks(store, "notes", TEXTS)
    with Store.open(db, read_only=True) as store:
        results = _results(store)
        assert not _path(store).exists()
        assert not Path(str(db) + ".vec").exists()
    vector_mod.clear_cache()
    with Store.open(db) as store:
        _same(results, _results(store))
        assert _path(store).exists()


def _chunk_path(store: Store) -> Path:
    emb = HashEmbedder()
    return passage_file.sidecar_path(
        Path(store.path).resolve(), emb.fingerprint, emb.dimensions, "chunks"
    )


def test_chunk_sidecar_gives_the_same_results_and_skips_sqlite(
    store: Store, add: AddBuffer, later: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = add("notes", TEXTS[:2]) + add("other", TEXTS[2:])
    emb = HashEmbedder()
    other = store.find_buffer_by_name("other")
    assert other is not None

    def filtered() -> list[tuple[int, float]]:
        index = vector_mod.vector_index(store, emb.fingerprint, emb.dimensions)
        return index.search(emb.embed_query("noise in the horn"), 10, None, [other.id])

    baseline, only_other = _results(store), filtered()
    assert _chunk_path(store).exists()
    vector_mod.clear_cache()
    with monkeypatch.context() as m:
        _no_sqlite_rows(m)
        m.setattr(Store, "load_vectors_with_buffers", lambda *_: pytest.fail("decoded chunks"))
        mapped, mapped_other = _results(store), filtered()
    _same(baseline, mapped)
    _same([only_other], [mapped_other])
    assert {c for c, _ in mapped_other} <= set(ids[2:])
    index = vector_mod.vector_index(store, emb.fingerprint, emb.dimensions)
    assert not index.matrix.flags.writeable


@pytest.mark.parametrize("damage", ["truncate", "passages-file", "stale"])
def test_chunk_sidecar_is_rebuilt_when_damaged_or_stale(
    store: Store, add: AddBuffer, later: None, damage: str
) -> None:
    add("notes", TEXTS[:3])
    _results(store)
    path = _chunk_path(store)
    good = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(good[:-10])
    elif damage == "passages-file":  # a file of the other kind under this name
        path.write_bytes(_path(store).read_bytes())
    else:
        add("more", TEXTS[3:])
    vector_mod.clear_cache()
    results = _results(store)
    vector_mod.clear_cache()
    path.unlink()
    _same(results, _results(store))  # the same as decoded from SQLite
    if damage != "stale":
        assert path.read_bytes() == good
    else:
        assert path.read_bytes() != good


def test_a_format_2_sidecar_is_rebuilt_with_the_int8_copy(
    store: Store, add: AddBuffer, later: None
) -> None:
    """A sidecar written before the int8 copy (magic RLMPSG02) is not mapped: it is
    rebuilt from SQLite once, and gives the same results."""
    add("notes", TEXTS)
    baseline = _results(store)
    path = _path(store)
    data = path.read_bytes()
    assert data[:8] == passage_file.MAGIC == b"RLMPSG03"
    path.write_bytes(b"RLMPSG02" + data[8:])
    vector_mod.clear_cache()
    _same(baseline, _results(store))
    assert path.read_bytes()[:8] == b"RLMPSG03"
    index = vector_mod.vector_index(store, HashEmbedder().fingerprint, HashEmbedder().dimensions)
    assert index.passages is not None and index.passages.matrix8 is not None
