"""SIGKILL ``rlm load`` at random moments: the store is never corrupt or half-written.

Two kill series share one database. Series A kills ``rlm load --no-embed`` of a
3 MB generated file (the buffer + segments + chunks + FTS transaction); series
B kills a load of a smaller file with the hash embedder, so kills also land in
the per-batch embedding transactions after the load committed. Each run loads
either under a fresh name or over an existing buffer with ``--replace``; kill
times are drawn (seeded) over the whole length of an uninterrupted reference
load, a little past its end so some runs finish.

After every kill the raw tables must show: ``PRAGMA integrity_check`` ok, the
FTS index in sync with its content table, no orphan rows, no duplicate names,
every visible buffer byte-for-byte and span-for-span identical to the
reference load, and every stored vector whole. Then a following load and a
resumed ``chunk embed`` succeed.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

from tests.reliability._support import (
    RLM,
    BufferShape,
    buffer_shape,
    make_text,
    raw_connect,
    rlm_env,
    store_problems,
)

SEED = 20240601
LOAD_KILLS = 18
EMBED_KILLS = 6


def _load_cmd(db: Path, src: Path, name: str, *, replace: bool, embed: bool) -> list[str]:
    cmd = [str(RLM), "--db-path", str(db), "load", str(src), "--name", name]
    if replace:
        cmd.append("--replace")
    if not embed:
        cmd.append("--no-embed")
    return cmd


def _reference(tmp: Path, src: Path, env: dict[str, str], embed: bool) -> tuple[BufferShape, float]:
    """Load ``src`` uninterrupted into its own database: its shape and wall time."""
    db = tmp / f"ref-{src.stem}.db"
    subprocess.run([str(RLM), "--db-path", str(db), "init"], env=env, check=True)
    started = time.monotonic()
    done = subprocess.run(
        [*_load_cmd(db, src, "ref", replace=False, embed=embed), "--format", "json"],
        env=env,
        capture_output=True,
        check=True,
    )
    duration = time.monotonic() - started
    result = json.loads(done.stdout)
    assert result["embedded_count"] == (result["chunk_count"] if embed else 0)
    with raw_connect(db) as conn:
        shape = buffer_shape(conn, result["buffer_id"])
    assert shape.size == src.stat().st_size
    assert shape.spans[0][0] == 0 and shape.spans[-1][1] == shape.size
    return shape, duration


def _check_store(db: Path, references: dict[str, BufferShape], where: str) -> None:
    with raw_connect(db) as conn:
        assert store_problems(conn) == [], where
        buffers = conn.execute("SELECT id, name, size, chunk_count FROM buffers").fetchall()
        names = [b[1] for b in buffers]
        assert len(names) == len(set(names)), f"{where}: duplicate names {names}"
        for buffer_id, name, size, chunk_count in buffers:
            reference = references[name.rstrip("0123456789")]
            label = f"{where}, buffer {name}"
            assert size == reference.size, label
            assert chunk_count == len(reference.spans), label
            assert buffer_shape(conn, buffer_id) == reference, label
            broken = conn.execute(
                "SELECT COUNT(*) FROM chunk_embeddings e JOIN chunks c ON c.id = e.chunk_id"
                " WHERE c.buffer_id = ? AND length(e.embedding) != 4 * e.dimensions",
                (buffer_id,),
            ).fetchone()[0]
            assert broken == 0, label


def _kill_series(
    db: Path,
    src: Path,
    env: dict[str, str],
    references: dict[str, BufferShape],
    *,
    prefix: str,
    runs: int,
    duration: float,
    embed: bool,
    rng: random.Random,
) -> int:
    """Loads SIGKILLed at a random time until ``runs`` were really killed mid-way (at
    most ``3 * runs`` attempts: on a busy machine a load may finish before its kill);
    returns how many were killed."""
    killed = 0
    for run in range(3 * runs):
        if killed >= runs:
            break
        delay = rng.uniform(0.03, 0.9) * duration  # a few may still finish: counted below
        replace = rng.random() < 0.5
        name = prefix if replace else f"{prefix}{run}"
        proc = subprocess.Popen(
            _load_cmd(db, src, name, replace=replace, embed=embed),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
        if proc.returncode == -signal.SIGKILL:
            killed += 1
        else:
            assert proc.returncode == 0, f"{prefix} run {run}: load failed: {err.decode()}"
        _check_store(db, references, f"{prefix} run {run} (kill after {delay:.2f}s)")
    return killed


def test_sigkill_during_load_never_leaves_partial_state(tmp_path: Path) -> None:
    env = rlm_env(RLM_EMBEDDER="hash")
    big = tmp_path / "big.txt"
    big.write_bytes(make_text(3_000_000, seed=7))
    small = tmp_path / "small.txt"
    small.write_bytes(make_text(300_000, seed=8))
    big_ref, big_time = _reference(tmp_path, big, env, embed=False)
    small_ref, small_time = _reference(tmp_path, small, env, embed=True)
    assert len(big_ref.spans) > 1000 and len(small_ref.spans) > 100
    references = {"load": big_ref, "embed": small_ref}

    db = tmp_path / "crash.db"
    subprocess.run([str(RLM), "--db-path", str(db), "init"], env=env, check=True)
    rng = random.Random(SEED)
    killed = _kill_series(
        db, big, env, references, prefix="load", runs=LOAD_KILLS, duration=big_time,
        embed=False, rng=rng,
    )  # fmt: skip
    killed += _kill_series(
        db, small, env, references, prefix="embed", runs=EMBED_KILLS, duration=small_time,
        embed=True, rng=rng,
    )  # fmt: skip
    # Most runs must really have been killed mid-way, or the test proves nothing.
    assert killed >= (LOAD_KILLS + EMBED_KILLS) * 3 // 4

    # A following load succeeds, and embedding resumes where the kills left it.
    final = subprocess.run(
        [*_load_cmd(db, small, "embed", replace=True, embed=True), "--format", "json"],
        env=env,
        capture_output=True,
    )
    assert final.returncode == 0, final.stderr.decode()
    result = json.loads(final.stdout)
    assert result["embedded_count"] == result["chunk_count"] == len(small_ref.spans)
    with raw_connect(db) as conn:
        partial = [
            name for (name,) in conn.execute("SELECT name FROM buffers WHERE name LIKE 'embed%'")
        ]
    for name in partial:
        resumed = subprocess.run(
            [str(RLM), "--db-path", str(db), "chunk", "embed", name], env=env, capture_output=True
        )
        assert resumed.returncode == 0, resumed.stderr.decode()
    status = subprocess.run(
        [str(RLM), "--db-path", str(db), "chunk", "status", "--format", "json"],
        env=env,
        capture_output=True,
        check=True,
    )
    for row in json.loads(status.stdout)["buffers"]:
        if row["name"].startswith("embed"):
            assert row["fully_embedded"], row
    _check_store(db, references, "after the final load")
