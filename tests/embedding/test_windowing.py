from __future__ import annotations

import itertools

import pytest

from rlm.embedding.windowing import plan_windows


def _words(text: str) -> tuple[list[tuple[int, int]], list[int | None]]:
    """Offsets and word ids of a whitespace tokenizer where 'xxxxx' is 5 subword tokens."""
    offsets: list[tuple[int, int]] = []
    word_ids: list[int | None] = []
    position = 0
    for number, word in enumerate(text.split(" ")):
        pieces = 5 if word == "xxxxx" else 1
        step = len(word) // pieces
        for piece in range(pieces):
            end = position + len(word) if piece == pieces - 1 else position + (piece + 1) * step
            offsets.append((position + piece * step, end))
            word_ids.append(number)
        position += len(word) + 1
    return offsets, word_ids


def test_text_that_fits_is_one_window() -> None:
    offsets, words = _words("a b c")
    [window] = plan_windows(offsets, words, 5, budget=3, overlap=1)
    assert (window.start, window.end, window.tokens) == (0, 5, 3)


def test_empty_token_list_is_one_window() -> None:
    assert len(plan_windows([], [], 4, budget=8, overlap=2)) == 1


def test_long_text_windows_cover_everything_and_overlap() -> None:
    text = " ".join(f"w{i}" for i in range(100))
    offsets, words = _words(text)
    windows = plan_windows(offsets, words, len(text), budget=16, overlap=4)
    assert len(windows) > 1
    assert windows[0].start == 0 and windows[-1].end == len(text)
    for before, after in itertools.pairwise(windows):
        assert after.start < before.end, "consecutive windows must overlap"
        assert after.start > before.start, "windows must advance"
    assert all(w.tokens <= 16 for w in windows)


def test_cuts_fall_on_word_starts() -> None:
    text = " ".join(["xxxxx"] * 20)
    offsets, words = _words(text)
    windows = plan_windows(offsets, words, len(text), budget=12, overlap=3)
    starts = {o[0] for o, w, prev in zip(offsets, words, [None, *words], strict=False) if w != prev}
    assert all(w.start in starts for w in windows[1:])
    assert all(w.tokens % 5 == 0 for w in windows)


def test_a_word_longer_than_the_window_is_cut_inside() -> None:
    offsets, words = _words("xxxxx")
    windows = plan_windows(offsets, words, 5, budget=2, overlap=0)
    assert [w.tokens for w in windows] == [2, 2, 1]
    assert windows[-1].end == 5


def test_budget_must_be_positive() -> None:
    with pytest.raises(ValueError):
        plan_windows([(0, 1)], [0], 1, budget=0, overlap=0)
