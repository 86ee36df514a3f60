"""Per-invocation state shared by every command: where the store is, which format."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from rlm.errors import NotInitializedError
from rlm.store import DEFAULT_DB_PATH, Store, find_db_path
from rlm.store.location import configured_url


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

    @property
    def db_url(self) -> str | None:
        """The PostgreSQL URL from -d or RLM_DB_PATH (None: a SQLite file)."""
        return configured_url(self.db_path)

    def store(self) -> Store:
        """The store, opened once per invocation and closed at exit."""
        if self._store is None and self.db_url is not None:
            self._store = Store.open(self.db_url, read_only=self.read_only)
        if self._store is None:
            path = self.resolved_db_path
            if not path.exists():
                raise self.not_initialized(path)
            self._store = Store.open(path, read_only=self.read_only)
        return self._store

    def not_initialized(self, path: Path) -> NotInitializedError:
        """The error for a missing store: where rlm looked, and why there (git-style)."""
        where = path.absolute()
        from_env = os.environ.get("RLM_DB_PATH")
        if self.db_path and self.db_path != from_env:
            return NotInitializedError(
                str(path),
                detail=f"RLM not initialized: no rlm database at {where} (from -d)",
                suggestion=f"Check the path; to create a store there, run"
                f" 'rlm -d {shlex.quote(str(where))} init'",
            )
        if from_env:
            return NotInitializedError(
                str(path),
                detail=f"RLM not initialized: no rlm database at {where} (from RLM_DB_PATH)",
                suggestion="Check RLM_DB_PATH, or unset it to use the nearest .rlm/ folder",
            )
        cwd = Path.cwd()
        return NotInitializedError(
            str(path),
            detail=f"RLM not initialized: no {DEFAULT_DB_PATH} in {cwd} or any parent folder",
            suggestion=f"Run 'rlm init' to create one in {cwd}, or pass -d PATH"
            " (or set RLM_DB_PATH) to use an existing store",
        )

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
