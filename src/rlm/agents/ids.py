"""Chunk id lists as people and shells write them: ``665-669,700``.

A run of 450 consecutive missing chunks is one range, not 450 numbers, in the
report and in the re-dispatch command (``--chunks`` reads the same syntax back).
"""

from __future__ import annotations

from collections.abc import Iterable

from rlm.errors import InvalidArgumentError

MAX_RANGE_IDS = 1_000_000
"""The most ids one ``--chunks`` value may expand to (``1-999999999`` is a typo, not a plan)."""


def id_ranges(ids: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted, de-duplicated ids as inclusive ``(first, last)`` runs."""
    runs: list[tuple[int, int]] = []
    for i in sorted(set(ids)):
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def format_ids(ids: Iterable[int], sep: str = ", ") -> str:
    """``[1, 2, 3, 5]`` -> ``"1-3, 5"`` (``sep=","`` for a command line)."""
    return sep.join(str(a) if a == b else f"{a}-{b}" for a, b in id_ranges(ids))


def parse_ids(value: str, option: str = "--chunks") -> list[int]:
    """``"12,13 20-22"`` -> ``[12, 13, 20, 21, 22]``, in the order written."""
    ids: list[int] = []
    for part in value.replace(" ", ",").split(","):
        if not part:
            continue
        first, dash, last = part.partition("-")
        try:
            lo = int(first)
            hi = int(last) if dash else lo
        except ValueError:
            raise InvalidArgumentError(
                f"{option}: {part!r} is not a chunk ID or range",
                suggestion=f"Pass chunk IDs and ranges, e.g. {option} 12,13,20-25",
            ) from None
        if hi < lo or len(ids) + (hi - lo + 1) > MAX_RANGE_IDS:
            raise InvalidArgumentError(
                f"{option}: bad range {part!r}",
                suggestion="A range is FIRST-LAST with FIRST <= LAST",
            )
        ids.extend(range(lo, hi + 1))
    if not ids:
        raise InvalidArgumentError(f"{option}: no chunk IDs given")
    return ids


__all__ = ["format_ids", "id_ranges", "parse_ids"]
