"""Result previews cut by characters, never inside a character or a combining sequence."""

from __future__ import annotations

import unicodedata

_JOINERS = {"\u200d", "\u200c"}


def _continues(ch: str) -> bool:
    """Whether ``ch`` belongs to the character before it (combining mark, joiner, selector)."""
    if ch in _JOINERS or "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef":
        return True
    return unicodedata.combining(ch) != 0 or unicodedata.category(ch) in ("Mn", "Me")


def preview_text(content: str, limit: int) -> str:
    """``content`` if it has at most ``limit`` characters, else its start and ``...``.

    rlm-rs cut at ``limit`` bytes; here ``limit`` counts characters (code
    points) and the cut moves back so a base character keeps its accents and
    an emoji ZWJ sequence is not split.
    """
    if limit < 0:
        limit = 0
    if len(content) <= limit:
        return content
    cut = limit
    while cut > 0 and (_continues(content[cut]) or content[cut - 1] in _JOINERS):
        cut -= 1
    return content[:cut] + "..."
