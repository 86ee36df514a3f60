"""Background embedding (issue #12): the worker, its lock, the load modes, coverage, resume.

The end-to-end tests run the real ``rlm`` executable and the real detached
worker process with the hash embedder (the model is not the point here). To
see a search *while* the worker is busy, the test holds SQLite's write lock:
the worker then waits at its first commit (readers are never blocked in WAL
mode), so "right after the load" is a state the test controls, not a race.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import rlm
from rlm import ops
from rlm.errors import ConfigError, InvalidArgumentError
from rlm.ingest import background as bg
from rlm.ingest.load import embed_mode
from rlm.ingest.loader import LoadOptions, LoadResult
from rlm.store.embed_queue import Backlog
from tests.conftest import CliResult

RLM = Path(sys.executable).parent / "rlm"
TEXT = "".join(
    f"Paragraph {i}: the lighthouse keeper logs ship number {i} passing the reef.\n\n"
    for i in range(600)
)


def rlm_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RLM_")}
    env.update({"RLM_EMBEDDER": "hash", **extra})
    return env


def run_rlm(*args: str, env: dict[str, str]) -> Any:
    done = subprocess.run(
        [str(RLM), *args, "--format", "json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@contextmanager
def write_lock(db: Path) -> Iterator[None]:
    """Hold SQLite's write lock: the worker blocks at its next commit, readers do not."""
    conn = sqlite3.connect(str(db), isolation_level=None, timeout=30)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def vector_rows(db: Path) -> tuple[int, int, int, set[str]]:
    """(chunks, chunks with a vector, vector rows, model names) read from the raw tables."""
    conn = sqlite3.connect(str(db))
    try:
        chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        covered = conn.execute(
            "SELECT COUNT(DISTINCT chunk_id) FROM chunk_embeddings"
            " WHERE chunk_id IN (SELECT id FROM chunks)"
        ).fetchone()[0]
        rows = conn.execute("SELECT COUNT(*) FROM chunk_embeddings").fetchone()[0]
        models = {r[0] for r in conn.execute("SELECT DISTINCT model_name FROM chunk_embeddings")}
    finally:
        conn.close()
    return chunks, covered, rows, models


@pytest.fixture
def corpus(isolated_env: Path) -> tuple[Path, Path]:
    src = isolated_env / "book.txt"
    src.write_text(TEXT, encoding="utf-8")
    db = isolated_env / ".rlm" / "rlm-state.db"
    rlm.Store.init(db).close()
    return src, db


