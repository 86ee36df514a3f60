"""Reading input: files, stdin and strings become validated UTF-8 bytes.

A file is read once, in 1 MiB pieces, through one descriptor: each piece is
hashed, its newlines counted, its UTF-8 validated (the byte offset of the
first bad byte is reported) and its NUL bytes counted. Small files end up in
memory; bigger ones (over :data:`SPOOL_THRESHOLD`) are copied as they are
read into a private, already-unlinked temporary file, which the chunkers then
read through a memory map, so a 1 GB load never holds the text in the Python
heap.

Why not map the file itself (as rlm did): a mapped file that another process
shrinks kills the reader with SIGBUS, which Python cannot catch, and an MCP
server would die with it. The private copy cannot shrink, and it holds
exactly the bytes that were hashed. After reading, the size and modification
time of the original are checked again (``fstat`` on the same descriptor): a
file that changed meanwhile is :class:`~rlm.errors.FileChangedError`, raised
before anything reaches the store.

The file is opened non-blocking and checked with ``fstat`` on the descriptor,
so a FIFO or a device swapped in for a regular file can neither block the
open nor be read. Only inputs that must be transcoded (UTF-16, ``--lossy``)
are decoded in memory.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import mmap
import os
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from rlm.chunking.base import ByteText, PageReleaser
from rlm.errors import (
    BinaryFileError,
    EmptyInputError,
    FileChangedError,
    FileNotFoundInputError,
    FileTooLargeError,
    InvalidUtf8Error,
    ReadError,
    RlmError,
)
from rlm.io.walk import WalkedPath

PIECE = 1 << 20
BINARY_SNIFF = 8192
"""Any NUL byte in the first 8 KiB means binary (as git and grep decide)."""
BINARY_NUL_PER_PIECE = PIECE // 100
"""Past the sniff window a stray NUL is kept, but a piece of which more than 1%
is NUL bytes means binary: a sparse 2 GB file of holes must not become a
multi-GB store of NUL chunks."""
SPOOL_THRESHOLD = 32 << 20
"""Files above this size are copied to a private temporary file (in ``TMPDIR``)
and memory-mapped from there; smaller ones are read into memory."""
DEFAULT_MAX_FILE_SIZE = 4 << 30
"""4 GiB: well past rlm-rs's 1 GiB cap; raise with ``--max-file-size``."""

_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass
class SourceText:
    """Validated UTF-8 bytes plus what we learned reading them. Close when done."""

    data: ByteText
    source: str | None
    sha256: str
    line_count: int
    encoding: str
    content_type: str | None = None
    mtime: float | None = None
    _closers: list[object] = field(default_factory=list, repr=False)

    @property
    def size(self) -> int:
        return len(self.data)

    def pieces(self, size: int = PIECE) -> list[tuple[int, int]]:
        """(start, end) ranges covering the data in ``size`` steps."""
        return [(i, min(i + size, self.size)) for i in range(0, self.size, size)]

    def close(self) -> None:
        for obj in self._closers:
            close = getattr(obj, "close", None)
            if close is not None:
                close()
        self._closers.clear()

    def __enter__(self) -> SourceText:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def count_lines(newlines: int, size: int, ends_with_newline: bool) -> int:
    """Lines as editors count them: a last line without ``\\n`` still counts."""
    if size == 0:
        return 0
    return newlines + (0 if ends_with_newline else 1)


class _Scanner:
    """The streaming checks over consecutive pieces: sha256, newlines, UTF-8, NULs."""

    def __init__(self, label: str, *, lossy_ok: bool = False, check_nul: bool = True) -> None:
        self.label = label
        self.lossy_ok = lossy_ok
        self.check_nul = check_nul
        self.digest = hashlib.sha256()
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.newlines = 0
        self.bad: int | None = None
        """Offset of the first invalid byte (only kept when ``lossy_ok``)."""
        self.offset = 0
        self.last = b""

    def feed(self, piece: bytes, *, final: bool = False) -> None:
        start = self.offset
        if self.check_nul:
            _check_nul(piece, start, self.label)
        self.digest.update(piece)
        self.newlines += piece.count(b"\n")
        if self.bad is None:
            buffered = len(self.decoder.getstate()[0])
            try:
                self.decoder.decode(piece, final=final)
            except UnicodeDecodeError as exc:
                self.bad = start - buffered + exc.start
                if not self.lossy_ok:
                    raise InvalidUtf8Error(self.label, self.bad) from None
        self.offset += len(piece)
        if piece:
            self.last = piece[-1:]

    def finish(self) -> None:
        """A character cut off at the very end is invalid too."""
        self.feed(b"", final=True)


