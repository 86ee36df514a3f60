"""Several embedding workers share one PostgreSQL backlog: no chunk twice, kills resume."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rlm.store import Store
from tests.conftest import CliResult

pytestmark = pytest.mark.pg


def _load(url: str, folder: Path, files: int, lines: int) -> int:
    from rlm.cli.main import run

    for n in range(files):
        (folder / f"f{n}.txt").write_text(
            "".join(f"file {n} line {i}: some words {i % 17}\n\n" for i in range(lines)),
            encoding="utf-8",
        )
    assert run(["-d", url, "init"]) == 0
    args = ["--no-embed", "--chunker", "fixed", "--chunk-size", "200", "--overlap", "0"]
    assert run(["-d", url, "load", *args, str(folder)]) == 0
    with Store.open(url) as store:
        return store.chunk_count_total()


def _worker(url: str) -> subprocess.Popen[str]:
    env = dict(os.environ, RLM_EMBEDDER="hash", RLM_WORKER_DB=url)
    return subprocess.Popen(
        [sys.executable, "-m", "rlm.ingest.background", "unused-anchor"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_claims_are_disjoint_and_a_dead_session_frees_them(pg_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    total = _load(pg_url, folder, 2, 300)
    with Store.open(pg_url) as a, Store.open(pg_url) as b:
        first = a.claim_chunks("a", 10)
        second = b.claim_chunks("b", 10)
        assert len(first) == 10 and len(second) == 10
        assert not set(first) & set(second)
        everything = set(first) | set(second)
        rest = b.claim_chunks("b", total)
        assert not set(rest) & set(first)
        everything |= set(rest)
    # a and b are closed: their sessions ended, so a new worker may take everything again
    with Store.open(pg_url) as c:
        assert set(c.claim_chunks("c", total)) == everything


def test_two_worker_processes_embed_every_chunk_exactly_once(
    pg_url: str, tmp_path: Path, hash_embedder: None
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    total = _load(pg_url, folder, 6, 2000)
    assert total > 1000
    procs = [_worker(pg_url) for _ in range(2)]
    counts = []
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        found = re.findall(r"embedded (\d+) chunks", err)
        assert found, err
        counts.append(int(found[-1]))
    with Store.open(pg_url) as store:
        assert store.embedding_backlog().chunks == 0
        assert store.vector_count() == total
    assert sum(counts) == total  # nobody embedded a chunk the other one did


def test_a_killed_worker_is_resumed_by_the_next(
    pg_url: str, tmp_path: Path, hash_embedder: None
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    total = _load(pg_url, folder, 6, 2000)
    proc = _worker(pg_url)
    deadline = time.monotonic() + 120
    with Store.open(pg_url) as store:
        while store.vector_count() == 0:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    with Store.open(pg_url) as store:
        left = store.embedding_backlog().chunks
    assert 0 < left < total
    again = _worker(pg_url)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert int(re.findall(r"embedded (\d+) chunks", err)[-1]) == left
    with Store.open(pg_url) as store:
        assert store.embedding_backlog().chunks == 0
        assert store.vector_count() == total


def test_chunk_embed_workers_shares_the_backlog_and_waits(
    pg_url: str, tmp_path: Path, hash_embedder: None
) -> None:
    from rlm.cli.main import run

    folder = tmp_path / "docs"
    folder.mkdir()
    total = _load(pg_url, folder, 3, 1000)
    assert run(["-d", pg_url, "chunk", "embed", "--workers", "3", "--wait"]) == 0
    with Store.open(pg_url) as store:
        assert store.embedding_backlog().chunks == 0
        assert store.vector_count() == total


def test_chunk_embed_workers_is_refused_on_sqlite(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    db = str(tmp_path / "s.db")
    assert cli("-d", db, "init").code == 0
    result = cli("-d", db, "--format", "json", "chunk", "embed", "--workers", "2")
    assert result.code != 0
    assert "postgresql://" in result.json()["error"]["message"]
