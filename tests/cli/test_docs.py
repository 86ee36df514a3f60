"""The command reference cannot drift from ``--help``, and every command loads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
import pytest

from rlm.cli.commands import COMMAND_MODULES, load_command
from rlm.cli.docs import render_cli_docs
from tests.conftest import CliResult

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_docs_cli_md_matches_the_help_texts() -> None:
    expected = render_cli_docs()
    assert DOCS.read_text(encoding="utf-8") == expected, (
        "docs/cli.md is stale: run `python -m rlm.cli.docs > docs/cli.md`"
    )


@pytest.mark.parametrize("name", sorted(COMMAND_MODULES))
def test_every_listed_command_loads(name: str) -> None:
    command = load_command(name)
    assert isinstance(command, click.Command), name
    assert command.help, f"{name} has no help text"


def test_every_command_is_in_the_reference() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name in COMMAND_MODULES:
        assert f"rlm {name}" in text, name


def test_root_help_lists_every_command(cli: Callable[..., CliResult]) -> None:
    res = cli("--help")
    assert res.code == 0
    for name in COMMAND_MODULES:
        assert name in res.out, name