def _check_nul(piece: bytes, start: int, label: str) -> None:
    """Binary: a NUL in the first :data:`BINARY_SNIFF` bytes, or a NUL-heavy piece."""
    if start < BINARY_SNIFF:
        nul = piece.find(b"\x00", 0, BINARY_SNIFF - start)
        if nul >= 0:
            raise BinaryFileError(label, start + nul)
    if piece.count(b"\x00") > BINARY_NUL_PER_PIECE:
        raise BinaryFileError(label, start + piece.find(b"\x00"))


def _scan(data: ByteText, label: str, *, lossy_ok: bool) -> tuple[str, int, int | None]:
    """One pass over bytes already in hand: sha256, newline count, first invalid byte."""
    scanner = _Scanner(label, lossy_ok=lossy_ok, check_nul=False)
    n = len(data)
    releaser = PageReleaser(data)  # keep RSS flat while scanning a big memory map
    for start in range(0, n, PIECE):
        piece = data[start : min(start + PIECE, n)]
        releaser.release(start)
        scanner.feed(piece, final=start + PIECE >= n)
    return scanner.digest.hexdigest(), scanner.newlines, scanner.bad


def _sniff_binary(data: ByteText, label: str) -> None:
    for start in range(0, len(data), PIECE):
        _check_nul(data[start : start + PIECE], start, label)


def _from_memory(raw: bytes, label: str, *, lossy: bool, source: str | None) -> SourceText:
    """Decode BOM-marked or lossy input in memory and re-encode it as UTF-8."""
    encoding = "utf-8"
    if raw.startswith(_UTF8_BOM):
        raw, encoding = raw[len(_UTF8_BOM) :], "utf-8-sig"
    elif raw[:2] in _UTF16_BOMS:
        try:
            raw = raw.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise ReadError(f"{label}: invalid UTF-16 at byte offset {exc.start}") from None
        encoding = "utf-16"
    else:
        _sniff_binary(raw, label)
    if lossy:
        text = raw.decode("utf-8", errors="replace")
        if text.encode("utf-8") != raw:
            encoding += "+lossy"
        raw = text.encode("utf-8")
    sha, newlines, _ = _scan(raw, label, lossy_ok=False)
    return SourceText(
        data=raw,
        source=source,
        sha256=sha,
        encoding=encoding,
        line_count=count_lines(newlines, len(raw), raw.endswith(b"\n")),
    )


def content_type_for(path: Path) -> str | None:
    """The lower-cased extension without the dot (rlm-rs's content_type)."""
    suffix = path.suffix.lower().lstrip(".")
    return suffix or None


def _is_a_directory(label: str) -> ReadError:
    return ReadError(
        f"failed to read file: {label}: is a directory",
        suggestion="Pass files, or a folder to load every file in it (rlm load DIR)",
    )


def _open_regular(p: Path, label: str) -> tuple[int, os.stat_result]:
    """A descriptor on a regular file, checked on the descriptor itself (no race).

    A path from a folder walk (:class:`~rlm.io.walk.WalkedPath`) is opened
    without following a final symlink unless the walk followed one there, and
    must still be the file the walk saw (same device and inode): a swap between
    walk and open is :class:`FileChangedError`, and nothing is read.
    """
    # (a path derived from a WalkedPath, e.g. its parent, carries no verdict)
    walked = p if isinstance(p, WalkedPath) and p.identity is not None else None
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if walked is not None and not walked.via_link:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(p, flags)
    except OSError as exc:
        if walked is not None and exc.errno == errno.ELOOP:
            raise FileChangedError(label, _SWAPPED) from None
        raise _open_error(exc, label) from None
    st = os.fstat(fd)
    if walked is not None and walked.identity != (st.st_dev, st.st_ino):
        os.close(fd)
        raise FileChangedError(label, _SWAPPED)
    if stat.S_ISREG(st.st_mode):
        return fd, st
    os.close(fd)
    if stat.S_ISDIR(st.st_mode):
        raise _is_a_directory(label)
    raise ReadError(
        f"failed to read file: {label}: not a regular file (a FIFO, device or socket)",
        suggestion="Pipe its output instead: COMMAND | rlm load - --name NAME",
    )


_SWAPPED = "another file or a symlink took its place after the folder walk"


def _open_error(exc: OSError, label: str) -> RlmError:
    if isinstance(exc, FileNotFoundError):
        return FileNotFoundInputError(label)
    if isinstance(exc, IsADirectoryError):
        return _is_a_directory(label)
    return ReadError(f"failed to read file: {label}: {exc.strerror}")


