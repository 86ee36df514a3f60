"""Child processes that tests stop with a signal: a known SIGINT disposition, and a
failure that explains itself when the child does not stop.

Why: a shell starts a script's background job (``cmd &`` without job control) with
SIGINT ignored, and exec keeps it ignored, so a detached CI run's pytest and every
child it starts inherit that. ``rlm watch`` once ignored the SIGINT its test sent
and CI hung for 30 s with nothing to read; a test that sends SIGINT must say which
disposition its child starts with, and a child that outlives its signal must leave
its signal masks and its stacks in the failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pytest

_EXEC_WITH_SIGINT = (
    "import os, signal, sys; "
    "signal.signal(signal.SIGINT, signal.SIG_IGN if sys.argv[1] == 'ignored' else signal.SIG_DFL); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


def sigint_as(disposition: Literal["default", "ignored"], argv: Sequence[str]) -> list[str]:
    """``argv`` (``argv[0]`` a path) exec'd with SIGINT at SIG_DFL or SIG_IGN,
    whatever this pytest inherited."""
    return [sys.executable, "-c", _EXEC_WITH_SIGINT, disposition, *argv]


def child_env(**extra: str) -> dict[str, str]:
    """The environment without RLM_ settings, with faulthandler on (see :func:`stop`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RLM_")}
    env["PYTHONFAULTHANDLER"] = "1"
    env.update(extra)
    return env


def signal_masks(pid: int) -> str:
    """The Sig* lines of /proc/PID/status (bit n-1 is signal n; SIGINT is 0x2)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text("utf-8").splitlines()
    except OSError as exc:
        return f"(no /proc status: {exc})"
    return "\n".join(line for line in lines if line.startswith(("Sig", "Shd")))


def stop(proc: subprocess.Popen[str], sig: signal.Signals, timeout: float = 30) -> tuple[str, str]:
    """Send ``sig`` and return the child's stdout and stderr once it has exited.

    If it is still running after ``timeout`` s, fail with its signal masks and this
    process's SIGINT handler, then SIGABRT it: with ``PYTHONFAULTHANDLER=1``
    (:func:`child_env`) the child prints every thread's stack, which the failure shows.
    """
    proc.send_signal(sig)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass  # fail below, outside the except: no chained subprocess traceback
    masks = signal_masks(proc.pid)
    proc.send_signal(signal.SIGABRT)
    try:
        out, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    args = [os.fsdecode(a) for a in proc.args] if isinstance(proc.args, list) else [str(proc.args)]
    shown = f"{args[4:]!r} (SIGINT {args[3]})" if args[2:3] == [_EXEC_WITH_SIGINT] else repr(args)
    pytest.fail(
        f"{shown} still ran {timeout:.0f} s after {sig.name}\n"
        f"child's signal masks:\n{masks}\n"
        f"pytest's SIGINT handler: {signal.getsignal(signal.SIGINT)!r}\n"
        f"child's stdout:\n{out}\nchild's stderr (faulthandler stacks after SIGABRT):\n{err}",
        pytrace=False,
    )
