"""Split a long text into overlapping token windows instead of truncating it.

fastembed (like rlm-rs) silently cuts every text at the model's window, so the
tail of a long chunk never reached the vector. Here a text whose tokens do not
fit is cut into windows of at most ``budget`` tokens that overlap by
``overlap`` tokens; each window is embedded on its own and the vectors are
pooled (token-count-weighted mean, then renormalised).

Cuts fall at the start of a word (per the tokenizer's ``word_ids``), so a
window's text re-tokenizes to the same tokens; the text itself is cut with the
tokenizer's character offsets, so no text is lost or rewritten. Only a single
word longer than a window is cut inside the word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """One window of a text: ``text[start:end]`` holding ``tokens`` tokens."""

    start: int
    end: int
    tokens: int


def _word_starts(word_ids: Sequence[int | None]) -> list[bool]:
    starts = []
    previous: int | None = None
    for index, word in enumerate(word_ids):
        starts.append(index == 0 or word is None or word != previous)
        previous = word
    return starts


def _cut_before(starts: list[bool], lo: int, hi: int) -> int:
    """The last word start in ``(lo, hi]``, else ``hi`` (a cut inside a long word)."""
    for index in range(hi, lo, -1):
        if index >= len(starts) or starts[index]:
            return index
    return hi


def plan_windows(
    offsets: Sequence[tuple[int, int]],
    word_ids: Sequence[int | None],
    text_length: int,
    budget: int,
    overlap: int,
) -> list[Window]:
    """Windows covering a text's tokens (no special tokens in ``offsets``).

    A text that fits, or has no tokens, is one window spanning the whole text.
    """
    if budget <= 0:
        raise ValueError("window budget must be positive")
    count = len(offsets)
    if count <= budget:
        return [Window(0, text_length, count)]
    overlap = max(0, min(overlap, budget // 2))
    starts = _word_starts(word_ids)
    windows: list[Window] = []
    first = 0
    while True:
        last = count if first + budget >= count else _cut_before(starts, first, first + budget)
        begin = 0 if first == 0 else offsets[first][0]
        end = text_length if last == count else offsets[last - 1][1]
        windows.append(Window(begin, end, last - first))
        if last == count:
            return windows
        following = _cut_before(starts, first, max(first + 1, last - overlap))
        first = following if following < last else last
