"""Bad input gets a clear error and loses nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


@pytest.fixture
def store_ready(cli: Cli, hash_embedder: None) -> None:
    assert cli("init").code == 0


def _status(cli: Cli) -> dict[str, int]:
    data = cli("--format", "json", "status").json()
    return {"buffers": data["buffer_count"], "chunks": data["chunk_count"]}


@pytest.mark.parametrize(
    ("content", "error_type"),
    [
        (b"", "EmptyInput"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "BinaryFile"),
        (b"valid start \xff\xfe bad bytes", "InvalidUtf8"),
        (b"abc" * 10 + b"\xc3", "InvalidUtf8"),
    ],
)
def test_bad_files_are_refused_cleanly(
    cli: Cli, store_ready: None, isolated_env: Path, content: bytes, error_type: str
) -> None:
    path = isolated_env / "bad.bin"
    path.write_bytes(content)
    out = cli("--format", "json", "load", "bad.bin")
    assert out.code == 1
    assert out.json()["error"]["type"] == error_type
    assert _status(cli) == {"buffers": 0, "chunks": 0}


def test_invalid_utf8_reports_the_byte_offset(
    cli: Cli, store_ready: None, isolated_env: Path
) -> None:
    (isolated_env / "x.txt").write_bytes(b"hello \xe2\x28\xa1 world")
    out = cli("load", "x.txt")
    assert "invalid UTF-8 at byte offset 6" in out.err
    lossy = cli("--format", "json", "load", "x.txt", "--lossy")
    assert lossy.code == 0 and lossy.json()["chunk_count"] == 1


def test_utf8_bom_and_utf16_are_decoded(cli: Cli, store_ready: None, isolated_env: Path) -> None:
    (isolated_env / "bom.txt").write_bytes(b"\xef\xbb\xbfBOM text")
    (isolated_env / "u16.txt").write_bytes("UTF-16 text é".encode("utf-16"))
    assert cli("load", "bom.txt").code == 0
    assert cli("load", "u16.txt").code == 0
    assert cli("chunk", "get", "1").out == "BOM text"
    assert cli("chunk", "get", "2").out == "UTF-16 text é"


def test_missing_file_and_directory(cli: Cli, store_ready: None, isolated_env: Path) -> None:
    missing = cli("--format", "json", "load", "nope.txt")
    assert missing.code == 1 and missing.json()["error"]["type"] == "FileNotFound"


def test_chunking_error_leaves_no_orphan_buffer(
    cli: Cli, store_ready: None, isolated_env: Path
) -> None:
    (isolated_env / "ok.txt").write_text("some text " * 100, encoding="utf-8")
    out = cli("--format", "json", "load", "ok.txt", "--chunk-size", "100")  # overlap 500
    assert out.code == 1
    assert out.json()["error"]["type"] == "OverlapTooLarge"
    assert _status(cli) == {"buffers": 0, "chunks": 0}
    too_big = cli("--format", "json", "load", "ok.txt", "--chunk-size", "60000")
    assert too_big.json()["error"]["type"] == "ChunkTooLarge"


def test_duplicate_names_need_replace(cli: Cli, store_ready: None, isolated_env: Path) -> None:
    """The same file loaded again updates its buffer in place (issue #14); another
    file with the same name needs --replace or --name."""
    (isolated_env / "a.txt").write_text("first version", encoding="utf-8")
    assert cli("load", "a.txt").code == 0
    (isolated_env / "a.txt").write_text("second version", encoding="utf-8")
    again = cli("--format", "json", "load", "a.txt")
    assert again.code == 0 and again.json()["buffer_id"] == 1
    assert cli("export-buffers").out == "second version"
    (isolated_env / "other").mkdir()
    (isolated_env / "other" / "a.txt").write_text("third version", encoding="utf-8")
    dup = cli("--format", "json", "load", "other/a.txt")
    assert dup.code == 1 and dup.json()["error"]["type"] == "BufferExists"
    assert cli("load", "other/a.txt", "--replace").code == 0
    assert _status(cli)["buffers"] == 1
    assert cli("export-buffers").out == "third version"


def test_no_traceback_for_a_corrupt_database(cli: Cli, isolated_env: Path) -> None:
    db = isolated_env / "junk.db"
    db.write_bytes(b"this is not a database" * 100)
    out = cli("-d", "junk.db", "status")
    assert out.code == 1
    assert "Traceback" not in out.err and out.err.startswith("Error: ")
