"""The connection holder every part of :class:`rlm.store.Store` builds on."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rlm.store.connection import immediate_transaction


class StoreBase:
    """Owns the connection; the query mixins only use ``self.conn``."""

    conn: sqlite3.Connection

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen together or not at all."""
        with immediate_transaction(self.conn):
            yield

    @staticmethod
    def now() -> int:
        return int(time.time())
