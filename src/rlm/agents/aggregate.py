"""Aggregate: merge analyst findings, check their quotes, and audit a dispatch run.

rlm-rs semantics (spec §5.2) with its bugs fixed (§8 item 14): relevance is
compared case-insensitively everywhere (filter, counts, groups); groups come
out high, medium, low, none, then anything else, then by chunk id numerically.

Evidence check: every quote a finding makes (its ``evidence``/``quote`` field,
or text in double quotes inside a string finding) is looked up in the cited
chunk's text: exactly, then with whitespace collapsed and case (and curly
quotes/dashes) ignored, then, for a quote with an ellipsis, as fragments in
order. A quote found nowhere is ``verified: false`` and listed in
``unverified``: it is probably paraphrased or invented.

Relevance: each item's ``level`` (high, medium, low, none, or unknown for a
word nobody could map; see ``findings.relevance_level``) drives the filter,
the counts and the groups. Unknown levels are never filtered out: they are
kept, grouped under ``unknown`` and reported, so nothing disappears silently.

Coverage (``run_id``): the chunks the run dispatched against the chunks the
findings answer (any relevance, ``none`` included, counts as an answer). The
re-dispatch command is built from validated values only (ints, a quoted
name) because agents are told to run it: a crafted store must not be able to
smuggle shell syntax into it.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rlm.agents.findings import LEVELS, UNKNOWN_LEVEL, FindingItem, Quote, relevance_level
from rlm.agents.ids import format_ids
from rlm.errors import (
    BufferNotFoundError,
    ChunkNotFoundError,
    ChunkSupersededError,
    InvalidArgumentError,
)
from rlm.ingest.loader import EmbedderFactory, LoadResult
from rlm.store import Store

RELEVANCE_LEVELS = LEVELS
GROUP_BY = ("relevance", "chunk_id", "none")
SORT_BY = ("relevance", "chunk_id", "findings_count", "none")
SUMMARY_PREVIEW = 80
_TYPOGRAPHY = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…|\[\.\.\.\])\s*")


def relevance_rank(value: str) -> int:
    """high 0, medium 1, low 2, none 3, anything else 4 (case-insensitive, synonyms mapped)."""
    v = relevance_level(value)
    return RELEVANCE_LEVELS.index(v) if v in RELEVANCE_LEVELS else len(RELEVANCE_LEVELS)


def normalise(text: str) -> str:
    return " ".join(text.translate(_TYPOGRAPHY).split()).casefold()


@dataclass(frozen=True)
class QuoteCheck:
    quote: Quote
    verified: bool
    match: str | None
    """``exact``, ``normalized``, ``fragments`` or None."""
    reason: str | None = None


@dataclass
class Coverage:
    run_id: str
    buffer_id: int
    dispatched: int
    answered: int
    missing_chunk_ids: list[int]
    missing_batches: list[dict[str, Any]]
    duplicate_chunk_ids: list[int]
    outside_run_chunk_ids: list[int]
    redispatch_command: str | None
    buffer_name: str | None = None
    buffer_missing: bool = False
    """The run's buffer was deleted (or replaced) since the dispatch."""
    warnings: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing_chunk_ids

    def to_json(self) -> dict[str, Any]:
        return {
            "answered_chunks": self.answered,
            "buffer_id": self.buffer_id,
            "buffer_missing": self.buffer_missing,
            "buffer_name": self.buffer_name,
            "complete": self.complete,
            "dispatched_chunks": self.dispatched,
            "duplicate_chunk_ids": self.duplicate_chunk_ids,
            "missing_batches": self.missing_batches,
            "missing_chunk_ids": self.missing_chunk_ids,
            "outside_run_chunk_ids": self.outside_run_chunk_ids,
            "redispatch_command": self.redispatch_command,
            "run_id": self.run_id,
        }


