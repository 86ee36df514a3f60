"""``rlm watch``: one stderr line per sync, NDJSON events, clean exit on Ctrl-C/SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest

from tests.conftest import CliResult
from tests.processes import child_env, sigint_as, stop

RLM = Path(sys.executable).parent / "rlm"


@pytest.fixture
def notes(isolated_env: Path) -> Path:
    folder = isolated_env / "notes"
    folder.mkdir()
    for i in range(3):
        (folder / f"n{i}.md").write_text(f"# Note {i}\n\nplain words {i}\n", "utf-8")
    return folder


@pytest.mark.usefixtures("hash_embedder")
def test_cycles_ndjson_and_stderr_lines(cli: Callable[..., CliResult], notes: Path) -> None:
    assert cli("init").code == 0
    done = cli("--format", "ndjson", "watch", "notes", "--interval", "0", "--cycles", "2")
    assert done.code == 0, done.err
    lines = [json.loads(line) for line in done.out.splitlines()]
    assert [line["event"] for line in lines] == ["sync", "stopped"]
    assert lines[0]["added"] == ["n0.md", "n1.md", "n2.md"]
    assert lines[1]["cycles"] == 2 and lines[1]["stopped_by"] == "cycles"
    assert "notes: 3 added, 0 updated, 0 removed" in done.err
    refused = cli("watch", "notes/n0.md", "--cycles", "1")
    assert refused.code != 0 and "folder" in refused.err


@pytest.mark.parametrize(
    ("sig", "inherited", "code"),
    [
        (signal.SIGINT, "default", 130),
        # A script's background job (and so a detached CI run, where this hung) starts
        # with SIGINT ignored: watch takes it back, as its only end is a signal.
        (signal.SIGINT, "ignored", 130),
        (signal.SIGTERM, "default", 143),
    ],
)
def test_signals_stop_it_cleanly(
    notes: Path, sig: signal.Signals, inherited: Literal["default", "ignored"], code: int
) -> None:
    env = child_env(RLM_EMBEDDER="hash")
    subprocess.run([str(RLM), "init"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        sigint_as(
            inherited, [str(RLM), "--format", "ndjson", "watch", "notes", "--interval", "0.2"]
        ),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())  # the initial sync has happened
        assert first["event"] == "sync" and len(first["added"]) == 3
        (notes / "later.md").write_text("written while watching\n", "utf-8")
        second = json.loads(proc.stdout.readline())
        assert second["added"] == ["later.md"]
        out, err = stop(proc, sig)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    last = json.loads(out.splitlines()[-1])
    assert last["event"] == "stopped" and last["added"] == 4
    assert last["stopped_by"] == ("interrupt" if code == 130 else "terminate")
    assert "Traceback" not in err


def test_in_process_watch_leaves_an_ignored_sigint_ignored(
    cli: Callable[..., CliResult], notes: Path, hash_embedder: None
) -> None:
    """watch takes SIGINT back only while it runs: the caller's disposition returns."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert cli("init").code == 0
        assert cli("watch", "notes", "--interval", "0", "--cycles", "1").code == 0
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