def _changed(before: os.stat_result, after: os.stat_result, read: int) -> str | None:
    """What moved between the first ``fstat`` and the end of reading, if anything."""
    if read != before.st_size or after.st_size != before.st_size:
        return f"{before.st_size} bytes when opened, {after.st_size} now, {read} read"
    if after.st_mtime_ns != before.st_mtime_ns:
        return "its modification time moved"
    return None


def _read_all(
    fd: int, expected: int, scanner: _Scanner | None, sink: BinaryIO | None
) -> tuple[int, list[bytes]]:
    """Read the descriptor to its end once: scan each piece, then spool or keep it.

    Stops early (returning more than ``expected``) when the file grows, so a
    file that keeps growing cannot keep the reader busy.
    """
    kept: list[bytes] = []
    total = 0
    while True:
        piece = os.read(fd, PIECE)
        if not piece:
            break
        total += len(piece)
        if total > expected:
            break
        if scanner is not None:
            scanner.feed(piece)
        if sink is not None:
            sink.write(piece)
        else:
            kept.append(piece)
    if scanner is not None:
        scanner.finish()
    return total, kept


def open_file(
    path: str | os.PathLike[str],
    *,
    lossy: bool = False,
    max_size: int = DEFAULT_MAX_FILE_SIZE,
    allow_empty: bool = False,
) -> SourceText:
    """Open a regular file as validated UTF-8 (see the module docstring for how)."""
    p = path if isinstance(path, Path) else Path(path)  # keep a WalkedPath as it is
    label = str(path)
    fd, st = _open_regular(p, label)
    spool: BinaryIO | None = None
    try:
        if st.st_size > max_size:
            raise FileTooLargeError(label, st.st_size, max_size)
        if st.st_size == 0 and not allow_empty:
            raise EmptyInputError(f"{label} is empty (0 bytes); nothing to load")
        head = os.pread(fd, 4, 0)
        transcode = lossy or head.startswith(_UTF8_BOM) or head[:2] in _UTF16_BOMS
        scanner = None if transcode else _Scanner(label)
        if scanner is not None and st.st_size > SPOOL_THRESHOLD:
            spool = tempfile.TemporaryFile(prefix="rlm-read-")  # noqa: SIM115 - closed below
        try:
            total, kept = _read_all(fd, st.st_size, scanner, spool)
        except OSError as exc:
            raise ReadError(f"failed to read file: {label}: {exc.strerror}") from None
        what = _changed(st, os.fstat(fd), total)
        if what is not None:
            raise FileChangedError(label, what)
        if scanner is None:
            text = _from_memory(b"".join(kept), label, lossy=lossy, source=label)
        else:
            text = _scanned_text(scanner, kept, spool, label)
            spool = None  # the SourceText closes it now
    finally:
        os.close(fd)
        if spool is not None:
            spool.close()
    text.content_type = content_type_for(p)
    text.mtime = st.st_mtime
    return text


def _scanned_text(
    scanner: _Scanner, kept: list[bytes], spool: BinaryIO | None, label: str
) -> SourceText:
    data: ByteText
    closers: list[object] = []
    if spool is None:
        data = b"".join(kept)
    else:
        spool.flush()
        try:
            data = mmap.mmap(spool.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise ReadError(f"memory mapping failed: {label}: {exc}") from None
        closers = [data, spool]
    return SourceText(
        data=data,
        source=label,
        sha256=scanner.digest.hexdigest(),
        encoding="utf-8",
        line_count=count_lines(scanner.newlines, scanner.offset, scanner.last == b"\n"),
        _closers=closers,
    )


def from_bytes(
    raw: bytes,
    *,
    label: str = "<input>",
    lossy: bool = False,
    source: str | None = None,
    allow_empty: bool = True,
) -> SourceText:
    """Validate bytes that are already in memory (stdin, inline content)."""
    if not raw and not allow_empty:
        raise EmptyInputError(f"{label} is empty; nothing to load")
    return _from_memory(raw, label, lossy=lossy, source=source)


def from_text(text: str, *, source: str | None = None) -> SourceText:
    raw = text.encode("utf-8")
    return _from_memory(raw, "<text>", lossy=False, source=source)


def read_stdin(*, lossy: bool = False, allow_empty: bool = True) -> SourceText:
    """All of standard input as validated UTF-8."""
    raw = sys.stdin.buffer.read()
    return from_bytes(raw, label="<stdin>", lossy=lossy, allow_empty=allow_empty)
