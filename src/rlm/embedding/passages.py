"""Cut a chunk into passages: sentence-aligned spans of at most N tokens.

One vector per ~3 KB chunk cannot stand for one sentence that has nothing to
do with the rest of the chunk (an invented fact appended to an abstract was
in the semantic top 50 once in 20 tries). So every chunk is also embedded as
passages, and a chunk is ranked by its best passage too (see
:mod:`rlm.search.vector`).

Units, then packing:

* a paragraph (text between blank lines) whose sentences end in ``. ! ?``
  (or CJK full stops) is cut after each sentence; line breaks inside it are
  just wrapping;
* a paragraph without sentence punctuation (code, lists, unpunctuated prose)
  is cut at line breaks;
* consecutive sentences of one paragraph are packed into one passage until it
  holds ``SENTENCE_TARGET_TOKENS`` (32) tokens; the next sentence starts a new
  one. Packing sentences up to the 64-token budget (the first rule) drowned an
  unrelated sentence in its neighbour: on bench/needles.py the fact's own
  passage ranked 40th-220th for 6 of 22 questions whose fact alone would rank
  1st-6th. One passage per sentence found the facts but lost ArguAna, whose
  long queries match several sentences at once;
* consecutive lines of one paragraph (code, lists) are packed into one passage
  while it stays within the token budget; a line that ends in sentence
  punctuation is packed as a sentence (a fact on its own line after an
  unpunctuated abstract line was packed with it);
* a unit longer than the budget is cut first before each likely sentence start
  (:func:`_split_run_ons`), then any piece still over it at word starts into
  near-equal pieces (no overlap: every token is in exactly one passage, so
  nothing is embedded twice and nothing is dropped);
* a change of register ends a passage: a capitalised sentence after text with
  no capital letter at all (a lowercase abstract or tag line, then a fact) is
  not packed with it, and a line without capitals is cut before a capitalised
  sentence run on after it, whatever its length (:func:`_changes_register`).

Spans are character offsets into the chunk text, trimmed of surrounding
whitespace; the caller turns them into byte and line spans.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rlm.embedding.windowing import Window, plan_windows

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

PASSAGE_RULES = 5
"""Version of the rules above; stored with every chunk's passages (``rules`` column).

A store whose passages were planned under an older version is told so by ``rlm status``
and search, and ``rlm chunk embed`` re-plans them (passage vectors only, chunk vectors
are kept). **Bump it with any change to how a chunk is cut into passages** (units,
packing, budgets, cuts); a change that leaves every plan the same needs none. No test
can catch a forgotten bump. Versions (commits on main):

1. 687a7b3: sentences of a paragraph packed up to the 64-token budget;
2. 843e202: a sentence of 12+ tokens is a passage of its own;
3. f4dc48f: sentences packed until a passage holds 32 tokens;
4. 333e7df: a line ending in sentence punctuation is packed as a sentence, and a unit
   over the budget is cut before likely sentence starts first;
5. a change of register (text without capitals, then a capitalised sentence) ends a
   passage.

