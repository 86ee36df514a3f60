"""Dispatch runs on PostgreSQL (see rlm.store.runs)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rlm.store.postgres.base import PgBase
from rlm.store.runs import RunQueries, RunSummary, _summary


class PgRunQueries(PgBase):
    def create_run(
        self, run_id: str, buffer_id: int, params: dict[str, Any], batches: Sequence[Sequence[int]]
    ) -> None:
        with self._pg_transaction():
            self._exec(
                "INSERT INTO dispatch_runs(id, buffer_id, params, created_at)"
                " VALUES (%s, %s, %s, %s)",
                (run_id, buffer_id, json.dumps(params, ensure_ascii=False), self.now()),
            )
            self._many(
                "INSERT INTO dispatch_run_chunks(run_id, batch_index, chunk_id)"
                " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                [(run_id, b, cid) for b, ids in enumerate(batches) for cid in ids],
            )

    def get_run(self, run_id: str) -> tuple[int, dict[str, Any], list[tuple[int, int]]]:
        row = self._one("SELECT buffer_id, params FROM dispatch_runs WHERE id = %s", (run_id,))
        if row is None:
            raise RunQueries._run_not_found(self, run_id)  # type: ignore[arg-type]
        chunks = [
            (int(r[0]), int(r[1]))
            for r in self._rows(
                "SELECT batch_index, chunk_id FROM dispatch_run_chunks WHERE run_id = %s"
                " ORDER BY batch_index, chunk_id",
                (run_id,),
            )
        ]
        return int(row[0]), json.loads(row[1]), chunks

    def list_runs(self, limit: int | None = None) -> list[RunSummary]:
        rows = self._rows(
            "SELECT r.id, r.buffer_id, b.name, r.params, r.created_at,"
            " (SELECT COUNT(*) FROM dispatch_run_chunks c WHERE c.run_id = r.id),"
            " (SELECT COUNT(DISTINCT batch_index) FROM dispatch_run_chunks c"
            "  WHERE c.run_id = r.id),"
            " b.id IS NOT NULL"
            " FROM dispatch_runs r LEFT JOIN buffers b ON b.id = r.buffer_id"
            " ORDER BY r.created_at DESC, r.id DESC LIMIT %s",
            (limit,),
        )
        return [_summary(tuple(row)) for row in rows]
