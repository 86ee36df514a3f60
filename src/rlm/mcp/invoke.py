"""Run one CLI command in-process and hand back its :class:`Output`.

The MCP tools build an argv and run it through the very click command the
``rlm`` CLI runs, so a tool's JSON is the CLI's ``--format json`` payload by
construction: no second copy of any payload-building code.

Nothing is written to stdout here: the command returns an ``Output`` and the
caller decides what to do with it. Errors come out as :class:`RlmError`
(click usage errors become :class:`UsageError`, anything unexpected an
``InternalError``), exactly the envelope ``rlm --format json`` prints.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence

import click

from rlm.cli.context import AppContext
from rlm.cli.render import Output
from rlm.errors import RlmError, UsageError

log = logging.getLogger("rlm.mcp")


class CommandRunner:
    """Runs CLI commands against one database, one at a time.

    Each call opens the store, runs the command and closes the store (in the
    calling thread, so SQLite connections never cross threads). Calls are
    serialised by a lock: MCP clients may send requests concurrently and the
    store has one writer anyway. The embedding model is cached per process by
    :func:`rlm.embedding.get_embedder`, so it is loaded once and stays warm.
    """

    def __init__(self, db_path: str | None) -> None:
        self.db_path = db_path
        self._lock = threading.Lock()

    def run(self, argv: Sequence[str]) -> Output:
        """Run ``rlm --format json [--db-path P] ARGV...``; raise RlmError on failure."""
        with self._lock:
            return run_command(argv, db_path=self.db_path)


def run_command(argv: Sequence[str], *, db_path: str | None = None) -> Output:
    """Run one command through :func:`rlm.cli.main.execute` and return its Output."""
    from rlm.cli.main import execute

    app = AppContext(db_path=db_path, fmt="json")
    args = ["--db-path", db_path, *argv] if db_path else list(argv)
    try:
        result = execute(args, app)
    except RlmError:
        raise
    except click.exceptions.Exit as exc:
        raise UsageError(f"command exited early with code {exc.exit_code}") from None
    except Exception as exc:
        log.exception("rlm %s failed unexpectedly", " ".join(argv[:2]))
        raise RlmError(
            f"internal error: {type(exc).__name__}: {exc}",
            error_type="InternalError",
            suggestion="See the server's stderr for a traceback and report it",
        ) from exc
    finally:
        app.close()
    if result is None:
        raise RlmError(
            f"internal error: 'rlm {' '.join(argv[:2])}' returned no output",
            error_type="InternalError",
        )
    return result


def opt(name: str, value: object) -> list[str]:
    """``[name, str(value)]``, or nothing when ``value`` is None (the CLI default applies)."""
    if value is None:
        return []
    return [name, str(value)]


def flag(name: str, on: bool | None) -> list[str]:
    """``[name]`` when ``on`` is true."""
    return [name] if on else []


def repeat(name: str, values: Iterable[object] | None) -> list[str]:
    """``[name, v1, name, v2, ...]`` for a repeatable option."""
    out: list[str] = []
    for value in values or ():
        out += [name, str(value)]
    return out
