"""Hypothesis fuzzing of the whole CLI argument surface.

Argument vectors are drawn from the real command tree (introspected from the
click groups, so new commands and flags are fuzzed as they land): a command
path, then a few tokens, each an option of that command (with a random value
when it takes one), a flag of some *other* command, a global option, or a
random positional value: unicode, negative and huge numbers, empty strings,
dashes. Numbers stay within SQLite's 64-bit range and text is valid UTF-8:
beyond-int64 numbers and non-UTF-8 argv bytes are covered by
test_argv_bugs.py (they currently fail, and here they would hide every other
finding).

Every run starts from the same small database (two buffers, embedded with
the hash embedder). Whatever the argv, the contract of ``rlm.cli.main`` holds:
no exception escapes ``run``, no traceback is printed, no "internal error"
(an unexpected exception) is reported, the exit code is 0, 1 or 2, and in
``--format json`` / ``ndjson`` stdout is JSON; a failure is the error envelope.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlm.cli.main import cli as root
from rlm.cli.main import normalise_format, split_global_options
from rlm.errors import RlmError

EXAMPLES = int(os.environ.get("RLM_FUZZ_EXAMPLES", "400"))
HELP_TOKENS = {"-h", "--help", "-V", "--version"}
EXCLUDED = {("mcp",), ("watch",)}
"""``mcp`` serves JSON-RPC on stdio until EOF and ``watch`` polls until Ctrl-C: both run
until stopped, so a random argv would hang the suite. Their flags are tested in
tests/mcp and tests/cli/test_watch.py."""
FUZZED: dict[str, int] = {}


def _surface() -> list[tuple[tuple[str, ...], list[tuple[str, bool]], int]]:
    """(command path, [(option name, takes a value)], number of positional arguments)."""
    ctx = click.Context(root)
    found = []

    def walk(group: click.Group, prefix: tuple[str, ...]) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            path = (*prefix, name)
            if command is None or path in EXCLUDED:
                continue
            if isinstance(command, click.Group):
                walk(command, path)
                continue
            options: list[tuple[str, bool]] = []
            arguments = 0
            for param in command.params:
                if isinstance(param, click.Option):
                    takes = not (param.is_flag or param.count)
                    options += [(opt, takes) for opt in (*param.opts, *param.secondary_opts)]
                elif isinstance(param, click.Argument):
                    arguments += 1 if param.nargs == 1 else 2
            found.append((path, options, arguments))

    walk(root, ())
    return found


SURFACE = _surface()
ALL_FLAGS = sorted({opt for _, options, _ in SURFACE for opt, _ in options})


def _safe(value: str) -> bool:
    """No absolute paths, home or parent references: fuzzed writes stay in the test folder."""
    return not value.startswith(("/", "~")) and ".." not in value


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=24,
)
PLAUSIBLE = st.sampled_from(  # values that get past parsing, so commands run deep
    ["known", "other", "1", "2", "0", "3", "10", "bm25", "semantic", "hybrid", "fixed",
     "semantic", "json", "high", "low", "chunk_id", "x", "parseConfig", "日本語", "@@P1@@"]
)  # fmt: skip
VALUES = st.one_of(
    PLAUSIBLE,
    PLAUSIBLE,
    _text.filter(_safe),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(str),
    st.sampled_from(
        [
            "",
            " ",
            "-1",
            "1e309",
            "nan",
            "-inf",
            "0.5",
            "-",
            "--",
            "ℵ₀",
            "9" * 18,
            "a" * 300,
            "(",
            "*",
            '"',
            "NEAR(",
            "a AND",
            "-x",
        ]
    ),
)


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    path, options, arguments = draw(st.sampled_from(SURFACE))
    argv = list(path)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["option"] * 6 + ["positional"] * 2 + ["foreign", "global"]))
        if kind == "option" and options:
            opt, takes = draw(st.sampled_from(options))
            argv += [opt, draw(VALUES)] if takes else [opt]
        elif kind == "foreign":
            argv.append(draw(st.sampled_from(ALL_FLAGS)))
        elif kind == "global":
            argv += draw(st.sampled_from([["-v"], ["--format", "json"], ["--format"], ["-V"]]))
            if argv[-1] == "--format" and draw(st.booleans()):
                argv.append(draw(VALUES))
        else:
            argv.append(draw(VALUES))
    if arguments and draw(st.integers(0, 3)):
        argv += [draw(VALUES) for _ in range(arguments)]
    return argv


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small database: buffers 'known' and 'other', embedded with the hash embedder."""
    from rlm.embedding.hashing import HashEmbedder
    from rlm.ingest.loader import LoadOptions, load_text
    from rlm.io import from_text
    from rlm.store import Store

    folder = tmp_path_factory.mktemp("fuzz-template")
    db = folder / "rlm-state.db"
    text = "@@P1@@ parseConfig reads 日本語 text.\n\n" * 40 + "naïve café\n" * 30
    with Store.init(db) as store:
        for name in ("known", "other"):
            load_text(
                store,
                from_text(text, source=f"{name}.txt"),
                name=name,
                options=LoadOptions(chunk_size=400, overlap=50),
                embedder_factory=HashEmbedder,
            )
    return db


