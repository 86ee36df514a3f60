"""Reading analyst findings: rlm-rs's format, the analyst-prompt format and NDJSON.

Accepted input: a *stream* of JSON values, the way ``jq`` reads it, so that
``cat reply-*.json | rlm aggregate`` works whatever each analyst sent:

* JSON arrays of items, single item objects, or objects holding the items
  under ``items`` / ``results``, one after another in any mix (NDJSON is the
  special case of one value per line);
* Markdown code fences (```` ```json ````, ```` ``` ````) anywhere between the
  values, even on the line a value ends on (``]```` ``) when a file has no
  final newline: between values a fence cannot be mistaken for JSON.

An item is ``{"chunk_id": int, "relevance": str, "findings": [...],
"summary": str|null, "follow_up": [str]}``; unknown keys are ignored. A finding
is either a string (rlm-rs) or an object (the analyst prompt) with its text in
``text``/``finding``/``description``/``claim`` and optional quoted evidence in
``evidence``/``quote``/``quotes`` (a string or a list of strings) and an
optional ``chunk_id`` of its own. Text in double quotes inside a string finding
is treated as a quote too (at least :data:`MIN_INLINE_QUOTE` characters).

Relevance: high, medium, low and none (any case) are the levels; common words
LLMs use instead ("critical", "very high", "minor", "irrelevant"...) are mapped
to a level (:data:`RELEVANCE_SYNONYMS`), and anything else gets the level
``unknown`` so aggregate can report it instead of silently dropping it.

Limits (both can be raised by the caller): :data:`DEFAULT_MAX_INPUT_BYTES` of
input and :data:`DEFAULT_MAX_ITEMS` items, so a hostile or runaway reply cannot
take gigabytes of memory. All parsing is linear in the input size: values are
read by ``json``'s own scanner one after another, a fence is matched only where
a value may start, and quotes are found by one walk over the quote marks (the
old fence regex was cubic and the curly-quote one quadratic).

Every problem is reported with the item's index and what is wrong; nothing
here can raise ``RecursionError`` or print a traceback.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from rlm.errors import InvalidFindingsError

DEFAULT_MAX_INPUT_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_ITEMS = 20_000
MAX_INPUT_BYTES = DEFAULT_MAX_INPUT_BYTES
"""Kept for callers that import the old name."""
MAX_REPORTED_ERRORS = 20
MIN_INLINE_QUOTE = 3
TEXT_KEYS = ("text", "finding", "description", "claim")
EVIDENCE_KEYS = ("evidence", "quote", "quotes")
WRAPPER_KEYS = ("items", "results")
LEVELS = ("high", "medium", "low", "none")
UNKNOWN_LEVEL = "unknown"
RELEVANCE_SYNONYMS: dict[str, str] = {
    **{w: "high" for w in (
        "critical", "very high", "very_high", "urgent", "essential", "crucial", "key",
        "important", "major", "severe", "highest", "top", "strong", "very relevant",
        "highly relevant", "h",
    )},
    **{w: "medium" for w in (
        "med", "mid", "moderate", "moderately relevant", "relevant", "some", "partial",
        "partially relevant", "normal", "average", "m",
    )},
    **{w: "low" for w in (
        "minor", "slight", "slightly relevant", "marginal", "tangential", "weak", "lowest",
        "somewhat relevant", "l",
    )},
    **{w: "none" for w in (
        "irrelevant", "not relevant", "no", "n/a", "na", "nil", "null", "zero", "unrelated",
        "not applicable", "",
    )},
}  # fmt: skip
"""Words LLMs write for a relevance level, lower-cased and with spaces collapsed."""
_FENCE = re.compile(r"```[A-Za-z0-9_+.-]*[ \t]*(?=\r?\n|\Z)")
"""A Markdown fence marker with its info string, up to the end of its line (no backtracking:
each class is followed by a character it cannot hold)."""
_QUOTE_PAIRS = (('"', '"'), ("“", "”"))


@dataclass(frozen=True)
class Quote:
    """Text a finding claims is in a chunk."""

    text: str
    chunk_id: int
    finding_index: int
    inline: bool
    """True when taken from double quotes inside a string finding."""


@dataclass
class FindingItem:
    chunk_id: int
    relevance: str
    findings: list[str]
    summary: str | None = None
    follow_up: list[str] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    cited_chunk_ids: list[int] = field(default_factory=list)
    """chunk_id plus any chunk_id given on individual findings."""
    position: int = 0
    level: str = ""
    """What ``relevance`` means: high, medium, low, none or unknown (:func:`relevance_level`)."""

    def __post_init__(self) -> None:
        if not self.level:
            self.level = relevance_level(self.relevance)


class _Problems:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.messages.append(f"{where}: {what}")

    def raise_if_any(self) -> None:
        if not self.messages:
            return
        shown = self.messages[:MAX_REPORTED_ERRORS]
        more = len(self.messages) - len(shown)
        detail = "; ".join(shown) + (f"; ... and {more} more" if more > 0 else "")
        raise InvalidFindingsError(detail)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (ValueError, RecursionError):
        text = _kind(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _loads(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise InvalidFindingsError(
            f"{where}: JSON nested too deeply to read (limit about 1000 levels)"
        ) from None


def relevance_level(value: str) -> str:
    """The level ``value`` means: high, medium, low, none, or ``unknown``."""
    key = " ".join(value.replace("-", " ").replace("_", " ").split()).casefold()
    if key in LEVELS:
        return key
    return RELEVANCE_SYNONYMS.get(key, UNKNOWN_LEVEL)


class _Lines:
    """Line/column of positions visited left to right, counting each newline once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.index = 0
        self.line = 1
        self.line_start = 0

    def at(self, index: int) -> str:
        if index < self.index:  # only error paths go back: count afresh
            self.index, self.line, self.line_start = 0, 1, 0
        self.line += self.text.count("\n", self.index, index)
        newline = self.text.rfind("\n", self.index, index)
        if newline >= 0:
            self.line_start = newline + 1
        self.index = index
        return f"line {self.line} column {index - self.line_start + 1}"


