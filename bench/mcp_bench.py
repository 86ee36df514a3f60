"""MCP tool-call latency (prints figures; not a test).

One store (a 200-chunk buffer, hash embedder, so no model time), three ways
to answer the same ``search`` (bm25) and ``chunk_get`` calls, in one run:

* **baseline**: the ``rlm.ops`` function called directly (open store, call, close);
* **cli-in-process**: ``rlm.cli.main.execute`` with an argv, which is what the MCP
  server did before it called ``rlm.ops`` (argv rebuilt from typed arguments, click
  parsing, the command, the JSON payload);
* **mcp**: a tool call through the SDK's in-memory client (JSON-RPC, schema
  validation, the tool, ``to_json()``);
* **mcp-http**: a tool call through the SDK's streamable HTTP client against
  ``rlm mcp --http`` on 127.0.0.1 with a bearer token (a separate process).

    python bench/mcp_bench.py [--calls 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from mcp import Client
from rlm import ops
from rlm.cli.context import AppContext
from rlm.cli.main import execute
from rlm.ingest.loader import LoadOptions
from rlm.mcp.server import build_server
from rlm.store import Store

TOKEN = "bench-token"
DOC = "".join(
    f"Paragraph {i}: the keeper of light {i} logs the tide, the wind and each ship.\n\n"
    for i in range(2000)
)
SEARCH = {"query": "keeper tide ship", "mode": "bm25", "top_k": 10}
CHUNK = {"chunk_id": 50, "context": 1}


def timed(calls: int, fn: Callable[[], object]) -> float:
    """Median seconds per call."""
    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


async def timed_async(calls: int, fn: Callable[[], Awaitable[object]]) -> float:
    samples = []
    for _ in range(calls):
        t = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def direct(db: str, calls: int) -> dict[str, float]:
    def search() -> object:
        with Store.open(db) as store:
            return ops.search(store, SEARCH["query"], mode="bm25", top_k=10).to_json()

    def chunk() -> object:
        with Store.open(db) as store:
            return ops.chunk_get(store, 50, context=1).to_json()

    return {"search": timed(calls, search), "chunk_get": timed(calls, chunk)}


def cli_in_process(db: str, calls: int) -> dict[str, float]:
    def run(argv: list[str]) -> object:
        app = AppContext(db_path=db, fmt="json")
        try:
            return execute(["--db-path", db, *argv], app)
        finally:
            app.close()

    search = ["search", "-m", "bm25", "-k", "10", "--", SEARCH["query"]]
    chunk = ["chunk", "get", "--context", "1", "--", "50"]
    return {
        "search": timed(calls, lambda: run(search)),
        "chunk_get": timed(calls, lambda: run(chunk)),
    }


def in_memory(db: str, calls: int) -> dict[str, float]:
    out: dict[str, float] = {}

    async def main() -> None:
        async with Client(build_server(db)) as client:
            await client.call_tool("search", SEARCH)
            out["search"] = await timed_async(calls, lambda: client.call_tool("search", SEARCH))
            out["chunk_get"] = await timed_async(
                calls, lambda: client.call_tool("chunk_get", CHUNK)
            )

    anyio.run(main)
    return out


def over_http(folder: Path, db: str, calls: int) -> dict[str, float]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "RLM_MCP_TOKEN": TOKEN}
    server = subprocess.Popen(
        [sys.executable, "-m", "rlm", "-d", db, "mcp", "--http", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        out: dict[str, float] = {}

        async def main() -> None:
            url = f"http://127.0.0.1:{port}/mcp"
            async with (
                create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
                streamable_http_client(url, http_client=http) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                await session.call_tool("search", SEARCH)
                out["search"] = await timed_async(
                    calls, lambda: session.call_tool("search", SEARCH)
                )
                out["chunk_get"] = await timed_async(
                    calls, lambda: session.call_tool("chunk_get", CHUNK)
                )

        anyio.run(main)
        return out
    finally:
        server.terminate()
        server.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["RLM_EMBEDDER"] = "hash"  # no model time in any path (also the HTTP server's)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = str(folder / "bench.db")
        with Store.init(db) as store:
            ops.add_buffer(store, "doc", DOC, options=LoadOptions(chunk_size=800, overlap=80))
        figures: dict[str, dict[str, float]] = {
            "ops (baseline)": direct(db, args.calls),
            "cli in-process (old MCP path)": cli_in_process(db, args.calls),
            "mcp in-memory": in_memory(db, args.calls),
            "mcp http": over_http(folder, db, args.calls),
        }
    if args.json:
        print(json.dumps(figures))
        return
    base = figures["ops (baseline)"]
    print(f"{'path':<32} {'search ms':>10} {'vs ops':>7} {'chunk_get ms':>13} {'vs ops':>7}")
    for name, f in figures.items():
        print(
            f"{name:<32} {f['search'] * 1000:>10.2f} {base['search'] / f['search']:>7.2f}"
            f" {f['chunk_get'] * 1000:>13.2f} {base['chunk_get'] / f['chunk_get']:>7.2f}"
        )


if __name__ == "__main__":
    main()
