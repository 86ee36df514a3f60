"""list never cuts a name when piped, fits the terminal otherwise, shows collections;
mistyped buffer and collection names get "Did you mean" (issue #14 item 10)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]

LONG = "_deep_folder_name/_header_value_parser_long_name.py"


@pytest.fixture
def loaded(cli: Cli, hash_embedder: None, isolated_env: Path) -> Path:
    folder = isolated_env / "email"
    (folder / "_deep_folder_name").mkdir(parents=True)
    (folder / LONG).write_text("def parse():\n    return 1\n", encoding="utf-8")
    (isolated_env / "big-report.md").write_text("# Report\n\nbody text\n", encoding="utf-8")
    assert cli("init").code == 0
    assert cli("load", "email", "--collection", "myrepo").code == 0
    assert cli("load", "big-report.md").code == 0
    return isolated_env


def test_piped_list_prints_whole_names_sources_and_collections(cli: Cli, loaded: Path) -> None:
    """The walkthrough's step 5: names cut to 20 characters, even with COLUMNS=200."""
    out = cli("list").out
    row = next(line for line in out.splitlines() if LONG in line)
    assert "myrepo" in row
    assert row.rstrip().endswith(str(Path("email") / LONG)) or row.rstrip().endswith(
        str(loaded / "email" / LONG)
    )
    assert "Collection" in out.splitlines()[1]
    assert "..." not in out


def test_terminal_list_fits_the_width(
    cli: Cli, loaded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("rlm.cli.table.stdout_is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "70")
    lines = cli("list").out.splitlines()
    assert all(len(line) <= 70 for line in lines)
    assert any("..." in line for line in lines)  # the long name had to give way
    monkeypatch.setenv("COLUMNS", "300")
    assert any(LONG in line for line in cli("list").out.splitlines())


def test_did_you_mean_for_buffers_and_collections(cli: Cli, loaded: Path) -> None:
    """The walkthrough's step 26: `rlm show big-report` gave no hint."""
    error = cli("--format", "json", "show", "big-report").json()["error"]
    assert error["type"] == "BufferNotFound"
    assert error["suggestion"].startswith("Did you mean 'big-report.md'?")
    by_file_name = cli("--format", "json", "show", "_header_value_parser_long_name.py").json()
    assert f"'{LONG}'" in by_file_name["error"]["suggestion"]
    nothing = cli("--format", "json", "show", "zzzz").json()["error"]
    assert "Did you mean" not in nothing["suggestion"]
    typo = cli("--format", "json", "list", "--collection", "myrepoo").json()["error"]
    assert typo["type"] == "CollectionNotFound"
    assert typo["suggestion"].startswith("Did you mean 'myrepo'?")


def test_control_characters_in_names_cannot_break_the_table(cli: Cli, loaded: Path) -> None:
    name = "evil\nname\x1b[31mRED\x1b]0;pwned\x07.txt"
    assert cli("add-buffer", name, "some text", "--no-embed").code == 0
    out = cli("list").out
    assert "\x1b" not in out and "\x07" not in out
    row = next(line for line in out.splitlines() if "evil" in line)
    assert "evil\\x0aname\\x1b[31mRED\\x1b]0;pwned\\x07.txt" in row
    assert len(out.splitlines()) == 3 + 3  # title, header, rule and three buffers
    assert [b["name"] for b in cli("--format", "json", "list").json()][-1] == name  # JSON exact