def parse_documents(
    text: str,
    *,
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
    max_values: int = DEFAULT_MAX_ITEMS,
) -> list[tuple[str, Any]]:
    """The JSON values in ``text``, one after another, each with where it starts.

    Values may follow each other with or without whitespace (``[..][..]``,
    ``[..]\n{..}``, NDJSON), with fences between them. Parsing is ``json``'s own
    scanner over each value in turn, so it is linear.
    """
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > max_input_bytes:
        raise InvalidFindingsError(
            f"input is {size} bytes; the limit is {max_input_bytes}"
            " (raise it with --max-input-size)"
        )
    body = text
    decoder = json.JSONDecoder()
    docs: list[tuple[str, Any]] = []
    lines = _Lines(body)
    index, n = 0, len(body)
    while True:
        while index < n and body[index] in " \t\r\n\ufeff":
            index += 1
        if index >= n:
            break
        if body.startswith("```", index):
            fence = _FENCE.match(body, index)
            if fence is not None:  # a fence between values: skip it and its info string
                index = fence.end()
                continue
        where = lines.at(index)
        try:
            value, index = decoder.raw_decode(body, index)
        except RecursionError:
            raise InvalidFindingsError(
                f"{where}: JSON nested too deeply to read (limit about 1000 levels)"
            ) from None
        except ValueError as exc:  # JSONDecodeError, or an int too long to convert
            seen = f" after {len(docs)} complete JSON value(s)" if docs else ""
            if isinstance(exc, json.JSONDecodeError):
                where, why = lines.at(exc.pos), exc.msg
            else:
                why = str(exc).split(";")[0]
            raise InvalidFindingsError(f"Invalid JSON input at {where}{seen}: {why}") from None
        docs.append((where, value))
        if len(docs) > max_values:
            raise InvalidFindingsError(
                f"more than {max_values} JSON values; the limit is {max_values}"
                " (raise it with --max-findings)"
            )
    if not docs:
        raise InvalidFindingsError("input is empty; expected a JSON array of findings")
    return docs


