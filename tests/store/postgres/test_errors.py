"""Wrong URL, missing database, missing extension, read-only: one-line typed errors."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import pytest

from rlm.errors import DatabaseError, NotInitializedError, ReadOnlyStoreError
from rlm.store import Store
from rlm.testing import pgserver
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
pytestmark = pytest.mark.pg


def _one_line(result: CliResult) -> dict[str, Any]:
    error: dict[str, Any] = result.json()["error"]
    assert "\n" not in error["message"]
    assert error["suggestion"]
    return error


def test_unreachable_server_is_a_connection_error(cli: Cli) -> None:
    url = "postgresql://nobody@/rlm?host=/nonexistent-rlm-socket-dir&connect_timeout=2"
    result = cli("-d", url, "--format", "json", "list")
    assert result.code == 1
    error = _one_line(result)
    assert error["type"] == "ConnectionFailed"
    assert "/nonexistent-rlm-socket-dir" in error["message"]


def test_password_never_appears_in_messages(cli: Cli) -> None:
    url = "postgresql://u:s3cret@/rlm?host=/nonexistent-rlm-socket-dir"
    result = cli("-d", url, "--format", "json", "list")
    assert result.code == 1
    assert "s3cret" not in result.out + result.err


def test_missing_database_says_how_to_create_it(cli: Cli, pg_server_url: str) -> None:
    url = pgserver.with_database(pg_server_url, "no_such_rlm_db")
    result = cli("-d", url, "--format", "json", "list")
    assert result.code == 1
    error = _one_line(result)
    assert error["type"] == "NotInitialized"
    assert "createdb" in error["suggestion"]


def test_an_empty_database_is_not_initialized_until_init(cli: Cli, pg_url: str) -> None:
    with pytest.raises(NotInitializedError):
        Store.open(pg_url)
    assert cli("-d", pg_url, "init").code == 0
    assert cli("-d", pg_url, "init").code == 0  # idempotent
    Store.open(pg_url).close()


def test_missing_extension_names_the_admin_command(cli: Cli, pg_url: str) -> None:
    """A user who may not CREATE EXTENSION gets the exact statement for an admin."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS rlm_plain")
        conn.execute("CREATE ROLE rlm_plain LOGIN")
        conn.execute("GRANT ALL ON SCHEMA public TO rlm_plain")
    plain = pg_url.replace("postgresql://postgres@", "postgresql://rlm_plain@")
    result = cli("-d", plain, "--format", "json", "init")
    assert result.code == 1
    error = _one_line(result)
    assert error["type"] == "MissingExtension"
    assert "CREATE EXTENSION IF NOT EXISTS vector;" in error["suggestion"]
    with psycopg.connect(pg_url, autocommit=True) as conn:  # the admin does it
        conn.execute("CREATE EXTENSION vector")
    assert cli("-d", plain, "init").code == 0


def test_read_only_open_runs_no_migration_and_refuses_writes(cli: Cli, pg_url: str) -> None:
    with pytest.raises(NotInitializedError):
        Store.open(pg_url, read_only=True)
    Store.init(pg_url).close()
    with Store.open(pg_url, read_only=True) as store:
        with pytest.raises(ReadOnlyStoreError), store.transaction():
            pass
        with pytest.raises(ReadOnlyStoreError):  # even a raw write: the session is read-only
            store.set_chunk_count(1, 1)
        assert store.stats().buffer_count == 0


def test_without_the_extra_a_url_names_it(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_psycopg(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "psycopg" or name.startswith(("psycopg.", "pgvector")):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_psycopg)
    result = cli("-d", "postgresql://u@h/db", "--format", "json", "list")
    assert result.code == 1
    error = _one_line(result)
    assert "pip install 'rlm[postgres]'" in error["suggestion"]
    with pytest.raises(DatabaseError):
        Store.open("postgres://u@h/db")


def test_bad_credentials_map_to_an_authentication_error() -> None:
    """The test server trusts every local user, so the mapping is checked directly."""
    import psycopg

    from rlm.store.postgres.connection import translate

    exc = psycopg.OperationalError(
        'connection failed: FATAL:  password authentication failed for user "rlm"'
    )
    error = translate(exc, "postgresql://rlm:hunter2@db.example/rlm")
    assert error.error_type == "AuthenticationFailed"
    assert "hunter2" not in error.message
    assert error.suggestion is not None and ".pgpass" in error.suggestion


def test_a_socket_closed_mid_command_is_a_lost_connection() -> None:
    """A server restarted mid-COPY ends it with "connection socket closed": the connection
    was open, so the error says it was lost and rolled back, not that the server cannot be
    reached (tests/store/postgres/test_faults.py meets this when the restart lands there)."""
    import psycopg

    from rlm.store.postgres.connection import translate

    exc = psycopg.OperationalError("connection socket closed")
    error = translate(exc, "postgresql://rlm@db.example/rlm")
    assert error.error_type == "ConnectionLost"
    assert "rolled back" in (error.suggestion or "")


def test_psycopg_warnings_do_not_reach_stderr() -> None:
    """psycopg logs what it ignores while unwinding a failed COPY; Python's last-resort
    handler printed that above rlm's one-line error. (A new process: pytest's own log
    handlers would hide the last resort here.)"""
    import subprocess
    import sys

    code = (
        "import logging\n"
        "from rlm.store.postgres.connection import import_psycopg\n"
        "import_psycopg()\n"
        "logging.getLogger('psycopg').warning('error ignored terminating <psycopg.Copy [BAD]>')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "error ignored" not in done.stderr
