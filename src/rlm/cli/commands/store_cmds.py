"""init, status, reset: the database itself."""

from __future__ import annotations

import click

from rlm.cli.context import AppContext, pass_app
from rlm.cli.render import Output
from rlm.errors import ConfirmationRequiredError
from rlm.store import Store


@click.command()
@click.option("-f", "--force", is_flag=True, help="Delete an existing database and start again.")
@pass_app
def init(app: AppContext, force: bool) -> Output:
    """Create the database (idempotent: an existing one is left as it is)."""
    path = app.resolved_db_path if app.db_path else Store.default_init_path()
    existed = path.exists()
    if existed and not force:
        # Idempotent: open (and migrate) the existing database instead of failing.
        Store.open(path).close()
        message = f"Database already initialized at: {path}"
    else:
        Store.init(path, force=force).close()
        message = f"Initialized RLM database at: {path}"
    return Output(
        data={"created": not existed or force, "db_path": str(path), "message": message},
        text=message + "\n",
    )


@click.command()
@pass_app
def status(app: AppContext) -> Output:
    """Buffers, chunks, size and schema of the database."""
    from rlm.ops.store import status as run_status

    result = run_status(app.store())
    s, data = result.stats, result.to_json()
    lines = [
        "RLM Status",
        "==========",
        "",
        f"  Buffers:       {s.buffer_count}",
        f"  Chunks:        {s.chunk_count}",
        f"  Embedded:      {data['embedded_count']}",
        f"  Content size:  {s.total_content_size} bytes",
        f"  Context:       {'yes' if s.has_context else 'no'}",
        f"  Schema:        v{s.schema_version}",
    ]
    if s.db_size is not None:
        lines.append(f"  DB size:       {s.db_size} bytes")
    lines.append(f"  DB path:       {result.db_path}")
    return Output(data=data, text="\n".join(lines) + "\n")


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


def register(root: click.Group) -> None:
    for command in (init, status, reset):
        root.add_command(command)
