"""Shared helpers for the reliability suite: generated corpora, the ``rlm`` script, raw checks.

The checks here read the SQLite file directly (not through ``rlm``), so a bug in
the store layer cannot hide itself from the test that looks for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RLM = Path(sys.executable).parent / "rlm"
"""The console script of this venv (``python -m rlm.cli.main`` has no ``__main__`` guard)."""

_WORD_TEXT = (
    "alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega river stone "
    "lantern harbour signal quartz meadow copper falcon ledger orbit parser token buffer "
    "naïve café données straße東京 日本語 parseConfig HTTPServer snake_case_name 42 3.14"
)
_WORDS = _WORD_TEXT.split()


def make_text(size: int, seed: int = 0, *, marker_every: int = 1) -> bytes:
    """About ``size`` bytes of prose: paragraphs, multi-byte characters, unique markers.

    Every ``marker_every``-th paragraph starts with ``@@P<n>@@`` (unique), so a
    grep for a marker has exactly one right answer.
    """
    rng = random.Random(seed)
    pool = []
    for _ in range(400):
        sentences = []
        for _ in range(rng.randint(1, 7)):
            words = [rng.choice(_WORDS) for _ in range(rng.randint(4, 24))]
            sentences.append(" ".join(words).capitalize() + ".")
        pool.append(" ".join(sentences))
    parts: list[bytes] = []
    total = 0
    n = 0
    while total < size:
        body = rng.choice(pool)
        if n % marker_every == 0:
            body = f"@@P{n}@@ {body}"
        piece = (body + ("\n\n" if rng.random() < 0.8 else "\n")).encode("utf-8")
        parts.append(piece)
        total += len(piece)
        n += 1
    return b"".join(parts)


def rlm_env(tmp: Path | None = None, **extra: str) -> dict[str, str]:
    """The current environment without inherited rlm settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RLM_")}
    env.update(extra)
    if tmp is not None:
        env["HOME"] = str(tmp)
        env.pop("XDG_CACHE_HOME", None)
    return env


@dataclass(frozen=True)
class BufferShape:
    """What a complete load of one file looks like, read from the raw tables."""

    size: int
    sha256: str
    spans: tuple[tuple[int, int], ...]
    chunk_hashes: tuple[str, ...]


def raw_connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(db), timeout=30)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def buffer_shape(conn: sqlite3.Connection, buffer_id: int) -> BufferShape:
    digest = hashlib.sha256()
    size = 0
    for (data,) in conn.execute(
        "SELECT data FROM buffer_segments WHERE buffer_id = ? ORDER BY seq", (buffer_id,)
    ):
        digest.update(data)
        size += len(data)
    rows = conn.execute(
        "SELECT byte_start, byte_end, content_hash FROM chunks WHERE buffer_id = ?"
        " ORDER BY chunk_index",
        (buffer_id,),
    ).fetchall()
    return BufferShape(
        size=size,
        sha256=digest.hexdigest(),
        spans=tuple((int(s), int(e)) for s, e, _ in rows),
        chunk_hashes=tuple(str(h) for _, _, h in rows),
    )


def store_problems(conn: sqlite3.Connection) -> list[str]:
    """Structural damage a crash could leave: SQLite corruption, orphans, FTS drift."""
    problems: list[str] = []
    check = conn.execute("PRAGMA integrity_check").fetchall()
    if check != [("ok",)]:
        problems.append(f"integrity_check: {check[:5]}")
    orphans = {
        "chunks": "SELECT COUNT(*) FROM chunks WHERE buffer_id NOT IN (SELECT id FROM buffers)",
        "segments": "SELECT COUNT(*) FROM buffer_segments"
        " WHERE buffer_id NOT IN (SELECT id FROM buffers)",
        "vectors": "SELECT COUNT(*) FROM chunk_embeddings"
        " WHERE chunk_id NOT IN (SELECT id FROM chunks)",
        "aux_fts": "SELECT COUNT(*) FROM chunks_aux_fts WHERE rowid NOT IN (SELECT id FROM chunks)",
    }
    for what, sql in orphans.items():
        count = conn.execute(sql).fetchone()[0]
        if count:
            problems.append(f"{count} orphan {what}")
    try:
        conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')")
    except sqlite3.DatabaseError as exc:
        problems.append(f"chunks_fts integrity-check: {exc}")
    return problems


_LAUNCHER = """
import json, os, subprocess, sys
with open(sys.argv[1], "wb") as out:
    proc = subprocess.Popen(sys.argv[2:], stdout=out, stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss,
                  "stderr": err.decode("utf-8", "replace")[-2000:]}))
"""


def run_measuring_rss(cmd: list[str], env: dict[str, str], stdout: Path) -> tuple[int, float, str]:
    """Run ``cmd`` and return (exit code, its own peak RSS in MB, stderr tail).

    Linux keeps ``ru_maxrss`` across ``execve``, so a child forked straight from
    a large pytest process reports pytest's size. A small launcher process in
    between makes the figure the command's own.
    """
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, str(stdout), *cmd],
        env=env,
        capture_output=True,
        check=True,
    )
    report = json.loads(done.stdout)
    return int(report["code"]), report["maxrss_kb"] / 1024, str(report["stderr"])
