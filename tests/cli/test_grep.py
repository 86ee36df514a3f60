"""grep as the walkthrough and the security review ran it: hits an agent can act on
(chunk id, line, whole lines, context), unknown targets are errors, and no pattern
can hang it (issue #14 item 9, issue #15 grep ReDoS)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]
RLM = Path(sys.executable).parent / "rlm"

REPORT = (
    "".join(
        f"Files: module{i}.c\nCopyright: 1996-2022, Someone {i}\nLicense: GPL-{i % 3}+\n\n"
        for i in range(300)
    )
    + "Files: GNUmakefile\n  Makefile.am\n  TODO\n  configure.ac\n"
)


@pytest.fixture
def loaded(cli: Cli, hash_embedder: None, isolated_env: Path) -> Path:
    (isolated_env / "big-report.md").write_text(REPORT, encoding="utf-8")
    assert cli("init").code == 0
    result = cli("load", "big-report.md", "--chunk-size", "1000", "--overlap", "200")
    assert result.code == 0, result.err
    return isolated_env


def test_json_hits_carry_chunk_id_line_and_the_whole_line(cli: Cli, loaded: Path) -> None:
    hits = cli("--format", "json", "grep", "big-report.md", "TODO|FIXME", "-i").json()
    assert len(hits) == 1
    hit = hits[0]
    assert hit["text"] == "  TODO" and hit["column"] == 3
    assert hit["line"] == REPORT[: hit["offset"]].count("\n") + 1
    chunk = cli("--format", "json", "chunk", "get", str(hit["chunk_id"])).json()
    start = chunk["byte_range"]["start"]
    assert start <= hit["offset"] < chunk["byte_range"]["end"]
    assert chunk["content"].encode()[hit["offset"] - start :].startswith(b"TODO")
    for key in ("offset", "matched", "snippet"):  # rlm-rs's fields stay
        assert key in hit


def test_text_prints_name_line_chunk_and_real_lines(cli: Cli, loaded: Path) -> None:
    result = cli("grep", "big-report.md", "Makefile", "-C", "1")
    assert result.code == 0
    lines = result.out.splitlines()
    hit = next(line for line in lines if line.startswith("big-report.md:"))
    assert hit.startswith("big-report.md:1202 (chunk ") and hit.endswith(":   Makefile.am")
    assert "big-report.md-1201- Files: GNUmakefile" in lines
    assert "big-report.md-1203-   TODO" in lines
    assert "\\n" not in result.out  # whole lines, not windows with escaped newlines
    data = cli("--format", "json", "grep", "big-report.md", "Makefile", "-C", "2").json()
    assert data[0]["before"] == ["", "Files: GNUmakefile"]
    assert data[0]["after"] == ["  TODO", "  configure.ac"]


def test_unknown_buffer_or_collection_is_an_error_with_close_names(cli: Cli, loaded: Path) -> None:
    """The walkthrough's step 27: a typo in --collection said "No matches", exit 0."""
    (loaded / "repo").mkdir()
    (loaded / "repo" / "main.py").write_text("def main():\n    pass\n", encoding="utf-8")
    assert cli("load", "repo", "--collection", "myrepo").code == 0
    assert cli("--format", "json", "grep", "--collection", "myrepo", "def main").json()
    typo = cli("--format", "json", "grep", "--collection", "myrepoo", "def main")
    assert typo.code == 1
    error = typo.json()["error"]
    assert error["type"] == "CollectionNotFound"
    assert "myrepoo" in error["message"] and "Did you mean 'myrepo'?" in error["suggestion"]
    buffer_typo = cli("--format", "json", "grep", "big-report", "x").json()["error"]
    assert buffer_typo["type"] == "BufferNotFound"
    assert "Did you mean 'big-report.md'?" in buffer_typo["suggestion"]


def test_patterns_re2_cannot_run_are_refused_clearly(cli: Cli, loaded: Path) -> None:
    error = cli("--format", "json", "grep", "big-report.md", r"(a)\1").json()["error"]
    assert error["type"] == "InvalidArgument" and "backreferences" in error["suggestion"]
    assert cli("grep", "big-report.md", "(?=x)").code == 2


def test_output_is_capped_by_max_bytes(cli: Cli, loaded: Path) -> None:
    capped = cli(
        "--format", "json", "grep", "big-report.md", "Files", "-n", "300", "--max-bytes", "2000"
    )
    assert capped.code == 0
    hits = capped.json()
    assert 1 <= len(hits) < 300
    assert sum(len(h["matched"]) + len(h["snippet"]) + len(h["text"]) for h in hits) <= 2000
    assert "--max-bytes 2000" in capped.err
    more = cli("--format", "json", "grep", "big-report.md", "Files", "-n", "300").json()
    assert len(more) == 300


def test_catastrophic_pattern_answers_within_seconds(isolated_env: Path) -> None:
    """The security review's H2: '(a+)+$' on 100 KB of 'a' never finished."""
    env = {"RLM_EMBEDDER": "hash", "PATH": "/usr/bin:/bin", "HOME": str(isolated_env)}
    (isolated_env / "a100k.txt").write_text("a" * 100_000 + "b", encoding="utf-8")
    db = str(isolated_env / "r.db")
    subprocess.run([str(RLM), "-d", db, "init"], env=env, check=True, capture_output=True)
    subprocess.run(
        [str(RLM), "-d", db, "load", "a100k.txt", "--no-embed"],
        env=env,
        check=True,
        capture_output=True,
        cwd=isolated_env,
    )
    for pattern in ("(a+)+$", "(a|aa)+b$", "(a*)*c"):
        done = subprocess.run(
            [str(RLM), "-d", db, "--format", "json", "grep", "a100k.txt", pattern],
            env=env,
            capture_output=True,
            text=True,
            timeout=10,  # the bound; before RE2 this never returned
        )
        assert done.returncode == 0, done.stderr
        assert isinstance(json.loads(done.stdout), list)


def test_peek_is_capped_by_max_bytes(cli: Cli, loaded: Path) -> None:
    size = len(REPORT.encode())
    capped = cli(
        "--format", "json", "peek", "big-report.md", "--end", str(size), "--max-bytes", "100"
    )
    data = capped.json()
    assert (data["start"], data["end"], data["truncated"]) == (0, 100, True)
    assert data["content"] == REPORT[:100]
    assert "peek from --start 100" in capped.err
    whole = cli("--format", "json", "peek", "big-report.md", "--end", str(size)).json()
    assert whole["content"] == REPORT and "truncated" not in whole
