"""Many writers and readers on one PostgreSQL store: separate processes, real server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlm.store import Store

pytestmark = pytest.mark.pg


def _rlm(url: str, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, RLM_EMBEDDER="hash")
    return subprocess.Popen(
        [sys.executable, "-m", "rlm", "-d", url, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _text(seed: int, lines: int) -> str:
    return "".join(
        f"line {i} of file {seed}: words {i * 7 % 101} and {i * 13 % 97} about topic {seed}\n"
        for i in range(lines)
    )


def test_two_concurrent_loads_of_different_files_both_land(pg_url: str, isolated_env: Path) -> None:
    Store.init(pg_url).close()
    files = []
    for seed in (1, 2):
        path = isolated_env / f"file{seed}.txt"
        path.write_text(_text(seed, 20_000), encoding="utf-8")
        files.append(path)
    procs = [_rlm(pg_url, "load", "--no-embed", str(p)) for p in files]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    with Store.open(pg_url) as store:
        buffers = {b.name: b for b in store.list_buffers()}
        assert set(buffers) == {"file1.txt", "file2.txt"}
        for name, path in zip(("file1.txt", "file2.txt"), files, strict=True):
            assert store.read_buffer_bytes(buffers[name].id) == path.read_bytes()
            chunks = store.list_chunks(buffers[name].id)
            assert chunks and sum(len(c.content.encode()) for c in chunks) >= path.stat().st_size
        hits = store.bm25_sum([('"topic"', 1.0)], 5)
        assert len(hits) == 5


def _open_transactions(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid != pg_backend_pid() AND backend_xid IS NOT NULL"
        ).fetchone()
    return int(row[0]) if row else 0


def test_sigkill_mid_load_leaves_no_partial_buffer_and_readers_never_see_one(
    pg_url: str, isolated_env: Path
) -> None:
    Store.init(pg_url).close()
    big = isolated_env / "big.txt"
    big.write_text(_text(3, 200_000), encoding="utf-8")  # ~15 MB: seconds of loading
    proc = _rlm(pg_url, "load", "--no-embed", str(big))
    deadline = time.monotonic() + 120
    while _open_transactions(pg_url) == 0:  # the load has written rows, not committed
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with Store.open(pg_url) as reader:  # a reader during the load sees nothing of it
        assert reader.list_buffers() == []
        assert reader.chunk_count_total() == 0
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    with Store.open(pg_url) as store:
        assert store.list_buffers() == []
        assert store.chunk_count_total() == 0
        assert store._one("SELECT COUNT(*) FROM buffer_segments")[0] == 0
        assert store._one("SELECT COUNT(*) FROM lex_postings")[0] == 0
    small = isolated_env / "big.txt"
    small.write_text(_text(4, 100), encoding="utf-8")
    retry = _rlm(pg_url, "load", "--no-embed", str(small))
    _, err = retry.communicate(timeout=120)
    assert retry.returncode == 0, err.decode()
    with Store.open(pg_url) as store:
        assert [b.name for b in store.list_buffers()] == ["big.txt"]


def test_a_dropped_connection_mid_load_is_one_clear_error_and_rolls_back(
    pg_url: str, isolated_env: Path
) -> None:
    import psycopg

    Store.init(pg_url).close()
    big = isolated_env / "big.txt"
    big.write_text(_text(5, 100_000), encoding="utf-8")
    proc = _rlm(pg_url, "--format", "json", "load", "--no-embed", str(big))
    deadline = time.monotonic() + 120
    while _open_transactions(pg_url) == 0:
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid != pg_backend_pid()"
        )
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1
    import json

    error = json.loads(out)["error"]
    assert error["type"] == "ConnectionLost"
    assert "\n" not in error["message"]
    with Store.open(pg_url) as store:
        assert store.list_buffers() == []
    retry = _rlm(pg_url, "load", "--no-embed", str(big))
    assert retry.wait(timeout=120) == 0
