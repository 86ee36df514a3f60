"""Store discovery says where it looked, and init warns before hiding a parent store
(issue #14 item 5; the walkthrough's steps 25, 29 and 45)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_missing_store_from_d_names_the_path(cli: Cli, isolated_env: Path) -> None:
    result = cli("--format", "json", "-d", "nope/x.db", "list")
    assert result.code == 1
    error = result.json()["error"]
    assert error["type"] == "NotInitialized"
    assert str(isolated_env / "nope" / "x.db") in error["message"]
    assert "(from -d)" in error["message"]
    assert f"rlm -d {isolated_env / 'nope' / 'x.db'} init" in error["suggestion"]
    assert not (isolated_env / "nope").exists()  # looking never creates anything


def test_missing_store_from_env_names_the_variable(
    cli: Cli, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RLM_DB_PATH", str(isolated_env / "env.db"))
    error = cli("--format", "json", "status").json()["error"]
    assert f"{isolated_env / 'env.db'} (from RLM_DB_PATH)" in error["message"]
    assert "RLM_DB_PATH" in error["suggestion"]


def test_missing_store_without_d_names_the_folders_searched(cli: Cli, isolated_env: Path) -> None:
    result = cli("list")
    assert result.code == 1
    assert f"no .rlm/rlm-state.db in {isolated_env} or any parent folder" in result.err
    assert "pass -d PATH" in result.err


def test_store_is_found_from_a_subfolder_and_status_shows_it_absolute(
    cli: Cli, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("init").code == 0
    sub = isolated_env / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    data = cli("--format", "json", "status").json()
    assert data["db_path"] == str(isolated_env / ".rlm" / "rlm-state.db")


def test_init_warns_when_it_would_hide_a_parent_store(
    cli: Cli, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("init").code == 0
    (isolated_env / "proj").mkdir()
    monkeypatch.chdir(isolated_env / "proj")
    result = cli("init")
    assert result.code == 0
    parent = isolated_env / ".rlm" / "rlm-state.db"
    assert f"a store already exists in a parent folder ({parent})" in result.err
    assert cli("--format", "json", "init").json()["hides_store"] is None  # existed already
    assert "parent folder" not in cli("init").err
    # An explicit -d elsewhere hides nothing: discovery would never find it.
    assert "parent folder" not in cli("-d", "other.db", "init").err