@dataclass
class AggregateReport:
    items: list[FindingItem]
    """Kept items, sorted."""
    groups: list[tuple[str, list[FindingItem]]]
    unique_findings: list[str]
    checks: dict[int, list[QuoteCheck]]
    """Item position -> its quote checks."""
    filtered_out: int
    coverage: Coverage | None = None
    output_buffer: str | None = None
    warnings: list[str] = field(default_factory=list)
    min_relevance: str = "low"
    mapped_relevance: dict[str, str] = field(default_factory=dict)
    """Relevance words read as a level (``{"critical": "high"}``)."""
    unknown_relevance: list[str] = field(default_factory=list)
    """Relevance words no level matched (the items are kept, level ``unknown``)."""

    def count(self, level: str) -> int:
        return sum(1 for i in self.items if i.level == level)

    @property
    def finding_count(self) -> int:
        """Finding texts in the kept reports (a report may hold several, or none)."""
        return sum(len(i.findings) for i in self.items)

    def gaps(self) -> list[str]:
        """What ``--strict`` fails on: unverified quotes and unanswered dispatched chunks."""
        out: list[str] = []
        unverified = len(self.unverified)
        if unverified:
            out.append(f"{unverified} quoted evidence not found in the cited chunks")
        if self.coverage is not None and self.coverage.missing_chunk_ids:
            out.append(f"{len(self.coverage.missing_chunk_ids)} dispatched chunks have no finding")
        return out

    @property
    def unverified(self) -> list[tuple[FindingItem, QuoteCheck]]:
        return [
            (item, check)
            for item in self.items
            for check in self.checks.get(item.position, [])
            if not check.verified
        ]

    def item_json(self, item: FindingItem) -> dict[str, Any]:
        checks = self.checks.get(item.position, [])
        return {
            "chunk_id": item.chunk_id,
            "level": item.level,
            "relevance": item.relevance,
            "findings": item.findings,
            "summary": item.summary,
            "follow_up": item.follow_up,
            "evidence": [
                {
                    "chunk_id": c.quote.chunk_id,
                    "finding_index": c.quote.finding_index,
                    "match": c.match,
                    "quote": c.quote.text,
                    "reason": c.reason,
                    "verified": c.verified,
                }
                for c in checks
            ],
            "verified": all(c.verified for c in checks) if checks else None,
        }

    def to_json(self) -> dict[str, Any]:
        verified = sum(1 for cs in self.checks.values() for c in cs if c.verified)
        unverified = self.unverified
        return {
            "all_findings_deduplicated": self.unique_findings,
            "coverage": self.coverage.to_json() if self.coverage else None,
            "filtered_out": self.filtered_out,
            "findings": [self.item_json(i) for i in self.items],
            "grouped": {key: [self.item_json(i) for i in items] for key, items in self.groups},
            "output_buffer": self.output_buffer,
            "summary": {
                "chunk_reports": len(self.items),
                "distinct_findings": len(self.unique_findings),
                "finding_count": self.finding_count,
                "high_relevance": self.count("high"),
                "low_relevance": self.count("low"),
                "mapped_relevance": self.mapped_relevance,
                "medium_relevance": self.count("medium"),
                "min_relevance": self.min_relevance,
                "none_relevance": self.count("none"),
                "total_findings": len(self.items),
                "unique_findings": len(self.unique_findings),
                "unknown_relevance": self.count(UNKNOWN_LEVEL),
                "unknown_relevance_values": self.unknown_relevance,
                "unverified_quotes": len(unverified),
                "verified_quotes": verified,
            },
            "unverified": [
                {
                    "chunk_id": check.quote.chunk_id,
                    "finding": item.findings[check.quote.finding_index]
                    if check.quote.finding_index < len(item.findings)
                    else None,
                    "item_chunk_id": item.chunk_id,
                    "quote": check.quote.text,
                    "reason": check.reason,
                }
                for item, check in unverified
            ],
        }


# --- evidence -----------------------------------------------------------------


def check_quote(quote: str, content: str, normalised: str | None = None) -> tuple[bool, str | None]:
    """Whether ``quote`` is in ``content``: exact, normalised, or as ordered fragments.

    ``normalised`` is ``normalise(content)`` when the caller has it already
    (one chunk, many quotes: normalise it once).
    """
    if quote in content:
        return True, "exact"
    q = normalise(quote)
    c = normalised if normalised is not None else normalise(content)
    if q and q in c:
        return True, "normalized"
    parts = [normalise(p) for p in _ELLIPSIS.split(quote)]
    parts = [p for p in parts if p]
    if len(parts) > 1:
        pos = 0
        for part in parts:
            found = c.find(part, pos)
            if found < 0:
                return False, None
            pos = found + len(part)
        return True, "fragments"
    return False, None


