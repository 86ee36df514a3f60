"""Arguments the fuzzer found to break the CLI contract (no traceback, no internal error).

Both are real argv: a number past SQLite's 64-bit INTEGER, and a file or
buffer name holding a byte that is not UTF-8 (Python hands it over as a lone
surrogate, ``\\udc80``). Run as real processes with a strict UTF-8 stdout
(``PYTHONIOENCODING=utf-8``, what a UTF-8 locale other than C.UTF-8 gives).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.reliability._support import RLM, rlm_env

HUGE = str(2**64)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("argv") / "a.db"
    env = rlm_env(RLM_EMBEDDER="hash")
    subprocess.run([str(RLM), "--db-path", str(path), "init"], env=env, check=True)
    subprocess.run(
        [str(RLM), "--db-path", str(path), "add-buffer", "notes", "some text here"],
        env=env,
        check=True,
    )
    return path


def _run(db: Path, args: list[str | bytes]) -> subprocess.CompletedProcess[bytes]:
    env = rlm_env(RLM_EMBEDDER="hash", PYTHONIOENCODING="utf-8")
    argv = [os.fsencode(a) if isinstance(a, str) else a for a in args]
    return subprocess.run(
        [os.fsencode(str(RLM)), b"--db-path", os.fsencode(str(db)), *argv],
        env=env,
        capture_output=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["show", HUGE],
        ["delete", HUGE, "--yes"],
        ["peek", HUGE],
        ["chunk", "get", HUGE],
        ["chunk", "embed", HUGE],
    ],
    ids=lambda a: " ".join(a).replace(HUGE, "2**64"),
)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_ids_beyond_int64_are_clean_errors(db: Path, args: list[str], fmt: str) -> None:
    done = _run(db, [*args, "--format", fmt])
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    assert done.returncode in (1, 2), output
    assert "Traceback" not in output and "internal error" not in output, output
    if fmt == "json":
        error = json.loads(done.stdout)["error"]
        assert error["type"] in {"BufferNotFound", "ChunkNotFound", "UsageError"}, error


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["chunk", "get", "1", "--context", HUGE], "some text here"),
        (["search", "text", "--mode", "bm25", "--top-k", HUGE], "notes:1-1"),
    ],
    ids=["chunk get --context 2**64", "search --top-k 2**64"],
)
def test_sizes_beyond_int64_mean_everything(db: Path, args: list[str], expected: str) -> None:
    """A context or result count past int64 is clamped: it asks for all there is."""
    done = _run(db, args)
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    assert done.returncode == 0, output
    assert expected in done.stdout.decode(), output


@pytest.mark.parametrize(
    "args",
    [
        [b"load", b"missing-\x80.txt"],
        [b"aggregate", b"--file", b"missing-\x80.json"],
        [b"show", b"notes\xff"],
        [b"grep", b"notes\xff", b"x"],
        [b"chunk", b"list", b"\xfe"],
    ],
    ids=lambda a: b" ".join(a).decode("latin-1"),
)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_non_utf8_argv_bytes_are_clean_errors(db: Path, args: list[bytes], fmt: str) -> None:
    done = _run(db, [*args, b"--format", fmt.encode()])
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    assert done.returncode == 1, output
    assert "Traceback" not in output and "internal error" not in output, output
    if fmt == "json":
        error = json.loads(done.stdout)["error"]
        assert error["type"] in {"FileNotFound", "BufferNotFound"}, error
