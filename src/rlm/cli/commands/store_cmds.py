"""init, status, reset, vacuum, and the ``store`` group (copy, export): the database itself."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from rlm import notices
from rlm.cli.context import AppContext, pass_app
from rlm.cli.options import progress_bar
from rlm.cli.render import Output
from rlm.errors import ConfirmationRequiredError
from rlm.ingest.background import EmbedProgress
from rlm.notices import duration
from rlm.store import DEFAULT_DB_PATH, Store

if TYPE_CHECKING:
    from rlm.ops.store_move import CopyPlan, StoreCopied


def embedding_lines(p: EmbedProgress | None) -> list[str]:
    """Progress and ETA while chunks lack vectors, chunks whose passages are from older
    passage rules; the worker's last error if it failed."""
    if p is None:
        return []
    lines: list[str] = []
    if p.missing:
        line = f"  Vectors:       {p.percent:.0f}% of chunks ({p.missing:,} to embed"
        eta = p.eta_seconds
        if p.worker_running:
            line += ", background worker running"
            line += f", {duration(eta)} left)" if eta is not None else ")"
        else:
            line += "; run 'rlm chunk embed' to embed them in the background)"
        lines.append(line)
    elif p.worker_running:
        lines.append("  Vectors:       100% of chunks (background worker finishing)")
    if p.replan_chunks:
        lines.append(
            f"  Passages:      {p.replan_chunks:,} chunks planned under older passage rules ("
            + (
                "background worker re-planning them)"
                if p.worker_running and p.replan_requested
                else "search still uses them; run 'rlm chunk embed' to re-plan them)"
            )
        )
    if p.replan_other_chunks:
        lines.append(f"  Other model:   {notices.other_model_passages(p.replan_other_chunks)}")
    error = p.state.get("error")
    if error and not p.worker_running and p.missing:
        lines.append(f"  Worker error:  {error} (log: {p.log})")
    return lines


def _init_url(url: str, force: bool) -> Output:
    """``init`` on a PostgreSQL URL: create the schema, or open (and migrate) it."""
    from rlm.store.postgres.connection import redact

    with Store.init(url, force=force) as store:
        existed = store.stats().buffer_count > 0 and not force
    shown = redact(url)
    message = f"Initialized RLM database at: {shown}"
    return Output(
        data={"created": not existed, "db_path": shown, "hides_store": None, "message": message},
        text=message + "\n",
    )


@click.command()
@click.option("-f", "--force", is_flag=True, help="Delete an existing database and start again.")
@pass_app
def init(app: AppContext, force: bool) -> Output:
    """Create the database (idempotent: an existing one is left as it is)."""
    if app.db_url is not None:
        return _init_url(app.db_url, force)
    path = app.resolved_db_path if app.db_path else Store.default_init_path()
    existed = path.exists()
    warnings: list[str] = []
    hidden = None if existed else _parent_store(path)
    if existed and not force:
        # Idempotent: open (and migrate) the existing database instead of failing.
        Store.open(path).close()
        message = f"Database already initialized at: {path}"
    else:
        Store.init(path, force=force).close()
        message = f"Initialized RLM database at: {path}"
    if hidden is not None:
        warnings.append(
            f"a store already exists in a parent folder ({hidden}); commands run in"
            f" {path.absolute().parent.parent} and below now use this new, empty store"
            f" instead. To use the parent's, delete {path.absolute().parent} or pass -d {hidden}"
        )
    return Output(
        data={
            "created": not existed or force,
            "db_path": str(path),
            "hides_store": str(hidden) if hidden is not None else None,
            "message": message,
        },
        text=message + "\n",
        warnings=warnings,
    )


def _parent_store(path: Path) -> Path | None:
    """The store a new ``path`` would hide from its folder (git's nested-repo surprise)."""
    if path.name != DEFAULT_DB_PATH.name or path.parent.name != DEFAULT_DB_PATH.parent.name:
        return None  # an explicit -d elsewhere hides nothing: discovery never finds it
    folder = path.absolute().parent.parent
    for parent in folder.parents:
        candidate = parent / DEFAULT_DB_PATH
        if candidate.exists():
            return candidate
    return None


VACUUM_HINT_BYTES = 10 * 1024 * 1024
"""Status suggests vacuum when at least this much (and half the file) is free."""


@click.command()
@pass_app
def status(app: AppContext) -> Output:
    """Buffers, chunks, size and schema of the database."""
    from rlm.cli.render import human_size
    from rlm.ops.store import status as run_status

    result = run_status(app.store())
    s, data = result.stats, result.to_json()
    total, free = result.total_bytes, result.free_bytes
    lines = [
        "RLM Status",
        "==========",
        "",
        f"  Buffers:       {s.buffer_count}",
        f"  Chunks:        {s.chunk_count}",
        f"  Embedded:      {data['embedded_count']}",
        *embedding_lines(result.embedding),
        f"  Content size:  {s.total_content_size} bytes",
        f"  Context:       {'yes' if s.has_context else 'no'}",
        f"  Schema:        v{s.schema_version}",
    ]
    if s.db_size is not None:
        size_line = f"  DB size:       {s.db_size} bytes ({human_size(s.db_size)})"
        if free > VACUUM_HINT_BYTES and free * 2 > total:
            size_line += f", {free * 100 // total}% free: 'rlm vacuum' gives it back"
        lines.append(size_line)
    lines.append(f"  DB path:       {result.db_path}")
    return Output(data=data, text="\n".join(lines) + "\n")