def _flatten(docs: list[tuple[str, Any]], problems: _Problems) -> list[Any]:
    items: list[Any] = []
    many = len(docs) > 1
    for position, doc in docs:
        where = position.split(" column")[0] if many else "input"
        if isinstance(doc, list):
            items.extend(doc)
        elif isinstance(doc, dict):
            if "chunk_id" in doc:
                items.append(doc)
                continue
            wrapped = next((doc[k] for k in WRAPPER_KEYS if isinstance(doc.get(k), list)), None)
            if wrapped is None:
                problems.add(where, "an object without 'chunk_id' (expected an array of items)")
            else:
                items.extend(wrapped)
        else:
            problems.add(where, f"expected an array of objects, got {_kind(doc)} {_short(doc)}")
    return items


def _chunk_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _strings(value: Any, where: str, name: str, problems: _Problems) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        out: list[str] = []
        for i, v in enumerate(value):
            if isinstance(v, str):
                out.append(v)
            else:
                problems.add(where, f"'{name}'[{i}] must be a string, got {_kind(v)}")
        return out
    problems.add(where, f"'{name}' must be a string or an array of strings, got {_kind(value)}")
    return []


def _quotes_between(text: str, opening: str, closing: str) -> list[tuple[int, str]]:
    """(start, text) of each quote: one pass over the quote marks and newlines.

    Same pairing as the regex ``OPEN([^OPEN CLOSE \\n]{3,})CLOSE`` scanned left
    to right, but a walk over the marks instead of a backtracking match: a
    newline ends an open quote, a second opening mark restarts it.
    """
    marks = re.compile("[" + re.escape(opening + closing) + "\n]")
    out: list[tuple[int, str]] = []
    open_at: int | None = None
    for m in marks.finditer(text):
        pos, ch = m.start(), m.group()
        if ch == "\n":
            open_at = None
        elif ch == closing and open_at is not None:
            inner = text[open_at + 1 : pos]
            if len(inner) >= MIN_INLINE_QUOTE:
                out.append((open_at, inner))
                open_at = None
            else:  # too short: this mark may open the next quote (straight quotes)
                open_at = pos if ch == opening else None
        elif ch == opening:
            open_at = pos
    return out


def inline_quotes(text: str) -> list[str]:
    """Text in "double quotes" (or “curly quotes”) inside a string finding, in order."""
    found = [q for o, c in _QUOTE_PAIRS for q in _quotes_between(text, o, c)]
    return [q for _, q in sorted(found)]


def _finding(
    raw: Any, item_id: int, f_index: int, where: str, problems: _Problems
) -> tuple[str | None, list[Quote], int | None]:
    if isinstance(raw, str):
        quotes = [Quote(q, item_id, f_index, True) for q in inline_quotes(raw)]
        return raw, quotes, None
    if not isinstance(raw, dict):
        problems.add(where, f"must be a string or an object, got {_kind(raw)}")
        return None, [], None
    text = next((raw[k] for k in TEXT_KEYS if k in raw), None)
    if text is not None and not isinstance(text, str):
        problems.add(where, f"the finding text must be a string, got {_kind(text)}")
        return None, [], None
    evidence: list[str] = []
    for key in EVIDENCE_KEYS:
        if key in raw:
            evidence += _strings(raw[key], where, key, problems)
    if text is None:
        if not evidence:
            problems.add(
                where, f"an object needs one of {', '.join(TEXT_KEYS)} (or evidence/quote)"
            )
            return None, [], None
        text = evidence[0]
    own: int | None = None
    if "chunk_id" in raw and raw["chunk_id"] is not None:
        own = _chunk_id(raw["chunk_id"])
        if own is None:
            problems.add(where, f"'chunk_id' must be an integer, got {_short(raw['chunk_id'])}")
            return None, [], None
    cited = own if own is not None else item_id
    quotes = [Quote(q, cited, f_index, False) for q in evidence if q.strip()]
    return text, quotes, own


