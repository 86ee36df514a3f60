"""Reading input: streaming validation, offsets of bad bytes, encodings, changing files."""

from __future__ import annotations

import hashlib
import mmap
import os
from pathlib import Path

import pytest

from rlm.errors import (
    BinaryFileError,
    EmptyInputError,
    FileChangedError,
    FileTooLargeError,
    InvalidUtf8Error,
    ReadError,
)
from rlm.io import from_bytes, open_file, reader
from rlm.io.reader import PIECE


def test_small_file_is_read_and_hashed(tmp_path: Path) -> None:
    raw = ("line é\n" * 1000).encode()
    (tmp_path / "a.txt").write_bytes(raw)
    with open_file(tmp_path / "a.txt") as text:
        assert text.data == raw
        assert text.sha256 == hashlib.sha256(raw).hexdigest()
        assert text.line_count == 1000
        assert text.content_type == "txt"


def test_invalid_utf8_offset_across_piece_boundary(tmp_path: Path) -> None:
    raw = b"a" * (PIECE - 1) + "é".encode() + b"b" * 10 + b"\xff" + b"c"
    (tmp_path / "x.txt").write_bytes(raw)
    with pytest.raises(InvalidUtf8Error) as info:
        open_file(tmp_path / "x.txt")
    assert info.value.offset == PIECE + 1 + 10


def test_truncated_character_at_end(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_bytes(b"abc\xe6\x97")
    with pytest.raises(InvalidUtf8Error) as info:
        open_file(tmp_path / "x.txt")
    assert info.value.offset == 3


def test_lossy_replaces(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_bytes(b"ok \xff ok")
    with open_file(tmp_path / "x.txt", lossy=True) as text:
        assert bytes(text.data).decode() == "ok \ufffd ok"
        assert text.encoding == "utf-8+lossy"


def test_binary_empty_and_size_limits(tmp_path: Path) -> None:
    (tmp_path / "b.bin").write_bytes(b"GIF89a\x00\x01")
    with pytest.raises(BinaryFileError):
        open_file(tmp_path / "b.bin")
    (tmp_path / "e.txt").write_bytes(b"")
    with pytest.raises(EmptyInputError):
        open_file(tmp_path / "e.txt")
    (tmp_path / "big.txt").write_bytes(b"x" * 100)
    with pytest.raises(FileTooLargeError):
        open_file(tmp_path / "big.txt", max_size=99)


def test_bom_variants() -> None:
    assert from_bytes(b"\xef\xbb\xbfhi").data == b"hi"
    text = from_bytes("héllo\n".encode("utf-16"))
    assert text.data == "héllo\n".encode()
    assert text.encoding == "utf-16"
    assert text.line_count == 1


@pytest.fixture
def small_spool(monkeypatch: pytest.MonkeyPatch) -> int:
    """Spool files above 64 KiB, so big-file paths run on small test files."""
    monkeypatch.setattr(reader, "SPOOL_THRESHOLD", 1 << 16)
    return 1 << 16


def test_big_file_is_spooled_and_mapped_not_held_in_the_heap(
    tmp_path: Path, small_spool: int
) -> None:
    raw = b"x" * (3 * PIECE) + "é\n".encode()
    path = tmp_path / "big.txt"
    path.write_bytes(raw)
    with open_file(path) as text:
        assert isinstance(text.data, mmap.mmap)
        assert text.data[:] == raw
        assert text.sha256 == hashlib.sha256(raw).hexdigest()
        assert text.line_count == 1


def test_shrinking_the_file_after_reading_cannot_kill_the_process(
    tmp_path: Path, small_spool: int
) -> None:
    """The review's SIGBUS: the old reader mapped the file itself, then it shrank."""
    raw = b"lorem ipsum dolor\n" * 20_000
    path = tmp_path / "shrinks.txt"
    path.write_bytes(raw)
    with open_file(path) as text:
        os.truncate(path, 10)
        assert text.data[-100:] == raw[-100:]  # the private copy is whole
        assert text.size == len(raw)


@pytest.mark.parametrize("change", ["shrink", "grow", "touch"])
def test_file_changing_while_read_is_a_typed_error(
    tmp_path: Path, small_spool: int, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    raw = b"lorem ipsum dolor\n" * 20_000
    path = tmp_path / "moving.txt"
    path.write_bytes(raw)
    real_read_all = reader._read_all

    def read_while_changing(fd: int, expected: int, *args: object) -> tuple[int, list[bytes]]:
        if change == "shrink":
            os.truncate(path, 1000)
        elif change == "grow":
            with path.open("ab") as handle:
                handle.write(b"more\n")
        else:
            os.utime(path, ns=(0, 10**9))
        return real_read_all(fd, expected, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(reader, "_read_all", read_while_changing)
    with pytest.raises(FileChangedError) as info:
        open_file(path)
    assert info.value.error_type == "FileChanged"
    assert "changed while loading" in info.value.message


def test_fifo_and_directory_are_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ReadError, match="not a regular file"):
        open_file(tmp_path / "pipe")
    with pytest.raises(ReadError, match="is a directory"):
        open_file(tmp_path)


def test_nul_heavy_content_past_the_sniff_window_is_binary(tmp_path: Path) -> None:
    header = b"hello world header line\n" * 400  # ~9.6 KB of text, as in the review
    path = tmp_path / "sparse.txt"
    with path.open("wb") as handle:
        handle.write(header)
        handle.truncate(64 * PIECE)  # a hole of NULs, 12 KB on disk
    with pytest.raises(BinaryFileError) as info:
        open_file(path)
    assert f"NUL byte at offset {len(header)}" in info.value.message
    # a stray NUL past the window is still text (kept byte-exactly)
    (tmp_path / "one.txt").write_bytes(b"a" * 10_000 + b"\x00" + b"b" * 10)
    with open_file(tmp_path / "one.txt") as text:
        assert text.size == 10_011
