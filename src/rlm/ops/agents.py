"""update-buffer, dispatch, aggregate: the commands of the map-reduce workflow."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rlm.agents.findings import DEFAULT_MAX_INPUT_BYTES, DEFAULT_MAX_ITEMS
from rlm.defaults import DEFAULT_MODE, DEFAULT_THRESHOLD
from rlm.errors import InvalidArgumentError
from rlm.ingest.options import Progress
from rlm.ingest.update import UpdateResult, options_for_buffer, update_text
from rlm.io import SourceText
from rlm.ops.base import EmbedderFactory, default_embedder
from rlm.store import Store

if TYPE_CHECKING:
    from rlm.agents.aggregate import AggregateReport
    from rlm.agents.dispatch import DispatchPlan

__all__ = [
    "AggregateOutcome",
    "DispatchOutcome",
    "UpdateResult",
    "aggregate",
    "dispatch",
    "update_buffer",
]


# --- update-buffer ------------------------------------------------------------


def update_buffer(
    store: Store,
    buffer: str,
    text: SourceText,
    *,
    chunker: str | None = None,
    chunk_size: int | None = None,
    overlap: int | None = None,
    language: str | None = None,
    embed: bool = True,
    embedder_factory: EmbedderFactory | None = None,
    progress: Progress | None = None,
) -> UpdateResult:
    """Replace a buffer's text keeping unchanged chunk ids.

    Chunking settings left as None are the buffer's own (from its load).
    """
    b = store.resolve_buffer(buffer)
    opts = options_for_buffer(
        b,
        chunker=chunker.lower() if chunker is not None else None,
        chunk_size=chunk_size,
        overlap=overlap,
        embed=embed,
        language=language,
    )
    factory = embedder_factory or default_embedder
    return update_text(store, b.id, text, opts, factory, progress=progress)


# --- dispatch -----------------------------------------------------------------


@dataclass(frozen=True)
class DispatchOutcome:
    plan: DispatchPlan
    command: str
    """How the instructions spell the CLI (``rlm -d PATH``) for sub-agents with a shell."""

    @property
    def warnings(self) -> list[str]:
        return self.plan.warnings

    def to_json(self) -> dict[str, Any]:
        from rlm.agents.dispatch import plan_json

        return plan_json(self.plan, command=self.command)


def dispatch(
    store: Store,
    buffer: str,
    *,
    batch_size: int | None = None,
    workers: int | None = None,
    max_tokens: int | None = None,
    query: str | None = None,
    mode: str = DEFAULT_MODE,
    threshold: float = DEFAULT_THRESHOLD,
    top_k: int | None = None,
    chunk_ids: Sequence[int] | None = None,
    record: bool = True,
    embedder_factory: EmbedderFactory | None = None,
    command: str = "rlm",
) -> DispatchOutcome:
    """Batches of a buffer's chunks for sub-agents, recorded as a run unless ``record`` is off."""
    from rlm.agents import dispatch as planner

    plan = planner.dispatch(
        store,
        buffer,
        batch_size=batch_size,
        workers=workers,
        max_tokens=max_tokens,
        query=query,
        mode=mode,
        threshold=threshold,
        top_k=top_k,
        chunk_ids=chunk_ids,
        embedder=embedder_factory,
        record=record,
    )
    return DispatchOutcome(plan, command)


# --- aggregate ----------------------------------------------------------------


@dataclass(frozen=True)
class AggregateOutcome:
    report: AggregateReport
    warnings: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    """Unverified quotes, unanswered dispatched chunks, skipped invalid items."""
    strict: bool = False

    @property
    def failed(self) -> bool:
        """``strict`` and a gap: the CLI exits 1 (the report is still complete)."""
        return self.strict and bool(self.gaps)

    def to_json(self) -> dict[str, Any]:
        data = self.report.to_json()
        data["strict"] = {"enabled": self.strict, "failed": self.failed, "gaps": self.gaps}
        return data


def findings_text(
    store: Store,
    findings: str | list[Any] | None,
    buffer: str | None,
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
) -> str:
    """The findings as text: given inline (text or a parsed JSON array), or a buffer's text."""
    if (findings is None) == (buffer is None):
        raise InvalidArgumentError(
            "pass exactly one of findings or buffer",
            suggestion="findings takes the JSON array the sub-agents returned",
        )
    if findings is not None:
        if isinstance(findings, str):
            return findings
        return json.dumps(findings, ensure_ascii=False)
    b = store.resolve_buffer(buffer or "")
    if b.size > max_input_bytes:
        raise InvalidArgumentError(
            f"buffer {b.label} is {b.size} bytes; findings input is limited to {max_input_bytes}",
            suggestion="Raise the limit with --max-input-size",
        )
    return store.read_buffer(b.id)


def aggregate(
    store: Store,
    findings: str | list[Any] | None = None,
    *,
    buffer: str | None = None,
    run_id: str | None = None,
    min_relevance: str = "low",
    group_by: str = "relevance",
    sort_by: str = "relevance",
    output_buffer: str | None = None,
    replace: bool = False,
    verify: bool = True,
    skip_invalid: bool = False,
    embed: bool = True,
    embedder_factory: EmbedderFactory | None = None,
    command: str = "rlm",
    strict: bool = False,
    max_items: int = DEFAULT_MAX_ITEMS,
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
) -> AggregateOutcome:
    """Merge sub-agent findings (inline or from a buffer): filter, group, dedup,
    verify quotes and, with ``run_id``, list dispatched chunks nobody answered.

    Findings are a stream of JSON values (arrays, objects, NDJSON, fences);
    at most ``max_items`` items and ``max_input_bytes`` of text. ``strict``
    marks the outcome failed when quotes are unverified, dispatched chunks
    unanswered or invalid items skipped (``gaps``).
    """
    from rlm.agents.aggregate import aggregate as run_aggregate
    from rlm.agents.aggregate import store_report
    from rlm.agents.findings import parse_findings

    if run_id is not None:
        store.get_run(run_id)  # a wrong id fails before the findings are read
    raw = findings_text(store, findings, buffer, max_input_bytes)
    items, skipped = parse_findings(
        raw, skip_invalid=skip_invalid, max_items=max_items, max_input_bytes=max_input_bytes
    )
    report = run_aggregate(
        store,
        items,
        min_relevance=min_relevance,
        group_by=group_by,
        sort_by=sort_by,
        run_id=run_id,
        verify=verify,
        command=command,
    )
    warnings = [f"skipped invalid {problem}" for problem in skipped]
    warnings += report.warnings
    if output_buffer is not None:
        factory = (embedder_factory or default_embedder) if embed else None
        result = store_report(
            store, output_buffer, report, embedder_factory=factory, replace=replace
        )
        warnings += result.warnings
    gaps = report.gaps()
    if skipped:
        gaps.append(f"{len(skipped)} invalid items skipped")
    warnings += gaps
    if report.coverage is not None and report.coverage.redispatch_command:
        warnings.append(f"re-dispatch: {report.coverage.redispatch_command}")
    return AggregateOutcome(report, warnings, gaps, strict)
