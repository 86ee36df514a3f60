"""Runs can be found again: every dispatch format gives the run id, 'rlm runs' lists
them, 'rlm runs show' details one, and a wrong id names the latest (issue #14 item 7)."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


@pytest.fixture
def loaded(cli: Cli, hash_embedder: None, isolated_env: Path) -> Path:
    (isolated_env / "notes.txt").write_text(
        "".join(f"Line {i} of the notes, about harbours and lanterns.\n" for i in range(400)),
        encoding="utf-8",
    )
    assert cli("init").code == 0
    assert cli("load", "notes.txt", "--chunk-size", "800", "--overlap", "0").code == 0
    return isolated_env


def test_ndjson_dispatch_gives_the_run_id_on_every_line(cli: Cli, loaded: Path) -> None:
    """The walkthrough's step 47: the run was recorded but its id printed nowhere."""
    result = cli("dispatch", "notes.txt", "--format", "ndjson")
    assert result.code == 0, result.err
    lines = result.lines()
    assert len(lines) > 1
    run_ids = {line["run_id"] for line in lines}
    assert len(run_ids) == 1 and next(iter(run_ids)).startswith("run-")
    listed = cli("--format", "json", "runs").json()
    assert [r["run_id"] for r in listed] == list(run_ids)


def test_dispatch_instructions_carry_an_absolute_db_path(cli: Cli, loaded: Path) -> None:
    for args in ((), ("-d", ".rlm/rlm-state.db")):
        plan = cli(*args, "--format", "json", "dispatch", "notes.txt").json()
        argv = shlex.split(plan["batches"][0]["instruction"].split("`")[1])
        assert argv[:3] == ["rlm", "-d", str(loaded / ".rlm" / "rlm-state.db")]
    text = cli("dispatch", "notes.txt").out
    assert f"rlm -d {loaded / '.rlm' / 'rlm-state.db'} aggregate --run run-" in text


def test_runs_lists_newest_first_and_show_gives_ranges(cli: Cli, loaded: Path) -> None:
    first = cli("--format", "json", "dispatch", "notes.txt", "--batch-size", "3").json()
    second = cli("--format", "json", "dispatch", "notes.txt", "--workers", "2").json()
    listed = cli("--format", "json", "runs").json()
    assert [r["run_id"] for r in listed] == [second["run_id"], first["run_id"]]
    assert listed[1]["batch_count"] == first["batch_count"]
    assert listed[1]["chunk_count"] == first["total_chunks"]
    assert listed[0]["buffer_name"] == "notes.txt" and listed[0]["buffer_exists"] is True
    assert [r["run_id"] for r in cli("--format", "json", "runs", "-n", "1").json()] == [
        second["run_id"]
    ]
    text = cli("runs").out
    assert first["run_id"] in text and "notes.txt" in text
    shown = cli("runs", "show", first["run_id"])
    assert shown.code == 0
    ids = first["batches"][0]["chunk_ids"]
    assert f"Batch 0: 3 chunks ({ids[0]}-{ids[-1]})" in shown.out
    assert "batch_size=3" in shown.out
    data = cli("--format", "json", "runs", "show", first["run_id"]).json()
    assert data["batches"][0]["chunk_ids"] == ids and data["params"]["batch_size"] == 3


def test_runs_of_a_deleted_buffer_are_marked(cli: Cli, loaded: Path) -> None:
    plan = cli("--format", "json", "dispatch", "notes.txt").json()
    assert cli("rm", "notes.txt", "--yes").code == 0
    listed = cli("--format", "json", "runs").json()
    assert listed[0]["run_id"] == plan["run_id"] and listed[0]["buffer_exists"] is False
    assert listed[0]["buffer_name"] == "notes.txt"  # the name recorded at dispatch time
    assert "(deleted)" in cli("runs").out


def test_unknown_run_names_the_latest_runs(cli: Cli, loaded: Path) -> None:
    assert cli("runs").out.startswith("No runs recorded")
    plan = cli("--format", "json", "dispatch", "notes.txt").json()
    for args in (("runs", "show", "run-nosuch"), ("aggregate", "--run", "run-nosuch")):
        error = cli("--format", "json", *args).json()["error"]
        assert error["type"] == "RunNotFound"
        assert plan["run_id"] in error["suggestion"] and "rlm runs" in error["suggestion"]


def test_mistyped_top_level_command_gets_did_you_mean(cli: Cli, loaded: Path) -> None:
    """The walkthrough's step 30: `rlm serch` had no suggestion."""
    result = cli("serch", "foo")
    assert result.code == 2
    assert "No such command 'serch'. Did you mean 'search'?" in result.err
    data = cli("--format", "json", "lod", "x").json()
    assert "Did you mean 'load'?" in data["error"]["message"]
    assert "Did you mean" not in cli("zzzzzz").err


def test_dispatch_text_gives_ranges_and_one_command_reads_a_batch(cli: Cli, loaded: Path) -> None:
    plan = cli("--format", "json", "dispatch", "notes.txt", "--batch-size", "4").json()
    ids = plan["batches"][0]["chunk_ids"]
    text = cli("dispatch", "notes.txt", "--batch-size", "4").out
    assert (
        f"Batch 0: 4 chunks, ~{plan['batches'][0]['token_count']} tokens (IDs: {ids[0]}-{ids[-1]})"
        in text
    )
    all_at_once = plan["batches"][0]["instruction"].split("all at once: `")[1].split("`")[0]
    argv = shlex.split(all_at_once)
    assert argv[3:5] == ["chunk", "get"] and argv[5:] == [str(i) for i in ids]
    batch = cli(*argv[1:]).out
    assert all(f"--- chunk {i} (notes.txt, lines " in batch for i in ids)
