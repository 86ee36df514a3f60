"""runs: the dispatch runs recorded for 'aggregate --run' (like 'llm logs list').

Every dispatch records a run, so a lost run id, or runs made "just to look",
must be findable: 'rlm runs' lists them newest first, 'rlm runs show ID' gives
one run's batches with their chunk ids as ranges. The data comes from
:mod:`rlm.ops.run_records` (the MCP tool ``runs`` returns the same JSON).
"""

from __future__ import annotations

import time

import click

from rlm.cli.context import AppContext, pass_app
from rlm.cli.render import Output


def _when(stamp: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


@click.group(invoke_without_command=True)
@click.option(
    "-n", "--limit", type=click.IntRange(min=1), help="Only the newest N runs [default: all]."
)
@click.pass_context
def runs(ctx: click.Context, limit: int | None) -> Output | None:
    """List recorded dispatch runs, newest first ('rlm runs show ID' for one)."""
    if ctx.invoked_subcommand is not None:
        return None
    from rlm.cli.context import app_of
    from rlm.ops.run_records import runs as list_runs

    result = list_runs(app_of(ctx).store(), limit=limit)
    found = result.runs

    def text() -> str:
        if not found:
            return "No runs recorded. 'rlm dispatch BUFFER' records one.\n"
        lines = [f"{'Run':<14} {'Created':<20} {'Batches':>7} {'Chunks':>7}  Buffer"]
        for r in found:
            name = r.buffer_name or "-"
            gone = "" if r.buffer_exists else "  (deleted)"
            lines.append(
                f"{r.run_id:<14} {_when(r.created_at):<20} {r.batch_count:>7} {r.chunk_count:>7}"
                f"  {name} (ID {r.buffer_id}){gone}"
            )
        return "\n".join(lines) + "\n"

    return Output(data=result.to_json(), text=text, warnings=result.warnings)


@runs.command(name="show")
@click.argument("run_id", metavar="RUN_ID")
@pass_app
def show(app: AppContext, run_id: str) -> Output:
    """One run: its buffer, parameters and batches (chunk ids as ranges)."""
    from rlm.agents.ids import format_ids
    from rlm.ops.run_records import run_detail

    result = run_detail(app.store(), run_id)
    summary, params = result.summary, result.params

    def text() -> str:
        gone = "" if summary.buffer_exists else " (deleted since)"
        lines = [
            f"Run {run_id}",
            f"  Created:  {_when(summary.created_at)}",
            f"  Buffer:   {summary.buffer_name or '-'} (ID {summary.buffer_id}){gone}",
            f"  Chunks:   {summary.chunk_count} in {summary.batch_count} batches",
        ]
        set_params = {k: v for k, v in params.items() if v is not None and k != "buffer_name"}
        if set_params:
            lines.append(
                "  Options:  " + ", ".join(f"{k}={v}" for k, v in sorted(set_params.items()))
            )
        lines.append("")
        for b, ids in result.batches:
            lines.append(f"Batch {b}: {len(ids)} chunks ({format_ids(ids)})")
        return "\n".join(lines) + "\n"

    return Output(
        data=result.to_json(), text=text, items=result.batch_json(), warnings=result.warnings
    )


def register(root: click.Group) -> None:
    root.add_command(runs)


__all__ = ["register"]
