"""The cap on query size: long queries are cut, with a warning, never refused.

Every distinct word of a query is one more FTS5 term list to merge and
score: a 35 KB query of 5,000 words took 53 s on an 84k-chunk store, and a
10 MB one 24 s and 580 MB even on a tiny store. No useful question is that
long, so a query keeps its first :data:`DEFAULT_MAX_QUERY_WORDS` words and
:data:`DEFAULT_MAX_QUERY_CHARS` characters (``--max-query-chars`` raises the
character cap, and the word cap with it, proportionally).
"""

from __future__ import annotations

from rlm import notices
from rlm.defaults import MAX_QUERY_CHARS

DEFAULT_MAX_QUERY_CHARS = MAX_QUERY_CHARS
DEFAULT_MAX_QUERY_WORDS = 256
CHARS_PER_WORD = DEFAULT_MAX_QUERY_CHARS // DEFAULT_MAX_QUERY_WORDS


def cap_query(query: str, max_chars: int = DEFAULT_MAX_QUERY_CHARS) -> tuple[str, str | None]:
    """``query`` within the caps, and a warning when it had to be cut."""
    max_words = max(1, max_chars // CHARS_PER_WORD)
    cut = query[:max_chars]
    words = cut.split()
    if len(words) > max_words:
        # keep the text as written up to the end of the last word kept
        end = 0
        for word in words[:max_words]:
            end = cut.index(word, end) + len(word)
        cut = cut[:end]
    if cut == query:
        return query, None
    return cut, notices.query_cut(len(cut), len(query), len(cut.split()))
