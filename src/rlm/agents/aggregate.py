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

Coverage (``run_id``): the chunks the run dispatched against the chunks the
findings answer (any relevance, ``none`` included, counts as an answer).
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rlm.agents.findings import FindingItem, Quote
from rlm.errors import ChunkNotFoundError, ChunkSupersededError, InvalidArgumentError
from rlm.ingest.loader import EmbedderFactory, LoadResult
from rlm.store import Store

RELEVANCE_LEVELS = ("high", "medium", "low", "none")
GROUP_BY = ("relevance", "chunk_id", "none")
SORT_BY = ("relevance", "chunk_id", "findings_count", "none")
SUMMARY_PREVIEW = 80
_TYPOGRAPHY = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…|\[\.\.\.\])\s*")


def relevance_rank(value: str) -> int:
    """high 0, medium 1, low 2, none 3, anything else 4 (case-insensitive)."""
    v = value.strip().lower()
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

    @property
    def complete(self) -> bool:
        return not self.missing_chunk_ids

    def to_json(self) -> dict[str, Any]:
        return {
            "answered_chunks": self.answered,
            "buffer_id": self.buffer_id,
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

    def count(self, level: str) -> int:
        return sum(1 for i in self.items if i.relevance.strip().lower() == level)

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
                "high_relevance": self.count("high"),
                "low_relevance": self.count("low"),
                "medium_relevance": self.count("medium"),
                "none_relevance": self.count("none"),
                "total_findings": len(self.items),
                "unique_findings": len(self.unique_findings),
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


def check_quote(quote: str, content: str) -> tuple[bool, str | None]:
    """Whether ``quote`` is in ``content``: exact, normalised, or as ordered fragments."""
    if quote in content:
        return True, "exact"
    q, c = normalise(quote), normalise(content)
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
    out: dict[int, list[QuoteCheck]] = {}
    for item in items:
        checks: list[QuoteCheck] = []
        for q in item.quotes:
            text, note = texts[q.chunk_id]
            if text is None:
                checks.append(QuoteCheck(q, False, None, note))
                continue
            ok, how = check_quote(q.text, text)
            reason = None if ok else f"quote not found in chunk {q.chunk_id}"
            if note and not ok:
                reason = f"{reason} ({note})"
            checks.append(QuoteCheck(q, ok, how, reason))
        if checks:
            out[item.position] = checks
    return out


# --- ordering -----------------------------------------------------------------


def sort_items(items: list[FindingItem], sort_by: str) -> list[FindingItem]:
    key = sort_by.lower()
    if key == "relevance":
        return sorted(items, key=lambda i: relevance_rank(i.relevance))
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
            groups.setdefault(i.relevance.strip().lower(), []).append(i)
        return sorted(groups.items(), key=lambda kv: (relevance_rank(kv[0]), kv[0]))
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
    command_line = None
    if missing:
        try:
            label = store.get_buffer(buffer_id).label
        except Exception:  # the buffer was deleted since: name it by id
            label = str(buffer_id)
        parts = [command, "dispatch", shlex.quote(label), "--chunks", ",".join(map(str, missing))]
        if params.get("max_tokens"):
            parts += ["--max-tokens", str(params["max_tokens"])]
        if params.get("batch_size"):
            parts += ["--batch-size", str(params["batch_size"])]
        command_line = " ".join(parts)
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
    kept = [i for i in items if relevance_rank(i.relevance) <= limit]
    ordered = sort_items(kept, sort_by)
    report = AggregateReport(
        items=ordered,
        groups=group_items(ordered, group_by),
        unique_findings=dedup(ordered),
        checks=verify_items(store, ordered) if verify else {},
        filtered_out=len(items) - len(kept),
    )
    if run_id is not None:
        report.coverage = run_coverage(store, run_id, items, command=command)
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
    """rlm-rs's text layout, plus unverified quotes and the coverage ledger."""
    out = [
        f"Aggregated {len(report.items)} analyst findings",
        f"Relevance: {report.count('high')} high, {report.count('medium')} medium,"
        f" {report.count('low')} low",
        f"Unique findings: {len(report.unique_findings)}",
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
        if cov.missing_chunk_ids:
            out.append(f"  Missing chunks: {', '.join(map(str, cov.missing_chunk_ids))}")
            out.append(f"  Re-dispatch: {cov.redispatch_command}")
        if cov.duplicate_chunk_ids:
            out.append(
                f"  Chunks answered more than once: {', '.join(map(str, cov.duplicate_chunk_ids))}"
            )
        if cov.outside_run_chunk_ids:
            out.append(
                "  Findings cite chunks outside the run: "
                + ", ".join(map(str, cov.outside_run_chunk_ids))
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
    "relevance_rank",
    "report_text",
    "run_coverage",
    "store_report",
    "verify_items",
]
