"""At start the MCP server embeds what a previous load left without vectors (issue #12).

It does so in its background thread, without blocking calls, never beside a
detached worker that holds the store's lock, never on a read-only server,
and it stops (after the batch in hand) when the server shuts down.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
import pytest
from mcp.types import TextContent

import rlm
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from rlm import ops
from rlm.embedding.base import PassageBatch
from rlm.embedding.hashing import HashEmbedder
from rlm.ingest import background as bg
from rlm.ingest.loader import LoadOptions
from rlm.mcp.server import build_server

DOC = "".join(f"Entry {i}: the lighthouse keeper logs the tide at dawn.\n\n" for i in range(300))


class SlowHash(HashEmbedder):
    """The hash embedder, slowed down so the thread is caught mid-work."""

    def __init__(self, started: threading.Event) -> None:
        super().__init__()
        self.started = started

    def embed_passages(
        self,
        texts: Sequence[str],
        budget: int | None = None,
        *,
        progress: Callable[[int, int], None] | None = None,
        whole: bool = True,
    ) -> PassageBatch:
        self.started.set()
        time.sleep(0.3)
        return super().embed_passages(texts, budget, progress=progress, whole=whole)


def backlog(db: Path) -> int:
    with rlm.Store.open(db) as store:
        return store.embedding_backlog().chunks


@pytest.fixture
def db(isolated_env: Path, hash_embedder: None) -> Path:
    """A store whose chunks were loaded but never embedded (a killed load, --no-embed)."""
    path = isolated_env / ".rlm" / "rlm-state.db"
    with rlm.Store.init(path) as store:
        options = LoadOptions(chunk_size=200, overlap=0, embed=False)
        ops.add_buffer(store, "log.md", DOC, options=options)
    assert backlog(path) > 64  # more than one batch
    return path


def wait_until(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_the_server_embeds_the_backlog_at_start_while_answering(db: Path) -> None:
    started = threading.Event()
    server = build_server(db)
    server.rlm_tools.embedding.factory = lambda: SlowHash(started)
    answers: list[object] = []

    async def main() -> None:
        async with Client(server) as client:
            assert server.rlm_tools.resume_embedding()
            assert started.wait(10)
            # the thread is embedding: calls still answer at once
            begin = time.monotonic()
            result = await client.call_tool("search", {"query": "lighthouse"})
            answers.append(time.monotonic() - begin)
            block = result.content[0]
            assert isinstance(block, TextContent)
            coverage = json.loads(block.text)["semantic_coverage"]
            assert coverage["background"] is True and coverage["percent"] < 100

    anyio.run(main)
    assert server.rlm_tools.embedding.running or backlog(db) == 0
    wait_until(lambda: not server.rlm_tools.embedding.running)
    server.close()
    assert backlog(db) == 0
    last = server.rlm_tools.embedding.last
    assert last is not None and last.error is None and last.chunks > 64
    assert isinstance(answers[0], float) and answers[0] < 2.0


def test_shutdown_stops_the_thread_after_its_batch(db: Path) -> None:
    started = threading.Event()
    server = build_server(db)
    server.rlm_tools.embedding.factory = lambda: SlowHash(started)
    before = backlog(db)
    assert server.rlm_tools.resume_embedding()
    assert started.wait(10)
    begin = time.monotonic()
    server.close()
    assert time.monotonic() - begin < 5
    assert not server.rlm_tools.embedding.running
    assert 0 < backlog(db) < before  # whole batches committed, the rest left for later


def test_start_background_checks_in_a_thread_and_close_waits_for_it(db: Path) -> None:
    """The server answers at once (the backlog is counted in a thread), and a close
    right after start can never leave the embedding thread running."""
    started = threading.Event()
    server = build_server(db)
    server.rlm_tools.embedding.factory = lambda: SlowHash(started)
    server.start_background()
    server.close()
    assert not server.rlm_tools.embedding.running
    server = build_server(db)
    server.rlm_tools.embedding.factory = lambda: SlowHash(started)
    server.start_background()
    assert started.wait(10)  # embedding, with no call made
    server.close()
    assert not server.rlm_tools.embedding.running


def test_no_resume_beside_a_detached_worker(db: Path) -> None:
    lock = bg.WorkerLock(bg.WorkerFiles.of(db).lock)
    assert lock.acquire()  # what a running `python -m rlm.ingest.background` holds
    try:
        server = build_server(db)
        assert not server.rlm_tools.resume_embedding()
        assert not server.rlm_tools.embedding.running
    finally:
        lock.release()
    assert backlog(db) > 0


def test_no_resume_when_read_only_nothing_missing_or_no_store(db: Path, isolated_env: Path) -> None:
    server = build_server(db, read_only=True)
    assert not server.rlm_tools.resume_embedding()
    assert backlog(db) > 0
    writer = build_server(db)
    writer.rlm_tools.embedding.factory = HashEmbedder
    assert writer.rlm_tools.resume_embedding()
    wait_until(lambda: not writer.rlm_tools.embedding.running)
    assert backlog(db) == 0
    assert not build_server(db).rlm_tools.resume_embedding()  # nothing left to do
    assert not build_server(isolated_env / "missing.db").rlm_tools.resume_embedding()
    writer.close()


def test_rlm_mcp_resumes_at_start_and_applies_its_call_timeout(db: Path) -> None:
    """The CLI wiring: ``rlm mcp`` starts the thread, and --call-timeout reaches the calls."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "rlm", "mcp", "--call-timeout", "0.001"],
        env={"RLM_DB_PATH": str(db), "RLM_EMBEDDER": "hash"},
        cwd=str(db.parent),
    )

    async def main() -> dict[str, object]:
        with anyio.fail_after(60):
            async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
                await s.initialize()
                while backlog(db) > 0:  # embedded by the server's thread, no call needed
                    await anyio.sleep(0.05)
                result = await s.call_tool("list_buffers", {})
                assert result.is_error
                block = result.content[0]
                assert isinstance(block, TextContent)
                error = json.loads(block.text)["error"]
                assert isinstance(error, dict)
                return error

    error = anyio.run(main)
    assert error["type"] == "DeadlineExceeded"
    assert "0.001 s" in str(error["message"])
