"""``rlm mcp``: serve the store to MCP clients (Claude Code, Claude Desktop...) over stdio."""

from __future__ import annotations

import click

from rlm.cli.context import AppContext, pass_app


@click.command(name="mcp")
@click.option(
    "--read-only",
    is_flag=True,
    help="Nothing changes the store: no load tool, dispatch records no run,"
    " aggregate stores no report.",
)
@click.option(
    "--warm",
    is_flag=True,
    help="Load the embedding model at start-up instead of on the first semantic call.",
)
@pass_app
def mcp_command(app: AppContext, read_only: bool, warm: bool) -> None:
    """Serve the store as MCP tools over stdio (search, chunk_get, grep, peek, load...).

    Register it with an MCP client, e.g. `claude mcp add rlm -- rlm mcp`.
    The store is the one -d/--db-path (or RLM_DB_PATH, or the nearest
    .rlm/rlm-state.db) names, resolved once at start-up. Tool results are the
    JSON `rlm --format json` prints. Stdout carries protocol messages only;
    logs go to stderr. Stops when the client closes stdin.
    """
    import logging
    import sys

    try:
        from rlm.mcp.server import serve
    except ImportError as exc:
        from rlm.errors import ConfigError

        raise ConfigError(
            f"the MCP SDK 2.x is needed for 'rlm mcp' ({exc})",
            suggestion="pip install 'mcp>=2.3,<3'",
        ) from None

    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if app.verbose else logging.WARNING,
        format="rlm mcp: %(levelname)s %(message)s",
    )
    db_path = app.resolved_db_path.absolute()
    logging.getLogger("rlm.mcp").info("serving %s", db_path)
    serve(str(db_path), read_only=read_only, warm=warm)


def register(root: click.Group) -> None:
    root.add_command(mcp_command)
