"""The one place rlm writes results and errors.

Results go to stdout, diagnostics to stderr (ripgrep's discipline). With
``--format json`` stdout holds exactly one JSON document; with ``ndjson``
one compact JSON object per line; errors follow the same format. Commands
never print: they return an :class:`Output`.

Terminal safety: file names, buffer names and file text can hold control
characters, and an ANSI/OSC escape printed raw can recolour the screen, set
the window title, write the clipboard (OSC 52) or forge output lines. So in
text mode every string written to a terminal goes through
:func:`escape_controls`: C0 controls (ESC, BEL, CR, ...), DEL, C1 controls
and lone surrogates come out as visible escapes (``\x1b``, ``\u009b``).
Multi-line output keeps its newlines and tabs; single-line fields (table
cells through :func:`truncate`, warnings, errors, anything passed to
:func:`safe`) escape those too, so a name cannot start a fake line. JSON and
NDJSON stay exact (``json.dumps`` already escapes controls). Raw bytes
(``chunk get``, ``export-buffers``) are written exactly to pipes and files,
which is their contract; only when stdout is a terminal are they escaped the
same way, since nobody can be relying on bytes they only see on a screen.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rlm.errors import RlmError

FORMATS = ("text", "json", "ndjson")
FORMAT_ALIASES = {"jsonl": "ndjson", "stream": "ndjson"}


@dataclass
class Output:
    """What a command produced, ready for any format.

    ``data`` is the JSON payload. ``text`` is the human rendering (a string or
    a function producing one). ``items`` are the NDJSON lines when the payload
    is a list-like result (default: ``[data]``, or the list itself).
    ``warnings`` go to stderr in every format.
    """

    data: Any
    text: str | Callable[[], str] = ""
    items: Iterable[Any] | None = None
    warnings: list[str] = field(default_factory=list)
    raw: bytes | None = None
    """Text mode only: bytes written as they are (``chunk get``, ``export-buffers``)."""
    exit_code: int = 0
    """Non-zero for a complete report of a failure (``model doctor`` finding a problem)."""


_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROLS_ALL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape_one(match: re.Match[str]) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` with terminal control characters made visible (see the module docstring).

    ``keep_newlines`` keeps ``\n`` and ``\t`` (multi-line output); without
    it they are escaped as well (one-line fields).
    """
    pattern = _CONTROLS if keep_newlines else _CONTROLS_ALL
    return pattern.sub(_escape_one, text)


def safe(value: object) -> str:
    """One field for a text line: every control character escaped, newlines included."""
    return escape_controls(str(value), keep_newlines=False)


def to_json(data: Any, *, pretty: bool) -> str:
    if pretty:
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _write(stream: Any, text: str) -> None:
    """Write ``text``; characters the stream cannot encode come out escaped.

    A file or buffer name holding bytes that are not UTF-8 reaches Python as
    lone surrogates (``\\udc80``), which a strict UTF-8 stream refuses. The
    message is still worth printing, so those characters are backslash-escaped
    instead of the command dying in its error handler. The encoder works on the
    whole string before writing, so nothing is written twice.
    """
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
    stream.flush()


def _write_raw(raw: bytes) -> None:
    """Raw bytes exactly, except on a terminal, where controls are escaped."""
    isatty = getattr(sys.stdout, "isatty", None)
    if isatty is not None and isatty():
        _write(sys.stdout, escape_controls(raw.decode("utf-8", "replace")))
        return
    sys.stdout.buffer.write(raw)
    sys.stdout.flush()


def emit(output: Output, fmt: str) -> None:
    for warning in output.warnings:
        _write(sys.stderr, f"Warning: {safe(warning)}\n")
    if fmt == "json":
        _write(sys.stdout, to_json(output.data, pretty=True) + "\n")
    elif fmt == "ndjson":
        items = output.items
        if items is None:
            items = output.data if isinstance(output.data, list) else [output.data]
        _write(sys.stdout, "".join(to_json(item, pretty=False) + "\n" for item in items))
    elif output.raw is not None:
        _write_raw(output.raw)
    else:
        text = output.text() if callable(output.text) else output.text
        if text:
            _write(sys.stdout, escape_controls(text))


def emit_error(error: RlmError, fmt: str) -> None:
    """Text: ``Error: ...`` plus the suggestion on stderr. JSON: the envelope on stdout."""
    if fmt == "json":
        _write(sys.stdout, to_json(error.to_dict(), pretty=True) + "\n")
    elif fmt == "ndjson":
        _write(sys.stdout, to_json(error.to_dict(), pretty=False) + "\n")
    else:
        text = f"Error: {safe(error.message)}\n"
        if error.suggestion:
            text += f"  Suggestion: {safe(error.suggestion)}\n"
        _write(sys.stderr, text)


def human_size(size: int) -> str:
    """rlm-rs's list format: ``N B``, ``X.Y KB``, ``X.Y MB``, ``X.Y GB`` (base 1024)."""
    if size < 1024:
        return f"{size} B"
    if size < 1024**2:
        return f"{size / 1024:.1f} KB"
    if size < 1024**3:
        return f"{size / 1024**2:.1f} MB"
    return f"{size / 1024**3:.1f} GB"


def truncate(text: str, limit: int) -> str:
    """Cut to ``limit`` characters with ``...`` (rlm-rs cut bytes and crashed on UTF-8).

    Table cells are one line: control characters are escaped first (:func:`safe`).
    """
    text = safe(text)
    if len(text) <= limit:
        return text
    if limit <= 3:
        return text[:limit]
    return text[: limit - 3] + "..."


def format_score(value: float | None) -> str:
    """Search table cells: ``-``, ``0``, ``1.60e-6`` or four decimals, as rlm-rs."""
    if value is None:
        return "-"
    if value == 0:
        return "0"
    if abs(value) < 0.0001:
        mantissa, exponent = f"{value:.2e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.4f}"
