"""The throwaway test server itself: it starts, has pgvector, and stops cleanly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rlm.testing import pgserver

pytestmark = pytest.mark.pg


def test_each_test_gets_its_own_database_with_pgvector_available(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        row = conn.execute(
            "SELECT current_database(), count(*) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public'"
        ).fetchone()
        assert row is not None
        assert row[0].startswith("rlm_t")
        assert row[1] == 0  # empty: nothing left over from another test
        assert conn.execute("SELECT '[1,2]'::vector <=> '[2,4]'::vector").fetchone() == (0.0,)


def test_a_server_started_here_is_gone_after_stop() -> None:
    server = pgserver.start()
    try:
        pid = server.pid()
        assert pid is not None
        import psycopg

        with psycopg.connect(server.url(), autocommit=True) as conn:
            assert conn.execute("SHOW fsync").fetchone() == ("off",)
            assert conn.execute("SHOW jit").fetchone() == ("off",)
            assert conn.execute("SHOW listen_addresses").fetchone() == ("",)
        assert len(str(server.socket_dir)) < 80  # the Unix socket path limit is 107 bytes
    finally:
        server.stop()
    assert not server.root.exists()
    assert not pgserver.running(pid)


def test_no_binaries_is_an_error_not_a_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a pg test meets on a machine without a server: a failure naming the fix."""
    monkeypatch.setenv("RLM_PG_BIN", "/nonexistent-pg-bin")
    with pytest.raises(pgserver.PgServerError, match="RLM_PG_BIN"):
        pgserver.start()


def test_with_database_replaces_only_the_database_name() -> None:
    url = "postgresql://u:p@h:5433/old?sslmode=require"
    assert pgserver.with_database(url, "new") == "postgresql://u:p@h:5433/new?sslmode=require"


def test_a_copied_install_still_finds_its_libraries(tmp_path: Path) -> None:
    """The copy made for a server user who cannot reach the venv (a checkout under a
    0700 directory) must run: the binaries find libpq relative to themselves."""
    copied = pgserver._copy_install(pgserver.find_bin_dir(), tmp_path / "pg")
    assert copied != pgserver.find_bin_dir()
    proc = subprocess.run(
        [str(copied / "initdb"), "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "initdb (PostgreSQL)" in proc.stdout
