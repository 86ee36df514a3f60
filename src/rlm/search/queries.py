"""Several queries in one search, typed by prefix: ``lex:``, ``vec:``, ``hyde:``.

An agent knows how the answer it wants will be phrased; these prefixes let it
say so (docs/prompts/search-queries.md):

* ``lex: keywords`` — BM25 only (exact words, names, identifiers; keywords
  embed poorly);
* ``vec: a rephrasing`` — embedded for the vector leg; its words also join the
  BM25 query (:data:`VEC_LEGS`): a paraphrase's other words are query
  expansion for BM25 (measured on bench/needles.py, typed bm25 top 3 9 of 22
  with them, 7 without);
* ``hyde: a sentence the answer might contain`` — a hypothetical answer; it
  feeds :data:`HYDE_LEGS` (both legs: a BM25 run of the hyde sentence found
  needles the vector run missed);
* no prefix — both legs, as a single ``rlm search QUERY`` always did.

The entries of one search make one leg per kind, not one per entry (see
:mod:`rlm.search.engine`): BM25 of the words of every entry feeding it, and per
chunk the best semantic score over every embedded entry. So a search of four
entries fuses two legs, as a search of one does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rlm.errors import InvalidArgumentError

LEXICAL = "bm25"
SEMANTIC = "semantic"
HYDE_LEGS: tuple[str, ...] = (SEMANTIC, LEXICAL)
VEC_LEGS: tuple[str, ...] = (SEMANTIC, LEXICAL)
KINDS: dict[str, tuple[str, ...]] = {
    "": (SEMANTIC, LEXICAL),
    "lex": (LEXICAL,),
}
_PREFIX = re.compile(r"^\s*(lex|vec|hyde)\s*:\s*", re.IGNORECASE)


_QUESTION = re.compile(r"\s*(what|which|who|whom|whose|where|when|why|how)\b", re.IGNORECASE)


def is_question(text: str) -> bool:
    """Whether ``text`` is phrased as a question: it ends with ``?`` or starts with an
    interrogative word. A question is answered by a statement that seldom repeats its
    words, so its BM25 hits must be backed by the semantic leg (docs/search.md
    "Fusion"); keywords and claims are phrased like the text they seek."""
    return text.rstrip().endswith("?") or bool(_QUESTION.match(text))


@dataclass(frozen=True)
class QuerySpec:
    """One query of a search: its text (prefix removed), kind and the legs it feeds."""

    text: str
    kind: str
    """``""`` (no prefix), ``lex``, ``vec`` or ``hyde``."""

    @property
    def legs(self) -> tuple[str, ...]:
        if self.kind == "hyde":
            return HYDE_LEGS
        return VEC_LEGS if self.kind == "vec" else KINDS[self.kind]


def parse_query(entry: str) -> QuerySpec:
    """``entry`` with its type prefix (if any) split off.

    Raises InvalidArgumentError when nothing is left to search for.
    """
    match = _PREFIX.match(entry or "")
    kind = match.group(1).lower() if match else ""
    text = entry[match.end() :] if match else (entry or "")
    if not text.strip():
        what = f"'{kind}:' query" if kind else "search query"
        raise InvalidArgumentError(
            f"empty {what}", suggestion="Pass the words to search for after the prefix"
            if kind else "Pass the words to search for"
        )  # fmt: skip
    return QuerySpec(text=text, kind=kind)


def parse_queries(entries: Sequence[str]) -> list[QuerySpec]:
    """Every entry parsed; at least one is required."""
    if not entries:
        raise InvalidArgumentError("empty search query", suggestion="Pass the words to search for")
    return [parse_query(e) for e in entries]