def _effective_format(argv: list[str]) -> str:
    """The format ``run`` will use: the last valid ``--format`` anywhere, else text."""
    try:
        _, found = split_global_options(argv)
        return normalise_format(str(found.get("--format", "text")))
    except RlmError:
        return "text"


def _check(argv: list[str], code: int, out: str, err: str) -> None:
    fmt = _effective_format(argv)
    shown = f"argv={argv!r} code={code}\nstdout={out[:500]!r}\nstderr={err[:500]!r}"
    assert code in (0, 1, 2), shown
    assert "Traceback (most recent call last)" not in out + err, shown
    assert "internal error" not in (out + err).lower(), shown
    if fmt == "text":
        if code != 0:
            assert err.strip(), shown
        return
    if code == 0 and HELP_TOKENS & set(argv):
        return  # --help / --version print text whatever the format
    if fmt == "json":
        data = json.loads(out) if out.strip() else None
        assert data is not None or code == 0, shown
    else:
        lines = [json.loads(line) for line in out.split("\n") if line.strip()]
        data = lines[-1] if lines else None
    if code != 0:
        assert isinstance(data, dict) and data.get("success") is False, shown
        assert set(data["error"]) == {"message", "suggestion", "type"}, shown
        assert data["error"]["type"] != "InternalError", shown


def _runner(
    cli: Callable[..., Any], template: Path, work: Path
) -> Callable[[str, list[str]], None]:
    db = work / ".rlm" / "rlm-state.db"

    def run_one(fmt: str, argv: list[str]) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        db.parent.mkdir(exist_ok=True)
        shutil.copyfile(template, db)
        sys.stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
        full = [*argv, "--format", fmt] if fmt != "text" else argv
        result = cli(*full)
        FUZZED[fmt] = FUZZED.get(fmt, 0) + 1
        key = f"{fmt}:exit{result.code}"
        FUZZED[key] = FUZZED.get(key, 0) + 1
        _check(full, result.code, result.out, result.err)

    return run_one


@pytest.mark.parametrize("fmt", ["text", "json", "ndjson"])
def test_random_argv_never_crashes(
    fmt: str,
    cli: Callable[..., Any],
    template: Path,
    isolated_env: Path,
    hash_embedder: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", sys.stdin)  # restored after the test
    run_one = _runner(cli, template, isolated_env)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(argv=argvs())
    def check(argv: list[str]) -> None:
        run_one(fmt, argv)

    check()
    codes = {k: v for k, v in FUZZED.items() if k.startswith(f"{fmt}:")}
    print(f"fuzzed {FUZZED.get(fmt, 0)} argv in {fmt} ({len(SURFACE)} commands): {codes}")
    assert FUZZED.get(fmt, 0) >= EXAMPLES
    # Deep enough to matter: some runs succeed, some are command errors, some usage errors.
    assert all(codes.get(f"{fmt}:exit{code}", 0) > 0 for code in (0, 1, 2)), codes


def test_surface_covers_the_commands() -> None:
    """The introspection found the real tree (a broken walk would fuzz nothing)."""
    paths = {" ".join(path) for path, _, _ in SURFACE}
    assert {"load", "search", "chunk get", "grep", "write-chunks", "aggregate"} <= paths
    assert len(ALL_FLAGS) > 30
