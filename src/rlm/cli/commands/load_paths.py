"""How ``rlm load`` reports: one buffer keeps rlm-rs's output; folders and globs a summary.

The decision what to load (stdin, one file, folders, globs) is the library's
(:func:`rlm.ingest.load.load`); this module only renders its result.
"""

from __future__ import annotations

from typing import Any

from rlm.cli.render import Output
from rlm.ingest.collection import SyncReport
from rlm.ingest.loader import LoadResult

LISTED = 20
"""Text mode lists at most this many skipped or removed names (JSON lists all)."""


def load_output(result: LoadResult | SyncReport) -> Output:
    if isinstance(result, SyncReport):
        return Output(data=report_json(result), text=report_text(result), warnings=result.warnings)
    return single_output(result)


def load_result_json(result: LoadResult) -> dict[str, Any]:
    return {
        "buffer_id": result.buffer_id,
        "chunk_count": result.chunk_count,
        "embedded_count": result.embedded_count,
        "model": result.model,
        "name": result.name,
        "replaced": result.replaced_buffer,
        "size": result.size,
        "source": result.source,
    }


def load_warnings(result: LoadResult) -> list[str]:
    warnings = []
    if result.fallback_reason:
        warnings.append(
            f"embedding model unavailable ({result.fallback_reason}); used the hash fallback,"
            " so semantic search is lexical only. Run 'rlm model doctor'."
        )
    if result.embed_error is not None:
        warnings.append(
            f"{result.unembedded} chunks not embedded ({result.embed_error.message});"
            f" run 'rlm chunk embed {result.name or result.buffer_id}'"
        )
    return warnings


def single_output(result: LoadResult) -> Output:
    text = (
        f"Loaded buffer {result.name or 'unnamed'} (ID: {result.buffer_id}) with"
        f" {result.chunk_count} chunks ({result.embedded_count} embedded)"
        f" from {result.source or '<stdin>'}\n"
    )
    return Output(data=load_result_json(result), text=text, warnings=load_warnings(result))


def report_json(report: SyncReport) -> dict[str, Any]:
    return {
        "added": report.added,
        "changed": report.changed,
        "chunk_count": report.chunk_count,
        "collection": report.collection,
        "embedded_count": report.embedded_count,
        "file_count": report.file_count,
        "removed": report.removed,
        "reused_chunks": report.reused_chunks,
        "skipped": [{"path": p, "reason": r} for p, r in report.skipped],
        "sync": report.sync,
        "unchanged": report.unchanged,
    }


def report_text(report: SyncReport) -> str:
    lines = [
        f"Loaded collection '{report.collection}': {report.file_count} files",
        f"  added {len(report.added)}, changed {len(report.changed)},"
        f" removed {len(report.removed)}, unchanged {report.unchanged}",
        f"  {report.chunk_count} chunks written, {report.embedded_count} embedded,"
        f" {report.reused_chunks} reused",
    ]
    if report.removed:
        lines.append(f"  removed {len(report.removed)} (--sync: not in the paths any more):")
        lines += _listed(report.removed)
    if report.skipped:
        lines.append(f"  skipped {len(report.skipped)}:")
        lines += _listed([f"{path}: {reason}" for path, reason in report.skipped])
    return "\n".join(lines) + "\n"


def _listed(items: list[str]) -> list[str]:
    lines = [f"    {item}" for item in items[:LISTED]]
    if len(items) > LISTED:
        lines.append(f"    ... and {len(items) - LISTED} more (see --format json)")
    return lines
