"""Dispatch runs: which chunks went to which batch, for the coverage ledger."""

from __future__ import annotations

import json
from collections.abc import Sequence
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
            raise RunNotFoundError(run_id)
        chunks = [
            (int(r[0]), int(r[1]))
            for r in self.conn.execute(
                "SELECT batch_index, chunk_id FROM dispatch_run_chunks WHERE run_id = ?"
                " ORDER BY batch_index, chunk_id",
                (run_id,),
            )
        ]
        return int(row[0]), json.loads(row[1]), chunks

    def list_runs(self) -> list[tuple[str, int, int]]:
        """(run id, buffer id, created_at), newest first."""
        return [
            (str(r[0]), int(r[1]), int(r[2]))
            for r in self.conn.execute(
                "SELECT id, buffer_id, created_at FROM dispatch_runs ORDER BY created_at DESC, id"
            )
        ]
