"""Fixtures for search tests: a fresh store and a helper that adds chunked buffers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from rlm.embedding.hashing import HashEmbedder
from rlm.embedding.sync import embed_buffer
from rlm.search.vector import clear_cache
from rlm.store import NewBuffer, NewChunk, Store

AddBuffer = Callable[..., list[int]]


@pytest.fixture(autouse=True)
def fresh_vector_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.init(tmp_path / "search.db")
    yield s
    s.close()


def add_chunks(
    store: Store,
    name: str,
    texts: Sequence[str],
    *,
    collection: str | None = None,
    embedder: object | None = None,
    symbols: Sequence[str | None] | None = None,
) -> list[int]:
    """A buffer whose chunks are exactly ``texts`` (joined by blank lines); embedded."""
    chunks: list[NewChunk] = []
    offset, line = 0, 1
    for i, text in enumerate(texts):
        data = text.encode("utf-8")
        nl = data.count(b"\n")
        chunks.append(
            NewChunk(
                index=i,
                byte_start=offset,
                byte_end=offset + len(data),
                content=text,
                strategy="test",
                token_count=None,
                line_start=line,
                line_end=line + nl,
                has_overlap=False,
                content_hash=hashlib.sha256(data).hexdigest()[:16],
                symbol=symbols[i] if symbols else None,
            )
        )
        offset += len(data) + 2
        line += nl + 2
    with store.transaction():
        bid = store.insert_buffer(
            NewBuffer(name=name, source=f"src/{name}", size=offset, collection=collection)
        )
        store.write_buffer_segments(bid, [("\n\n".join(texts)).encode("utf-8")])
        ids = store.insert_chunks(bid, chunks)
        store.set_chunk_count(bid, len(ids))
    embed_buffer(store, bid, embedder or HashEmbedder())  # type: ignore[arg-type]
    return ids


@pytest.fixture
def add(store: Store) -> AddBuffer:
    def _add(name: str, texts: Sequence[str], **kw: object) -> list[int]:
        return add_chunks(store, name, texts, **kw)  # type: ignore[arg-type]

    return _add


# Four small documents and a query for each, shared by the sidecar tests.
SIDECAR_TEXTS = [
    "Cosmic rays were counted in the hut.\nThe counters used argon.\n\nA pigeon nested there.",
    "Magnets and coils, wound by hand.\n\nThe coil heated up under load.",
    "Balloon flights over the sea.\nResults agree with earlier flights.",
    "A waveguide horn picked up noise.\n\nThe noise left with the bird.",
]
SIDECAR_QUERIES = ["pigeon nesting", "coil heated", "balloon over the sea", "noise in the horn"]
