"""``rlm watch``: one stderr line per sync, NDJSON events, clean exit on Ctrl-C/SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

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
    ("sig", "code"),
    [
        pytest.param(
            signal.SIGINT,
            130,
            # Not strict: passes alone and in every subset tried, but in two full-suite
            # clean-clone CI runs (2026-12-02) the watch process had printed both syncs and
            # did not exit within 30 s of SIGINT. Unexplained; see the #10/#12 stop note.
            marks=pytest.mark.xfail(strict=False, reason="SIGINT hang seen only in full CI"),
        ),
        (signal.SIGTERM, 143),
    ],
)
def test_signals_stop_it_cleanly(notes: Path, sig: signal.Signals, code: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RLM_")}
    env["RLM_EMBEDDER"] = "hash"
    subprocess.run([str(RLM), "init"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [str(RLM), "--format", "ndjson", "watch", "notes", "--interval", "0.2"],
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
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    last = json.loads(out.splitlines()[-1])
    assert last["event"] == "stopped" and last["added"] == 4
    assert last["stopped_by"] == ("interrupt" if code == 130 else "terminate")
    assert "Traceback" not in err
