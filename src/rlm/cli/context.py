"""Per-invocation state shared by every command: where the store is, which format."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from rlm.store import Store, find_db_path


@dataclass
class AppContext:
    db_path: str | None = None
    fmt: str = "text"
    debug: bool = False
    verbose: bool = False
    read_only: bool = False
    """Open the store read-only (SQLite ``mode=ro``, no migration): ``rlm mcp --read-only``."""
    _store: Store | None = field(default=None, repr=False)

    @property
    def resolved_db_path(self) -> Path:
        return find_db_path(self.db_path)

    def store(self) -> Store:
        """The store, opened once per invocation and closed at exit."""
        if self._store is None:
            self._store = Store.open(self.resolved_db_path, read_only=self.read_only)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def json(self) -> bool:
        return self.fmt in ("json", "ndjson")


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def app_of(ctx: click.Context) -> AppContext:
    obj: Any = ctx.find_object(AppContext)
    assert isinstance(obj, AppContext)
    return obj
