"""Plain progress lines when stderr is not a terminal (issue #14 item 6: agents, CI
and logs saw 75 s of nothing), with elapsed time and rate at the end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlm.cli import options
from rlm.cli.options import PlainProgress, progress_bar

RLM = Path(sys.executable).parent / "rlm"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(options.time, "monotonic", fake)
    monkeypatch.delenv("RLM_PROGRESS_AFTER", raising=False)
    monkeypatch.delenv("RLM_PROGRESS_EVERY", raising=False)
    return fake


def test_lines_every_ten_seconds_or_ten_percent_then_a_final_rate(
    clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    progress = PlainProgress("Embedding", hint="use --no-embed")
    progress.update(0, 1000)  # a big job announces itself at once, with the hint
    clock.now += 1
    progress.update(10, 1000)  # under 2 s: silent
    clock.now += 2
    progress.update(20, 1000)  # first estimate
    clock.now += 3
    progress.update(30, 1000)  # 3 s later, same 10 % bucket: silent
    clock.now += 10
    progress.update(40, 1000)  # 10 s later: a line
    clock.now += 1
    progress.update(150, 1000)  # a new 10 % bucket: a line
    clock.now += 84
    progress.update(1000, 1000)
    progress.finish(None)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("Embedding: starting 1000 chunks") and "use --no-embed" in lines[0]
    assert lines[1] == (
        "Embedding: 20/1000 chunks (2%), 3.0s elapsed, 6.7 chunks/s, about 2m27s left"
    )
    assert lines[2].startswith("Embedding: 40/1000 chunks (4%), 16.0s elapsed")
    assert lines[3].startswith("Embedding: 150/1000 chunks (15%)")
    assert lines[4] == "Embedding: 1000 chunks done in 1m41s (9.9 chunks/s)"
    assert len(lines) == 5


def test_quick_jobs_stay_silent_and_failures_say_where_they_stopped(
    clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    quick = PlainProgress("Storing")
    quick.update(100, 1000)
    clock.now += 0.5
    quick.update(1000, 1000)
    quick.finish(None)
    assert capsys.readouterr().err == ""
    with pytest.raises(KeyboardInterrupt), progress_bar("Embedding") as update:
        assert update is not None
        update(0, 50)
        clock.now += 5
        update(20, 50)
        raise KeyboardInterrupt
    err = capsys.readouterr().err
    assert "Embedding: 20/50 chunks (40%), 5.0s elapsed, 4 chunks/s, about 7.5s left" in err
    assert "Embedding: stopped at 20/50 chunks after 5.0s" in err


def test_a_piped_load_prints_progress_and_the_elapsed_time(isolated_env: Path) -> None:
    """`rlm load` with stderr to a file, as agents and CI run it."""
    text = "".join(f"Paragraph {i}: harbour lantern copper meadow.\n\n" for i in range(3000))
    (isolated_env / "med.txt").write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RLM_")}
    env |= {"RLM_EMBEDDER": "hash", "RLM_PROGRESS_AFTER": "0", "RLM_PROGRESS_EVERY": "0"}
    db = str(isolated_env / "p.db")
    subprocess.run([str(RLM), "-d", db, "init"], env=env, check=True, capture_output=True)
    done = subprocess.run(
        [str(RLM), "-d", db, "load", "med.txt", "--chunk-size", "500", "--overlap", "0"],
        env=env,
        capture_output=True,
        text=True,
        cwd=isolated_env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    err = done.stderr.splitlines()
    assert any(line.startswith("Loading: ") and "%)" in line for line in err)
    assert any(line.startswith("Embedding: starting ") for line in err)
    final = [line for line in err if " done in " in line]
    assert [line.split(":")[0] for line in final] == ["Loading", "Embedding"]
    assert final[1].endswith(" chunks/s)")


def test_eval_phases_count_queries_not_chunks(
    clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    for label in ("Embedding queries", "Searching"):
        progress = PlainProgress(label)
        progress.update(0, 40)
        clock.now += 4
        progress.update(40, 40)
        progress.finish(None)
    err = capsys.readouterr().err
    assert "Searching: 40 queries done in 4.0s (10 queries/s)" in err
    assert "Embedding queries: 40 queries done" in err and "chunks" not in err
