"""The review's hostile folders and files, end to end through ``rlm load`` (H3, H4, L1).

Each test rebuilds one attack from docs of the security review
(``shared/notes/security-review-2026-12.md``) and runs the real command.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.reliability._support import RLM, rlm_env

Cli = Callable[..., Any]


@pytest.fixture
def store(cli: Cli, hash_embedder: None) -> None:
    assert cli("init").code == 0


def _load_json(cli: Cli, path: Path) -> dict[str, Any]:
    result = cli("load", str(path), "--no-embed", "--format", "json")
    assert result.code == 0, result.out + result.err
    data: dict[str, Any] = result.json()
    return data


def _skipped(report: dict[str, Any]) -> dict[str, str]:
    return {s["path"]: s["reason"] for s in report["skipped"]}


def test_symlink_out_of_the_folder_is_not_followed(
    store: None, cli: Cli, isolated_env: Path
) -> None:
    outside = isolated_env / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("token=abc123\n")
    folder = isolated_env / "hostile1"
    folder.mkdir()
    (folder / "readme.md").write_text("hello\n")
    os.symlink(outside, folder / "leakdir")
    os.symlink(outside / "secret.txt", folder / "passwd.txt")
    report = _load_json(cli, folder)
    assert report["added"] == ["readme.md"]
    skipped = _skipped(report)
    assert skipped["leakdir"].startswith("symlink leaves the folder")
    assert skipped["passwd.txt"].startswith("symlink leaves the folder")
    grep = cli("grep", "--collection", report["collection"], "token=", "--format", "json")
    assert "abc123" not in grep.out


@pytest.mark.timeout(60)
def test_fifo_gitignore_and_dev_zero_rlmignore_do_not_hang(
    store: None, cli: Cli, isolated_env: Path
) -> None:
    fifo = isolated_env / "gi_fifo"
    fifo.mkdir()
    os.mkfifo(fifo / ".gitignore")
    (fifo / "a.txt").write_text("hi\n")
    assert _load_json(cli, fifo)["added"] == ["a.txt"]
    zero = isolated_env / "gi_zero"
    zero.mkdir()
    os.symlink("/dev/zero", zero / ".rlmignore")
    (zero / "b.txt").write_text("hi\n")
    report = _load_json(cli, zero)
    assert report["added"] == ["b.txt"]
    reasons = [s["reason"] for s in report["skipped"] if s["path"] == ".rlmignore"]
    assert "ignore file not read: not a regular file" in reasons


@pytest.mark.timeout(120)
def test_catastrophic_gitignore_pattern_does_not_hang(
    store: None, cli: Cli, isolated_env: Path
) -> None:
    folder = isolated_env / "gi_redos"
    folder.mkdir()
    (folder / ".gitignore").write_text("*a*a*a*a*a*a*a*a*a*a*a*a*b\n")
    name = "a" * 200 + ".txt"
    (folder / name).write_text("x\n")
    assert name in _load_json(cli, folder)["added"]


def test_deep_tree_and_bad_names_skip_entries_not_the_load(
    store: None, cli: Cli, isolated_env: Path
) -> None:
    folder = isolated_env / "mixed"
    folder.mkdir()
    (folder / "ok.txt").write_text("ok\n")
    with open(os.fsencode(folder) + b"/bad\xff\xfe.txt", "wb") as handle:
        handle.write(b"hello\n")
    here = os.open(folder, os.O_RDONLY)
    try:
        for _ in range(300):  # past the depth cap (and once past Python's recursion limit)
            os.mkdir("d", dir_fd=here)
            nxt = os.open("d", os.O_RDONLY, dir_fd=here)
            os.close(here)
            here = nxt
        with open(os.open("leaf.txt", os.O_WRONLY | os.O_CREAT, dir_fd=here), "w") as leaf:
            leaf.write("deep\n")
    finally:
        os.close(here)
    report = _load_json(cli, folder)
    assert report["added"] == ["ok.txt"]
    reasons = set(_skipped(report).values())
    assert "name is not UTF-8" in reasons
    assert any(r.startswith("nested deeper than") for r in reasons)


@pytest.mark.timeout(300)
def test_a_file_shrinking_during_a_load_never_kills_the_process(tmp_path: Path) -> None:
    """H4: the old reader mapped the file and died of SIGBUS (exit 135) when it shrank."""
    line = b"lorem ipsum dolor sit amet consectetur adipiscing elit\n"
    big = tmp_path / "big.txt"
    big.write_bytes(line * ((48 << 20) // len(line)))  # above the spool threshold
    db = tmp_path / "s.db"
    env = rlm_env()
    subprocess.run([str(RLM), "-d", str(db), "init"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [str(RLM), "-d", str(db), "--format", "json", "load", str(big), "--no-embed"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(0.3)
    os.truncate(big, 1000)
    out, _ = proc.communicate(timeout=280)
    assert proc.returncode not in (-signal.SIGBUS, 128 + signal.SIGBUS)
    listed = subprocess.run(
        [str(RLM), "-d", str(db), "--format", "json", "list"], env=env, capture_output=True
    )
    buffers = json.loads(listed.stdout)
    full = len(line) * ((48 << 20) // len(line))
    if proc.returncode == 0:  # opened after the truncation, or read whole before it
        assert [b["metadata"]["size"] for b in buffers] in ([1000], [full])
    else:
        assert json.loads(out)["error"]["type"] == "FileChanged"
        assert buffers == []  # nothing left behind
