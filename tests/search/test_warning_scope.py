"""Search warnings count the buffers searched, not the whole store (issue #14, smaller
items: every search warned about store-wide missing vectors, even of one complete buffer)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]

TEXT = "".join(f"Paragraph {i} about harbours, lanterns and copper tides.\n\n" for i in range(80))


@pytest.fixture
def two_buffers(cli: Cli, hash_embedder: None, isolated_env: Path) -> Path:
    (isolated_env / "done.md").write_text(TEXT, encoding="utf-8")
    (isolated_env / "later.md").write_text(TEXT.replace("copper", "silver"), encoding="utf-8")
    assert cli("init").code == 0
    assert cli("load", "done.md", "--chunk-size", "500", "--overlap", "0").code == 0
    assert cli("load", "later.md", "--chunk-size", "500", "--overlap", "0", "--no-embed").code == 0
    return isolated_env


def _vector_warnings(result: CliResult) -> list[str]:
    return [line for line in result.err.splitlines() if "vector" in line]


def test_a_complete_buffer_searches_without_store_wide_warnings(
    cli: Cli, two_buffers: Path
) -> None:
    scoped = cli("search", "copper tides", "--buffer", "done.md")
    assert scoped.code == 0
    assert _vector_warnings(scoped) == []
    whole = cli("search", "copper tides")
    assert any("have no" in w for w in _vector_warnings(whole))


def test_an_unembedded_buffer_is_named_with_its_own_command(cli: Cli, two_buffers: Path) -> None:
    result = cli("search", "silver tides", "--buffer", "later.md")
    warnings = _vector_warnings(result)
    assert len(warnings) == 1
    assert "of 'later.md' have no" in warnings[0]
    assert "run 'rlm chunk embed later.md'" in warnings[0]
    assert cli("chunk", "embed", "later.md").code == 0
    assert _vector_warnings(cli("search", "silver tides", "--buffer", "later.md")) == []
