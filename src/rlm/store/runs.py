"""Dispatch runs: which chunks went to which batch, for the coverage ledger."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rlm.errors import RunNotFoundError
from rlm.store.base import StoreBase


class RunQueries(StoreBase):
    def create_run(
        self, run_id: str, buffer_id: int, params: dict[str, Any], batches: Sequence[Sequence[int]]
    ) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO dispatch_runs(id, buffer_id, params, created_at) VALUES (?, ?, ?, ?)",
                (run_id, buffer_id, json.dumps(params, ensure_ascii=False), self.now()),
            )
            self.conn.executemany(
                "INSERT OR IGNORE INTO dispatch_run_chunks(run_id, batch_index, chunk_id)"
                " VALUES (?, ?, ?)",
                [(run_id, b, cid) for b, ids in enumerate(batches) for cid in ids],
            )

    def get_run(self, run_id: str) -> tuple[int, dict[str, Any], list[tuple[int, int]]]:
        """(buffer id, params, [(batch index, chunk id)...]) of a recorded run."""
        row = self.conn.execute(
            "SELECT buffer_id, params FROM dispatch_runs WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise self._run_not_found(run_id)
        chunks = [
            (int(r[0]), int(r[1]))
            for r in self.conn.execute(
                "SELECT batch_index, chunk_id FROM dispatch_run_chunks WHERE run_id = ?"
                " ORDER BY batch_index, chunk_id",
                (run_id,),
            )
        ]
        return int(row[0]), json.loads(row[1]), chunks

    def _run_not_found(self, run_id: str) -> RunNotFoundError:
        """The error, naming the latest runs: the id was probably mistyped or lost."""
        error = RunNotFoundError(run_id)
        latest = [r.run_id for r in self.list_runs(limit=3)]
        if latest:
            error.suggestion = f"Latest runs: {', '.join(latest)}; 'rlm runs' lists them all"
            error.tool_suggestion = f"Latest runs: {', '.join(latest)}"
        return error

    def list_runs(self, limit: int | None = None) -> list[RunSummary]:
        """Recorded runs, newest first, with their size and buffer (None if deleted)."""
        rows = self.conn.execute(
            "SELECT r.id, r.buffer_id, b.name, r.params, r.created_at,"
            " (SELECT COUNT(*) FROM dispatch_run_chunks c WHERE c.run_id = r.id),"
            " (SELECT COUNT(DISTINCT batch_index) FROM dispatch_run_chunks c"
            "  WHERE c.run_id = r.id),"
            " b.id IS NOT NULL"
            " FROM dispatch_runs r LEFT JOIN buffers b ON b.id = r.buffer_id"
            " ORDER BY r.created_at DESC, r.rowid DESC LIMIT ?",
            (-1 if limit is None else limit,),
        ).fetchall()
        return [_summary(row) for row in rows]


@dataclass(frozen=True)
class RunSummary:
    """One recorded dispatch, as ``rlm runs`` lists it."""

    run_id: str
    buffer_id: int
    buffer_name: str | None
    """The buffer's name now, else the name recorded at dispatch time."""
    buffer_exists: bool
    created_at: int
    chunk_count: int
    batch_count: int
    params: dict[str, Any]


def _summary(row: tuple[Any, ...]) -> RunSummary:
    try:
        params = json.loads(row[3])
    except (TypeError, ValueError, RecursionError):
        params = {}  # a damaged row still lists
    if not isinstance(params, dict):
        params = {}
    recorded = params.get("buffer_name")
    name = row[2] if row[2] is not None else (recorded if isinstance(recorded, str) else None)
    return RunSummary(
        run_id=str(row[0]),
        buffer_id=int(row[1]),
        buffer_name=name,
        buffer_exists=bool(row[7]),
        created_at=int(row[4]),
        chunk_count=int(row[5]),
        batch_count=int(row[6]),
        params=params,
    )
