"""Eight reader processes and one writer on one database: no lock errors, no wrong answers.

Readers loop over ``search --mode bm25``, ``chunk get`` (raw and JSON),
``grep``, ``list``, ``chunk list``, ``status`` and ``chunk status`` against a
buffer whose text is known, checking every answer (see ``_reader.py``).
Meanwhile a writer process runs ``rlm load --replace`` (one write transaction
per load) and ``rlm chunk embed --force`` (one transaction per embedding
batch) with the hash embedder, back to back. Readers also check that the
writer's buffer is never visible half-written. See docs/concurrency.md for the
model this exercises.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.reliability._support import RLM, make_text, raw_connect, rlm_env

READERS = 8
SECONDS = 15.0
MIN_WRITES = 3
READER = Path(__file__).with_name("_reader.py")


def _rlm(db: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(RLM), "--db-path", str(db), *args], env=env, capture_output=True, timeout=120
    )


def test_readers_and_a_writer_never_see_locks_or_wrong_results(tmp_path: Path) -> None:
    env = rlm_env(RLM_EMBEDDER="hash")
    db = tmp_path / "shared.db"
    known = tmp_path / "known.txt"
    known.write_bytes(make_text(400_000, seed=11))
    writer_src = tmp_path / "writer.txt"
    writer_src.write_bytes(make_text(100_000, seed=12))
    assert _rlm(db, env, "init").returncode == 0
    loaded = _rlm(db, env, "load", str(known), "--name", "known", "--format", "json")
    assert loaded.returncode == 0, loaded.stderr
    first = _rlm(db, env, "load", str(writer_src), "--name", "writer", "--format", "json")
    assert first.returncode == 0, first.stderr
    writer_chunks = json.loads(first.stdout)["chunk_count"]

    text = known.read_bytes()
    with raw_connect(db) as conn:
        chunks = [
            [int(i), int(s), int(e)]
            for i, s, e in conn.execute(
                "SELECT c.id, c.byte_start, c.byte_end FROM chunks c JOIN buffers b"
                " ON b.id = c.buffer_id WHERE b.name = 'known' ORDER BY c.chunk_index"
            )
        ]
    markers = [[m.group(0).decode(), m.start()] for m in re.finditer(rb"@@P\d+@@", text)]
    assert len(chunks) > 100 and len(markers) > 500
    spec = {
        "db": str(db),
        "text": str(known),
        "chunks": chunks,
        "known_chunks": len(chunks),
        "writer_chunks": writer_chunks,
        "markers": markers,
        "stop": str(tmp_path / "stop"),
        "max_seconds": SECONDS * 4,
        "search": True,
    }
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))

    readers = [
        subprocess.Popen(
            [sys.executable, str(READER), str(spec_path), str(tmp_path / f"r{i}.json"), str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(READERS)
    ]
    writes: dict[str, int] = {"load": 0, "embed": 0}
    writer_errors: list[str] = []
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline or min(writes.values()) < MIN_WRITES:
        for op, args in (
            ("load", ("load", str(writer_src), "--name", "writer", "--replace")),
            ("embed", ("chunk", "embed", "writer", "--force")),
        ):
            done = _rlm(db, env, *args)
            writes[op] += 1
            if done.returncode != 0 or b"locked" in done.stderr:
                writer_errors.append(f"{op}: {done.returncode} {done.stderr[:300]!r}")

    (tmp_path / "stop").touch()
    errors: list[str] = []
    ops: dict[str, int] = {}
    for i, proc in enumerate(readers):
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        report = json.loads((tmp_path / f"r{i}.json").read_text())
        errors += report["errors"]
        for op, n in report["ops"].items():
            ops[op] = ops.get(op, 0) + n

    assert writer_errors == []
    assert errors == []
    # The run must have been a real overlap of reads and writes.
    assert all(proc.returncode == 0 for proc in readers)
    assert sum(ops.values()) >= 200 and len(ops) >= 7, ops
    print(f"reader calls {sum(ops.values())} {ops}; writer {writes}")
