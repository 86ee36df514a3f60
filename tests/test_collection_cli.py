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
    assert data["added"] == [".gitignore", "b.py", "pages/a.md"]
    assert data["embedded_count"] == data["chunk_count"] == 3
    again = cli("--format", "json", "load", "site").json()
    assert (again["added"], again["unchanged"], again["embedded_count"]) == ([], 3, 0)
    (root / "b.py").write_text("def beta():\n    return 3\n")
    (root / "pages" / "a.md").unlink()
    text = cli("load", "site")
    assert text.code == 0
    assert "added 0, changed 1, removed 1, unchanged 1" in text.out
    listed = cli("--format", "json", "list", "--collection", "site").json()
    names = sorted(b["name"] for b in (listed["buffers"] if isinstance(listed, dict) else listed))
    assert names == [".gitignore", "b.py"]