@click.command()
@pass_app
def vacuum(app: AppContext) -> Output:
    """Shrink the database file: give back the space deleted buffers left behind."""
    from rlm.cli.render import human_size
    from rlm.ops.store import vacuum as run_vacuum

    result = run_vacuum(app.store())
    message = (
        f"Vacuumed {result.db_path}: {human_size(result.size_before)} ->"
        f" {human_size(result.size_after)}"
        f" ({human_size(max(0, result.size_before - result.size_after))} freed)"
    )
    return Output(data=result.to_json(), text=message + "\n")


@click.command()
@click.option("-y", "--yes", is_flag=True, help="Confirm: delete every buffer and chunk.")
@pass_app
def reset(app: AppContext, yes: bool) -> Output:
    """Delete all buffers, chunks, vectors and variables (the schema stays)."""
    if not yes:
        raise ConfirmationRequiredError("reset. This will delete all data")
    app.store().reset()
    message = "RLM state reset successfully."
    return Output(data={"message": message, "success": True}, text=message + "\n")


@click.group(name="store")
def store_group() -> None:
    """Move a store's contents: copy into another store, export to one file."""


@store_group.command(name="copy")
@click.argument("src")
@click.argument("dst")
@click.option(
    "--rename",
    "on_clash",
    flag_value="rename",
    help="Copy buffers, variables and runs whose names DST already has under new names (NAME~1).",
)
@click.option(
    "--skip",
    "on_clash",
    flag_value="skip",
    help="Keep DST's buffer, variable or run where names clash; copy the rest.",
)
@click.option(
    "--reembed",
    is_flag=True,
    help="Embed, with DST's model, every copied chunk left without a vector (vectors of"
    " another model are not copied).",
)
@click.option(
    "--id-map",
    "id_map",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the old -> new chunk id map to this JSON file (else it is in --format json).",
)
@click.option("--dry-run", is_flag=True, help="Say what would be copied; write nothing.")
@pass_app
def store_copy_cmd(
    app: AppContext,
    src: str,
    dst: str,
    on_clash: str | None,
    reembed: bool,
    id_map: str | None,
    dry_run: bool,
) -> Output:
    """Copy every buffer, chunk, vector, variable and dispatch run of SRC into DST.

    SRC and DST are SQLite paths or postgresql:// URLs: SQLite -> PostgreSQL,
    PostgreSQL -> SQLite, or SQLite -> SQLite (a merge). DST changes in one
    transaction: on any failure it stays as it was. A missing SQLite DST is
    created. Chunk ids are DST's own: the old -> new map is reported. Vectors
    are copied where their model is DST's (the model rlm is set to use), and
    names already in DST are refused unless --rename or --skip.
    """
    from rlm.ops.store_move import copy_stores

    with progress_bar("Copying buffers") as progress:
        result = copy_stores(
            src,
            dst,
            on_clash=on_clash or "refuse",
            reembed=reembed,
            dry_run=dry_run,
            id_map_file=id_map,
            progress=progress,
            announce=None if dry_run or app.json else _announce,
        )
    return Output(data=result.to_json(), text=_copy_text(result), warnings=result.warnings)


def _plan_line(plan: CopyPlan) -> str:
    return (
        f"{len(plan.copied_buffers):,} buffer(s), {plan.chunk_count:,} chunk(s),"
        f" {sum(len(v) for v in plan.values.values()):,} variable(s) and {len(plan.runs):,}"
        f" dispatch run(s)"
    )


def _announce(plan: CopyPlan, source: str, destination: str) -> None:
    """Before a long copy starts, say on stderr what it is about to copy, and where."""
    from rlm.cli.render import safe

    click.echo(safe(f"Copying {_plan_line(plan)} from {source} to {destination}"), err=True)


def _copy_text(result: StoreCopied) -> str:
    plan = result.plan
    vectors = ", ".join(f"{n:,} of {m}" for m, n in plan.vectors_by_model.items()) or "none"
    head = "Would copy" if result.dry_run else "Copied"
    lines = [
        f"{head} {_plan_line(plan)}",
        f"  from: {result.source}",
        f"  to:   {result.destination}{' (created)' if result.created else ''}",
        f"  source vectors: {vectors}",
    ]
    if result.target_model:
        lines.append(f"  destination model: {result.target_model}")
    if not result.dry_run:
        lines.append(
            f"  written: {result.chunks:,} chunks ({len(result.id_map):,} ids remapped),"
            f" {result.vectors:,} chunk vectors, {result.passages:,} passage vectors"
            + (f", {result.reembedded:,} re-embedded" if result.reembedded else "")
        )
        if result.id_map_file:
            lines.append(f"  id map: {result.id_map_file}")
    return "\n".join(lines) + "\n"


@store_group.command(name="export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-f", "--force", is_flag=True, help="Replace FILE if it exists.")
@pass_app
def store_export_cmd(app: AppContext, file: str, force: bool) -> Output:
    """Write the whole store (-d / RLM_DB_PATH, SQLite or PostgreSQL) to one SQLite FILE.

    The file holds every buffer, chunk, vector (whatever its model), variable
    and run: 'rlm -d FILE search ...' works on it alone, without the sources
    or a server. FILE is written under a temporary name and renamed into place
    when complete; an existing FILE is refused unless --force.
    """
    from rlm.cli.render import human_size
    from rlm.ops.store_move import store_export

    with progress_bar("Exporting buffers") as progress:
        result = store_export(app.store(), file, force=force, progress=progress)
    copied = result.copied
    text = (
        f"Exported {len(copied.plan.copied_buffers):,} buffer(s), {copied.chunks:,} chunks,"
        f" {copied.vectors:,} chunk vectors and {copied.passages:,} passage vectors to"
        f" {result.path} ({human_size(result.size)})"
        + (" (replaced)" if result.replaced else "")
        + "\n"
    )
    return Output(data=result.to_json(), text=text, warnings=result.warnings)


def register(root: click.Group) -> None:
    for command in (init, status, reset, vacuum, store_group):
        root.add_command(command)
