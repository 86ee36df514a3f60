"""Sidecars follow an append in place and rebuild on any other change."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest

from rlm.embedding.hashing import HashEmbedder
from rlm.search import passage_file
from rlm.search import vector as vector_mod
from rlm.store import Store
from tests.search.conftest import SIDECAR_QUERIES as QUERIES
from tests.search.conftest import SIDECAR_TEXTS as TEXTS
from tests.search.conftest import AddBuffer

EMB = HashEmbedder()


@pytest.fixture(autouse=True)
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each clock reading a second after the last (sidecars are written only then)."""
    clock = itertools.count(int(time.time()))
    monkeypatch.setattr(Store, "now", staticmethod(lambda: next(clock)))


def _results(store: Store) -> list[list[tuple[int, float]]]:
    index = vector_mod.vector_index(store, EMB.fingerprint, EMB.dimensions)
    return [index.search(EMB.embed_query(q), 10) for q in QUERIES]


def _paths(store: Store) -> list[Path]:
    base = Path(store.path).resolve()
    return [
        passage_file.sidecar_path(base, EMB.fingerprint, EMB.dimensions, kind)
        for kind in ("passages", "chunks")
    ]


def _meta(path: Path) -> dict[str, object]:
    data = path.read_bytes()
    length = int.from_bytes(data[12:16], "little")
    meta: dict[str, object] = json.loads(data[16 : 16 + length])
    return meta


def _fresh(store: Store) -> list[list[tuple[int, float]]]:
    """The results with the sidecars rebuilt from SQLite."""
    vector_mod.clear_cache()
    for path in _paths(store):
        path.unlink()
    return _results(store)


def _same(a: list[list[tuple[int, float]]], b: list[list[tuple[int, float]]]) -> None:
    assert [[c for c, _ in r] for r in a] == [[c for c, _ in r] for r in b]
    for ra, rb in zip(a, b, strict=True):
        assert [s for _, s in ra] == pytest.approx([s for _, s in rb], abs=1e-6)


def test_a_load_appends_in_place_without_decoding_old_rows(
    store: Store, add: AddBuffer, monkeypatch: pytest.MonkeyPatch
) -> None:
    add("notes", TEXTS[:2])
    _results(store)
    inodes = [p.stat().st_ino for p in _paths(store)]
    rows = [_meta(p)["rows"] for p in _paths(store)]
    add("more", TEXTS[2:])
    vector_mod.clear_cache()
    with monkeypatch.context() as m:  # only the new rows may come from SQLite
        m.setattr(Store, "load_passages", lambda *_: pytest.fail("decoded every passage"))
        m.setattr(Store, "load_vectors_with_buffers", lambda *_: pytest.fail("decoded all"))
        appended = _results(store)
    assert [p.stat().st_ino for p in _paths(store)] == inodes  # the same files
    assert all(_meta(p)["rows"] > r for p, r in zip(_paths(store), rows, strict=True))  # type: ignore[operator]
    _same(appended, _fresh(store))


def test_a_delete_rebuilds(store: Store, add: AddBuffer) -> None:
    add("notes", TEXTS[:2])
    add("more", TEXTS[2:])
    _results(store)
    inodes = [p.stat().st_ino for p in _paths(store)]
    buffer = store.find_buffer_by_name("notes")
    assert buffer is not None
    with store.transaction():
        store.delete_buffer(buffer.id)
    vector_mod.clear_cache()
    after = _results(store)
    assert all(_meta(p)["rows"] for p in _paths(store))
    assert [p.stat().st_ino for p in _paths(store)] != inodes  # rewritten, renamed
    _same(after, _fresh(store))


def test_a_full_file_is_rewritten_with_more_room(
    store: Store, add: AddBuffer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(passage_file, "MIN_SPARE", 0)
    monkeypatch.setattr(passage_file, "SPARE", 0.0)
    add("notes", TEXTS[:2])
    _results(store)
    add("more", TEXTS[2:])
    vector_mod.clear_cache()
    grown = _results(store)
    meta = _meta(_paths(store)[0])
    assert meta["rows"] == meta["capacity"]
    _same(grown, _fresh(store))


def test_a_torn_append_is_invisible_and_a_torn_header_rebuilds(
    store: Store, add: AddBuffer
) -> None:
    add("notes", TEXTS)
    baseline = _results(store)
    path = _paths(store)[0]
    meta = _meta(path)
    lay = passage_file._layout(int(meta["capacity"]), EMB.dimensions, str(meta["kind"]))  # type: ignore[call-overload]
    with open(path, "r+b") as f:  # rows written past the valid ones, header not yet
        f.seek(lay.ids + 8 * int(meta["rows"]))  # type: ignore[call-overload]
        f.write(b"\x07" * 64)
    vector_mod.clear_cache()
    _same(baseline, _results(store))
    assert _meta(path)["rows"] == meta["rows"]
    good = path.read_bytes()
    path.write_bytes(good[:20] + b"X" + good[21:])  # inside the JSON: the CRC fails
    vector_mod.clear_cache()
    _same(baseline, _results(store))
    assert path.read_bytes()[:200] == good[:200]  # rebuilt to the same header


def test_rows_added_to_old_chunks_rebuild(store: Store, add: AddBuffer) -> None:
    """New passages of an existing chunk do not sort after the file's rows: rebuild."""
    ids = add("notes", TEXTS)
    _results(store)
    before = _meta(_paths(store)[0])
    rows = store.passage_rows([ids[0]])
    with store.transaction():
        store.store_passages([ids[0]], rows)  # same chunk, re-stored: new ids, old chunk
    vector_mod.clear_cache()
    after = _results(store)
    assert _meta(_paths(store)[0])["signature"] != before["signature"]
    _same(after, _fresh(store))
