"""The rlm-rs singleton context row: variables, globals and buffer ids.

rlm-rs appended every new buffer id to ``buffer_ids`` inside this one JSON
row, so each load parsed and rewrote a document that grows with the store:
quadratic, 24 minutes for 100,000 small files. Nothing reads that list (the
rlm-rs spec calls it dead), so rlm no longer maintains it per load: the
list is derived from the ``buffers`` table whenever the row is read, and
written back only when the row is saved anyway (``var``/``global``), which
keeps the file readable by rlm-rs.
"""

from __future__ import annotations

import json
from typing import Any

from rlm.errors import DatabaseError
from rlm.store.base import StoreBase


def empty_context(now: int) -> dict[str, Any]:
    return {
        "variables": {},
        "globals": {},
        "buffer_ids": [],
        "cwd": None,
        "metadata": {"created_at": now, "updated_at": now, "version": 1},
    }


class ContextQueries(StoreBase):
    def load_context(self) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM context WHERE id = 1").fetchone()
        if row is None:
            return None
        try:
            data = json.loads(row[0])
        except (TypeError, ValueError, RecursionError):
            data = None
        if not isinstance(data, dict):
            raise DatabaseError(
                "corrupt context row (not a JSON object)",
                suggestion='Repair or delete the row: sqlite3 DB "DELETE FROM context"; '
                "rlm recreates it (variables are lost)",
            )
        data["buffer_ids"] = [
            int(r[0]) for r in self.conn.execute("SELECT id FROM buffers ORDER BY id")
        ]
        return data

    def save_context(self, data: dict[str, Any]) -> None:
        now = self.now()
        data.setdefault("metadata", {})["updated_at"] = now
        self.conn.execute(
            "INSERT OR REPLACE INTO context(id, data, created_at, updated_at) VALUES"
            " (1, ?, COALESCE((SELECT created_at FROM context WHERE id = 1), ?), ?)",
            (json.dumps(data, ensure_ascii=False), now, now),
        )

    def _context_or_new(self) -> dict[str, Any]:
        return self.load_context() or empty_context(self.now())

    def get_value(self, scope: str, name: str) -> dict[str, Any] | None:
        """A tagged value (``{"type": "String", "value": ...}``) from variables/globals."""
        value = self._context_or_new().get(scope, {}).get(name)
        return value if isinstance(value, dict) else None

    def set_value(self, scope: str, name: str, value: str) -> None:
        with self.transaction():
            ctx = self._context_or_new()
            ctx.setdefault(scope, {})[name] = {"type": "String", "value": value}
            self.save_context(ctx)

    def delete_value(self, scope: str, name: str) -> bool:
        with self.transaction():
            ctx = self._context_or_new()
            existed = ctx.setdefault(scope, {}).pop(name, None) is not None
            self.save_context(ctx)
        return existed

    def context_add_buffer(self, buffer_id: int) -> None:
        """Kept for callers: ``buffer_ids`` is derived on read now (see the module docstring)."""

    def context_remove_buffer(self, buffer_id: int) -> None:
        """Kept for callers: ``buffer_ids`` is derived on read now (see the module docstring)."""
