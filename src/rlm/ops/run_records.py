"""runs: the dispatch runs recorded for ``aggregate --run`` (``rlm runs``, MCP ``runs``).

Every dispatch records a run, so a lost run id (or runs made "just to look")
must be findable: :func:`runs` lists them newest first, :func:`run_detail`
gives one run's parameters and batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rlm.store import Store
from rlm.store.runs import RunSummary

__all__ = ["RunDetail", "RunList", "run_detail", "runs"]


def _summary_json(run: RunSummary) -> dict[str, Any]:
    return {
        "batch_count": run.batch_count,
        "buffer_exists": run.buffer_exists,
        "buffer_id": run.buffer_id,
        "buffer_name": run.buffer_name,
        "chunk_count": run.chunk_count,
        "created_at": run.created_at,
        "run_id": run.run_id,
    }


@dataclass(frozen=True)
class RunList:
    runs: list[RunSummary]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        return [_summary_json(r) for r in self.runs]


def runs(store: Store, limit: int | None = None) -> RunList:
    """Recorded runs, newest first (the newest ``limit`` of them)."""
    return RunList(store.list_runs(limit=limit))


@dataclass(frozen=True)
class RunDetail:
    summary: RunSummary
    params: dict[str, Any]
    batches: list[tuple[int, list[int]]]
    """(batch index, chunk ids) in batch order."""
    warnings: list[str] = field(default_factory=list)

    def batch_json(self) -> list[dict[str, Any]]:
        return [
            {"batch_index": b, "chunk_count": len(ids), "chunk_ids": ids} for b, ids in self.batches
        ]

    def to_json(self) -> dict[str, Any]:
        return _summary_json(self.summary) | {"batches": self.batch_json(), "params": self.params}


def run_detail(store: Store, run_id: str) -> RunDetail:
    """One run: its buffer (and whether it still exists), parameters and batches."""
    _, params, rows = store.get_run(run_id)
    summary = next(r for r in store.list_runs() if r.run_id == run_id)
    batches: dict[int, list[int]] = {}
    for index, chunk_id in rows:
        batches.setdefault(index, []).append(chunk_id)
    warnings = []
    if not summary.buffer_exists:
        warnings.append(
            f"the buffer of {run_id} ({summary.buffer_name or summary.buffer_id}) was deleted"
            " or replaced since the dispatch; its chunk ids no longer exist"
        )
    return RunDetail(summary, params, sorted(batches.items()), warnings)
