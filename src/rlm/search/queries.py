"""Several queries in one search, typed by prefix: ``lex:``, ``vec:``, ``hyde:``.

An agent knows how the answer it wants will be phrased; these prefixes let it
say so (docs/prompts/search-queries.md):

* ``lex: keywords`` — BM25 only (exact words, names, identifiers);
* ``vec: a rephrasing`` — the vector leg only;
* ``hyde: a sentence the answer might contain`` — a hypothetical answer; it
  feeds :data:`HYDE_LEGS` (both legs: measured on bench/needles.py, a BM25
  run of the hyde sentence found needles the vector run missed);
* no prefix — both legs, as a single ``rlm search QUERY`` always did.

Every leg of every query is fused into one ranking (:mod:`rlm.search.fusion`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rlm.errors import InvalidArgumentError

LEXICAL = "bm25"
SEMANTIC = "semantic"
HYDE_LEGS: tuple[str, ...] = (SEMANTIC, LEXICAL)
KINDS: dict[str, tuple[str, ...]] = {
    "": (SEMANTIC, LEXICAL),
    "lex": (LEXICAL,),
    "vec": (SEMANTIC,),
}
_PREFIX = re.compile(r"^\s*(lex|vec|hyde)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class QuerySpec:
    """One query of a search: its text (prefix removed), kind and the legs it feeds."""

    text: str
    kind: str
    """``""`` (no prefix), ``lex``, ``vec`` or ``hyde``."""

    @property
    def legs(self) -> tuple[str, ...]:
        return HYDE_LEGS if self.kind == "hyde" else KINDS[self.kind]


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
