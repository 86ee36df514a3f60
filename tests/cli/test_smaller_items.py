"""The walkthrough's smaller findings: `chunk get` of several ids, `vacuum` after
deletes, one summary line instead of hundreds of repeated warnings."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]

WORDS = [
    "harbour",
    "lantern",
    "copper",
    "meadow",
    "river",
    "stone",
    "ember",
    "quiet",
    "cloud",
    "sigma",
]


def _text(size: int, seed: int) -> str:
    rng = random.Random(seed)
    out: list[str] = []
    total = 0
    while total < size:
        para = " ".join(rng.choice(WORDS) for _ in range(60)) + ".\n\n"
        out.append(para)
        total += len(para)
    return "".join(out)


@pytest.fixture
def loaded(cli: Cli, hash_embedder: None, isolated_env: Path) -> Path:
    (isolated_env / "doc.txt").write_text(_text(20_000, 1), encoding="utf-8")
    assert cli("init").code == 0
    assert cli("load", "doc.txt", "--chunk-size", "1000", "--overlap", "0").code == 0
    return isolated_env


def test_chunk_get_takes_several_ids(cli: Cli, loaded: Path) -> None:
    """The walkthrough: `chunk get 665 666` was 'unexpected extra argument'."""
    ids = [c["id"] for c in cli("--format", "json", "chunk", "list", "doc.txt").json()["chunks"]]
    one = cli("--format", "json", "chunk", "get", str(ids[0])).json()
    assert one["chunk_id"] == ids[0]  # one id: the rlm-rs object, unchanged
    many = cli("--format", "json", "chunk", "get", str(ids[0]), str(ids[2])).json()
    assert [c["chunk_id"] for c in many] == [ids[0], ids[2]]
    assert many[0] == one
    text = cli("chunk", "get", str(ids[1]), str(ids[2])).out
    assert text.startswith(f"--- chunk {ids[1]} (doc.txt, lines ")
    assert f"--- chunk {ids[2]} (doc.txt, lines " in text
    assert many[1]["content"] in text
    assert len(cli("--format", "ndjson", "chunk", "get", *map(str, ids[:3])).lines()) == 3
    assert cli("chunk", "get", str(ids[0]), "99999999").code == 1  # all or nothing


def test_vacuum_gives_back_the_space_of_deleted_buffers(
    cli: Cli, loaded: Path, isolated_env: Path
) -> None:
    (isolated_env / "huge.txt").write_text(_text(6_000_000, 2), encoding="utf-8")
    assert cli("load", "huge.txt", "--no-embed").code == 0
    db = isolated_env / ".rlm" / "rlm-state.db"
    assert cli("rm", "huge.txt", "--yes").code == 0
    status = cli("status").out
    assert "'rlm vacuum' gives it back" in status
    free = cli("--format", "json", "status").json()["free_bytes"]
    assert free > 5_000_000
    result = cli("--format", "json", "vacuum")
    assert result.code == 0
    data = result.json()
    assert data["size_before"] - data["size_after"] > 5_000_000
    assert db.stat().st_size == data["size_after"]
    assert "gives it back" not in cli("status").out
    assert cli("--format", "json", "chunk", "list", "doc.txt").json()["chunk_count"] > 1


def test_repeated_warnings_are_collapsed(cli: Cli, loaded: Path, isolated_env: Path) -> None:
    """The walkthrough: 438 oversized-chunk warnings, 60 'already fully embedded' lines."""
    many = cli("dispatch", "doc.txt", "--max-tokens", "50")
    assert many.code == 0
    warnings = [line for line in many.err.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "chunks are over --max-tokens 50" in warnings[0]
    for n in range(3):
        assert cli("add-buffer", f"b{n}", "some words here").code == 0
    out = cli("chunk", "embed", "--all").out
    assert out.count("already fully embedded") == 1
    assert "4 buffers already fully embedded" in out


def test_chunk_get_context_is_capped_by_max_bytes(cli: Cli, loaded: Path) -> None:
    ids = [c["id"] for c in cli("--format", "json", "chunk", "list", "doc.txt").json()["chunks"]]
    middle = ids[len(ids) // 2]
    wide = cli("--format", "json", "chunk", "get", str(middle), "-C", "1000000").json()
    assert wide["context"]["chunk_ids"] == ids  # a small buffer fits whole
    capped = cli(
        "--format", "json", "chunk", "get", str(middle), "-C", "1000000", "--max-bytes", "2500"
    )
    context = capped.json()["context"]
    assert context["truncated"] is True and middle in context["chunk_ids"]
    assert 1 <= len(context["chunk_ids"]) <= 3
    span = context["byte_range"]["end"] - context["byte_range"]["start"]
    assert span <= 2500 or context["chunk_ids"] == [middle]
    assert "context cut to" in capped.err
