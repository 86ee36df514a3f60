"""update-buffer, dispatch, aggregate: the commands of the map-reduce workflow."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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

    def to_json(self) -> dict[str, Any]:
        return self.report.to_json()


def findings_text(store: Store, findings: str | list[Any] | None, buffer: str | None) -> str:
    """The findings as text: given inline (text or a parsed JSON array), or a buffer's text."""
    from rlm.agents.findings import MAX_INPUT_BYTES

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
    if b.size > MAX_INPUT_BYTES:
        raise InvalidArgumentError(
            f"buffer {b.label} is {b.size} bytes; findings input is limited to {MAX_INPUT_BYTES}"
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
) -> AggregateOutcome:
    """Merge sub-agent findings (inline or from a buffer): filter, group, dedup,
    verify quotes and, with ``run_id``, list dispatched chunks nobody answered."""
    from rlm.agents.aggregate import aggregate as run_aggregate
    from rlm.agents.aggregate import store_report
    from rlm.agents.findings import parse_findings

    raw = findings_text(store, findings, buffer)
    items, skipped = parse_findings(raw, skip_invalid=skip_invalid)
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
    if output_buffer is not None:
        factory = (embedder_factory or default_embedder) if embed else None
        result = store_report(
            store, output_buffer, report, embedder_factory=factory, replace=replace
        )
        warnings += result.warnings
    if report.unverified:
        warnings.append(f"{len(report.unverified)} quoted evidence not found in the cited chunks")
    if report.coverage is not None and report.coverage.missing_chunk_ids:
        warnings.append(
            f"{len(report.coverage.missing_chunk_ids)} dispatched chunks have no finding;"
            f" re-dispatch: {report.coverage.redispatch_command}"
        )
    return AggregateOutcome(report, warnings)
