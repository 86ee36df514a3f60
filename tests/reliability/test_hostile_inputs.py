"""Hostile inputs: each gets one exact, typed error, or is loaded byte-exactly.

Binary files, NUL bytes, invalid UTF-8, UTF-16 with a BOM, an empty file, a
single 50 MB line (bounded memory, sane chunks), deeply nested findings JSON,
path traversal in ``write-chunks --prefix`` and in buffer names, and symlink
loops in a folder load.
"""

from __future__ import annotations

import codecs
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.reliability._support import RLM, raw_connect, rlm_env, run_measuring_rss

Cli = Callable[..., Any]


@pytest.fixture
def store(cli: Cli, hash_embedder: None) -> None:
    assert cli("init").code == 0


def _error(cli: Cli, *args: str) -> dict[str, Any]:
    result = cli(*args, "--format", "json")
    assert result.code == 1, result.out
    error: dict[str, Any] = result.json()["error"]
    return error


def _chunks(cli: Cli, buffer: str) -> list[dict[str, Any]]:
    listed = cli("chunk", "list", buffer, "--format", "json").json()["chunks"]
    return [cli("chunk", "get", str(c["id"]), "--format", "json").json() for c in listed]


def _assert_exact(cli: Cli, buffer: str, text: bytes) -> None:
    """Every chunk is the exact slice of ``text`` it claims, and they cover it all."""
    chunks = _chunks(cli, buffer)
    assert chunks, buffer
    covered = 0
    for c in chunks:
        start, end = c["byte_range"]["start"], c["byte_range"]["end"]
        assert c["content"].encode("utf-8") == text[start:end]
        assert start <= covered < end or (start == covered == end)
        covered = end
    assert covered == len(text)


def test_binary_file_is_refused(store: None, cli: Cli, isolated_env: Path) -> None:
    png = isolated_env / "image.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    error = _error(cli, "load", str(png))
    assert error["type"] == "BinaryFile"
    assert "NUL byte at offset 8" in error["message"]
    assert cli("list", "--format", "json").json() == []


def test_nul_byte_past_the_sniff_window_is_kept_exactly(
    store: None, cli: Cli, isolated_env: Path
) -> None:
    text = b"word " * 2000 + b"before\x00after " + b"tail " * 100
    path = isolated_env / "nul.txt"
    path.write_bytes(text)
    assert cli("load", str(path)).code == 0
    _assert_exact(cli, "nul.txt", text)
    grep = cli("grep", "nul.txt", "before.after", "--format", "json").json()
    assert [m["offset"] for m in grep] == [10_000]
    hits = cli("search", "after", "--mode", "bm25", "--format", "json").json()["results"]
    owner = [c["chunk_id"] for c in _chunks(cli, "nul.txt") if b"after" in c["content"].encode()]
    assert hits and {h["chunk_id"] for h in hits} & set(owner)


def test_invalid_utf8_names_the_offset_and_lossy_loads(
    store: None, cli: Cli, isolated_env: Path
) -> None:
    path = isolated_env / "bad.txt"
    path.write_bytes("ok é ".encode() * 1000 + b"\xff\xfe broken " + b"more " * 10)
    error = _error(cli, "load", str(path))
    assert error["type"] == "InvalidUtf8"
    assert "invalid UTF-8 at byte offset 6000" in error["message"]
    assert cli("list", "--format", "json").json() == []
    loaded = cli("load", str(path), "--lossy", "--format", "json")
    assert loaded.code == 0, loaded.out
    shown = cli("show", "bad.txt", "--format", "json").json()["buffer"]["metadata"]
    assert shown["encoding"] == "utf-8+lossy"
    fixed = path.read_bytes().decode("utf-8", "replace").encode("utf-8")
    _assert_exact(cli, "bad.txt", fixed)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom_is_transcoded(
    codec: str, store: None, cli: Cli, isolated_env: Path
) -> None:
    text = "Grüße aus 東京 — line one\nline two 🙂\n" * 200
    bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
    path = isolated_env / f"{codec}.txt"
    path.write_bytes(bom + text.encode(codec))
    assert cli("load", str(path)).code == 0
    meta = cli("show", path.name, "--format", "json").json()["buffer"]["metadata"]
    assert meta["encoding"] == "utf-16"
    assert meta["size"] == len(text.encode("utf-8"))
    _assert_exact(cli, path.name, text.encode("utf-8"))


def test_utf16_bom_with_odd_length_is_a_read_error(
    store: None, cli: Cli, isolated_env: Path
) -> None:
    path = isolated_env / "odd.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "abc".encode("utf-16-le") + b"\x00\xd8")
    error = _error(cli, "load", str(path))
    assert error["type"] == "ReadError"
    assert "invalid UTF-16" in error["message"]


def test_empty_file_is_refused(store: None, cli: Cli, isolated_env: Path) -> None:
    path = isolated_env / "empty.txt"
    path.write_bytes(b"")
    error = _error(cli, "load", str(path))
    assert error["type"] == "EmptyInput"
    assert cli("list", "--format", "json").json() == []


