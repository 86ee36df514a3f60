"""The connection holder every part of :class:`rlm.store.Store` builds on."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rlm.store.connection import immediate_transaction

SQLITE_MAX_INTEGER = 2**63 - 1
"""SQLite INTEGER is signed 64-bit; Python refuses to bind anything larger."""


def fits_sqlite_integer(value: int) -> bool:
    """Whether ``value`` can be bound as an SQLite INTEGER (ids from argv may not)."""
    return -SQLITE_MAX_INTEGER - 1 <= value <= SQLITE_MAX_INTEGER


def storable_text(value: str) -> bool:
    """Whether ``value`` can be bound as SQLite TEXT: no lone surrogates.

    Names from argv holding bytes that are not UTF-8 arrive as lone surrogates,
    which cannot name anything stored, so lookups treat them as absent.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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

    def _row_counts(self) -> dict[tuple[str, str, int], int]:
        """``row_counts`` (m008): rows per (table, fingerprint, dimensions), kept by
        triggers; ``passage_chunks`` counts the chunks that have passages of a
        model. A handful of rows, read instead of counting."""
        return {
            (str(t), str(f), int(d)): int(n)
            for t, f, d, n in self.conn.execute(
                "SELECT tbl, fingerprint, dimensions, n FROM row_counts WHERE n != 0"
            )
        }

    def _model_counts(
        self,
    ) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
        """Per model (fingerprint, dimensions): its chunk vectors, and its chunks that
        have passages (:meth:`_row_counts`)."""
        vectors: dict[tuple[str, int], int] = {}
        with_passages: dict[tuple[str, int], int] = {}
        for (table, fp, dims), n in self._row_counts().items():
            if table == "chunk_embeddings":
                vectors[(fp, dims)] = n
            elif table == "passage_chunks":
                with_passages[(fp, dims)] = n
        return vectors, with_passages
