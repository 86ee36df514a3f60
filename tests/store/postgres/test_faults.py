"""Faults against a real server, end to end through the CLI (issue #11 item 8).

A connection dropped mid-load (``pg_terminate_backend`` from another
connection), the server restarted mid-load, and the ``rlm`` process killed
mid-load each give a clear error (or none, for the kill), leave no partial
buffer, and the next load succeeds. A wrong URL, bad credentials and a
missing pgvector extension each give a one-line error with the fix.

These tests start their own throwaway server (they restart it and change
its ``pg_hba.conf``), not the session's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from rlm.testing import pgserver
from tests.conftest import CliResult

pytestmark = [pytest.mark.pg, pytest.mark.usefixtures("hash_embedder")]
Cli = Callable[..., CliResult]

BIG_MB = 4
"""Big enough that the load's transaction lasts a few seconds on a busy machine."""


@pytest.fixture(scope="module")
def server() -> Iterator[pgserver.PgServer]:
    srv = pgserver.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def url(server: pgserver.PgServer) -> str:
    return server.create_database("rlm_fault")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.txt"
    para = "".join(f"Line {i} of the harbour log: the keeper trims the lamp.\n" for i in range(40))
    with path.open("w", encoding="utf-8") as out:
        for n in range(BIG_MB * 1024 * 1024 // len(para)):
            out.write(f"Section {n}\n{para}\n")
    return path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RLM_", "PG"))}
    env["RLM_EMBEDDER"] = "hash"
    return env


def start_load(url: str, path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rlm", "-d", url, "load", str(path), "--embed", "off"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )


def wait_for_writing_load(server: pgserver.PgServer, url: str, proc: subprocess.Popen[str]) -> int:
    """The pid of the backend whose transaction has started writing ``url``'s database."""
    import psycopg

    database = urlsplit(url).path.lstrip("/")
    deadline = time.monotonic() + 120
    with psycopg.connect(server.url(), autocommit=True) as conn:
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"load ended before the fault: {proc.communicate()}"
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s"
                " AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()",
                (database,),
            ).fetchone()
            if row is not None:
                time.sleep(0.3)  # well inside the transaction: some chunks are written
                return int(row[0])
            time.sleep(0.05)
    raise AssertionError("the load never started writing")


def assert_one_line_error(stderr: str, *needles: str) -> None:
    if os.environ.get("RLM_SHOW_FAULT_ERRORS"):
        print(stderr, file=sys.stderr)
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("Error: ")]
    assert len(errors) == 1, stderr
    assert len(lines) <= 3, stderr  # the error, its suggestion, maybe one progress line
    for needle in needles:
        assert needle.lower() in stderr.lower(), (needle, stderr)


def assert_empty_then_load_succeeds(cli: Cli, url: str, path: Path) -> None:
    listed = cli("-d", url, "list", "--format", "json")
    assert listed.code == 0, listed.err
    assert listed.json() == []
    stats = cli("-d", url, "status", "--format", "json").json()
    assert stats["buffer_count"] == 0 and stats["chunk_count"] == 0
    again = cli("-d", url, "load", str(path), "--embed", "off")
    assert again.code == 0, again.err
    after = cli("-d", url, "status", "--format", "json").json()
    assert after["buffer_count"] == 1 and after["chunk_count"] > 500
    hit = cli("-d", url, "search", "keeper lamp", "--mode", "bm25", "--format", "json")
    assert hit.code == 0 and hit.json()["count"] > 0


def test_connection_terminated_mid_load(
    server: pgserver.PgServer, url: str, big_file: Path, cli: Cli
) -> None:
    assert cli("-d", url, "init").code == 0
    proc = start_load(url, big_file)
    backend = wait_for_writing_load(server, url, proc)
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (backend,)).fetchone() == (True,)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert_one_line_error(err, "lost the connection to PostgreSQL", "rolled back", "run it again")
    assert_empty_then_load_succeeds(cli, url, big_file)