def test_single_50mb_line_loads_with_bounded_memory(tmp_path: Path) -> None:
    size = 50_000_000
    src = tmp_path / "line.txt"
    with src.open("wb") as out:
        piece = "lorem ipsum dolor sit amet café 東京 ".encode() * 1000
        written = 0
        while written < size:
            part = piece[: size - written].decode("utf-8", "ignore").encode()
            out.write(part)
            written += len(part)
    db = tmp_path / "line.db"
    env = rlm_env()
    subprocess.run([str(RLM), "--db-path", str(db), "init"], env=env, check=True)
    out_file = tmp_path / "out.json"
    code, peak_mb, err = run_measuring_rss(
        [str(RLM), "--db-path", str(db), "load", str(src), "--no-embed", "--format", "json"],
        env,
        out_file,
    )
    assert code == 0, err
    assert peak_mb < 250, f"peak RSS {peak_mb:.0f} MB loading a 50 MB single line"
    out = out_file.read_bytes()
    result = json.loads(out)
    with raw_connect(db) as conn:
        rows = conn.execute(
            "SELECT byte_start, byte_end, line_start, line_end FROM chunks"
            " WHERE buffer_id = ? ORDER BY chunk_index",
            (result["buffer_id"],),
        ).fetchall()
    assert result["chunk_count"] == len(rows) >= size // 3000
    assert rows[0][0] == 0 and rows[-1][1] == src.stat().st_size
    previous_end = 0
    for start, end, line_start, line_end in rows:
        assert 0 < end - start <= 3000
        assert start <= previous_end  # contiguous (overlap allowed), no gap
        assert line_start == line_end == 1
        previous_end = end


def test_deeply_nested_findings_are_a_clean_error(
    store: None, cli: Cli, isolated_env: Path
) -> None:
    deep = isolated_env / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    error = _error(cli, "aggregate", "--file", str(deep))
    assert error["type"] == "InvalidFindings"
    assert "nested too deeply" in error["message"]
    nested = isolated_env / "nested.json"
    value: Any = "quote"
    for _ in range(500):
        value = [value]
    item = {"chunk_id": 1, "relevance": "high", "findings": [{"text": "x", "evidence": value}]}
    nested.write_text(json.dumps([item]))
    error = _error(cli, "aggregate", "--file", str(nested))
    assert error["type"] == "InvalidFindings"
    assert "evidence" in error["message"]


@pytest.mark.parametrize(
    "prefix", ["../escape", "/tmp/abs", "a/b", "..", "x/../../y", "a\\b", "", ".hidden", "-x"]
)
def test_write_chunks_prefix_cannot_traverse(
    prefix: str, store: None, cli: Cli, isolated_env: Path
) -> None:
    assert cli("add-buffer", "doc", "some text " * 50).code == 0
    before = set(isolated_env.parent.rglob("*"))
    result = cli("write-chunks", "doc", "--prefix", prefix, "--format", "json")
    assert result.code == 1, result.out
    assert result.json()["error"]["type"] == "PathTraversalDenied"
    assert set(isolated_env.parent.rglob("*")) == before


def test_buffer_name_with_traversal_never_becomes_a_path(
    store: None, cli: Cli, isolated_env: Path
) -> None:
    name = "../../etc/passwd"
    src = isolated_env / "plain.txt"
    src.write_text("root:x:0:0 not really\n" * 100)
    assert cli("load", str(src), "--name", name).code == 0
    outside = set(isolated_env.parent.parent.rglob("*"))
    written = cli("write-chunks", name, "--format", "json")
    assert written.code == 0, written.out
    out_dir = (isolated_env / ".rlm" / "chunks").resolve()
    for path in written.json():
        assert Path(path).resolve().parent == out_dir
        assert Path(path).name.startswith("chunk_")
    exported = cli("export-buffers", "--output", "export.txt", "--format", "json")
    assert exported.code == 0, exported.out
    dispatched = cli("dispatch", name, "--format", "json")
    assert dispatched.code == 0, dispatched.out
    created = set(isolated_env.parent.parent.rglob("*")) - outside
    assert all(p.resolve().is_relative_to(isolated_env.resolve()) for p in created), created
    assert not (isolated_env.parent.parent / "etc").exists()


def test_symlink_loops_in_a_folder_load_terminate(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_text("alpha file\n" * 10)
    (root / "sub" / "b.txt").write_text("beta file\n" * 10)
    (root / "sub" / "deeper" / "c.md").write_text("# gamma\n" * 10)
    (root / "self").symlink_to(".")
    (root / "sub" / "up").symlink_to("..")
    (root / "sub" / "deeper" / "root").symlink_to(root)
    (root / "dangling.txt").symlink_to(root / "nowhere.txt")
    (root / "ping").symlink_to(root / "pong")
    (root / "pong").symlink_to(root / "ping")
    db = tmp_path / "tree.db"
    env = rlm_env()
    subprocess.run([str(RLM), "--db-path", str(db), "init"], env=env, check=True)
    done = subprocess.run(
        [str(RLM), "--db-path", str(db), "load", str(root), "--no-embed", "--format", "json"],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["file_count"] == 3, report
    with raw_connect(db) as conn:
        names = sorted(Path(s).name for (s,) in conn.execute("SELECT source_path FROM buffers"))
    assert names == ["a.txt", "b.txt", "c.md"]
