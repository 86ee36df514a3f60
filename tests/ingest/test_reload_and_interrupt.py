"""The agent's path through a load (issue #14): Ctrl-C while embedding exits 130
and names the command to run again; running the same ``rlm load FILE`` again
keeps the buffer and its chunk ids and embeds only what is missing; a folder
whose file names belong to another folder's files in the same collection never
overwrites them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult
from tests.processes import child_env, sigint_as, stop

Cli = Callable[..., CliResult]


def _rlm(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rlm", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def _status(cwd: Path) -> dict[str, int]:
    rows = json.loads(_rlm(cwd, "chunk", "status", "--format", "json").stdout)
    items = rows if isinstance(rows, list) else rows.get("buffers", [rows])
    return {"chunks": int(items[0]["chunk_count"]), "embedded": int(items[0]["embedded_count"])}


def test_sigint_while_embedding_exits_130_and_the_same_load_resumes(isolated_env: Path) -> None:
    """Real model: the interrupt lands while chunks are being embedded."""
    text = "".join(
        f"Paragraph {i}: the harbour master logged {i * 7} ships, lanterns lit at dusk, "
        f"tides measured against the copper gauge near pier {i % 13}.\n\n"
        for i in range(900)
    )
    (isolated_env / "log.txt").write_text(text, encoding="utf-8")
    env = child_env()
    assert _rlm(isolated_env, "init", env=env).returncode == 0
    proc = subprocess.Popen(
        # SIGINT at its default whatever this pytest inherited: a detached run's ignored
        # SIGINT would let the load finish and take the early return below unnoticed
        sigint_as("default", [sys.executable, "-m", "rlm", "load", "log.txt", "--embed", "now"]),
        cwd=isolated_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until the text is committed
        listed = _rlm(isolated_env, "list", "--format", "json", env=env)
        if listed.returncode == 0 and "log.txt" in listed.stdout:
            break
        time.sleep(0.3)
    time.sleep(1.0)
    _, err = stop(proc, signal.SIGINT, timeout=300)
    if proc.returncode == 0:  # the machine embedded everything before the signal: nothing to resume
        return
    assert proc.returncode == 130, err
    assert "interrupted by SIGINT" in err
    assert "rlm load log.txt --embed now" in err
    before = json.loads(
        _rlm(isolated_env, "chunk", "list", "log.txt", "--format", "json", env=env).stdout
    )
    again = _rlm(isolated_env, "load", "log.txt", "--embed", "now", "--format", "json", env=env)
    assert again.returncode == 0, again.stderr
    loaded = json.loads(again.stdout)
    assert loaded["buffer_id"] == 1
    assert loaded["chunk_count"] == _status(isolated_env)["chunks"]
    after = json.loads(
        _rlm(isolated_env, "chunk", "list", "log.txt", "--format", "json", env=env).stdout
    )

    def spans(listing: dict[str, list[dict[str, object]]]) -> list[tuple[object, object]]:
        return [(c["id"], c["byte_range"]) for c in listing["chunks"]]

    assert spans(after) == spans(before)  # same chunk ids, same spans
    status = _status(isolated_env)
    assert status["embedded"] == status["chunks"] > 0


def test_loading_an_unchanged_file_again_keeps_ids_and_a_changed_one_updates_in_place(
    cli: Cli, hash_embedder: None, isolated_env: Path
) -> None:
    doc = isolated_env / "notes.md"
    doc.write_text("".join(f"Section {i}. Ships and tides.\n\n" for i in range(200)), "utf-8")
    assert cli("init").code == 0
    first = cli("load", "notes.md", "--chunk-size", "400", "--overlap", "0", "--format", "json")
    assert first.code == 0
    ids = [c["id"] for c in cli("chunk", "list", "notes.md", "--format", "json").json()["chunks"]]
    again = cli("load", "notes.md", "--chunk-size", "400", "--overlap", "0", "--format", "json")
    assert again.code == 0, again.err
    assert again.json()["buffer_id"] == first.json()["buffer_id"]
    assert [
        c["id"] for c in cli("chunk", "list", "notes.md", "--format", "json").json()["chunks"]
    ] == ids
    doc.write_text(doc.read_text("utf-8") + "A new closing line about lanterns.\n", "utf-8")
    changed = cli("load", "notes.md", "--chunk-size", "400", "--overlap", "0", "--format", "json")
    assert changed.code == 0, changed.err
    assert changed.json()["buffer_id"] == first.json()["buffer_id"]
    now = [c["id"] for c in cli("chunk", "list", "notes.md", "--format", "json").json()["chunks"]]
    assert now[: len(ids) - 1] == ids[:-1]  # every chunk before the edit keeps its id
    other = isolated_env / "sub"
    other.mkdir()
    (other / "notes.md").write_text("another file with the same name\n", "utf-8")
    clash = cli("load", "sub/notes.md")
    assert clash.code == 1  # a different file: never updated in place, never overwritten
    assert "already exists" in clash.err


def test_same_layout_folders_never_overwrite_each_other(
    cli: Cli, hash_embedder: None, isolated_env: Path
) -> None:
    for repo, word in (("a", "alpha"), ("b", "beta")):
        (isolated_env / repo / "docs").mkdir(parents=True)
        (isolated_env / repo / "docs" / "readme.md").write_text(f"{word} text\n", "utf-8")
    assert cli("init").code == 0
    assert cli("load", "a/docs").code == 0
    second = cli("load", "b/docs", "--format", "json")
    assert second.code == 1
    assert "--collection" in second.out + second.err
    assert cli("chunk", "get", "1").out.startswith("alpha")
    # Two repositories with the same layout (different folder names) load side by side.
    for repo in ("repo1", "repo2"):
        (isolated_env / repo / "src").mkdir(parents=True)
        (isolated_env / repo / "src" / "main.py").write_text(f"NAME = '{repo}'\n", "utf-8")
        assert cli("load", repo).code == 0
    listed = cli("list", "--format", "json").json()
    rows = listed if isinstance(listed, list) else listed["buffers"]
    assert sorted(b["collection"] for b in rows if b["name"] == "src/main.py") == ["repo1", "repo2"]
    assert "several collections" in cli("show", "src/main.py").err
