"""MCP calls side by side: latency during a slow call, deadline and cancel stop times.

One store (a 2000-paragraph buffer, hash embedder: no model time), the SDK's
in-memory client and its streamable HTTP client (``rlm mcp --http``'s app served
by uvicorn in this process, with a bearer token), in one run:

* **idle**: median latency of ``list_tools``, ``list_buffers`` and a bm25
  ``search`` with nothing else running (the baseline);
* **busy**: the same calls while a call that never ends by itself (a recursive
  SQL count, as in tests/mcp/test_calls.py) runs; the ratio to idle is the
  cost one slow call puts on the others (before this change every call waited
  for the slow one: unbounded);
* **deadline**: with ``call_timeout`` 1 s, when the slow call's
  ``DeadlineExceeded`` arrives and when its thread has really stopped;
* **cancel**: the slow call's task cancelled (the client sends
  ``notifications/cancelled``): time until its thread has stopped;
* **progress handler**: a heavy read (a recursive count to 1M) on a plain
  connection and on one made stoppable (:func:`rlm.store.connection.interruptible`):
  the ratio is what checking the stop flag costs.

    python bench/mcp_calls_bench.py [--calls 50]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult

from mcp import Client, ClientSession
from rlm import ops
from rlm.mcp.http import Listen, http_app
from rlm.mcp.server import RlmTools, build_server
from rlm.ops.base import Result
from rlm.store import Store
from rlm.store.connection import interruptible

FOREVER = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
COUNT = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)"
COUNT += " SELECT max(i) FROM n"
TOKEN = "bench-token"
DOC = "".join(
    f"Paragraph {i}: the keeper of light {i} logs the tide, the wind and each ship.\n\n"
    for i in range(2000)
)


def _spin(store: Store) -> Result:
    store.conn.execute(FOREVER).fetchone()
    raise RuntimeError("unreachable")


class SlowTools(RlmTools):
    async def spin(self) -> CallToolResult:
        """A read that only an interrupt ends."""
        return await self.call("spin", _spin)

    def tools(self) -> list[Callable[..., Awaitable[CallToolResult]]]:
        return [*super().tools(), self.spin]


async def latencies(client: Any, calls: int) -> dict[str, float]:
    """Median milliseconds of each quick call."""
    quick: dict[str, Callable[[], Awaitable[Any]]] = {
        "list_tools": client.list_tools,
        "list_buffers": lambda: client.call_tool("list_buffers", {}),
        "search": lambda: client.call_tool("search", {"query": "keeper tide", "mode": "bm25"}),
    }
    out: dict[str, float] = {}
    for name, call in quick.items():
        samples = []
        for _ in range(calls):
            start = time.perf_counter()
            await call()
            samples.append(time.perf_counter() - start)
        out[name] = statistics.median(samples) * 1000
    return out


async def wait_idle(tools: RlmTools) -> None:
    while tools.runner.active:
        await anyio.sleep(0.001)


@asynccontextmanager
async def in_memory(tools: RlmTools) -> AsyncIterator[Any]:
    async with Client(build_server(tools.db_path, tools=tools)) as client:
        yield client


@asynccontextmanager
async def over_http(tools: RlmTools) -> AsyncIterator[Any]:
    """The same tools behind ``rlm mcp --http`` (uvicorn in a thread of this process)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        listen = Listen("127.0.0.1", int(probe.getsockname()[1]))
    app = http_app(build_server(tools.db_path, tools=tools), listen, TOKEN)
    server = uvicorn.Server(
        uvicorn.Config(app, host=listen.host, port=listen.port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        await anyio.sleep(0.05)
    try:
        async with (
            create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
            streamable_http_client(listen.url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session
    finally:
        server.should_exit = True
        thread.join(15)


async def scenario(db: Path, calls: int, transport: str) -> dict[str, Any]:
    tools = SlowTools(str(db), call_timeout=1.0)
    report: dict[str, Any] = {}
    connect = over_http if transport == "http" else in_memory
    async with connect(tools) as client:
        await latencies(client, 3)  # warm-up
        report["idle"] = await latencies(client, calls)

        async with anyio.create_task_group() as tg:
            done: dict[str, float] = {}

            async def slow() -> None:
                start = time.perf_counter()
                result = await client.call_tool("spin", {})
                done["answered"] = time.perf_counter() - start
                assert result.is_error
                await wait_idle(tools)
                done["stopped"] = time.perf_counter() - start

            tg.start_soon(slow)
            while tools.runner.active == 0:
                await anyio.sleep(0.001)
            report["busy"] = await latencies(client, max(1, calls // 10))
            report["busy_while_slow_ran"] = "answered" not in done
        report["deadline"] = done

        tools.runner.call_timeout = None
        with anyio.move_on_after(0.3) as scope:
            await client.call_tool("spin", {})
        # the server stops the call before the cancelled request settles: the time
        # past the cancel until the client's scope exits bounds the stop time
        assert scope.deadline is not None
        cancelled_at = scope.deadline
        await wait_idle(tools)
        report["cancel_stop_ms"] = (anyio.current_time() - cancelled_at) * 1000
    tools.close()
    return report


def progress_cost(db: Path, rounds: int = 9) -> tuple[float, float]:
    """Median seconds of a heavy read on a plain and on a stoppable connection,
    interleaved round by round so a busy machine slows both alike."""
    with Store.open(db) as plain, Store.open(db) as stoppable:
        interruptible(stoppable.conn, lambda: False)
        runs: dict[int, list[float]] = {0: [], 1: []}
        for _ in range(rounds):
            for which, store in enumerate((plain, stoppable)):
                start = time.perf_counter()
                store.conn.execute(COUNT).fetchone()
                runs[which].append(time.perf_counter() - start)
    return statistics.median(runs[0]), statistics.median(runs[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    os.environ["RLM_EMBEDDER"] = "hash"
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "rlm.db"
        with Store.init(db) as store:
            ops.add_buffer(store, "doc", DOC)
        reports = {t: anyio.run(scenario, db, args.calls, t) for t in ("memory", "http")}
        base, checked = progress_cost(db)
    for transport, report in reports.items():
        idle, busy = report["idle"], report["busy"]
        print(f"-- {transport}")
        print(f"{'call':<14}{'idle ms':>10}{'busy ms':>10}{'ratio':>8}")
        for name in idle:
            ratio = busy[name] / idle[name]
            print(f"{name:<14}{idle[name]:>10.2f}{busy[name]:>10.2f}{ratio:>8.2f}")
        print(f"quick calls all answered while the slow call ran: {report['busy_while_slow_ran']}")
        deadline = report["deadline"]
        print(
            f"deadline 1.0 s: DeadlineExceeded after {deadline['answered']:.3f} s,"
            f" thread stopped after {deadline['stopped']:.3f} s"
        )
        print(f"cancel: thread stopped {report['cancel_stop_ms']:.1f} ms after the cancel")
    print(
        f"progress handler: heavy read {base:.3f} s plain, {checked:.3f} s stoppable"
        f" (ratio {checked / base:.3f})"
    )


if __name__ == "__main__":
    main()