def _chunk_texts(store: Store, chunk_ids: set[int]) -> dict[int, tuple[str | None, str | None]]:
    """chunk id -> (text to check against, note); text None when the chunk is unknown."""
    found = store.get_chunks(sorted(chunk_ids))
    out: dict[int, tuple[str | None, str | None]] = {
        cid: (c.content, None) for cid, c in found.items()
    }
    for cid in chunk_ids - set(found):
        try:
            store.get_chunk(cid)
        except ChunkSupersededError as exc:
            repl = store.get_chunks(exc.replacements)
            text = "\n".join(repl[i].content for i in exc.replacements if i in repl)
            note = f"chunk {cid} was superseded by {', '.join(map(str, exc.replacements))}"
            out[cid] = (text, note)
        except ChunkNotFoundError:
            out[cid] = (None, f"chunk {cid} does not exist")
    return out


def verify_items(store: Store, items: Sequence[FindingItem]) -> dict[int, list[QuoteCheck]]:
    wanted = {q.chunk_id for item in items for q in item.quotes}
    texts = _chunk_texts(store, wanted) if wanted else {}
    normalised: dict[int, str] = {}
    out: dict[int, list[QuoteCheck]] = {}
    for item in items:
        checks: list[QuoteCheck] = []
        for q in item.quotes:
            text, note = texts[q.chunk_id]
            if text is None:
                checks.append(QuoteCheck(q, False, None, note))
                continue
            if q.chunk_id not in normalised:
                normalised[q.chunk_id] = normalise(text)
            ok, how = check_quote(q.text, text, normalised[q.chunk_id])
            reason = None if ok else f"quote not found in chunk {q.chunk_id}"
            if note and not ok:
                reason = f"{reason} ({note})"
            checks.append(QuoteCheck(q, ok, how, reason))
        if checks:
            out[item.position] = checks
    return out


# --- ordering -----------------------------------------------------------------


def _level_rank(level: str) -> int:
    return RELEVANCE_LEVELS.index(level) if level in RELEVANCE_LEVELS else len(RELEVANCE_LEVELS)


def sort_items(items: list[FindingItem], sort_by: str) -> list[FindingItem]:
    key = sort_by.lower()
    if key == "relevance":
        return sorted(items, key=lambda i: _level_rank(i.level))
    if key == "chunk_id":
        return sorted(items, key=lambda i: i.chunk_id)
    if key == "findings_count":
        return sorted(items, key=lambda i: -len(i.findings))
    return list(items)


def group_items(items: list[FindingItem], group_by: str) -> list[tuple[str, list[FindingItem]]]:
    key = group_by.lower()
    groups: dict[str, list[FindingItem]] = {}
    if key == "relevance":
        for i in items:
            groups.setdefault(i.level, []).append(i)
        return sorted(groups.items(), key=lambda kv: (_level_rank(kv[0]), kv[0]))
    if key == "chunk_id":
        for i in items:
            groups.setdefault(str(i.chunk_id), []).append(i)
        return sorted(groups.items(), key=lambda kv: int(kv[0]))
    return [("all", list(items))] if items else []


def dedup(items: Sequence[FindingItem]) -> list[str]:
    """Finding texts, first spelling kept; duplicates differ only in case/whitespace."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        for text in item.findings:
            k = normalise(text)
            if k not in seen:
                seen.add(k)
                out.append(text)
    return out


# --- coverage -----------------------------------------------------------------


def _positive_int(value: Any) -> int | None:
    """A stored run parameter as a positive int, or None (never text from the store)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def redispatch_command(
    command: str, buffer: str, missing: Sequence[int], params: dict[str, Any]
) -> str:
    """``rlm -d DB dispatch NAME --chunks 3-5,9 --max-tokens N``, every part shell-quoted.

    ``command`` is the (already quoted) prefix the caller built; the rest comes
    from validated values: the buffer name goes through ``shlex.quote``, the
    ids and sizes are ints.
    """
    parts = ["dispatch", buffer, "--chunks", format_ids(missing, sep=",")]
    for key, flag in (("max_tokens", "--max-tokens"), ("batch_size", "--batch-size")):
        number = _positive_int(params.get(key))
        if number is not None:
            parts += [flag, str(number)]
    return command + " " + shlex.join(parts)


