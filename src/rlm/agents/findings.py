"""Reading analyst findings: rlm-rs's format, the analyst-prompt format and NDJSON.

Accepted input (after an optional Markdown code fence is stripped):

* a JSON array of items, a single item object, or an object holding the items
  under ``items`` / ``results``;
* NDJSON: one JSON value (item object or array of items) per line.

An item is ``{"chunk_id": int, "relevance": str, "findings": [...],
"summary": str|null, "follow_up": [str]}``; unknown keys are ignored. A finding
is either a string (rlm-rs) or an object (the analyst prompt) with its text in
``text``/``finding``/``description``/``claim`` and optional quoted evidence in
``evidence``/``quote``/``quotes`` (a string or a list of strings) and an
optional ``chunk_id`` of its own. Text in double quotes inside a string finding
is treated as a quote too (at least :data:`MIN_INLINE_QUOTE` characters).

Every problem is reported with the item's index and what is wrong; nothing
here can raise ``RecursionError`` or print a traceback.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from rlm.errors import InvalidFindingsError

MAX_INPUT_BYTES = 256 * 1024 * 1024
MAX_REPORTED_ERRORS = 20
MIN_INLINE_QUOTE = 3
TEXT_KEYS = ("text", "finding", "description", "claim")
EVIDENCE_KEYS = ("evidence", "quote", "quotes")
WRAPPER_KEYS = ("items", "results")
_INLINE_QUOTE = re.compile(rf'"([^"\n]{{{MIN_INLINE_QUOTE},}})"|“([^”\n]{{{MIN_INLINE_QUOTE},}})”')
_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n(.*?)\n\s*```\s*$", re.DOTALL)


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


def parse_documents(text: str) -> list[Any]:
    """The JSON values in ``text``: one document, or one per NDJSON line."""
    if len(text) > MAX_INPUT_BYTES:
        raise InvalidFindingsError(
            f"input is {len(text)} characters; the limit is {MAX_INPUT_BYTES}"
        )
    stripped = text.strip()
    fence = _FENCE.match(stripped)
    if fence:
        stripped = fence.group(1).strip()
    if not stripped:
        raise InvalidFindingsError("input is empty; expected a JSON array of findings")
    try:
        return [_loads(stripped, "input")]
    except ValueError as whole:
        # NDJSON lines end at "\n" only: str.splitlines would also break at
        # U+2028, U+0085... which JSON strings may hold unescaped.
        lines = [(n, line) for n, line in enumerate(stripped.split("\n"), 1) if line.strip()]
        if len(lines) < 2:
            raise InvalidFindingsError(f"Invalid JSON input: {whole}") from None
        docs: list[Any] = []
        for n, line in lines:
            try:
                docs.append(_loads(line, f"line {n}"))
            except ValueError as exc:
                raise InvalidFindingsError(
                    f"Invalid JSON input: {whole} (read as NDJSON, line {n} is not JSON: {exc})"
                ) from None
        return docs


def _flatten(docs: list[Any], problems: _Problems) -> list[Any]:
    items: list[Any] = []
    many = len(docs) > 1
    for n, doc in enumerate(docs, 1):
        where = f"line {n}" if many else "input"
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


def inline_quotes(text: str) -> list[str]:
    """Text in "double quotes" (or “curly quotes”) inside a string finding."""
    return [a or b for a, b in _INLINE_QUOTE.findall(text)]


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


def parse_findings(text: str, *, skip_invalid: bool = False) -> tuple[list[FindingItem], list[str]]:
    """Validated items, and the problems skipped (only with ``skip_invalid``).

    Raises :class:`InvalidFindingsError` listing every problem (item index and
    what is wrong) unless ``skip_invalid`` is set.
    """
    problems = _Problems()
    raw_items = _flatten(parse_documents(text), problems)
    if not skip_invalid:
        problems.raise_if_any()
    items = [item for i, raw in enumerate(raw_items) if (item := _item(raw, i, problems))]
    if not skip_invalid or (not items and problems.messages):
        problems.raise_if_any()
    return items, problems.messages


__all__ = ["FindingItem", "Quote", "inline_quotes", "parse_documents", "parse_findings"]
