"""MCP calls run concurrently, each with a deadline, and stop when cancelled (issue #15).

The slow calls are test-only tools on a subclass of :class:`RlmTools`: a query
that never ends by itself (a recursive CTE counting forever), alone or inside
a write transaction that has already stored a buffer. Only an interrupt of its
connection can end it, so each test proves the work really stopped (the
thread ends, the write is rolled back), not only that the client stopped
waiting. Both are checked through the SDK's client, in memory and over HTTP.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult, TextContent

import rlm
from mcp import Client, ClientSession
from rlm import ops
from rlm.ingest.loader import LoadOptions
from rlm.mcp.calls import CallRunner, DeadlineExceededError
from rlm.mcp.http import Listen, http_app
from rlm.mcp.server import RlmTools, build_server
from rlm.ops.base import Result
from rlm.store import Store

FOREVER = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
"""A query that runs until its connection is interrupted."""
TOKEN = "t0ken-for-tests"


def _spin(store: Store) -> Result:
    store.conn.execute(FOREVER).fetchone()
    raise AssertionError("the endless query ended by itself")


def _chatter(store: Store) -> Result:
    """Short statements, each a new one (as SQL built per batch is): none runs long
    enough for the progress handler, whose step count is per prepared statement."""
    i = 0
    while True:
        i += 1
        store.conn.execute(f"SELECT COUNT(*) + {i} FROM buffers").fetchone()


def _spin_after_write(store: Store, name: str) -> Result:
    with store.transaction():
        ops.add_buffer(store, name, "written before the spin\n", options=LoadOptions(embed=False))
        _spin(store)
    raise AssertionError("unreachable")


class SlowTools(RlmTools):
    """The real tools plus two that only an interrupt can end."""

    async def spin(self) -> CallToolResult:
        """Test-only: a read that never finishes by itself."""
        return await self.call("spin", _spin)

    async def spin_write(self, name: str) -> CallToolResult:
        """Test-only: store a buffer, then spin inside the same transaction."""
        return await self.call("spin_write", lambda store: _spin_after_write(store, name))

    async def chatter(self) -> CallToolResult:
        """Test-only: short queries in an endless loop."""
        return await self.call("chatter", _chatter)

    def tools(self) -> list[Callable[..., Awaitable[CallToolResult]]]:
        return [*super().tools(), self.spin, self.spin_write, self.chatter]


def data(result: CallToolResult) -> Any:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return json.loads(block.text)


@pytest.fixture
def db(isolated_env: Path, hash_embedder: None) -> Path:
    path = isolated_env / "rlm.db"
    with rlm.Store.init(path) as store:
        ops.add_buffer(store, "notes", "the harbour light turns at dusk\n" * 50)
    return path


async def wait_idle(tools: RlmTools) -> None:
    """Every call's thread has ended (a stopped call's too)."""
    with anyio.fail_after(10):
        while tools.runner.active:
            await anyio.sleep(0.01)


async def timed(call: Awaitable[Any]) -> tuple[float, Any]:
    start = time.monotonic()
    out = await call
    return time.monotonic() - start, out


Session = Client | ClientSession


async def deadline_scenario(session: Session, tools: RlmTools, timeout: float) -> list[float]:
    """A spin past its deadline beside quick calls; returns the quick calls' latencies."""
    latencies: list[float] = []
    spun: dict[str, Any] = {}

    async def spin() -> None:
        spun["took"], spun["result"] = await timed(session.call_tool("spin", {}))

    async with anyio.create_task_group() as tg:
        tg.start_soon(spin)
        with anyio.fail_after(10):
            while tools.runner.active == 0:
                await anyio.sleep(0.01)
        for _ in range(3):
            took, _ = await timed(session.list_tools())
            latencies.append(took)
            took, listed = await timed(session.call_tool("list_buffers", {}))
            assert [b["name"] for b in data(listed)] == ["notes"]
            latencies.append(took)
            took, found = await timed(
                session.call_tool("search", {"query": "harbour", "mode": "bm25"})
            )
            assert data(found)["count"] >= 1
            latencies.append(took)
        assert "result" not in spun, "the quick calls must finish while the spin still runs"
    result = spun["result"]
    assert result.is_error
    assert data(result)["error"]["type"] == "DeadlineExceeded"
    assert "--call-timeout" in data(result)["error"]["suggestion"]
    assert timeout <= spun["took"] < timeout + 5
    await wait_idle(tools)  # the endless query really stopped
    again = await session.call_tool("list_buffers", {})
    assert not again.is_error
    return latencies


async def cancel_scenario(session: Session, tools: RlmTools, db: Path) -> None:
    """A cancelled write stops, rolls back, and the server keeps serving."""
    with anyio.move_on_after(0.5) as scope:
        await session.call_tool("spin_write", {"name": "ghost"})
    assert scope.cancelled_caught
    await wait_idle(tools)  # notifications/cancelled interrupted the query
    with Store.open(db, read_only=True) as store:
        assert [b.name for b in store.list_buffers()] == ["notes"]
    listed = await session.call_tool("list_buffers", {})
    assert [b["name"] for b in data(listed)] == ["notes"]
    assert {t.name for t in (await session.list_tools()).tools} >= {"spin", "search"}


def run_in_memory(
    tools: RlmTools, body: Callable[[Client], Awaitable[None]], *, limit: float = 60
) -> None:
    async def main() -> None:
        with anyio.fail_after(limit):
            async with Client(build_server(tools.db_path, tools=tools)) as client:
                await body(client)

    anyio.run(main)


