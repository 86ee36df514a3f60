"""Reading input: files, stdin and strings become validated UTF-8 bytes.

Files are memory-mapped, so a 1 GB file is never copied into the Python heap:
one streaming pass validates UTF-8 (reporting the byte offset of the first bad
byte), hashes the content and counts lines; chunkers then read the same map.
Only inputs that must be transcoded (UTF-16, ``--lossy``) are held in memory.
"""

from __future__ import annotations

import codecs
import hashlib
import mmap
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from rlm.chunking.base import ByteText, PageReleaser
from rlm.errors import (
    BinaryFileError,
    EmptyInputError,
    FileNotFoundInputError,
    FileTooLargeError,
    InvalidUtf8Error,
    ReadError,
)

PIECE = 1 << 20
BINARY_SNIFF = 8192
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


def _scan(data: ByteText, label: str, *, lossy_ok: bool) -> tuple[str, int, int | None]:
    """One pass: sha256, newline count, and the offset of the first invalid byte."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    newlines = 0
    bad: int | None = None
    n = len(data)
    releaser = PageReleaser(data)  # keep RSS flat while scanning a big memory map
    for start in range(0, n, PIECE):
        piece = data[start : min(start + PIECE, n)]
        releaser.release(start)
        digest.update(piece)
        newlines += piece.count(b"\n")
        if bad is None:
            buffered = len(decoder.getstate()[0])
            try:
                decoder.decode(piece, final=start + PIECE >= n)
            except UnicodeDecodeError as exc:
                bad = start - buffered + exc.start
                if not lossy_ok:
                    raise InvalidUtf8Error(label, bad) from None
    return digest.hexdigest(), newlines, bad


def _sniff_binary(data: ByteText, label: str) -> None:
    head = data[:BINARY_SNIFF]
    nul = head.find(b"\x00")
    if nul >= 0:
        raise BinaryFileError(label, nul)


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


def open_file(
    path: str | os.PathLike[str],
    *,
    lossy: bool = False,
    max_size: int = DEFAULT_MAX_FILE_SIZE,
    allow_empty: bool = False,
) -> SourceText:
    """Open a file as validated UTF-8 (memory-mapped when no transcoding is needed)."""
    p = Path(path)
    label = str(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise FileNotFoundInputError(label) from None
    except OSError as exc:
        raise ReadError(f"failed to read file: {label}: {exc.strerror}") from None
    if p.is_dir():
        raise ReadError(
            f"failed to read file: {label}: is a directory",
            suggestion="Pass files, or a folder to load every file in it (rlm load DIR)",
        )
    if st.st_size > max_size:
        raise FileTooLargeError(label, st.st_size, max_size)
    if st.st_size == 0:
        if not allow_empty:
            raise EmptyInputError(f"{label} is empty (0 bytes); nothing to load")
        return SourceText(
            data=b"",
            source=label,
            sha256=hashlib.sha256().hexdigest(),
            line_count=0,
            encoding="utf-8",
            content_type=content_type_for(p),
            mtime=st.st_mtime,
        )
    try:
        handle: BinaryIO = open(p, "rb")  # noqa: SIM115 - closed via SourceText
    except OSError as exc:
        raise ReadError(f"failed to read file: {label}: {exc.strerror}") from None
    try:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:
        handle.close()
        raise ReadError(f"memory mapping failed: {label}: {exc}") from None
    try:
        head = mapped[:4]
        if lossy or head.startswith(_UTF8_BOM) or head[:2] in _UTF16_BOMS:
            text = _from_memory(bytes(mapped), label, lossy=lossy, source=label)
            mapped.close()
            handle.close()
        else:
            _sniff_binary(mapped, label)
            sha, newlines, _ = _scan(mapped, label, lossy_ok=False)
            text = SourceText(
                data=mapped,
                source=label,
                sha256=sha,
                encoding="utf-8",
                line_count=count_lines(newlines, len(mapped), mapped[-1:] == b"\n"),
                _closers=[mapped, handle],
            )
    except BaseException:
        mapped.close()
        handle.close()
        raise
    text.content_type = content_type_for(p)
    text.mtime = st.st_mtime
    return text


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
