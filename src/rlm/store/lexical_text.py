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
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_RUN_SEPARATOR = " \u2063 "
"""An invisible separator token between CJK runs, so phrases never span two runs."""
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_WORD_REST = re.compile(r"[A-Za-z0-9]*")
_CASE_CLASSES = bytes(
    ord("A") if 65 <= b <= 90 else ord("a") if 97 <= b <= 122 or 48 <= b <= 57 else 32
    for b in range(256)
)
"""UTF-8 bytes -> ``A`` (capital), ``a`` (lower case or digit), space (anything else)."""
_BELOW_CJK = bytes(range(0xE3))
"""Bytes that cannot start the UTF-8 of a CJK character (all start with 0xE3-0xEF)."""


def split_identifier(word: str) -> list[str]:
    """``parseHTTPResponse2`` -> ``['parse', 'HTTP', 'Response', '2']``."""
    return _CAMEL_PART.findall(word)


def is_camel_identifier(word: str) -> bool:
    """``parseConfig``, ``HTTPServer2``: a word the aux index stores as its parts."""
    return _IDENTIFIER.fullmatch(word) is not None


def _camel_words(content: str) -> list[str]:
    """The words ``[A-Za-z][A-Za-z0-9]*`` finds that hold a lower-then-upper pair, in order.

    Found from each pair outwards, not by testing every word: a chunk with one
    ``McWhorter`` otherwise costs a regex search per word (2.3M searches on
    100 MB). A word is a run of ASCII letters and digits without its leading
    digits.
    """
    words: list[str] = []
    end = -1
    for hint in _CAMEL_HINT.finditer(content):
        at = hint.start()
        if at < end:  # another pair of the word just taken
            continue
        start = at
        while start > 0 and content[start - 1] in _WORD_CHARS:
            start -= 1
        while content[start].isdigit():
            start += 1
        match = _WORD_REST.match(content, at)
        end = match.end() if match else at + 1
        word = content[start:end]
        if _CAMEL_HINT.search(word):  # "3Rs": the pair is not inside the word "Rs"
            words.append(word)
    return words


def aux_index_text(content: str) -> str | None:
    """The derived tokens of ``content`` for ``chunks_aux_fts``, or None if none.

    Runs once per chunk at load, so the common case (no CJK, no camelCase) is
    decided on the UTF-8 bytes with ``bytes.translate`` and a substring test,
    a few ns per byte; the regexes run only on chunks that may have either.
    Each regex scan over a whole chunk cost more than that: 10-12 s of the
    100 MB load went here (CJK class on text with curly quotes, lower-then-
    upper search, then a search per word), 2.7-3.2 s now, same output.
    """
    parts: list[str] = []
    raw = content.encode("utf-8", "surrogatepass")
    if not content.isascii() and raw.translate(None, _BELOW_CJK):
        for run in _CJK_RUN.findall(content):
            parts.append(" ".join(run))
    if b"aA" in raw.translate(_CASE_CLASSES):
        parts.extend(" ".join(split_identifier(word)) for word in _camel_words(content))
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