def _run_buffer(
    store: Store, buffer_id: int, params: dict[str, Any], run_id: str, command: str
) -> tuple[str | None, bool, list[str]]:
    """(name to dispatch by, buffer gone?, warnings) for a run's buffer."""
    try:
        b = store.get_buffer(buffer_id)
    except BufferNotFoundError:
        pass
    else:
        return b.label, False, []
    name = params.get("buffer_name")
    name = name if isinstance(name, str) else None
    now = store.find_buffer_by_name(name) if name else None
    if now is not None:
        hint = (
            f"a buffer of that name now exists (ID {now.id}) with new chunk IDs:"
            f" dispatch it again with '{command} dispatch {shlex.quote(name or '')}'"
        )
    else:
        hint = "its chunks no longer exist"
    label = f"'{name}' (ID {buffer_id})" if name else f"{buffer_id}"
    return (
        name,
        True,
        [f"the buffer {label} of run {run_id} was deleted or replaced since the dispatch; {hint}"],
    )


def run_coverage(
    store: Store, run_id: str, items: Sequence[FindingItem], *, command: str = "rlm"
) -> Coverage:
    buffer_id, params, rows = store.get_run(run_id)
    dispatched = [cid for _, cid in rows]
    batch_of = {cid: b for b, cid in rows}
    answered_counts: Counter[int] = Counter()
    for item in items:
        for cid in set(item.cited_chunk_ids):
            answered_counts[cid] += 1
    per_item: Counter[int] = Counter(item.chunk_id for item in items)
    missing = [cid for cid in dispatched if cid not in answered_counts]
    batches: dict[int, list[int]] = {}
    for cid in missing:
        batches.setdefault(batch_of[cid], []).append(cid)
    sizes = Counter(b for b, _ in rows)
    missing_batches = [
        {
            "batch_index": b,
            "chunk_ids": ids,
            "complete_miss": len(ids) == sizes[b],
        }
        for b, ids in sorted(batches.items())
    ]
    name, gone, warnings = _run_buffer(store, buffer_id, params, run_id, command)
    command_line = None
    if missing and not gone:
        command_line = redispatch_command(command, name or str(buffer_id), missing, params)
    in_run = set(dispatched)
    return Coverage(
        run_id=run_id,
        buffer_id=buffer_id,
        dispatched=len(dispatched),
        answered=sum(1 for cid in dispatched if cid in answered_counts),
        missing_chunk_ids=missing,
        missing_batches=missing_batches,
        duplicate_chunk_ids=sorted(cid for cid, n in per_item.items() if n > 1),
        outside_run_chunk_ids=sorted(cid for cid in answered_counts if cid not in in_run),
        redispatch_command=command_line,
        buffer_name=name,
        buffer_missing=gone,
        warnings=warnings,
    )


def aggregate(
    store: Store,
    items: Sequence[FindingItem],
    *,
    min_relevance: str = "low",
    group_by: str = "relevance",
    sort_by: str = "relevance",
    run_id: str | None = None,
    verify: bool = True,
    command: str = "rlm",
) -> AggregateReport:
    """Filter, sort, group, dedup, verify quotes and (with ``run_id``) audit coverage."""
    level = min_relevance.strip().lower()
    if level not in (*RELEVANCE_LEVELS, "all"):
        raise InvalidArgumentError(
            f"unknown relevance level: {min_relevance!r}",
            suggestion="Use one of: high, medium, low, none, all",
        )
    if group_by.lower() not in GROUP_BY:
        raise InvalidArgumentError(
            f"unknown --group-by: {group_by!r}", suggestion="Use relevance, chunk_id or none"
        )
    if sort_by.lower() not in SORT_BY:
        raise InvalidArgumentError(
            f"unknown --sort-by: {sort_by!r}",
            suggestion="Use relevance, chunk_id, findings_count or none",
        )
    limit = len(RELEVANCE_LEVELS) if level == "all" else relevance_rank(level)
    kept = [i for i in items if i.level == UNKNOWN_LEVEL or _level_rank(i.level) <= limit]
    ordered = sort_items(kept, sort_by)
    report = AggregateReport(
        items=ordered,
        groups=group_items(ordered, group_by),
        unique_findings=dedup(ordered),
        checks=verify_items(store, ordered) if verify else {},
        filtered_out=len(items) - len(kept),
        min_relevance=level,
    )
    for i in items:
        given = i.relevance.strip().lower()
        if i.level == UNKNOWN_LEVEL:
            if i.relevance not in report.unknown_relevance:
                report.unknown_relevance.append(i.relevance)
        elif given != i.level:
            report.mapped_relevance[i.relevance] = i.level
    if report.unknown_relevance:
        words = ", ".join(repr(w) for w in report.unknown_relevance[:5])
        report.warnings.append(
            f"{report.count(UNKNOWN_LEVEL)} items have a relevance no level matches ({words});"
            " they are kept under 'unknown': use high, medium, low or none"
        )
    if report.mapped_relevance:
        words = ", ".join(f"{k!r} as {v}" for k, v in list(report.mapped_relevance.items())[:5])
        report.warnings.append(f"relevance read as a level: {words}")
    if run_id is not None:
        report.coverage = run_coverage(store, run_id, items, command=command)
        report.warnings += report.coverage.warnings
    return report