def status(db: Path, env: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = run_rlm("-d", str(db), "status", env=env)["embedding"]
    return data


# --- end to end, real processes -----------------------------------------------------


def test_background_load_search_and_completion(corpus: tuple[Path, Path]) -> None:
    src, db = corpus
    env = rlm_env(RLM_BACKGROUND_AFTER="0")
    loaded = run_rlm("-d", str(db), "load", str(src), env=env)
    assert loaded["embedded_count"] == 0
    job = loaded["background_embedding"]
    assert job["chunks"] == loaded["chunk_count"] > 0
    with write_lock(db):
        wait_for(lambda: status(db, env)["worker"]["running"])
        found = subprocess.run(
            [str(RLM), "-d", str(db), "search", "lighthouse reef", "--format", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert found.returncode == 0, found.stderr
        hits = json.loads(found.stdout)
        assert hits["count"] > 0
        seen = hits["semantic_coverage"]
        assert seen["background"] is True
        assert seen["covered_chunks"] < seen["total_chunks"] == loaded["chunk_count"]
        notices = [line for line in found.stderr.splitlines() if "semantic leg covers" in line]
        assert len(notices) == 1 and "embedding in the background" in notices[0]
        assert "found by BM25 only" not in found.stderr
    # No further command: the worker finishes on its own.
    wait_for(lambda: vector_rows(db)[1] == loaded["chunk_count"])
    wait_for(lambda: not status(db, env)["worker"]["running"])
    chunks, covered, rows, models = vector_rows(db)
    assert chunks == covered == rows and models == {"fallback-hash-v1-py"}
    log = bg.WorkerFiles.of(db).log.read_text(encoding="utf-8")
    assert "done" in log


def test_sigkilled_worker_is_resumed_by_chunk_embed(corpus: tuple[Path, Path]) -> None:
    src, db = corpus
    env = rlm_env()
    loaded = run_rlm("-d", str(db), "load", "--embed", "background", str(src), env=env)
    assert loaded["background_embedding"] is not None
    with write_lock(db):
        wait_for(lambda: status(db, env)["worker"]["running"])
        pid = status(db, env)["worker"]["pid"]
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not status(db, env)["worker"]["running"])
    left = status(db, env)
    assert left["missing_chunks"] == loaded["chunk_count"]
    # the lock died with the worker: nothing stale blocks a new one
    resumed = run_rlm("-d", str(db), "chunk", "embed", env=env)
    assert resumed["background_embedding"]["started"] is True
    waited = run_rlm("-d", str(db), "chunk", "embed", "--wait", env=env)
    assert waited["embedding"]["missing_chunks"] == 0
    chunks, covered, rows, models = vector_rows(db)
    assert chunks == covered == rows == loaded["chunk_count"]
    assert models == {"fallback-hash-v1-py"}


def test_wait_embeds_here_when_no_worker_runs(corpus: tuple[Path, Path]) -> None:
    src, db = corpus
    env = rlm_env()
    run_rlm("-d", str(db), "load", "--embed", "off", str(src), env=env)
    waited = run_rlm("-d", str(db), "chunk", "embed", "--wait", env=env)
    assert waited["embedded_here"] is True
    assert waited["embedding"]["missing_chunks"] == 0
    assert vector_rows(db)[1] == vector_rows(db)[0]


# --- in process -------------------------------------------------------------------------


def test_auto_keeps_small_loads_inline(corpus: tuple[Path, Path]) -> None:
    src, db = corpus
    with rlm.Store.open(db) as store:
        result = rlm.load(store, [str(src)], embed="auto")
        assert isinstance(result, LoadResult)
        assert result.background is None
        assert result.embedded_count == result.chunk_count > 0
        assert result.to_json()["background_embedding"] is None


@dataclass
class SlowModel:
    """Looks like a semantic model to the threshold (never asked to embed here)."""

    name: str = "slow-model"
    dimensions: int = 4
    fingerprint: str = "slow"
    is_semantic: bool = True
    max_tokens: int = 256
    fallback_reason: str | None = None


def test_auto_goes_background_above_the_threshold(corpus: tuple[Path, Path]) -> None:
    src, db = corpus
    files = bg.WorkerFiles.of(db)
    bg.write_state(files, {"rates": {"slow-model": 10.0}})  # 10 tokens/s: minutes of work
    handed: list[tuple[Backlog, float | None]] = []

    def starter(store: rlm.Store, backlog: Backlog, eta: float | None) -> bg.BackgroundJob:
        handed.append((backlog, eta))
        return bg.BackgroundJob(backlog.chunks, backlog.tokens, eta, True, "log")

    with rlm.Store.open(db) as store:
        result = rlm.load(
            store, [str(src)], embed="auto", embedder_factory=SlowModel, starter=starter
        )
        assert isinstance(result, LoadResult)
        assert result.embedded_count == 0
        assert result.background is not None and result.background.chunks == result.chunk_count
        backlog, eta = handed[0]
        assert eta == pytest.approx(backlog.tokens / 10.0)
        assert eta > bg.background_after()


def test_worker_loop_embeds_everything_and_skips_what_it_cannot(corpus: tuple[Path, Path]) -> None:
    src, db = corpus
    with rlm.Store.open(db) as store:
        rlm.load(store, [str(src)], options=LoadOptions(embed=False))
        # A whitespace-only chunk of an old store can never get a vector.
        buffer_id = store.list_buffers()[0].id
        with store.transaction():
            store.conn.execute(
                "UPDATE chunks SET content = '   ' WHERE buffer_id = ? AND chunk_index = 0",
                (buffer_id,),
            )
        from rlm.embedding import get_embedder

        outcome = bg.run_worker(store, get_embedder)
        assert outcome.ran and outcome.error is None
        assert store.embedding_backlog().chunks == 1  # the blank one, and the loop ended
        state = bg.read_state(bg.WorkerFiles.of(db))
        assert state["status"] == "done" and state["chunks_done"] == outcome.chunks


def test_lock_is_the_liveness_test(tmp_path: Path) -> None:
    files = bg.WorkerFiles.of(tmp_path / "x.db")
    assert files.lock.name == "x.db.embed.lock" and files.log.parent == tmp_path
    assert not bg.worker_running(files)
    lock = bg.WorkerLock(files.lock)
    assert lock.acquire()
    try:
        assert bg.worker_running(files)
        assert not bg.WorkerLock(files.lock).acquire(wait=0.1)
    finally:
        lock.release()
    assert not bg.worker_running(files)


def test_worker_that_cannot_get_the_lock_does_nothing(corpus: tuple[Path, Path]) -> None:
    src, db = corpus
    lock = bg.WorkerLock(bg.WorkerFiles.of(db).lock)
    assert lock.acquire()
    try:
        with rlm.Store.open(db) as store:
            rlm.load(store, [str(src)], options=LoadOptions(embed=False))
            monkey_wait = bg.LOCK_WAIT
            bg.LOCK_WAIT = 0.1
            try:
                outcome = bg.run_worker(store, lambda: pytest.fail("no model for nothing"))
            finally:
                bg.LOCK_WAIT = monkey_wait
            assert not outcome.ran
            assert store.embedding_backlog().chunks > 0
    finally:
        lock.release()


def test_search_coverage_notice_replaces_the_missing_vector_line(
    corpus: tuple[Path, Path],
) -> None:
    src, db = corpus
    with rlm.Store.open(db) as store:
        rlm.load(store, [str(src)], options=LoadOptions(embed=False))
        plain = ops.search(store, "lighthouse")
        assert plain.coverage is not None and plain.coverage.background is False
        assert any("found by BM25 only" in w for w in plain.warnings)
        lock = bg.WorkerLock(bg.WorkerFiles.of(db).lock)
        assert lock.acquire()  # a worker "running"
        try:
            with store.transaction():  # the store changed: coverage is recomputed
                store.conn.execute("UPDATE buffers SET name = name")
            busy = ops.search(store, "lighthouse")
        finally:
            lock.release()
        assert busy.coverage is not None and busy.coverage.background is True
        assert [w for w in busy.warnings if "semantic leg covers 0% of chunks" in w]
        assert not any("found by BM25 only" in w for w in busy.warnings)
        assert busy.to_json()["semantic_coverage"]["percent"] == 0.0
        assert ops.search(store, "lighthouse", mode="bm25").to_json()["semantic_coverage"] is None


def test_modes_and_settings_are_checked() -> None:
    assert embed_mode(LoadOptions(embed=False), "background") == "off"
    assert embed_mode(LoadOptions(), None) == "now"
    with pytest.raises(InvalidArgumentError):
        embed_mode(LoadOptions(), "later")


def test_threshold_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert bg.background_after() == 30.0
    monkeypatch.setenv("RLM_BACKGROUND_AFTER", "0")
    assert bg.background_after() == 0.0
    monkeypatch.setenv("RLM_BACKGROUND_AFTER", "soon")
    with pytest.raises(ConfigError):
        bg.background_after()


def test_recorded_rate_feeds_the_estimate(tmp_path: Path) -> None:
    files = bg.WorkerFiles.of(tmp_path / "x.db")
    assert bg.recorded_rate(files, "m") == bg.DEFAULT_TOKENS_PER_SECOND
    bg.record_rate(files, "m", tokens=6000, seconds=2.0)
    assert bg.recorded_rate(files, "m") == 3000.0
    bg.record_rate(files, "m", tokens=10, seconds=0.01)  # too short to mean anything
    assert bg.recorded_rate(files, "m") == 3000.0
    assert bg.recorded_rate(files, "m", semantic=False) == bg.HASH_TOKENS_PER_SECOND


@pytest.mark.usefixtures("hash_embedder")
def test_status_text_and_chunk_embed_arguments(
    cli: Callable[..., CliResult], corpus: tuple[Path, Path]
) -> None:
    src, db = corpus
    assert cli("-d", str(db), "load", "--embed", "off", str(src)).code == 0
    idle = cli("-d", str(db), "status")
    assert "run 'rlm chunk embed' to embed them in the background" in idle.out
    lock = bg.WorkerLock(bg.WorkerFiles.of(db).lock)
    assert lock.acquire()
    try:
        busy = cli("-d", str(db), "status")
        assert "0% of chunks" in busy.out and "background worker running" in busy.out
        assert "left)" in busy.out
    finally:
        lock.release()
    assert cli("-d", str(db), "chunk", "embed", "book.txt", "--wait").code == 2
    assert cli("-d", str(db), "chunk", "embed", "--force").code == 2
    done = cli("-d", str(db), "chunk", "embed", "--wait")
    assert done.code == 0 and done.out.startswith("All ")
    assert "Every chunk already has a vector" in cli("-d", str(db), "chunk", "embed").out
    assert "Vectors:" not in cli("-d", str(db), "status").out


def test_a_model_that_cannot_load_is_reported(corpus: tuple[Path, Path]) -> None:
    src, db = corpus
    with rlm.Store.open(db) as store:
        rlm.load(store, [str(src)], options=LoadOptions(embed=False))

        def broken() -> Any:
            raise ConfigError("unknown embedding model: 'nope'")

        outcome = bg.run_worker(store, broken)
        assert outcome.error is not None and "nope" in outcome.error
        assert not bg.worker_running(bg.WorkerFiles.of(db))
        state = bg.read_state(bg.WorkerFiles.of(db))
        assert state["status"] == "failed" and "nope" in state["error"]
        assert ops.status(store).to_json()["embedding"]["worker"]["error"] == state["error"]


@pytest.mark.usefixtures("hash_embedder")
def test_bad_model_after_the_commit_is_a_warning_not_a_failure(
    cli: Callable[..., CliResult], corpus: tuple[Path, Path]
) -> None:
    src, db = corpus
    loaded = cli("-d", str(db), "load", "--model", "no-such-model", str(src))
    assert loaded.code == 0, loaded.err
    assert "not embedded" in loaded.err and "no-such-model" in loaded.err
    assert "(0 embedded)" in loaded.out


@pytest.mark.usefixtures("hash_embedder")
def test_folder_load_goes_background_and_a_failed_start_embeds_inline(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RLM_BACKGROUND_AFTER", "0")
    folder = isolated_env / "notes"
    folder.mkdir()
    for i in range(3):
        (folder / f"n{i}.md").write_text(TEXT[: 4000 * (i + 1)], encoding="utf-8")
    handed: list[int] = []

    def starter(store: rlm.Store, backlog: Backlog, eta: float | None) -> bg.BackgroundJob:
        handed.append(backlog.chunks)
        return bg.BackgroundJob(backlog.chunks, backlog.tokens, eta, True, "log")

    def no_worker(store: rlm.Store, backlog: Backlog, eta: float | None) -> bg.BackgroundJob:
        raise PermissionError("read-only folder")

    from rlm.ingest.collection import SyncReport

    with rlm.Store.init(isolated_env / ".rlm" / "rlm-state.db") as store:
        report = rlm.load(store, ["notes"], embed="auto", starter=starter)
        assert isinstance(report, SyncReport)
        assert report.embedded_count == 0 and report.background is not None
        assert report.to_json()["background_embedding"]["chunks"] == report.chunk_count
        assert handed == [report.chunk_count]
        (folder / "n3.md").write_text(TEXT[:5000], encoding="utf-8")
        inline = rlm.load(store, ["notes"], embed="background", starter=no_worker)
        assert isinstance(inline, SyncReport) and inline.background is None
        assert store.embedding_backlog().chunks == 0  # everything embedded here instead


def test_chunks_with_a_vector_but_no_passages_are_work(corpus: tuple[Path, Path]) -> None:
    """An old store (chunk vectors, no passage vectors) is completed by the worker."""
    src, db = corpus
    with rlm.Store.open(db) as store:
        rlm.load(store, [str(src)], options=LoadOptions(embed=True))
        chunks = store.chunk_count_total()
        assert store.embedding_backlog().chunks == 0
        with store.transaction():  # what a store embedded before passages existed looks like
            store.conn.execute("DELETE FROM passage_embeddings")
            store.conn.execute("UPDATE chunk_embeddings SET created_at = 1000")
        backlog = store.embedding_backlog()
        assert backlog.chunks == chunks and backlog.tokens > 0
        assert bg.progress(store).missing == chunks
        from rlm.embedding import get_embedder

        outcome = bg.run_worker(store, get_embedder)
        assert outcome.ran and outcome.error is None and outcome.chunks == chunks
        assert store.embedding_backlog().chunks == 0
        passaged = store.conn.execute(
            "SELECT COUNT(DISTINCT chunk_id) FROM passage_embeddings"
        ).fetchone()[0]
    assert passaged == chunks
    assert vector_rows(db)[1:3] == (chunks, chunks), "still exactly one vector per chunk"
