"""How text is rewritten for the second lexical index, and queries to match it.

The porter/unicode61 index (``chunks_fts``) cannot find two things agents
search for constantly:

* CJK text: unicode61 makes one token of a whole run of ideographs, so a
  word inside a sentence is never a whole token. We index each CJK character
  as its own token and search a CJK word as the phrase of its characters.
* camelCase / PascalCase identifiers: ``parseConfigFile`` is one token, so
  ``config`` never matches it. We index the parts. (snake_case is already
  split by unicode61, which treats ``_`` as a separator.)

Only the derived tokens are stored, so prose without either adds nothing.
Index side and query side live together here so they cannot drift apart.
"""

from __future__ import annotations

import re

_CJK_RANGES = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uac00-\ud7af"  # hangul syllables
    "\uf900-\ufaff"  # compatibility ideographs
)
_CJK_RUN = re.compile(f"[{_CJK_RANGES}]+")
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*[a-z0-9][A-Z][A-Za-z0-9]*")
# Written capital-first: the regex engine then only tries a match at capital
# letters (rare in prose) instead of at every lower-case letter: 4x faster.
_CAMEL_HINT = re.compile(r"[A-Z](?<=[a-z0-9][A-Z])")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_RUN_SEPARATOR = " \u2063 "
"""An invisible separator token between CJK runs, so phrases never span two runs."""


def split_identifier(word: str) -> list[str]:
    """``parseHTTPResponse2`` -> ``['parse', 'HTTP', 'Response', '2']``."""
    return _CAMEL_PART.findall(word)


def is_camel_identifier(word: str) -> bool:
    """``parseConfig``, ``HTTPServer2``: a word the aux index stores as its parts."""
    return _IDENTIFIER.fullmatch(word) is not None


def aux_index_text(content: str) -> str | None:
    """The derived tokens of ``content`` for ``chunks_aux_fts``, or None if none."""
    parts: list[str] = []
    if not content.isascii():  # str.isascii is O(1) for ASCII-only strings
        for run in _CJK_RUN.findall(content):
            parts.append(" ".join(run))
    # Cheap scans first (islower: no capital letter at all). Prose rarely has a
    # lower-then-upper pair, and a full identifier pattern backtracks on every
    # word (it was 40% of load time).
    if not content.islower() and _CAMEL_HINT.search(content):
        for word in _WORD.findall(content):
            if _CAMEL_HINT.search(word):
                parts.append(" ".join(split_identifier(word)))
    if not parts:
        return None
    return _RUN_SEPARATOR.join(parts)


def has_cjk(text: str) -> bool:
    return _CJK_RUN.search(text) is not None


def aux_query_terms(query: str) -> list[str]:
    """Terms to look up in the aux index, each already an FTS5 string (quoted).

    A CJK run becomes the phrase of its characters; a camelCase word becomes
    the phrase of its parts; any other word is looked up as itself (it may be
    a part of an identifier).
    """
    terms: list[str] = []
    for word in query.split():
        pieces = _CJK_RUN.findall(word)
        for run in pieces:
            terms.append(" ".join(run))
        rest = _CJK_RUN.sub(" ", word)
        for token in re.findall(r"[A-Za-z0-9]+", rest):
            parts = split_identifier(token)
            terms.append(" ".join(parts) if len(parts) > 1 else token)
    seen: set[str] = set()
    quoted: list[str] = []
    for term in terms:
        if term and term.lower() not in seen:
            seen.add(term.lower())
            quoted.append('"' + term.replace('"', '""') + '"')
    return quoted
