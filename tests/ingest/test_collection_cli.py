"""``rlm load DIR`` end to end through the CLI (the command module calls ``sync_paths``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.mark.usefixtures("hash_embedder")
def test_load_folder_twice_then_edit(cli: Callable[..., Any], isolated_env: Path) -> None:
    root = isolated_env / "site"
    (root / "pages").mkdir(parents=True)
    (root / "pages" / "a.md").write_text("# A\n\nalpha text\n")
    (root / "b.py").write_text("def beta():\n    return 2\n")
    (root / "skip.log").write_text("noise\n")
    (root / ".gitignore").write_text("*.log\n")
    assert cli("init").code == 0
    first = cli("--format", "json", "load", "site")
    assert first.code == 0, first.err
    data = first.json()
    assert data["collection"] == "site"
    assert data["added"] == ["b.py", "pages/a.md"]  # dotfiles are not content (issue #14)
    assert data["embedded_count"] == data["chunk_count"] == 2
    again = cli("--format", "json", "load", "site").json()
    assert (again["added"], again["unchanged"], again["embedded_count"]) == ([], 2, 0)
    (root / "b.py").write_text("def beta():\n    return 3\n")
    (root / "pages" / "a.md").unlink()
    text = cli("load", "site")
    assert text.code == 0
    assert "added 0, changed 1, removed 0, unchanged 0" in text.out
    synced = cli("load", "--sync", "site")
    assert synced.code == 0
    assert "added 0, changed 0, removed 1, unchanged 1" in synced.out
    assert "removed 1 (--sync: not in the paths any more):\n    pages/a.md\n" in synced.out
    listed = cli("--format", "json", "list", "--collection", "site").json()
    names = sorted(b["name"] for b in (listed["buffers"] if isinstance(listed, dict) else listed))
    assert names == ["b.py"]


@pytest.mark.usefixtures("hash_embedder")
def test_grep_across_a_collection_and_all_buffers(
    cli: Callable[..., Any], isolated_env: Path
) -> None:
    root = isolated_env / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "one.py").write_text("def handle_retry():\n    pass\n")
    (root / "pkg" / "two.py").write_text("x = 1\n\n\ndef handle_retry_later():\n    pass\n")
    assert cli("init").code == 0
    assert cli("load", "repo").code == 0
    assert cli("add-buffer", "loose", "handle_retry is mentioned here too").code == 0

    in_repo = cli("--format", "json", "grep", "--collection", "repo", r"def handle_retry\w*")
    assert in_repo.code == 0, in_repo.err
    hits = in_repo.json()
    assert [(h["buffer_name"], h["line"], h["matched"]) for h in hits] == [
        ("pkg/one.py", 1, "def handle_retry"),
        ("pkg/two.py", 4, "def handle_retry_later"),
    ]
    assert all(h["source"].endswith(h["buffer_name"]) for h in hits)

    everywhere = cli("--format", "json", "grep", "--all", "handle_retry", "-n", "1").json()
    assert sorted(h["buffer_name"] for h in everywhere) == ["loose", "pkg/one.py", "pkg/two.py"]

    text = cli("grep", "-c", "repo", "handle_retry_later")
    assert "pkg/two.py:4 (chunk " in text.out and "def handle_retry_later():" in text.out

    # rlm-rs's single-buffer form keeps its JSON fields and has no buffer fields.
    single = cli("--format", "json", "grep", "pkg/one.py", "handle").json()
    assert single and {"offset", "matched", "snippet", "line", "chunk_id"} <= set(single[0])
    assert "buffer_name" not in single[0]


@pytest.mark.usefixtures("hash_embedder")
def test_grep_argument_errors_are_usage_errors(cli: Callable[..., Any], isolated_env: Path) -> None:
    assert cli("init").code == 0
    assert cli("add-buffer", "notes", "some text").code == 0
    assert cli("grep", "only-a-pattern").code == 2
    assert cli("grep", "--all", "notes", "text").code == 2
    assert cli("grep", "--all", "--collection", "c", "text").code == 2
    bad = cli("--format", "json", "grep", "--all", "(unclosed")
    assert bad.code != 0 and "regex" in bad.json()["error"]["message"].lower()
    empty = cli("grep", "--collection", "nothing-here", "text")
    assert empty.code == 1 and "collection not found: nothing-here" in empty.err


@pytest.mark.usefixtures("hash_embedder")
def test_buffers_resolve_by_the_source_path_results_show(
    cli: Callable[..., Any], isolated_env: Path
) -> None:
    root = isolated_env / "docs"
    root.mkdir()
    (root / "guide.md").write_text("# Guide\n\nread me\n")
    assert cli("init").code == 0
    assert cli("load", "docs").code == 0
    by_name = cli("--format", "json", "show", "guide.md").json()["buffer"]
    assert by_name["source"] != by_name["name"]
    by_source = cli("--format", "json", "show", by_name["source"]).json()["buffer"]
    assert by_source["id"] == by_name["id"]
    assert cli("show", "docs/nope.md").code == 1


@pytest.mark.usefixtures("hash_embedder")
def test_chunk_list_shows_symbols_for_code(cli: Callable[..., Any], isolated_env: Path) -> None:
    (isolated_env / "shapes.py").write_text(
        "class Square:\n    def area(self):\n        return 4\n", encoding="utf-8"
    )
    assert cli("init").code == 0
    assert cli("load", "shapes.py", "--chunker", "code").code == 0
    listing = cli("chunk", "list", "shapes.py").out.splitlines()
    assert listing[2].split()[-1] == "Symbol"
    assert "Square" in listing[4]
    assert cli("add-buffer", "prose", "just words").code == 0
    assert "Symbol" not in cli("chunk", "list", "prose").out
