"""The connection holder every PostgreSQL query mixin builds on."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rlm.errors import ReadOnlyStoreError
from rlm.store.postgres.connection import errors_translated, redact

if TYPE_CHECKING:
    import psycopg

PG_MAX_BIGINT = 2**63 - 1
SETTLE_POSTINGS = 20_000
"""A committed write adding this many postings VACUUMs them (see ``_settle_postings``)."""


def fits_bigint(value: int) -> bool:
    return -PG_MAX_BIGINT - 1 <= value <= PG_MAX_BIGINT


def storable(value: str) -> bool:
    """Whether PostgreSQL text can hold ``value``: UTF-8 encodable and no NUL."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class PgBase:
    """Owns the psycopg connection (autocommit; :meth:`transaction` groups writes)."""

    pg: psycopg.Connection[Any]
    url: str
    read_only: bool

    @staticmethod
    def now() -> int:
        return int(time.time())

    def _rows(self, sql: str, params: Sequence[object] | Mapping[str, object] = ()) -> list[Any]:
        with errors_translated(self.url):
            return list(self.pg.execute(sql, params).fetchall())

    def _one(self, sql: str, params: Sequence[object] = ()) -> Any:
        with errors_translated(self.url):
            return self.pg.execute(sql, params).fetchone()

    def _exec(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run a statement; returns its row count (a write outside a transaction
        bumps the change counter, as a committed transaction does)."""
        with errors_translated(self.url):
            count = int(self.pg.execute(sql, params).rowcount)
            if not self._in_transaction() and not sql.lstrip().upper().startswith("SELECT"):
                self._bump()
            return count

    def _in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return bool(self.pg.info.transaction_status != TransactionStatus.IDLE)

    def _bump(self) -> None:
        """Advance the change counter: caches keyed on :meth:`change_token` revalidate.

        Called after the commit, so a reader that saw the old counter can never
        have cached data older than the commit under the new one.
        """
        if not self.read_only:
            self.pg.execute("SELECT nextval('rlm_change_seq')")

    def _many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        if not rows:
            return
        with errors_translated(self.url), self.pg.cursor() as cur:
            cur.executemany(sql, rows)

    @contextmanager
    def _pg_transaction(self) -> Iterator[None]:
        if self.read_only:
            raise ReadOnlyStoreError(
                f"{redact(self.url)} is open read-only; this command would change it",
                suggestion="Run it without --read-only",
            )
        outer = not self._in_transaction()
        with errors_translated(self.url):
            try:
                with self.pg.transaction():
                    yield
            except BaseException:
                if outer:
                    self.__dict__["_fresh_postings"] = 0
                raise
            if outer:
                self._bump()
                self._settle_postings()

    def _settle_postings(self) -> None:
        """VACUUM the postings after a big load, so BM25 scans are index-only at once.

        Scoring reads ``tf``/``dl`` from the key's INCLUDE columns, which is only
        index-only for pages the visibility map marks all-visible; until autovacuum
        comes by, a fresh load's postings cost a heap fetch each (5x slower queries on
        ArguAna). VACUUM skips pages already all-visible, so this costs about the new
        pages only; SKIP_LOCKED leaves it to autovacuum when another VACUUM runs.
        """
        fresh = int(self.__dict__.get("_fresh_postings", 0))
        if fresh < SETTLE_POSTINGS:
            return
        self.__dict__["_fresh_postings"] = 0
        self.pg.execute("VACUUM (SKIP_LOCKED, ANALYZE) lex_postings, lex_docs")

    @contextmanager
    def _pg_read_transaction(self) -> Iterator[None]:
        """A transaction for reads that need one (``SET LOCAL``); allowed read-only."""
        with errors_translated(self.url), self.pg.transaction():
            yield
