"""The rlm-rs command surface as a user's shell sees it: real processes, every format.

Every command runs as ``rlm`` in a subprocess, in text, json and ndjson, on an
ASCII buffer and on a multi-byte one (emoji, CJK, accents). Each run must
exit with the expected code, never print a traceback, keep results on stdout
and diagnostics on stderr, and in json/ndjson print only parseable JSON on
stdout (one document, or one object per line).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.reliability._support import RLM, rlm_env

TEXTS = {
    "ascii": "The harbour light turns every twelve seconds.\n\nShips steer clear of the reef.\n",
    "multibyte": (
        "Café naïve données 🚢⚓ straße.\n\n東京の灯台は十二秒ごとに回る。\n\n"
        "Les navires évitent le récif. 🌊 日本語のテキスト。\n"
    ),
}
# A word present in both texts' searches and greps.
NEEDLES = {"ascii": "reef", "multibyte": "récif"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("surface")
    for name, text in TEXTS.items():
        (root / f"{name}.txt").write_text(text, encoding="utf-8")
    assert _rlm(root, ["init"]).returncode == 0
    for name in TEXTS:
        done = _rlm(root, ["load", f"{name}.txt", "--chunk-size", "40", "--overlap", "8"])
        assert done.returncode == 0, done.stderr
    return root


def _rlm(cwd: Path, args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RLM), *args],
        cwd=cwd,
        env=rlm_env(RLM_EMBEDDER="hash", PYTHONIOENCODING="utf-8"),
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def _commands(kind: str) -> list[tuple[list[str], int]]:
    """(argv, expected exit code) for one buffer; read-only or self-contained writes."""
    buf = f"{kind}.txt"
    needle = NEEDLES[kind]
    return [
        (["status"], 0),
        (["list"], 0),
        (["ls"], 0),
        (["show", buf], 0),
        (["show", buf, "--chunks"], 0),
        (["peek", buf, "--start", "0", "--end", "25"], 0),
        (["grep", buf, needle], 0),
        (["grep", "--all", needle], 0),
        (["chunk", "list", buf, "--preview"], 0),
        (["chunk", "get", "1"], 0),
        (["chunk", "get", "2", "--context", "1"], 0),
        (["chunk", "status"], 0),
        (["chunk-indices", buf, "--chunk-size", "20", "--overlap", "4"], 0),
        (["search", needle, "--mode", "bm25", "--preview"], 0),
        (["search", needle, "--preview-len", "7", "--preview"], 0),
        (["export-buffers"], 0),
        (["var", f"note-{kind}", "😀 значение"], 0),
        (["var", f"note-{kind}"], 0),
        (["global", f"g-{kind}", "東京"], 0),
        (["dispatch", buf, "--batch-size", "2"], 0),
        (["model", "list"], 0),
        # Errors: a missing buffer or chunk is 1, a bad flag or value is 2.
        (["show", "no-such-buffer"], 1),
        (["chunk", "get", "999999"], 1),
        (["grep", buf, "(unclosed"], 2),  # an invalid value, as in ripgrep
        (["search", "   "], 2),
        (["search", needle, "--mode", "fuzzy"], 2),
        (["peek", buf, "--start", "-1"], 2),
        (["list", "--no-such-flag"], 2),
    ]


CASES = [
    pytest.param(kind, argv, code, fmt, id=f"{kind}-{fmt}-{' '.join(argv)}")
    for kind in TEXTS
    for argv, code in _commands(kind)
    for fmt in ("text", "json", "ndjson")
]


@pytest.mark.parametrize(("kind", "argv", "code", "fmt"), CASES)
def test_command_in_every_format(
    workspace: Path, kind: str, argv: list[str], code: int, fmt: str
) -> None:
    done = _rlm(workspace, [*argv, "--format", fmt])
    where = f"rlm {' '.join(argv)} --format {fmt}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    assert done.returncode == code, where
    assert "Traceback" not in done.stdout + done.stderr, where
    if fmt == "json":
        doc = json.loads(done.stdout)
        if code != 0:
            assert doc["success"] is False and doc["error"]["message"], where
    elif fmt == "ndjson":
        lines = [line for line in done.stdout.split("\n") if line]
        assert lines or code == 0, where
        for line in lines:
            json.loads(line)
    else:
        if code != 0:
            assert done.stderr.startswith(("Error:", "Usage:")), where
            assert not done.stdout.strip(), where


@pytest.mark.parametrize("kind", sorted(TEXTS))
def test_text_survives_the_round_trip_byte_for_byte(workspace: Path, kind: str) -> None:
    """export-buffers, chunk get and peek give back exactly the UTF-8 that was loaded."""
    shown = json.loads(_rlm(workspace, ["show", f"{kind}.txt", "--format", "json"]).stdout)
    buffer_id = shown["buffer"]["id"]
    chunks = json.loads(
        _rlm(workspace, ["chunk", "list", f"{kind}.txt", "--format", "json"]).stdout
    )["chunks"]
    text = TEXTS[kind]
    data = text.encode("utf-8")
    for chunk in chunks:
        got = _rlm(workspace, ["chunk", "get", str(chunk["id"])]).stdout
        span = chunk["byte_range"]
        assert got.encode("utf-8") == data[span["start"] : span["end"]]
    peek_args = ["peek", str(buffer_id), "--end", str(len(data)), "--format", "json"]
    peek = json.loads(_rlm(workspace, peek_args).stdout)
    assert peek["content"] == text


def test_stdin_loads_in_every_format(workspace: Path) -> None:
    for fmt in ("text", "json", "ndjson"):
        done = _rlm(
            workspace,
            ["load", "-", "--name", f"stdin-{fmt}", "--format", fmt],
            stdin=TEXTS["multibyte"],
        )
        assert done.returncode == 0, done.stderr
        if fmt == "json":
            assert json.loads(done.stdout)["chunk_count"] >= 1
        elif fmt == "ndjson":
            assert len(done.stdout.strip().split("\n")) == 1
            assert json.loads(done.stdout)["chunk_count"] >= 1
    listed = json.loads(_rlm(workspace, ["list", "--format", "json"]).stdout)
    names = {b["name"] for b in (listed["buffers"] if isinstance(listed, dict) else listed)}
    assert {"stdin-text", "stdin-json", "stdin-ndjson"} <= names
