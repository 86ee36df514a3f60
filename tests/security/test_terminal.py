"""Terminal injection (review M2): names and text never reach a terminal raw in text mode."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rlm.cli.render import Output, emit, escape_controls, safe, truncate

Cli = Callable[..., Any]
EVIL_NAME = "evil\nname\x1b[31mRED\x1b]0;pwned\x07.txt"
OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"


@pytest.fixture
def store(cli: Cli, hash_embedder: None) -> None:
    assert cli("init").code == 0


def test_a_file_named_with_an_ansi_escape_is_listed_escaped(
    store: None, cli: Cli, isolated_env: Path
) -> None:
    (isolated_env / EVIL_NAME).write_text("hello\n")
    assert cli("load", EVIL_NAME).code == 0
    listed = cli("list")
    assert "\x1b" not in listed.out and "\x07" not in listed.out
    assert "name\\x1b[31mRED" in listed.out  # the newline shows as \\n or \\x0a
    # one table row: the newline in the name did not start a fake line
    lines = listed.out.splitlines()
    rows = lines[lines.index(next(x for x in lines if x.startswith("---"))) + 1 :]
    assert len(rows) == 1 and "RED" in rows[0]
    # JSON stays exact
    assert cli("list", "--format", "json").json()[0]["name"] == EVIL_NAME


def test_folder_report_skip_lines_cannot_forge_output(
    store: None, cli: Cli, isolated_env: Path
) -> None:
    import os

    folder = isolated_env / "hostile"
    folder.mkdir()
    (folder / "ok.txt").write_text("ok\n")
    os.mkfifo(folder / f"f{OSC52}\nFAKE: 0 files skipped\x1b[2K.txt")
    result = cli("load", str(folder))
    assert result.code == 0, result.err
    assert "\x1b" not in result.out and "\x07" not in result.out
    assert not any(line.startswith("FAKE") for line in result.out.splitlines())
    assert "\\nFAKE: 0 files skipped\\x1b[2K.txt: not a regular file" in result.out


def test_errors_and_warnings_are_escaped(store: None, cli: Cli) -> None:
    result = cli("show", "nope\x1b[31mX")
    assert result.code == 1
    assert "\x1b" not in result.err
    assert "nope\\x1b[31mX" in result.err
    as_json = cli("show", "nope\x1b[31mX", "--format", "json").json()
    assert "nope\x1b[31mX" in as_json["error"]["message"]


def test_file_text_in_text_mode_is_escaped_but_raw_chunks_stay_exact(
    store: None, cli: Cli, isolated_env: Path
) -> None:
    body = "hello \x1b]0;TITLE\x07 world\x1b[2J marker\n"
    (isolated_env / "esc.txt").write_text(body)
    assert cli("load", "esc.txt").code == 0
    grep = cli("grep", "esc.txt", "marker")
    assert "marker" in grep.out and "\x1b" not in grep.out
    search = cli("search", "marker", "--mode", "bm25", "--preview")
    assert "\x1b" not in search.out
    # chunk get to a pipe or file: byte-exact (the documented contract)
    raw = cli("chunk", "get", "1")
    assert raw.out == body


def test_raw_output_on_a_terminal_is_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.TextIOWrapper):
        def isatty(self) -> bool:
            return True

    buffer = io.BytesIO()
    tty = Tty(buffer, encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", tty)
    emit(Output(data={}, raw=b"a\x1b[2Jb\nc\n"), "text")
    tty.flush()
    assert buffer.getvalue() == b"a\\x1b[2Jb\nc\n"


@pytest.mark.parametrize(
    ("text", "kept", "one_line"),
    [
        ("\x1b[31m", "\\x1b[31m", "\\x1b[31m"),
        ("a\nb\tc", "a\nb\tc", "a\\nb\\tc"),
        ("\r\x00\x7f\x85\x9b", "\\r\\x00\\x7f\\x85\\x9b", "\\r\\x00\\x7f\\x85\\x9b"),
        ("\ud800", "\\ud800", "\\ud800"),
        ("café 東京 🙂", "café 東京 🙂", "café 東京 🙂"),
    ],
)
def test_escape_controls(text: str, kept: str, one_line: str) -> None:
    assert escape_controls(text) == kept
    assert safe(text) == one_line


def test_truncate_escapes_before_cutting() -> None:
    assert truncate("a\x1b[31mbcdef", 8) == "a\\x1b..."
    assert json.dumps(EVIL_NAME)  # JSON needs no help
