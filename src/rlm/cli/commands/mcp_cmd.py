"""``rlm mcp``: serve the store to MCP clients over stdio, or over HTTP for a shared store."""

from __future__ import annotations

import click

from rlm.cli.context import AppContext, pass_app
from rlm.errors import UsageError
from rlm.store.postgres.connection import redact


@click.command(name="mcp")
@click.option(
    "--read-only",
    is_flag=True,
    help="Nothing changes the store: no load tool, dispatch records no run,"
    " aggregate stores no report. (Always so over HTTP without --allow-write.)",
)
@click.option(
    "--warm",
    is_flag=True,
    help="Load the embedding model at start-up instead of on the first semantic call.",
)
@click.option(
    "--http",
    "listen",
    metavar="[HOST:]PORT",
    help="Serve over streamable HTTP at http://HOST:PORT/mcp instead of stdio"
    " (HOST defaults to 127.0.0.1).",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="HTTP: the bearer token clients must send [default: env RLM_MCP_TOKEN]."
    " Without a token only a loopback HOST is allowed.",
)
@click.option(
    "--allow-write",
    is_flag=True,
    help="HTTP: offer the load tool, record runs and store reports (read-only otherwise).",
)
@click.option(
    "--root",
    "roots",
    multiple=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Folders the load tool may read below (repeatable) [default: the working folder].",
)
@click.option(
    "--allow-secrets",
    is_flag=True,
    help="Let load read names that usually hold secrets (.ssh, .aws, .gnupg, .env*, keys).",
)
@pass_app
def mcp_command(
    app: AppContext,
    read_only: bool,
    warm: bool,
    listen: str | None,
    token_file: str | None,
    allow_write: bool,
    roots: tuple[str, ...],
    allow_secrets: bool,
) -> None:
    """Serve the store as MCP tools (search, chunk_get, grep, peek, load...) over stdio or HTTP.

    Register it with an MCP client, e.g. `claude mcp add rlm -- rlm mcp`.
    The store is the one -d/--db-path (or RLM_DB_PATH, or the nearest
    .rlm/rlm-state.db) names, resolved once at start-up. Tool results are the
    JSON `rlm --format json` prints. Over stdio, stdout carries protocol
    messages only and the server stops when the client closes stdin; logs go
    to stderr. With --http, clients send `Authorization: Bearer TOKEN`.
    """
    import logging
    import sys
    from pathlib import Path

    from rlm.mcp.access import PathPolicy
    from rlm.mcp.server import build_server, warm_model

    if listen is None and (token_file or allow_write):
        raise UsageError("--token-file and --allow-write go with --http")
    if read_only and allow_write:
        raise UsageError("use either --read-only or --allow-write, not both")
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if app.verbose else logging.WARNING,
        format="rlm mcp: %(levelname)s %(message)s",
    )
    db_path: str | Path = app.db_url or app.resolved_db_path.absolute()
    logging.getLogger("rlm.mcp").info("serving %s", redact(str(db_path)))
    policy = PathPolicy.for_roots(roots or [Path.cwd()], allow_secrets=allow_secrets)
    writes = allow_write if listen is not None else not read_only
    server = build_server(db_path, read_only=not writes, policy=policy)
    if warm:
        warm_model()
    if listen is None:
        server.run("stdio")
        return
    from rlm.mcp.http import parse_listen, read_token, serve_http

    address = parse_listen(listen)
    serve_http(server, address, read_token(token_file))


def register(root: click.Group) -> None:
    root.add_command(mcp_command)
