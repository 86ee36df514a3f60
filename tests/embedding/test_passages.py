"""Passages: sentence-aligned spans of at most N tokens, every token in exactly one."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rlm.embedding.hashing import HashEmbedder
from rlm.embedding.passages import plan_passages, pooled, text_units, with_whole, word_offsets
from rlm.embedding.windowing import Window


def _texts(text: str, budget: int) -> list[str]:
    offsets, word_ids = word_offsets(text)
    return [text[w.start : w.end] for w in plan_passages(text, offsets, word_ids, budget)]


def test_prose_is_cut_after_sentences_and_code_at_lines() -> None:
    text = "First point here. Second point!\n\ndef f():\n    return 1\n"
    units = [text[s:e] for s, e, _, _ in text_units(text)]
    assert units == ["First point here.", "Second point!", "def f():", "return 1"]


def test_wrapped_prose_keeps_its_sentences_whole() -> None:
    text = "a sentence that is\nwrapped over lines. Another one."
    units = [text[s:e] for s, e, _, _ in text_units(text)]
    assert units == ["a sentence that is\nwrapped over lines.", "Another one."]


def test_short_sentences_of_one_paragraph_are_packed_up_to_the_budget() -> None:
    text = "One two. Three four. Five six seven eight nine.\n\nTen."
    assert _texts(text, 4) == ["One two. Three four.", "Five six seven", "eight nine.", "Ten."]


def _plan(text: str, budget: int, target: int) -> list[str]:
    offsets, word_ids = word_offsets(text)
    plan = plan_passages(text, offsets, word_ids, budget, target)
    return [text[w.start : w.end] for w in plan]


def test_sentences_are_packed_only_up_to_the_target() -> None:
    # An unrelated fact after a sentence-sized span starts its own passage.
    abstract = "dielectric constant of liquids measured at microwave frequencies"
    fact = "The tape was eaten by a goat near Aberfeldy."
    assert _plan(f"{abstract}. {fact}", 64, 8) == [f"{abstract}.", fact]
    # Short sentences are packed until the passage reaches the target ...
    text = "One two. Three four. Five six seven eight. Nine ten."
    assert _plan(text, 64, 4) == ["One two. Three four.", "Five six seven eight.", "Nine ten."]
    # ... and with the target at the budget it is the plain packing rule.
    cased = "Dielectric constant of liquids measured at microwave frequencies"
    assert _plan(f"{cased}. {fact}", 64, 64) == [f"{cased}. {fact}"]


def test_lines_without_sentence_punctuation_are_packed_up_to_the_budget() -> None:
    code = "def f(x):\n    y = x + 1\n    return y\n"
    assert _plan(code, 64, 2) == ["def f(x):\n    y = x + 1\n    return y"]


def test_a_line_ending_in_sentence_punctuation_is_packed_as_a_sentence() -> None:
    # A fact on its own line after an unpunctuated abstract line is not packed with it.
    abstract = "dielectric constant of liquids measured at microwave frequencies"
    fact = "The tape was eaten by a goat near Aberfeldy."
    text = f"{abstract}\n{fact}"
    assert [is_sentence for *_, is_sentence in text_units(text)] == [False, True]
    assert _plan(text, 64, 8) == [abstract, fact]
    # Lines without it (code, lists) are still packed up to the budget.
    assert _plan(f"{abstract}\nthe tape was eaten by a goat", 64, 8) == [
        f"{abstract}\nthe tape was eaten by a goat"
    ]


def test_a_run_on_over_the_budget_is_cut_before_a_likely_sentence_start() -> None:
    abstract = "dielectric constant of liquids measured at microwave frequencies today"
    fact = "The tape of the simulation was eaten by a goat near Aberfeldy in Perthshire."
    # 10 + 13 words over a budget of 16: cut before "The", not into two near-equal
    # halves (12 + 11 words) that split the fact; "Aberfeldy" and "Perthshire" are capitalised too,
    # but a cut there would leave a piece of fewer than MIN_RUN_ON_PIECE words.
    assert _plan(f"{abstract} {fact}", 16, 8) == [abstract, fact]
    # Without a likely sentence start the unit is cut into near-equal pieces.
    lower = f"{abstract} {fact.lower()}"
    assert [len(p.split()) for p in _plan(lower, 16, 8)] == [12, 11]
    # Under the budget a run-on in one register is one unit: capitals come before the cut.
    cased = "Dielectric constant of liquids measured at Microwave frequencies today"
    assert _plan(f"{cased} {fact}", 64, 8) == [f"{cased} {fact}"]


def test_text_without_capitals_is_not_packed_with_a_capitalised_sentence() -> None:
    # A short lowercase abstract, then a fact (bench/needles.py): the fact fits the
    # budget and the sentence target with its host, yet is another text.
    abstract = "dielectric constant of liquids measured at microwave frequencies today"
    fact = "The tape of the simulation was eaten by a goat near Aberfeldy in Perthshire."
    assert _plan(f"{abstract}. {fact}", 64, 64) == [f"{abstract}.", fact]
    # Run on after a space, the unit is cut there first.
    assert _plan(f"{abstract} {fact}", 64, 64) == [abstract, fact]
    assert _plan(f"Intro line.\n{abstract} {fact}", 64, 2) == ["Intro line.", abstract, fact]
    # Not inside a line that began elsewhere: after "etc." a sentence goes on in lowercase.
    inside = f"Costs, fees etc. {abstract} {fact}"
    assert _plan(inside, 64, 64) == [inside]
    # Nor a piece shorter than MIN_RUN_ON_PIECE words on either side.
    assert _plan(f"a short host {fact}", 64, 2) == [f"a short host {fact}"]


def test_a_long_sentence_is_cut_into_near_equal_pieces() -> None:
    text = " ".join(f"w{i}" for i in range(10))
    pieces = _texts(text, 8)
    assert [len(p.split()) for p in pieces] == [5, 5]


def test_no_text_no_passage() -> None:
    assert plan_passages("   ", [], [], 8) == []


@given(
    st.lists(
        st.sampled_from(["alpha", "beta.", "gamma!", "\n", "\n\n", "delta?", "x" * 30, "é"]),
        max_size=60,
    ),
    st.integers(min_value=1, max_value=12),
)
def test_every_word_lands_in_exactly_one_passage_within_budget(
    words: list[str], budget: int
) -> None:
    text = " ".join(words)
    offsets, word_ids = word_offsets(text)
    plan = plan_passages(text, offsets, word_ids, budget)
    assert sum(w.tokens for w in plan) == len(offsets)
    assert all(0 < w.tokens <= budget for w in plan)
    assert all(a.end <= b.start for a, b in itertools.pairwise(plan))
    # Nothing is lost: the passages hold every word, in order.
    assert " ".join(text[w.start : w.end] for w in plan).split() == text.split()


def test_pooled_vector_is_the_token_weighted_mean_renormalised() -> None:
    rows = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    out = pooled(rows, [Window(0, 1, 3), Window(2, 3, 1)])
    expected = np.array([3.0, 1.0]) / np.linalg.norm([3.0, 1.0])
    assert np.allclose(out, expected)
    assert pooled(rows[:1], [Window(0, 1, 1)]) is not None


def test_whole_vector_is_blended_as_the_renormalised_sum() -> None:
    part = np.array([1.0, 0.0], dtype=np.float32)
    assert with_whole(part, None) is part
    out = with_whole(part, np.array([0.0, 1.0], dtype=np.float32))
    assert np.allclose(out, np.array([1.0, 1.0]) / np.sqrt(2.0)) and out.dtype == np.float32


def test_hash_embedder_embeds_each_passage_and_pools_them() -> None:
    emb = HashEmbedder()
    text = "The lighthouse keeper read the gauge. " * 6 + "\n\nA goat ate the tape."
    batch = emb.embed_passages([text], 16)
    spans = batch.spans[0]
    assert len(spans) >= 3 and batch.windows == [len(spans)]
    last = text[spans[-1].start : spans[-1].end]
    assert last == "A goat ate the tape."
    assert np.allclose(batch.passage_vectors[0][-1], emb.embed_query(last))
    assert np.allclose(batch.vectors[0], pooled(batch.passage_vectors[0], spans))