def _item(raw: Any, position: int, problems: _Problems) -> FindingItem | None:
    where = f"item {position}"
    if not isinstance(raw, dict):
        problems.add(where, f"expected an object, got {_kind(raw)} {_short(raw)}")
        return None
    before = len(problems.messages)
    if "chunk_id" not in raw:
        problems.add(where, "missing required field 'chunk_id'")
        chunk_id = None
    else:
        chunk_id = _chunk_id(raw["chunk_id"])
        if chunk_id is None:
            problems.add(where, f"'chunk_id' must be an integer, got {_short(raw['chunk_id'])}")
    relevance = raw.get("relevance")
    if "relevance" not in raw:
        problems.add(where, "missing required field 'relevance' (high, medium, low or none)")
    elif not isinstance(relevance, str):
        problems.add(where, f"'relevance' must be a string, got {_short(relevance)}")
    summary = raw.get("summary")
    if summary is not None and not isinstance(summary, str):
        problems.add(where, f"'summary' must be a string or null, got {_kind(summary)}")
    follow_up = _strings(raw.get("follow_up"), where, "follow_up", problems)
    raw_findings = raw.get("findings", [])
    if raw_findings is None:
        raw_findings = []
    if isinstance(raw_findings, (str, dict)):
        raw_findings = [raw_findings]
    if not isinstance(raw_findings, list):
        problems.add(where, f"'findings' must be an array, got {_kind(raw_findings)}")
        raw_findings = []
    if chunk_id is None or len(problems.messages) > before:
        return None
    texts: list[str] = []
    quotes: list[Quote] = []
    cited = [chunk_id]
    for f_index, raw_finding in enumerate(raw_findings):
        text, found, own = _finding(
            raw_finding, chunk_id, f_index, f"{where}, finding {f_index}", problems
        )
        if text is None:
            continue
        texts.append(text)
        quotes += found
        if own is not None and own not in cited:
            cited.append(own)
    if len(problems.messages) > before:
        return None
    assert isinstance(relevance, str)
    return FindingItem(
        chunk_id=chunk_id,
        relevance=relevance,
        findings=texts,
        summary=summary,
        follow_up=follow_up,
        quotes=quotes,
        cited_chunk_ids=cited,
        position=position,
    )


def parse_findings(
    text: str,
    *,
    skip_invalid: bool = False,
    max_items: int = DEFAULT_MAX_ITEMS,
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
) -> tuple[list[FindingItem], list[str]]:
    """Validated items, and the problems skipped (only with ``skip_invalid``).

    Raises :class:`InvalidFindingsError` listing every problem (item index and
    what is wrong) unless ``skip_invalid`` is set, and when there are more
    than ``max_items`` items (whatever ``skip_invalid`` says: a cap that could
    be skipped would not bound anything).
    """
    problems = _Problems()
    docs = parse_documents(text, max_input_bytes=max_input_bytes, max_values=max_items)
    raw_items = _flatten(docs, problems)
    if len(raw_items) > max_items:
        raise InvalidFindingsError(
            f"{len(raw_items)} items; the limit is {max_items} (raise it with --max-findings)"
        )
    if not skip_invalid:
        problems.raise_if_any()
    items = [item for i, raw in enumerate(raw_items) if (item := _item(raw, i, problems))]
    if not skip_invalid or (not items and problems.messages):
        problems.raise_if_any()
    return items, problems.messages


__all__ = [
    "DEFAULT_MAX_INPUT_BYTES",
    "DEFAULT_MAX_ITEMS",
    "LEVELS",
    "RELEVANCE_SYNONYMS",
    "UNKNOWN_LEVEL",
    "FindingItem",
    "Quote",
    "inline_quotes",
    "parse_documents",
    "parse_findings",
    "relevance_level",
]
