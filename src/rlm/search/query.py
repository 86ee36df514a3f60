"""Safe FTS5 MATCH expressions from arbitrary user text.

rlm-rs's rule, kept: split the query on whitespace and quote each piece as an
FTS5 string (``"`` doubled inside), joined with ``OR``. Inside a string every
FTS5 operator (``AND``, ``NEAR``, ``*``, ``^``, ``-``, parentheses, ``:``) is a
literal, so no user text can be a syntax error or change the query's meaning.

What rlm adds:

* pieces with no letter or digit (``-``, ``*``, ``"``, ``()``) are dropped, and
  NUL / control characters (which end an FTS5 string early) are removed; a
  query with nothing left matches nothing instead of raising;
* a camelCase / PascalCase piece also adds the phrase of its parts, so
  ``parseConfigFile`` finds ``parse_config_file`` and "parse the config file"
  is not needed word for word (the aux index finds the identifier itself).
"""

from __future__ import annotations

from rlm.store.lexical_text import is_camel_identifier, split_identifier


def _clean(piece: str) -> str:
    return "".join(ch for ch in piece if ch >= " " and ch != "\x7f")


def _has_word_char(piece: str) -> bool:
    return any(ch.isalnum() for ch in piece)


def fts_string(text: str) -> str:
    """``text`` as one FTS5 string literal."""
    return '"' + text.replace('"', '""') + '"'


def query_pieces(query: str) -> list[str]:
    """The whitespace-separated pieces of ``query`` that can match something."""
    pieces: list[str] = []
    for raw in query.split():
        piece = _clean(raw)
        if piece and _has_word_char(piece):
            pieces.append(piece)
    return pieces


def porter_match(query: str) -> str | None:
    """The rlm-rs style MATCH expression (``"a" OR "b"``), or None if nothing can match."""
    terms = porter_terms(query)
    return " OR ".join(terms) if terms else None


def porter_terms(query: str) -> list[str]:
    """The FTS5 strings of ``query`` for the porter index, in order, repeats kept.

    A word said twice weighs twice (query term frequency, as BM25 engines do,
    and as the OR of rlm-rs did).
    """
    return [term for piece in query_pieces(query) for term in piece_terms(piece)]


def piece_terms(piece: str) -> list[str]:
    """The porter-index FTS5 strings of one query piece: itself, plus the phrase of
    the parts of each camelCase word in it."""
    terms = [fts_string(piece)]
    for word in _alnum_runs(piece):
        if is_camel_identifier(word):
            parts = split_identifier(word)
            terms.append(fts_string(" ".join(p.lower() for p in parts)))
    return terms


def _alnum_runs(piece: str) -> list[str]:
    runs: list[str] = []
    current: list[str] = []
    for ch in piece:
        if ch.isascii() and ch.isalnum():
            current.append(ch)
        elif current:
            runs.append("".join(current))
            current = []
    if current:
        runs.append("".join(current))
    return runs
