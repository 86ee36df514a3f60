"""The rlm-rs command surface, in-process: text, json and ndjson, exit codes 0/1/2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]

MULTIBYTE = (
    "Café crème — naïve résumé.\n\n"
    "日本語のテキストです。東京は大きな都市です。\n\n"
    "Emoji time 🎉🚀 and more 👩‍💻 text here.\n"
) * 40


@pytest.fixture
def loaded(cli: Cli, hash_embedder: None, isolated_env: Path) -> Path:
    doc = isolated_env / "doc.txt"
    doc.write_text(MULTIBYTE, encoding="utf-8")
    assert cli("init").code == 0
    result = cli("load", "doc.txt", "--chunk-size", "500", "--overlap", "50")
    assert result.code == 0, result.err
    return doc


def test_init_is_idempotent_and_creates_parents(cli: Cli, isolated_env: Path) -> None:
    first = cli("-d", "deep/nested/db.sqlite", "init")
    assert first.code == 0
    assert "Initialized RLM database at: deep/nested/db.sqlite" in first.out
    assert (isolated_env / "deep/nested/db.sqlite").exists()
    again = cli("-d", "deep/nested/db.sqlite", "--format", "json", "init")
    assert again.code == 0
    assert again.json()["created"] is False


def test_commands_before_init_fail_without_creating_the_file(cli: Cli, isolated_env: Path) -> None:
    result = cli("--format", "json", "status")
    assert result.code == 1
    assert result.json()["error"]["type"] == "NotInitialized"
    assert not (isolated_env / ".rlm").exists()
    assert cli("init").code == 0


def test_status_json_has_rlm_rs_keys(cli: Cli, loaded: Path) -> None:
    data = cli("status", "--format", "json").json()
    for key in (
        "buffer_count",
        "chunk_count",
        "total_content_size",
        "has_context",
        "schema_version",
        "db_size",
    ):
        assert key in data
    assert data["buffer_count"] == 1
    assert data["total_content_size"] == len(MULTIBYTE.encode("utf-8"))
    assert data["schema_version"] == 3


def test_load_json_and_text_on_multibyte(cli: Cli, loaded: Path) -> None:
    out = cli(
        "--format",
        "json",
        "load",
        "doc.txt",
        "--name",
        "second",
        "--chunker",
        "fixed",
        "--chunk-size",
        "300",
        "--overlap",
        "0",
    )
    assert out.code == 0, out.err
    data = out.json()
    assert data["name"] == "second"
    assert data["size"] == len(MULTIBYTE.encode("utf-8"))
    assert data["chunk_count"] > 10
    assert data["embedded_count"] == data["chunk_count"]
    text = cli("load", "doc.txt", "--name", "third")
    assert text.out.startswith("Loaded buffer third (ID: 3) with ")
    assert "from doc.txt" in text.out


def test_every_chunk_is_an_exact_slice_of_the_source(cli: Cli, loaded: Path) -> None:
    raw = MULTIBYTE.encode("utf-8")
    listing = cli("--format", "json", "chunk", "list", "doc.txt").json()
    assert listing["chunk_count"] > 5
    for row in listing["chunks"]:
        got = cli("--format", "json", "chunk", "get", str(row["id"])).json()
        start, end = got["byte_range"]["start"], got["byte_range"]["end"]
        assert raw[start:end].decode("utf-8") == got["content"]
        first_line = raw[:start].count(b"\n") + 1
        assert got["line_range"]["start"] == first_line


def test_chunk_get_text_is_raw_content(cli: Cli, loaded: Path) -> None:
    listing = cli("--format", "json", "chunk", "list", "doc.txt").json()
    chunk_id = listing["chunks"][1]["id"]
    raw = cli("chunk", "get", str(chunk_id))
    full = cli("--format", "json", "chunk", "get", str(chunk_id)).json()
    assert raw.out == full["content"]
    meta = cli("chunk", "get", str(chunk_id), "-m")
    assert meta.out.startswith(f"Chunk ID: {chunk_id}\n")


def test_chunk_get_context_merges_overlap_once(cli: Cli, loaded: Path) -> None:
    listing = cli("--format", "json", "chunk", "list", "doc.txt").json()["chunks"]
    middle = listing[2]
    data = cli("--format", "json", "chunk", "get", str(middle["id"]), "--context", "1").json()
    ctx = data["context"]
    assert ctx["chunk_ids"] == [listing[1]["id"], middle["id"], listing[3]["id"]]
    raw = MULTIBYTE.encode("utf-8")
    assert ctx["content"] == raw[
        listing[1]["byte_range"]["start"] : listing[3]["byte_range"]["end"]
    ].decode("utf-8")


def test_missing_chunk_and_buffer_errors(cli: Cli, loaded: Path) -> None:
    missing = cli("--format", "json", "chunk", "get", "99999")
    assert missing.code == 1
    assert missing.json() == {
        "error": {
            "message": "storage error: chunk not found: 99999",
            "suggestion": "Run 'rlm chunk list <buffer>' to see valid chunk IDs",
            "type": "ChunkNotFound",
        },
        "success": False,
    }
    text = cli("show", "nope")
    assert text.code == 1
    assert text.out == ""
    assert text.err.startswith("Error: storage error: buffer not found: nope\n")


def test_usage_errors_exit_2_in_every_format(cli: Cli, loaded: Path) -> None:
    assert cli("nosuchcommand").code == 2
    bad_flag = cli("--format", "json", "list", "--bogus")
    assert bad_flag.code == 2
    assert bad_flag.json()["error"]["type"] == "UsageError"
    assert cli("--format", "yaml", "status").code == 2
    assert cli("chunk", "get", "abc").code == 2
    assert cli("peek", "doc.txt", "--start", "-5").code == 2


def test_list_and_show(cli: Cli, loaded: Path) -> None:
    text = cli("list")
    assert "doc.txt" in text.out and text.out.startswith("Buffers:\n")
    data = cli("ls", "--format", "json").json()
    assert data[0]["name"] == "doc.txt"
    assert "content" not in data[0]
    shown = cli("--format", "json", "show", "1", "--chunks").json()
    assert shown["buffer"]["id"] == 1
    assert len(shown["chunks"]) == data[0]["metadata"]["chunk_count"]
    assert "Chunks:" in cli("show", "doc.txt", "-c").out


def test_ndjson_is_one_object_per_line(cli: Cli, loaded: Path) -> None:
    out = cli("--format", "ndjson", "chunk", "list", "doc.txt")
    rows = out.lines()
    assert len(rows) == len(out.out.splitlines()) > 3
    assert all("id" in r for r in rows)
    status = cli("--format", "ndjson", "status").lines()
    assert len(status) == 1 and status[0]["buffer_count"] == 1
    err = cli("--format", "ndjson", "show", "missing")
    assert err.code == 1 and err.lines()[0]["success"] is False


def test_peek_never_splits_a_character(cli: Cli, loaded: Path) -> None:
    raw = MULTIBYTE.encode("utf-8")
    cut = raw.index("日".encode()) + 1  # inside a 3-byte character
    data = cli(
        "--format", "json", "peek", "doc.txt", "--start", str(cut), "--end", str(cut + 7)
    ).json()
    assert raw[data["start"] : data["end"]].decode("utf-8") == data["content"]
    assert data["content"].startswith("日")
    assert cli("peek", "doc.txt", "--start", "10", "--end", "5").code == 2


def test_grep_reports_byte_offsets_and_lines(cli: Cli, loaded: Path) -> None:
    raw = MULTIBYTE.encode("utf-8")
    matches = cli("--format", "json", "grep", "doc.txt", "東京", "-n", "3").json()
    assert len(matches) == 3
    assert matches[0]["offset"] == raw.index("東京".encode())
    assert matches[0]["line"] == 3
    assert cli("grep", "doc.txt", "zzzz").out.startswith("No matches found")
    bad = cli("--format", "json", "grep", "doc.txt", "(unclosed")
    assert bad.code == 2 and "Invalid regex" in bad.json()["error"]["message"]


def test_chunk_indices_and_write_chunks(cli: Cli, loaded: Path, isolated_env: Path) -> None:
    pairs = cli(
        "--format", "json", "chunk-indices", "doc.txt", "--chunk-size", "50", "--overlap", "10"
    ).json()
    raw = MULTIBYTE.encode("utf-8")
    assert pairs[0] == [0, 50] or pairs[0][1] < 50
    for start, end in pairs:
        raw[start:end].decode("utf-8")  # never splits a character
    before = cli("--format", "json", "status").json()["chunk_count"]
    written = cli(
        "--format", "json", "write-chunks", "doc.txt", "-o", "out", "--prefix", "part"
    ).json()
    assert written[0].endswith("part_0000.txt")
    assert (isolated_env / written[0]).exists()
    assert cli("--format", "json", "status").json()["chunk_count"] == before
    escape = cli("write-chunks", "doc.txt", "--prefix", "../evil")
    assert escape.code == 1 and "path traversal" in escape.err


def test_delete_requires_yes(cli: Cli, loaded: Path) -> None:
    assert cli("delete", "doc.txt").code == 1
    done = cli("--format", "json", "rm", "doc.txt", "-y")
    assert done.code == 0 and done.json()["deleted"] is True
    assert cli("show", "doc.txt").code == 1
    assert cli("--format", "json", "status").json()["chunk_count"] == 0


def test_reset(cli: Cli, loaded: Path) -> None:
    assert cli("reset").code == 1
    assert "reset" in cli("reset", "--yes").out
    assert cli("--format", "json", "status").json()["buffer_count"] == 0


def test_var_and_global(cli: Cli, loaded: Path) -> None:
    assert cli("var", "k", "v é").out == "Set variable: k = v é\n"
    assert cli("var", "k").out == 'k = String("v é")\n'
    assert cli("--format", "json", "var", "k").json() == {"type": "String", "value": "v é"}
    assert cli("var", "k", "-d").code == 0
    assert cli("var", "k").out == "Variable 'k' not found\n"
    assert cli("global", "g", "1").code == 0
    assert cli("--format", "json", "global", "g").json()["value"] == "1"


def test_add_buffer_is_chunked_and_searchable(cli: Cli, loaded: Path) -> None:
    out = cli("--format", "json", "add-buffer", "notes", "alpha beta gamma")
    assert out.code == 0
    assert out.json()["chunk_count"] == 1
    assert cli("add-buffer", "notes", "again").code == 1  # names are unique


def test_export_buffers(cli: Cli, loaded: Path, isolated_env: Path) -> None:
    cli("add-buffer", "b2", "second buffer")
    raw = cli("export-buffers")
    assert raw.out == MULTIBYTE + "\n\nsecond buffer"
    data = cli("--format", "json", "export-buffers").json()
    assert [d["name"] for d in data] == ["doc.txt", "b2"]
    assert cli("export-buffers", "-o", "exp/all.txt").code == 0
    assert (isolated_env / "exp/all.txt").read_text(encoding="utf-8").endswith("second buffer")


def test_chunk_status_and_embed(cli: Cli, loaded: Path) -> None:
    status = cli("--format", "json", "chunk", "status").json()
    assert status["total_chunks"] == status["total_embedded"] > 0
    again = cli("--format", "json", "chunk", "embed", "doc.txt").json()
    assert again["had_changes"] is False
    forced = cli("--format", "json", "chunk", "embed", "doc.txt", "--force").json()
    assert forced["replaced_count"] == status["total_chunks"]
    assert "complete" in cli("chunk", "status").out


def test_db_path_flag_beats_environment(
    cli: Cli, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("-d", "a.db", "init").code == 0
    assert cli("--db-path", "b.db", "init").code == 0
    assert cli("-d", "b.db", "add-buffer", "only-in-b", "x", "--no-embed").code == 0
    monkeypatch.setenv("RLM_DB_PATH", "a.db")
    assert cli("--format", "json", "status").json()["buffer_count"] == 0
    assert cli("status", "--db-path", "b.db", "--format", "json").json()["buffer_count"] == 1
    assert cli("-d", "b.db", "--format", "json", "status").json()["buffer_count"] == 1
