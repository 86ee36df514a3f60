"""``rlm mcp --http``: a real server process and the SDK's streamable HTTP client on 127.0.0.1.

Covers the issue's checks: no token -> 401, wrong token -> 401, read-only
refuses writes, path traversal is refused, several concurrent clients all
get correct answers, and a non-loopback address without a token is refused.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult, TextContent

TOKEN = "s3cret-token-for-tests"
DOC = "".join(
    f"## Part {i}\n\nKeeper {i} watches ship number {i} pass the harbour light.\n\n"
    for i in range(30)
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rlm(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rlm", *args],
        cwd=cwd,
        env={**os.environ, "RLM_EMBEDDER": "hash", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Server:
    def __init__(self, folder: Path, *extra: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        env = {**os.environ, "RLM_EMBEDDER": "hash", "RLM_MCP_TOKEN": TOKEN}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rlm",
                "-d",
                "store.db",
                "mcp",
                "--http",
                str(self.port),
                *extra,
            ],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    self.process.stderr.read().decode() if self.process.stderr else ""
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("http")
    assert rlm(root, "-d", "store.db", "init").returncode == 0
    done = rlm(
        root, "-d", "store.db", "add-buffer", "doc", DOC, "--chunk-size", "200", "--overlap", "20"
    )
    assert done.returncode == 0, done.stderr
    (root / "notes.txt").write_text("notes inside the root\n", encoding="utf-8")
    (root / ".env").write_text("API_KEY=do-not-leak\n", encoding="utf-8")
    (root / "proj").mkdir()
    (root / "proj" / "a.md").write_text("alpha\n", encoding="utf-8")
    (root / "proj" / "id_rsa").write_text("PRIVATE KEY\n", encoding="utf-8")
    outside = root.parent / f"{root.name}-outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside the root\n", encoding="utf-8")
    (root / "link").symlink_to(outside / "secret.txt")
    return root


@pytest.fixture(scope="module")
def read_only(folder: Path) -> Iterator[Server]:
    server = Server(folder)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def writable(folder: Path) -> Iterator[Server]:
    server = Server(folder, "--allow-write")
    yield server
    server.stop()


INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"},
    },
}


def post(url: str, token: str | None) -> httpx.Response:
    headers = {"Accept": "application/json, text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(url, json=INIT, headers=headers, timeout=30)


def test_no_token_and_wrong_token_get_401(read_only: Server) -> None:
    for token in (None, "wrong", TOKEN + "x", TOKEN[:-1]):
        response = post(read_only.url, token)
        assert response.status_code == 401, token
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["error"]["type"] == "Unauthorized"
    assert post(read_only.url, TOKEN).status_code == 200


async def session_calls(url: str, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    out: list[Any] = []
    async with (
        create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        for name, args in calls:
            if name == "__tools__":
                out.append(sorted(t.name for t in (await session.list_tools()).tools))
            else:
                out.append(await session.call_tool(name, args))
    return out


def run(url: str, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    async def main() -> list[Any]:
        with anyio.fail_after(60):
            return await session_calls(url, calls)

    return anyio.run(main)


def data(result: CallToolResult) -> Any:
    block = result.content[0]
    assert isinstance(block, TextContent)
    return json.loads(block.text)


def test_read_only_refuses_writes(read_only: Server) -> None:
    tools, load, report, plan = run(
        read_only.url,
        [
            ("__tools__", {}),
            ("load", {"content": "x", "name": "n"}),
            ("aggregate", {"findings": [], "output_buffer": "report"}),
            ("dispatch", {"buffer": "doc"}),
        ],
    )
    assert "load" not in tools and "search" in tools
    assert load.is_error and data(load)["error"]["type"] == "UsageError"
    assert report.is_error and data(report)["error"]["type"] == "InvalidArgument"
    assert data(plan)["run_id"] is None


@pytest.mark.parametrize(
    "path",
    ["../secret.txt", "link", ".env", "proj/id_rsa", "/etc/passwd", "../*/secret.txt"],
)
def test_load_outside_the_roots_or_of_secrets_is_refused(
    writable: Server, folder: Path, path: str
) -> None:
    target = path.replace("../", f"../{folder.name}-outside/") if path.startswith("../") else path
    (result,) = run(writable.url, [("load", {"path": target, "embed": False})])
    assert result.is_error, data(result)
    assert data(result)["error"]["type"] == "AccessDenied"


def test_folder_loads_skip_secrets_and_links_out(writable: Server, folder: Path) -> None:
    # hidden: dotfiles are asked for, so only the deny-list keeps .env out
    load = {"path": ".", "collection": "root", "embed": False, "hidden": True}
    (result,) = run(writable.url, [("load", load)])
    report = data(result)
    assert not result.is_error, report
    loaded = set(report["added"]) | set(report["changed"])
    assert "notes.txt" in loaded and "proj/a.md" in loaded
    skipped = {item["path"] for item in report["skipped"]}
    assert {".env", "proj/id_rsa"} <= skipped
    assert "link" not in loaded


def test_concurrent_clients_get_their_own_correct_answers(read_only: Server, folder: Path) -> None:
    queries = [f"ship number {i}" for i in (3, 7, 12, 19, 25, 28)]
    expected = [
        json.loads(
            rlm(
                folder, "-d", "store.db", "--format", "json", "search", q, "-m", "bm25", "-k", "3"
            ).stdout
        )
        for q in queries
    ]
    answers: dict[int, Any] = {}

    async def client(i: int) -> None:
        calls = [("search", {"query": queries[i], "mode": "bm25", "top_k": 3})] * 3
        results = await session_calls(read_only.url, calls)
        answers[i] = [data(r) for r in results]

    async def main() -> None:
        with anyio.fail_after(90):
            async with anyio.create_task_group() as tg:
                for i in range(len(queries)):
                    tg.start_soon(client, i)

    anyio.run(main)
    for i, want in enumerate(expected):
        assert answers[i] == [want] * 3


def test_non_loopback_without_a_token_is_refused(folder: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RLM_MCP_TOKEN"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rlm",
            "-d",
            "store.db",
            "--format",
            "json",
            "mcp",
            "--http",
            f"0.0.0.0:{free_port()}",
        ],
        cwd=folder,
        env={**env, "RLM_EMBEDDER": "hash"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["type"] == "ConfigError"


def test_listen_addresses_and_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rlm.errors import ConfigError, UsageError
    from rlm.mcp.http import check_listen, parse_listen, read_token

    assert parse_listen("8765") == parse_listen("127.0.0.1:8765")
    assert parse_listen("[::1]:80").loopback and not parse_listen("0.0.0.0:80").loopback
    with pytest.raises(UsageError):
        parse_listen("host:notaport")
    with pytest.raises(ConfigError):
        check_listen(parse_listen("0.0.0.0:80"), None)
    check_listen(parse_listen("0.0.0.0:80"), "t")
    monkeypatch.delenv("RLM_MCP_TOKEN", raising=False)
    assert read_token(None) is None
    monkeypatch.setenv("RLM_MCP_TOKEN", " from-env ")
    assert read_token(None) == "from-env"
    (tmp_path / "token").write_text("from-file\n", encoding="utf-8")
    assert read_token(str(tmp_path / "token")) == "from-file"
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        read_token(str(tmp_path / "empty"))