def test_a_call_past_its_deadline_is_stopped_and_others_go_on(db: Path) -> None:
    tools = SlowTools(str(db), call_timeout=1.5)
    seen: list[float] = []

    async def body(client: Client) -> None:
        seen.extend(await deadline_scenario(client, tools, 1.5))

    run_in_memory(tools, body)
    assert max(seen) < 1.0, seen  # none waited for the spin (serialised: >= 1.5 s)


def test_a_cancelled_write_rolls_back(db: Path) -> None:
    tools = SlowTools(str(db), call_timeout=None)

    async def body(client: Client) -> None:
        await cancel_scenario(client, tools, db)

    run_in_memory(tools, body)


def test_a_call_of_many_short_queries_stops_at_its_deadline(db: Path) -> None:
    """A stopped connection refuses to start another statement, so a loop of short
    queries (each shorter than the progress handler's period) ends too."""
    tools = SlowTools(str(db), call_timeout=0.5)

    async def body(client: Client) -> None:
        result = await client.call_tool("chatter", {})
        assert data(result)["error"]["type"] == "DeadlineExceeded"
        begin = time.monotonic()
        await wait_idle(tools)
        assert time.monotonic() - begin < 1

    run_in_memory(tools, body)


def test_shutdown_stops_running_calls(db: Path) -> None:
    """close() (the server stopping) ends a running call, which answers Cancelled."""
    tools = SlowTools(str(db), call_timeout=None)

    async def body(client: Client) -> None:
        async def stop_soon() -> None:
            with anyio.fail_after(10):
                while tools.runner.active == 0:
                    await anyio.sleep(0.01)
            tools.close()

        async with anyio.create_task_group() as tg:
            tg.start_soon(stop_soon)
            result = await client.call_tool("spin_write", {"name": "ghost"})
        assert data(result)["error"]["type"] == "Cancelled"
        await wait_idle(tools)
        listed = await client.call_tool("list_buffers", {})
        assert [b["name"] for b in data(listed)] == ["notes"]

    run_in_memory(tools, body)


def test_a_write_stuck_on_the_lock_past_its_deadline_never_lands(db: Path) -> None:
    """SQLite's busy wait cannot be interrupted, and a write's statements are too short
    for the progress handler: the transaction checks the stop flag itself, so the call
    stops waiting at once and can never commit after its deadline."""
    tools = RlmTools(str(db), call_timeout=1.0)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer (a CLI load) holds the lock

    async def body(client: Client) -> None:
        result = await client.call_tool("load", {"content": "late text\n", "name": "late"})
        assert data(result)["error"]["type"] == "DeadlineExceeded"
        begin = time.monotonic()
        await wait_idle(tools)
        assert time.monotonic() - begin < 2  # not the 30 s busy timeout

    try:
        run_in_memory(tools, body)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    time.sleep(0.3)
    with Store.open(db, read_only=True) as store:
        assert [b.name for b in store.list_buffers()] == ["notes"]


def test_concurrent_writes_and_reads_all_land(db: Path) -> None:
    tools = RlmTools(str(db))
    names = [f"doc{i}" for i in range(6)]

    async def body(client: Client) -> None:
        results: dict[str, CallToolResult] = {}

        async def load(name: str) -> None:
            results[name] = await client.call_tool(
                "load", {"content": f"{name} talks about tides\n" * 40, "name": name}
            )

        async def search(i: int) -> None:
            results[f"search{i}"] = await client.call_tool(
                "search", {"query": "harbour", "mode": "bm25"}
            )

        async with anyio.create_task_group() as tg:
            for i, name in enumerate(names):
                tg.start_soon(load, name)
                tg.start_soon(search, i)
        assert not any(r.is_error for r in results.values()), results
        listed = data(await client.call_tool("list_buffers", {}))
        assert sorted(b["name"] for b in listed) == sorted(["notes", *names])

    run_in_memory(tools, body)


def test_the_runner_interrupts_sql_and_reports_the_deadline(db: Path) -> None:
    runner = CallRunner(0.3)

    def body(control: Any) -> None:
        with Store.open(db) as store:
            control.attach(store)
            try:
                store.conn.execute(FOREVER).fetchone()
            finally:
                control.detach(store)

    async def main() -> float:
        start = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            await runner.run("spin", body)
        return time.monotonic() - start

    took = anyio.run(main)
    assert 0.3 <= took < 3
    assert runner.active == 0  # settled: the thread ended before the error went out


# --- over HTTP (the SDK's streamable HTTP transport, served in this process) -----------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_tools(db: Path) -> Iterator[tuple[SlowTools, str]]:
    tools = SlowTools(str(db), call_timeout=1.5)
    listen = Listen("127.0.0.1", free_port())
    app = http_app(build_server(str(db), tools=tools), listen, TOKEN)
    server = uvicorn.Server(
        uvicorn.Config(app, host=listen.host, port=listen.port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    try:
        yield tools, listen.url
    finally:
        server.should_exit = True
        thread.join(15)
        tools.close()


@asynccontextmanager
async def http_session(url: str) -> AsyncIterator[ClientSession]:
    async with (
        create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def test_deadline_and_cancel_over_http(http_tools: tuple[SlowTools, str], db: Path) -> None:
    tools, url = http_tools
    seen: list[float] = []

    async def main() -> None:
        with anyio.fail_after(60):
            async with http_session(url) as session:
                seen.extend(await deadline_scenario(session, tools, 1.5))
                await cancel_scenario(session, tools, db)

    anyio.run(main)
    assert max(seen) < 1.0, seen


def test_zero_means_no_deadline_and_the_default_is_a_minute(db: Path) -> None:
    assert CallRunner(0).call_timeout is None
    assert CallRunner(None).call_timeout is None
    assert RlmTools(str(db)).runner.call_timeout == 60.0