Passages written before the version was recorded (migration m009) count as 0: older
than every version, never current.
"""

PASSAGE_TOKENS = 64
"""Token budget of one passage (chosen on bench/needles.py; see docs/search.md)."""

SENTENCE_TARGET_TOKENS = 32
"""Sentences of a paragraph are packed into one passage until it holds this many tokens;
the next sentence starts a new passage (chosen on bench/needles.py and ArguAna; see
docs/search.md)."""

MIN_RUN_ON_PIECE = 8
"""Fewest tokens on either side of a cut at a likely sentence start (see _split_run_ons)."""

_STOPS = r".!?"
_CJK_STOPS = r"\u3002\uff01\uff1f"
_CLOSERS = r"\"'\u201d\u2019)\]"
_SENTENCE_END = re.compile(rf"(?:[{_STOPS}]+[{_CLOSERS}]*\s+)|(?:[{_CJK_STOPS}]+\s*)")
_ENDS_SENTENCE = re.compile(rf"[{_STOPS}{_CJK_STOPS}][{_CLOSERS}]*$")
_LIKELY_SENTENCE_START = re.compile(r"(?<=[a-z0-9])\s+(?=[A-Z][a-z])")
_CAPITALISED = re.compile(r"[A-Z][a-z]")
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_LINE = re.compile(r"\n")


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _cuts(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    position = start
    for match in pattern.finditer(text, start, end):
        span = _trimmed(text, position, match.end())
        if span:
            out.append(span)
        position = match.end()
    span = _trimmed(text, position, end)
    if span:
        out.append(span)
    return out


def text_units(text: str) -> list[tuple[int, int, int, bool]]:
    """(start, end, paragraph number, is a sentence) of each sentence, or of each
    line in a paragraph without sentence punctuation, in order. A line that ends in
    sentence punctuation counts as a sentence."""
    units: list[tuple[int, int, int, bool]] = []
    for number, (start, end) in enumerate(_cuts(text, 0, len(text), _PARAGRAPH)):
        sentences = _cuts(text, start, end, _SENTENCE_END)
        if len(sentences) == 1 and "\n" in text[start:end]:
            # Lines; one that ends in sentence punctuation is packed as a sentence.
            units.extend(
                (s, e, number, _ENDS_SENTENCE.search(text, s, e) is not None)
                for s, e in _cuts(text, start, end, _LINE)
            )
        else:
            units.extend((s, e, number, True) for s, e in sentences)
    return units


def plan_passages(
    text: str,
    offsets: Sequence[tuple[int, int]],
    word_ids: Sequence[int | None],
    budget: int = PASSAGE_TOKENS,
    sentence_target: int | None = None,
) -> list[Window]:
    """Passages of ``text`` given its tokens' character ``offsets`` (no special tokens).

    Every token falls in exactly one passage; a text without tokens gives no
    passage. ``Window.tokens`` is the passage's token count.
    """
    if budget <= 0:
        raise ValueError("passage budget must be positive")
    if sentence_target is None:
        sentence_target = SENTENCE_TARGET_TOKENS
    if not offsets:
        return []
    bounds, paragraph, sentence = _split_run_ons(
        text, offsets, *_unit_tokens(text, offsets), budget
    )
    if not bounds:
        return [Window(0, len(text), len(offsets))]
    passages: list[Window] = []
    open_start: int | None = None
    open_end = open_tokens = 0
    open_paragraph = -1
    units = zip(bounds, paragraph, sentence, strict=True)
    for (c_start, c_end, t_start, t_end), number, is_sentence in units:
        tokens = t_end - t_start
        if tokens > budget:
            if open_start is not None:
                passages.append(Window(open_start, open_end, open_tokens))
                open_start = None
            sub_offsets = [(a - c_start, b - c_start) for a, b in offsets[t_start:t_end]]
            even = -(-tokens // -(-tokens // budget))  # near-equal pieces, none over budget
            for w in plan_windows(
                sub_offsets, word_ids[t_start:t_end], c_end - c_start, even, overlap=0
            ):
                span = _trimmed(text, c_start + w.start, c_start + w.end)
                if span:
                    passages.append(Window(span[0], span[1], w.tokens))
            continue
        joins = (
            open_start is not None
            and open_paragraph == number
            and open_tokens + tokens <= budget
            # Sentences are packed only until the passage holds a sentence-sized
            # span (SENTENCE_TARGET_TOKENS): a sentence after that starts a passage of
            # its own instead of being drowned in its neighbours. Lines of code or
            # lists are packed up to the budget. (A join needs the same paragraph; a
            # line that ends in sentence punctuation counts as a sentence here.)
            and (not is_sentence or open_tokens < sentence_target)
            # Nor across a change of register: a capitalised sentence after text
            # without capitals (a lowercase abstract, then a fact) is another text.
            and not (is_sentence and _changes_register(text, open_start, c_start))
        )
        if joins:
            open_end, open_tokens = c_end, open_tokens + tokens
            continue
        if open_start is not None:
            passages.append(Window(open_start, open_end, open_tokens))
        open_start, open_end, open_tokens, open_paragraph = c_start, c_end, tokens, number
    if open_start is not None:
        passages.append(Window(open_start, open_end, open_tokens))
    return passages


def _split_run_ons(
    text: str,
    offsets: Sequence[tuple[int, int]],
    bounds: list[tuple[int, int, int, int]],
    paragraph: list[int],
    sentence: list[bool],
    budget: int,
) -> tuple[list[tuple[int, int, int, int]], list[int], list[bool]]:
    """Units over the budget cut before each likely sentence start first.

    Such a unit (text without sentence punctuation: lowercase abstracts, transcripts,
    a fact run on after a space) has to be cut anyway. Cutting it into near-equal
    pieces split a sentence run on after an unpunctuated abstract across two
    passages (bench/needles.py ``--join space``: 4 of 22 facts in the semantic top 3,
    against 12 when the fact follows a full stop). A capitalised word after a
    lowercase one is where a new sentence most likely starts; the pieces are packed
    as sentences, and one still over the budget is cut into near-equal pieces.

    A unit within the budget is cut only at a change of register: a sentence of a
    line that has no capital letter before a capitalised word (a fact run on after
    a short lowercase abstract fits the budget with it).
    """
    out_b: list[tuple[int, int, int, int]] = []
    out_p: list[int] = []
    out_s: list[bool] = []
    for (c_start, c_end, t_start, t_end), number, is_sentence in zip(
        bounds, paragraph, sentence, strict=True
    ):
        over = t_end - t_start > budget
        if not over and not (is_sentence and _starts_line(text, c_start)):
            out_b.append((c_start, c_end, t_start, t_end))
            out_p.append(number)
            out_s.append(is_sentence)
            continue
        cuts = [t_start]
        cut_at = c_start
        token = t_start
        for match in _LIKELY_SENTENCE_START.finditer(text, c_start, c_end):
            at = match.end()
            # Within the budget only a change of register is cut: text without a capital
            # letter since the last cut, then a capitalised sentence.
            if not over and not _changes_register(text, cut_at, at):
                break
            while token < t_end and offsets[token][0] < at:
                token += 1
            # A name inside a sentence is capitalised too: a cut that would leave a
            # piece of a few tokens (a name and what follows it) is not taken.
            if token - cuts[-1] >= MIN_RUN_ON_PIECE and t_end - token >= MIN_RUN_ON_PIECE:
                cuts.append(token)
                cut_at = at
        cuts.append(t_end)
        for a, b in itertools.pairwise(cuts):
            start = c_start if a == t_start else offsets[a][0]
            end = c_end if b == t_end else offsets[b - 1][1]
            out_b.append((start, end, a, b))
            out_p.append(number)
            out_s.append(True)
    return out_b, out_p, out_s


def _changes_register(text: str, start: int, at: int) -> bool:
    """Whether ``text[start:at]`` has no capital letter and a capitalised word starts at ``at``.

    Cased prose starts its sentences with capitals, so text without any is another
    register (lowercased abstracts such as NPL's, tag lines such as ArguAna's titles);
    a capitalised sentence after it is most likely another text, whose meaning a
    shared passage would blur.
    """
    return _CAPITALISED.match(text, at) is not None and not any(
        ch.isupper() for ch in text[start:at]
    )


def _starts_line(text: str, position: int) -> bool:
    """Whether only spaces or tabs stand between ``position`` and a line start."""
    line_start = text.rfind("\n", 0, position) + 1
    return not text[line_start:position].strip(" \t")


def _unit_tokens(
    text: str, offsets: Sequence[tuple[int, int]]
) -> tuple[list[tuple[int, int, int, int]], list[int], list[bool]]:
    """(char start, char end, token start, token end) of each unit with tokens,
    its paragraph number and whether it is a sentence. Every token belongs to exactly
    one unit."""
    units = text_units(text)
    # Token index range of each unit: tokens are assigned to the unit their start falls in.
    bounds: list[tuple[int, int, int, int]] = []  # (char start, char end, tok start, tok end)
    paragraph: list[int] = []
    sentence: list[bool] = []
    token = 0
    count = len(offsets)
    for u_start, u_end, number, is_sentence in units:
        while token < count and offsets[token][0] < u_start:
            token += 1  # only whitespace-free tokens can precede a unit; none are lost below
        first = token
        while token < count and offsets[token][0] < u_end:
            token += 1
        if token > first:
            bounds.append((u_start, u_end, first, token))
            paragraph.append(number)
            sentence.append(is_sentence)
    if not bounds:
        return bounds, paragraph, sentence
    # Tokens before the first unit or between units (rare: tokenizer quirks) join a neighbour.
    bounds[0] = (min(bounds[0][0], offsets[0][0]), bounds[0][1], 0, bounds[0][3])
    last = bounds[-1]
    bounds[-1] = (last[0], max(last[1], offsets[-1][1]), last[2], count)
    for i in range(1, len(bounds)):
        prev = bounds[i - 1]
        if bounds[i][2] != prev[3]:
            cur = bounds[i]
            bounds[i] = (min(cur[0], offsets[prev[3]][0]), cur[1], prev[3], cur[3])
    return bounds, paragraph, sentence


def word_offsets(text: str) -> tuple[list[tuple[int, int]], list[int | None]]:
    """Whitespace-separated words as stand-in tokens (for embedders without a tokenizer)."""
    offsets = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    return offsets, list(range(len(offsets)))


def pooled(vectors: npt.NDArray[np.float32], spans: Sequence[Window]) -> npt.NDArray[np.float32]:
    """The token-weighted mean of a text's passage vectors, unit length.

    This is the text's (chunk's) own vector at no extra cost. It ranks below the
    chunk embedded whole on ArguAna (semantic nDCG@10 0.4882 vs 0.4932), so a chunk
    that fits one window is blended with that too (:func:`with_whole`); a longer one
    keeps this vector (windowing it again would double a large document's cost).
    """
    import numpy as np

    if len(spans) == 1:
        first: npt.NDArray[np.float32] = vectors[0]
        return first
    weights = np.array([max(w.tokens, 1) for w in spans], dtype=np.float64)
    return _unit((vectors.astype(np.float64) * weights[:, None]).sum(axis=0) / weights.sum())


def with_whole(
    pooled_vector: npt.NDArray[np.float32], whole: npt.NDArray[np.float32] | None
) -> npt.NDArray[np.float32]:
    """A chunk's vector: its pooled passages, blended with the chunk embedded whole
    when it was (``whole``; the sum of the two unit vectors, renormalised).

    A transformer reads a whole text in context; the mean of its pieces is another
    vector. For chunks that fit one model window, embedding them whole as well
    (about 74% of ArguAna's chunks, all of NPL's, none of a 3 KB-chunked document)
    gave ArguAna (1,406 queries) semantic / hybrid nDCG@10 0.4988 / 0.5294 against
    0.4882 / 0.5197 pooled only, and 0.4932 / 0.5242 before passages; NPL moved by
    at most 0.001 (docs/search.md, "Whole chunks").
    """
    import numpy as np

    if whole is None:
        return pooled_vector
    return _unit(pooled_vector.astype(np.float64) + whole.astype(np.float64))


def _unit(vector: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    """``vector`` at unit length (a zero vector stays zero), as float32."""
    import numpy as np

    norm = float(np.linalg.norm(vector))
    out: npt.NDArray[np.float32] = (vector / norm if norm > 0 else vector).astype(np.float32)
    return out
