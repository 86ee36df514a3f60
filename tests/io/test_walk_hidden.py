"""Dotfiles and dot-folders are configuration, not content (issue #14): a folder
or glob load leaves them out unless asked with ``--hidden``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rlm.io.walk import expand_glob, walk
from tests.conftest import CliResult


def _tree(root: Path) -> None:
    (root / ".github").mkdir(parents=True)
    (root / ".github" / "ci.yml").write_text("on: push\n", "utf-8")
    (root / ".gitignore").write_text("*.log\n", "utf-8")
    (root / ".env.example").write_text("TOKEN=\n", "utf-8")
    (root / "docs").mkdir()
    (root / "docs" / "guide.md").write_text("# Guide\n", "utf-8")
    (root / "notes.md").write_text("notes\n", "utf-8")


def test_walk_leaves_dotfiles_out_unless_hidden(tmp_path: Path) -> None:
    _tree(tmp_path)
    assert sorted(e.rel for e in walk(tmp_path)) == ["docs/guide.md", "notes.md"]
    assert sorted(e.rel for e in walk(tmp_path, hidden=True)) == [
        ".env.example",
        ".github/ci.yml",
        ".gitignore",
        "docs/guide.md",
        "notes.md",
    ]
    _, globbed = expand_glob(str(tmp_path / "**" / "*"))
    assert sorted(e.rel for e in globbed) == ["docs/guide.md", "notes.md"]
    _, globbed = expand_glob(str(tmp_path / "**" / "*.yml"), hidden=True)
    assert [e.rel for e in globbed] == [".github/ci.yml"]


def test_load_hidden_flag(
    cli: Callable[..., CliResult], hash_embedder: None, isolated_env: Path
) -> None:
    _tree(isolated_env / "proj")
    assert cli("init").code == 0
    plain = cli("load", "proj", "--format", "json")
    assert plain.code == 0, plain.err
    assert sorted(plain.json()["added"]) == ["docs/guide.md", "notes.md"]
    more = cli("load", "proj", "--hidden", "--format", "json")
    assert more.code == 0, more.err
    assert sorted(more.json()["added"]) == [".env.example", ".github/ci.yml", ".gitignore"]
