"""update_text: one transaction, stable chunk ids, tombstones, incremental embedding."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from rlm.chunking import chunk_spans
from rlm.chunking.base import ChunkConfig
from rlm.embedding.hashing import HashEmbedder
from rlm.errors import ChunkSupersededError, InvalidChunkConfigError, OverlapTooLargeError
from rlm.ingest.loader import LoadOptions, load_text
from rlm.ingest.update import common_prefix, common_suffix, update_text
from rlm.io import from_text
from rlm.store import Store

WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
    "river",
    "stone",
    "cloud",
    "ember",
    "lantern",
    "quiet",
    "harbour",
]


def paragraph(rng: random.Random, n: int) -> str:
    sentences = []
    for _ in range(rng.randint(3, 7)):
        words = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
        sentences.append(" ".join(words).capitalize() + ".")
    return f"Paragraph {n}. " + " ".join(sentences)


def document(size: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    paras: list[str] = []
    total = 0
    while total < size:
        paras.append(paragraph(rng, len(paras)))
        total += len(paras[-1]) + 2
    return paras


def join(paras: list[str]) -> str:
    return "\n\n".join(paras) + "\n"


class CountingFactory:
    """An embedder factory that records whether the model was ever asked for."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> HashEmbedder:
        self.calls += 1
        return HashEmbedder()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.init(tmp_path / "db.sqlite")


def spans(store: Store, buffer_id: int) -> list[tuple[int, int, int]]:
    return [(c.id, c.byte_start, c.byte_end) for c in store.list_chunks(buffer_id)]


def load(store: Store, text: str, **opts: object) -> int:
    options = LoadOptions(**opts)  # type: ignore[arg-type]
    result = load_text(
        store, from_text(text), name="doc", options=options, embedder_factory=HashEmbedder
    )
    return result.buffer_id


def test_common_prefix_and_suffix_find_the_edit() -> None:
    a = b"x" * 200_000 + b"OLD" + b"y" * 70_000
    b = b"x" * 200_000 + b"NEWER" + b"y" * 70_000
    p = common_prefix(a, b)
    assert p == 200_000
    assert common_suffix(a, b, min(len(a), len(b)) - p) == 70_000
    assert common_prefix(b"abc", b"abc") == 3
    assert common_suffix(b"abc", b"zbc", 3) == 2


def test_middle_edit_keeps_every_other_chunk_id(store: Store) -> None:
    paras = document(200_000)
    text = join(paras)
    bid = load(store, text)
    before = store.list_chunks(bid)
    assert len(before) > 50
    middle = len(paras) // 2
    paras[middle] = paras[middle].replace("Paragraph", "Edited paragraph", 1) + " Extra words."
    new_text = join(paras)
    factory = CountingFactory()
    result = update_text(store, bid, from_text(new_text), LoadOptions(), factory)
    after = store.list_chunks(bid)

    assert result.mode == "region"
    # The stored chunks are exactly what a fresh load of the new text gives.
    fresh = [
        (s.start, s.end) for s in chunk_spans(new_text.encode(), ChunkConfig(3000, 500), "semantic")
    ]
    assert [(c.byte_start, c.byte_end) for c in after] == fresh
    # Every chunk whose text did not change kept its id; the edited one did not.
    old_by_hash = {c.content_hash: c.id for c in before}
    for c in after:
        if c.content_hash in old_by_hash:
            assert c.id == old_by_hash[c.content_hash]
    edited = [c for c in after if "Edited paragraph" in c.content]
    assert edited and all(c.id not in {o.id for o in before} for c in edited)
    assert result.added <= 3 and result.removed <= 3
    assert result.kept == len(after) - result.added
    assert result.kept >= len(before) - 3
    # Indices, spans and text agree with the stored buffer.
    data = store.read_buffer_bytes(bid)
    assert data == new_text.encode()
    for i, c in enumerate(after):
        assert c.index == i
        assert data[c.byte_start : c.byte_end].decode() == c.content
        assert c.line_start == data[: c.byte_start].count(b"\n") + 1
    buffer = store.get_buffer(bid)
    assert buffer.size == len(new_text.encode())
    assert buffer.chunk_count == len(after)
    assert buffer.content_hash == from_text(new_text).sha256
    assert buffer.line_count == new_text.count("\n")
    # Only the added chunks were embedded; every chunk has a vector.
    assert result.embedded_count == result.added
    assert store.embedding_status_for(bid) == len(after)
    assert factory.calls == 1


def test_replaced_chunk_id_names_its_replacement(store: Store) -> None:
    paras = document(60_000, seed=3)
    bid = load(store, join(paras))
    target = len(paras) // 2
    needle = paras[target][:60]
    old_chunk = next(c for c in store.list_chunks(bid) if needle in c.content)
    paras[target] = "Rewritten. " + paras[target]
    result = update_text(store, bid, from_text(join(paras)), LoadOptions(), None)
    assert old_chunk.id in result.superseded
    replacements = result.superseded[old_chunk.id]
    assert replacements
    with pytest.raises(ChunkSupersededError) as info:
        store.get_chunk(old_chunk.id)
    assert info.value.replacements == replacements
    assert str(replacements[0]) in info.value.message
    assert any("Rewritten." in store.get_chunk(i).content for i in replacements)