def _pg_ctl(server: pgserver.PgServer, *args: str) -> None:
    argv = [str(server.bin_dir / "pg_ctl"), "-D", str(server.data_dir), *args]
    if server.user is not None:
        argv = ["runuser", "-u", server.user, "--", *argv]
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


def test_server_restarted_mid_load(
    server: pgserver.PgServer, url: str, big_file: Path, cli: Cli
) -> None:
    assert cli("-d", url, "init").code == 0
    proc = start_load(url, big_file)
    wait_for_writing_load(server, url, proc)
    log = str(server.data_dir / "server.log")
    _pg_ctl(server, "-m", "fast", "-w", "-l", log, "restart")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert_one_line_error(err, "lost the connection to PostgreSQL", "rolled back", "run it again")
    assert_empty_then_load_succeeds(cli, url, big_file)


def test_sigkill_mid_load_leaves_no_partial_buffer(
    server: pgserver.PgServer, url: str, big_file: Path, cli: Cli
) -> None:
    assert cli("-d", url, "init").code == 0
    proc = start_load(url, big_file)
    wait_for_writing_load(server, url, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    # The server notices the closed socket and rolls the transaction back.
    import psycopg

    database = urlsplit(url).path.lstrip("/")
    with psycopg.connect(server.url(), autocommit=True) as conn:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_xid IS NOT NULL",
            (database,),
        ).fetchone() != (0,):
            time.sleep(0.05)
    assert_empty_then_load_succeeds(cli, url, big_file)


def test_wrong_url_is_one_line(server: pgserver.PgServer, tmp_path: Path, cli: Cli) -> None:
    missing = quote(str(tmp_path / "no-such-socket-dir"))
    res = cli("-d", f"postgresql://postgres@/postgres?host={missing}", "status")
    assert res.code == 1
    assert_one_line_error(res.err, "cannot reach PostgreSQL", "host")
    res = cli("-d", server.url("no_such_database"), "status")
    assert res.code == 1
    assert_one_line_error(res.err, "no_such_database")


def test_bad_credentials_are_one_line_and_hide_the_password(
    server: pgserver.PgServer, cli: Cli
) -> None:
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS rlm_pw")
        conn.execute("CREATE ROLE rlm_pw LOGIN PASSWORD 'right-horse'")
        hba = server.data_dir / "pg_hba.conf"
        original = hba.read_text()
        hba.write_text("local all postgres trust\nlocal all all scram-sha-256\n")
        conn.execute("SELECT pg_reload_conf()")
        try:
            time.sleep(0.2)
            host = quote(str(server.socket_dir))
            url = f"postgresql://rlm_pw:wrong-battery@/postgres?host={host}"
            res = cli("-d", url, "status")
        finally:
            hba.write_text(original)
            conn.execute("SELECT pg_reload_conf()")
    assert res.code == 1
    assert_one_line_error(res.err, "credentials", "pgpass")
    assert "wrong-battery" not in res.err + res.out


def test_missing_extension_names_the_statement_for_an_admin(
    server: pgserver.PgServer, cli: Cli
) -> None:
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS rlm_noext")
        conn.execute("DROP ROLE IF EXISTS rlm_plain")
        conn.execute("CREATE ROLE rlm_plain LOGIN NOSUPERUSER")
        conn.execute("CREATE DATABASE rlm_noext OWNER rlm_plain")
    host = quote(str(server.socket_dir))
    url = f"postgresql://rlm_plain@/rlm_noext?host={host}"
    res = cli("-d", url, "init")
    assert res.code == 1
    assert_one_line_error(res.err, "CREATE EXTENSION IF NOT EXISTS vector")
    with psycopg.connect(server.url("rlm_noext"), autocommit=True) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    assert tables == (0,)  # nothing half-created
    with psycopg.connect(server.url("rlm_noext"), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")  # what the admin runs
    res = cli("-d", url, "init")
    assert res.code == 0, res.err
