"""Plain-text tables that never cut a name a script or an agent will reuse.

Piped (stdout not a terminal), every cell is printed whole: the name in
``rlm list`` is the handle for ``show``, ``grep`` and ``dispatch``, so a
truncated one is useless (``ls`` and ``sqlite-utils`` behave the same). In a
terminal the table fits ``COLUMNS`` (or the real width) by shortening only
the columns marked elastic, widest first, never below a floor.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from rlm.cli.render import truncate

MIN_ELASTIC = 12


@dataclass(frozen=True)
class Column:
    title: str
    elastic: bool = False
    """May be shortened (with ``...``) to fit a terminal."""
    right: bool = False


def stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def terminal_width() -> int | None:
    """The width to fit in a terminal, or None when piped (no limit)."""
    if not stdout_is_terminal():
        return None
    return shutil.get_terminal_size((100, 24)).columns


def _fit(widths: list[int], columns: Sequence[Column], limit: int) -> list[int]:
    """Shrink elastic columns, the widest first, until the row fits ``limit``."""
    widths = list(widths)
    total = sum(widths) + 2 * (len(widths) - 1)
    while total > limit:
        elastic = [i for i, c in enumerate(columns) if c.elastic and widths[i] > MIN_ELASTIC]
        if not elastic:
            break
        i = max(elastic, key=lambda k: widths[k])
        step = min(widths[i] - MIN_ELASTIC, total - limit)
        widths[i] -= step
        total -= step
    return widths


_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROLS_BUT_TAB = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def cell(text: str, *, tabs: bool = False) -> str:
    """One table cell (or one output line): control characters (ESC, newline...) made
    visible, so a file name can neither drive the terminal nor start a fake row.
    ``tabs`` keeps tab characters (lines of code)."""
    return (_CONTROLS_BUT_TAB if tabs else _CONTROLS).sub(_visible, text)


def render_table(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int | None = None
) -> list[str]:
    """Header, rule and rows; ``width`` None means piped: nothing is cut."""
    rows = [[cell(value) for value in row] for row in rows]
    widths = [max([len(c.title)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    if width is not None:
        widths = _fit(widths, columns, width)

    def line(cells: Sequence[str]) -> str:
        out = []
        for cell, w, c in zip(cells, widths, columns, strict=True):
            text = truncate(cell, w)
            out.append(text.rjust(w) if c.right else text.ljust(w))
        return "  ".join(out).rstrip()

    head = line([c.title for c in columns])
    return [head, "-" * len(head), *(line(r) for r in rows)]


__all__ = ["Column", "cell", "render_table", "stdout_is_terminal", "terminal_width"]
