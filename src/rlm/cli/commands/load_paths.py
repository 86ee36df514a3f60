"""``rlm load PATH...``: one file keeps rlm-rs's output; folders and globs report a summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlm.cli.context import AppContext
from rlm.cli.options import embedder_factory, progress_bar
from rlm.cli.render import Output, safe
from rlm.io import open_file
from rlm.loader import LoadOptions

if TYPE_CHECKING:
    from rlm.collection import SyncReport


def load_paths(
    app: AppContext,
    paths: tuple[str, ...],
    *,
    name: str | None,
    opts: LoadOptions,
    model: str | None,
    model_path: str | None,
    lossy: bool,
    max_file_size: int,
    collection: str | None,
) -> Output:
    single = len(paths) == 1 and not any(ch in paths[0] for ch in "*?[")
    if single and not Path(paths[0]).is_dir():
        from rlm.cli.commands.buffers import _single_output, run_load

        with open_file(paths[0], lossy=lossy, max_size=max_file_size) as text:
            result = run_load(app, text, name or Path(paths[0]).name, opts, model, model_path)
        return _single_output(result)
    from rlm.collection import sync_paths

    with progress_bar("Loading files") as progress, progress_bar("Embedding") as embed_progress:
        report = sync_paths(
            app.store(),
            paths,
            options=opts,
            collection=collection,
            lossy=lossy,
            max_file_size=max_file_size,
            embedder_factory=embedder_factory(model, model_path),
            progress=progress,
            embed_progress=embed_progress,
        )
    return Output(data=report_json(report), text=report_text(report), warnings=report.warnings)


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
    if report.skipped:
        lines.append(f"  skipped {len(report.skipped)}:")
        for path, reason in report.skipped[:20]:
            lines.append(f"    {safe(path)}: {safe(reason)}")  # names may hold newlines
        if len(report.skipped) > 20:
            lines.append(f"    ... and {len(report.skipped) - 20} more (see --format json)")
    return "\n".join(lines) + "\n"