def store_report(
    store: Store,
    name: str,
    report: AggregateReport,
    *,
    embedder_factory: EmbedderFactory | None = None,
    replace: bool = False,
) -> LoadResult:
    """Save the report (its JSON) as a buffer that is chunked, indexed and embedded."""
    import json

    from rlm.ingest.loader import LoadOptions, load_text
    from rlm.io import from_text

    report.output_buffer = name
    text = from_text(
        json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", source="rlm aggregate"
    )
    text.content_type = "json"
    return load_text(
        store,
        text,
        name=name,
        options=LoadOptions(replace=replace, embed=embedder_factory is not None),
        embedder_factory=embedder_factory,
    )


def report_text(report: AggregateReport) -> str:
    """rlm-rs's layout with counts that say what they count, quotes and coverage."""
    filtered = (
        f" ({report.filtered_out} more below --min-relevance {report.min_relevance})"
        if report.filtered_out
        else ""
    )
    levels = [f"{report.count('high')} high", f"{report.count('medium')} medium"]
    levels.append(f"{report.count('low')} low")
    levels += [f"{report.count(k)} {k}" for k in ("none", UNKNOWN_LEVEL) if report.count(k)]
    out = [
        f"Aggregated {len(report.items)} chunk reports{filtered}",
        f"Relevance: {', '.join(levels)}",
        f"Findings: {report.finding_count} in all, {len(report.unique_findings)} distinct",
        "",
    ]
    for key, items in report.groups:
        out.append(f"## {key} ({len(items)} chunks)")
        for item in items:
            first = item.summary or (item.findings[0] if item.findings else "")
            first = " ".join(first.split())
            if len(first) > SUMMARY_PREVIEW:
                first = first[: SUMMARY_PREVIEW - 3] + "..."
            out.append(f"  Chunk {item.chunk_id}: {first}".rstrip())
        out.append("")
    unverified = report.unverified
    if unverified:
        out.append(f"Unverified quotes: {len(unverified)}")
        for _item, check in unverified:
            quote = (
                check.quote.text if len(check.quote.text) <= 60 else check.quote.text[:57] + "..."
            )
            out.append(f'  Chunk {check.quote.chunk_id}: "{quote}" ({check.reason})')
        out.append("")
    cov = report.coverage
    if cov is not None:
        out.append(
            f"Coverage of {cov.run_id}: {cov.answered}/{cov.dispatched} dispatched chunks answered"
        )
        if cov.buffer_missing:
            out.append(f"  Buffer {cov.buffer_name or cov.buffer_id} no longer exists")
        if cov.missing_chunk_ids:
            out.append(f"  Missing chunks: {format_ids(cov.missing_chunk_ids)}")
            if cov.redispatch_command:
                out.append(f"  Re-dispatch: {cov.redispatch_command}")
        if cov.duplicate_chunk_ids:
            out.append(f"  Chunks answered more than once: {format_ids(cov.duplicate_chunk_ids)}")
        if cov.outside_run_chunk_ids:
            out.append(
                "  Findings cite chunks outside the run: " + format_ids(cov.outside_run_chunk_ids)
            )
        out.append("")
    if report.output_buffer:
        out.append(f"Results stored in buffer '{report.output_buffer}'")
    return "\n".join(out).rstrip("\n") + "\n"


__all__ = [
    "AggregateReport",
    "Coverage",
    "QuoteCheck",
    "aggregate",
    "check_quote",
    "redispatch_command",
    "relevance_rank",
    "report_text",
    "run_coverage",
    "store_report",
    "verify_items",
]
