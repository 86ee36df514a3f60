"""The rlm-rs singleton context row, on PostgreSQL (see rlm.store.context)."""

from __future__ import annotations

import json
from typing import Any

from rlm.errors import DatabaseError
from rlm.store.postgres.base import PgBase


class PgContextQueries(PgBase):
    def load_context(self) -> dict[str, Any] | None:
        row = self._one("SELECT data FROM context WHERE id = 1")
        if row is None:
            return None
        try:
            data = json.loads(row[0])
        except (TypeError, ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            raise DatabaseError(
                "corrupt context row (not a JSON object)",
                suggestion="Repair or delete the row: DELETE FROM context;"
                " rlm recreates it (variables are lost)",
            )
        data["buffer_ids"] = [int(r[0]) for r in self._rows("SELECT id FROM buffers ORDER BY id")]
        return data

    def save_context(self, data: dict[str, Any]) -> None:
        now = self.now()
        data.setdefault("metadata", {})["updated_at"] = now
        self._exec(
            "INSERT INTO context(id, data, created_at, updated_at) VALUES (1, %s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data,"
            " updated_at = EXCLUDED.updated_at",
            (json.dumps(data, ensure_ascii=False), now, now),
        )