def test_unchanged_text_keeps_everything_and_embeds_nothing(store: Store) -> None:
    text = join(document(30_000, seed=5))
    bid = load(store, text)
    before = spans(store, bid)
    factory = CountingFactory()
    result = update_text(store, bid, from_text(text), LoadOptions(), factory)
    assert result.mode == "unchanged"
    assert (result.kept, result.added, result.removed, result.moved) == (len(before), 0, 0, 0)
    assert result.embedded_count == 0
    assert factory.calls == 0  # the model is not even loaded
    assert spans(store, bid) == before


def test_insertion_near_start_shifts_but_keeps_later_chunks(store: Store) -> None:
    paras = document(80_000, seed=11)
    bid = load(store, join(paras))
    before = store.list_chunks(bid)
    paras.insert(1, "A brand new second paragraph that was not there before.")
    result = update_text(store, bid, from_text(join(paras)), LoadOptions(), None)
    after = store.list_chunks(bid)
    assert result.moved > 10  # shifted chunks moved, not re-created
    tail_ids = [c.id for c in before[-10:]]
    assert [c.id for c in after[-10:]] == tail_ids
    delta = len("A brand new second paragraph that was not there before.\n\n")
    assert after[-1].byte_start == before[-1].byte_start + delta
    assert after[-1].line_start == (before[-1].line_start or 0) + 2


def test_other_strategy_falls_back_to_hash_matching(store: Store) -> None:
    paras = document(40_000, seed=2)
    bid = load(store, join(paras), chunk_size=1000, overlap=0)
    before = {c.content_hash: c.id for c in store.list_chunks(bid)}
    paras[3] = "Changed. " + paras[3]
    result = update_text(
        store, bid, from_text(join(paras)), LoadOptions(chunk_size=1000, overlap=100), None
    )
    assert result.mode == "full"
    after = store.list_chunks(bid)
    assert all(c.content_hash not in before or before[c.content_hash] == c.id for c in after)
    buffer = store.get_buffer(bid)
    assert (buffer.chunk_size, buffer.chunk_overlap) == (1000, 100)


def test_code_strategy_full_mode_keeps_unchanged_functions(store: Store) -> None:
    funcs = [f"def f{i}(x):\n    return x + {i}\n" for i in range(40)]
    bid = load(store, "\n".join(funcs), chunker="code", chunk_size=200, overlap=0, language="py")
    before = {c.content_hash: c.id for c in store.list_chunks(bid)}
    funcs[20] = "def f20(x):\n    return x * 20\n"
    result = update_text(
        store,
        bid,
        from_text("\n".join(funcs)),
        LoadOptions(chunker="code", chunk_size=200, overlap=0, language="py"),
        None,
    )
    assert result.mode == "full"
    assert result.kept >= len(before) - 2
    assert result.added >= 1


def test_failed_update_changes_nothing(store: Store) -> None:
    text = join(document(20_000, seed=9))
    bid = load(store, text)
    before = spans(store, bid)
    with pytest.raises((InvalidChunkConfigError, OverlapTooLargeError)):
        update_text(
            store, bid, from_text("new text " * 100), LoadOptions(chunk_size=10, overlap=10), None
        )
    assert spans(store, bid) == before
    assert store.read_buffer_bytes(bid) == text.encode()


def test_update_to_empty_and_back(store: Store) -> None:
    text = join(document(10_000, seed=4))
    bid = load(store, text)
    old_ids = [c.id for c in store.list_chunks(bid)]
    result = update_text(store, bid, from_text(""), LoadOptions(), None)
    assert (result.new_chunk_count, result.removed) == (0, len(old_ids))
    assert store.get_buffer(bid).size == 0
    with pytest.raises(ChunkSupersededError):
        store.get_chunk(old_ids[0])
    again = update_text(store, bid, from_text(text), LoadOptions(), None)
    assert again.added == again.new_chunk_count > 0


@pytest.mark.parametrize("seed", range(12))
def test_random_edits_match_a_fresh_load(store: Store, seed: int) -> None:
    """Property: after any edit the chunks equal a fresh semantic chunking, kept ids
    keep their exact text, and replaced ids are tombstoned."""
    rng = random.Random(seed)
    text = join(document(12_000, seed=seed)).replace("river", "rivière ✓")
    bid = load(store, text, chunk_size=400, overlap=80)
    for _ in range(3):
        before = {c.id: c.content for c in store.list_chunks(bid)}
        data = text.encode()
        a = rng.randrange(len(data))
        b = min(len(data), a + rng.choice([0, 1, 50, 900]))
        while a < len(data) and (data[a] & 0xC0) == 0x80:
            a += 1
        while b < len(data) and (data[b] & 0xC0) == 0x80:
            b += 1
        insert = rng.choice(["", "x", "\n\nNew paragraph here. ", "é" * 30])
        text = (data[:a] + insert.encode() + data[b:]).decode()
        result = update_text(
            store, bid, from_text(text), LoadOptions(chunk_size=400, overlap=80), None
        )
        after = store.list_chunks(bid)
        fresh = [
            (s.start, s.end, s.has_overlap)
            for s in chunk_spans(text.encode(), ChunkConfig(400, 80))
        ]
        assert [(c.byte_start, c.byte_end, c.has_overlap) for c in after] == fresh
        for c in after:
            assert text.encode()[c.byte_start : c.byte_end].decode() == c.content
            if c.id in before:
                assert before[c.id] == c.content
        gone = set(before) - {c.id for c in after}
        assert gone == set(result.superseded)
        for old_id in gone:
            with pytest.raises(ChunkSupersededError):
                store.get_chunk(old_id)
