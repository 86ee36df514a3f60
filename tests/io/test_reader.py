"""Reading input: mmap validation, offsets of bad bytes, encodings."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rlm.errors import BinaryFileError, EmptyInputError, FileTooLargeError, InvalidUtf8Error
from rlm.io import from_bytes, open_file
from rlm.io.reader import PIECE


def test_file_is_memory_mapped_and_hashed(tmp_path: Path) -> None:
    raw = ("line é\n" * 1000).encode()
    (tmp_path / "a.txt").write_bytes(raw)
    with open_file(tmp_path / "a.txt") as text:
        assert not isinstance(text.data, bytes)  # an mmap, not a heap copy
        assert text.data[:] == raw
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
