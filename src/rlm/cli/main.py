"""The ``rlm`` entry point: parse, run one library call, render, exit 0/1/2.

Exit codes: 0 success, 1 a command error (bad input, missing buffer...), 2 a
usage error (unknown flag, bad value). No input ever produces a Python
traceback; ``--debug`` shows one for unexpected errors. A closed stdout
(``rlm ... | head``) ends the process quietly.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import click

from rlm import __version__
from rlm.cli.commands import LazyGroup
from rlm.cli.context import AppContext
from rlm.cli.render import FORMAT_ALIASES, FORMATS, Output, emit, emit_error
from rlm.errors import CommandInterrupted, RlmError, UsageError

_VALUE_GLOBALS = ("--format", "--db-path")
_FLAG_GLOBALS = ("--debug", "--verbose", "-v")


def split_global_options(argv: Sequence[str]) -> tuple[list[str], dict[str, str | bool]]:
    """Pull ``--format``, ``--db-path``, ``--debug`` and ``-v`` from anywhere.

    rlm-rs accepted ``--format`` at any position but ``--db-path`` only before
    the subcommand; here both work anywhere (before a ``--``).
    """
    rest: list[str] = []
    found: dict[str, str | bool] = {}
    i = 0
    args = list(argv)
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name, eq, value = arg.partition("=")
        if name in _VALUE_GLOBALS:
            if eq:
                found[name] = value
            elif i + 1 < len(args):
                found[name] = args[i + 1]
                i += 1
            else:
                raise UsageError(f"option {name} requires a value")
        elif arg in _FLAG_GLOBALS:
            found["--verbose" if arg == "-v" else arg] = True
        else:
            rest.append(arg)
        i += 1
    return rest, found


def normalise_format(value: str) -> str:
    fmt = value.lower()
    fmt = FORMAT_ALIASES.get(fmt, fmt)
    if fmt not in FORMATS:
        raise UsageError(
            f"invalid value for --format: '{value}'",
            suggestion="Use one of: text, json, ndjson",
        )
    return fmt


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "-d",
    "--db-path",
    "db_path",
    envvar="RLM_DB_PATH",
    metavar="PATH",
    help="Database file [env RLM_DB_PATH; default: nearest .rlm/rlm-state.db].",
)
@click.option(
    "--format",
    "fmt",
    default="text",
    metavar="FORMAT",
    help="Output format: text, json or ndjson (every command and error).",
)
@click.option("--debug", is_flag=True, help="Show a traceback for unexpected errors.")
@click.option("-v", "--verbose", is_flag=True, help="More detail on stderr.")
@click.version_option(__version__, "-V", "--version", prog_name="rlm")
@click.pass_context
def cli(ctx: click.Context, db_path: str | None, fmt: str, debug: bool, verbose: bool) -> None:
    """rlm: load, chunk, embed and search text far larger than a context window.

    Hand chunks to sub-agents by ID (`rlm chunk get ID`), dispatch work in
    batches and aggregate their findings. Everything stays on this machine.
    """
    app = ctx.ensure_object(AppContext)
    # A --db-path pulled out by split_global_options beats RLM_DB_PATH (which
    # click would otherwise hand us here as db_path).
    app.db_path = app.db_path or db_path
    app.debug = app.debug or debug
    app.verbose = app.verbose or verbose
    if fmt != "text":
        app.fmt = normalise_format(fmt)
    ctx.call_on_close(app.close)


def _quiet_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the exit flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


class ClickUsageError(UsageError):
    """A click usage error, kept so text mode can print click's own usage text."""

    def __init__(self, original: click.ClickException) -> None:
        super().__init__(original.format_message())
        self.original = original


def execute(argv: Sequence[str], app: AppContext) -> Output | None:
    """Run one command and return its :class:`Output` without printing it.

    Every failure a user can cause comes out as an :class:`RlmError` (click's
    usage errors as :class:`UsageError`). ``--help``/``--version`` print
    themselves and raise ``click.exceptions.Exit``. The CLI (:func:`run`) goes
    through here; the MCP server calls :mod:`rlm.ops` directly.
    """
    try:
        result = cli.main(list(argv), prog_name="rlm", standalone_mode=False, obj=app)
    except (click.exceptions.Abort, KeyboardInterrupt):
        raise CommandInterrupted() from None
    except Terminated:
        raise CommandInterrupted("SIGTERM", 143) from None
    except click.UsageError as exc:
        raise ClickUsageError(exc) from None
    except click.ClickException as exc:
        raise RlmError(exc.format_message(), error_type="ExecutionFailed") from None
    return result if isinstance(result, Output) else None


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command, print its result, return the exit code (tests and ``main``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    app = AppContext()
    try:
        args, found = split_global_options(args)
        app.db_path = str(found["--db-path"]) if "--db-path" in found else None
        app.debug = bool(found.get("--debug", False))
        app.verbose = bool(found.get("--verbose", False))
        if "--format" in found:
            app.fmt = normalise_format(str(found["--format"]))
        result = execute(args, app)
        if result is not None:
            emit(result, app.fmt)
            return result.exit_code
        return 0
    except ClickUsageError as exc:
        if app.fmt == "text":
            exc.original.show()
        else:
            emit_error(exc, app.fmt)
        return exc.exit_code
    except CommandInterrupted as exc:
        emit_error(_resumable(exc, argv), app.fmt)
        return exc.exit_code
    except RlmError as exc:
        emit_error(exc, app.fmt)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        emit_error(_resumable(CommandInterrupted(), argv), app.fmt)
        return 130
    except Terminated:
        emit_error(_resumable(CommandInterrupted("SIGTERM", 143), argv), app.fmt)
        return 143
    except Exception as exc:  # the one catch-all, by design: never a traceback
        if app.debug:
            traceback.print_exc()
        error = RlmError(
            f"internal error: {type(exc).__name__}: {exc}",
            error_type="InternalError",
            suggestion="Re-run with --debug for a traceback and report it",
        )
        emit_error(error, app.fmt)
        return 1
    finally:
        app.close()


def _resumable(error: CommandInterrupted, argv: Sequence[str] | None) -> CommandInterrupted:
    """The interrupt's suggestion with the exact command to run again."""
    args = list(sys.argv[1:] if argv is None else argv)
    error.suggestion = f"Run the same command again to carry on: {shlex.join(['rlm', *args])}"
    return error


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so transactions roll back as for Ctrl-C."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


@contextmanager
def sigint_interrupts() -> Iterator[None]:
    """Inside the block Ctrl-C raises KeyboardInterrupt, even if SIGINT came in ignored.

    A script's background job (``rlm watch DIR &`` without job control), and so
    a CI or agent harness that starts commands that way, inherits SIGINT
    ignored, and Python keeps it ignored: a Ctrl-C or ``kill -INT`` meant for
    ``rlm watch``, whose only end without ``--cycles`` is a signal, was dropped
    and the watch polled on. Like Go's ``signal.Notify``, a command that stops
    on SIGINT by design takes it back; one-shot commands keep what they
    inherited (the shell's reason to ignore it). The previous disposition
    comes back on exit, since tests run commands in-process; off the main
    thread (where signals cannot be set) this does nothing.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
    ):
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def main() -> None:
    signal.signal(signal.SIGTERM, _raise_terminated)
    code = run()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
    sys.exit(code)
