"""Buffers on PostgreSQL: rows in ``buffers`` plus their text in ``buffer_segments``."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from rlm.errors import (
    AmbiguousBufferError,
    BufferExistsError,
    BufferNotFoundError,
    CollectionNotFoundError,
)
from rlm.store.buffers import NewBuffer, close_names
from rlm.store.migrations import SEGMENT_SIZE
from rlm.store.models import Buffer
from rlm.store.postgres.base import PgBase, fits_bigint, storable

_BUFFER_COLUMNS = (
    "id, name, source_path, content_type, content_hash, size, line_count, chunk_count,"
    " created_at, updated_at, collection, encoding, source_mtime, chunk_strategy,"
    " chunk_size, chunk_overlap"
)


def _buffer(row: Any) -> Buffer:
    return Buffer(*row)


_SOURCE_KEY = "source_abs:"
"""``metadata`` key prefix of a buffer's absolute source path (as SQLite's)."""


class PgBufferQueries(PgBase):
    def _record_source(self, buffer_id: int, source: str | None) -> None:
        """Where ``source`` is on this machine (see the SQLite method): for ``--refresh``,
        ``watch`` and the reload check."""
        if not source:
            return
        path = os.path.abspath(source)
        if not os.path.isfile(path) or not storable(path):
            return
        now = self.now()
        self._exec(
            "INSERT INTO metadata(key, value, created_at, updated_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value,"
            " updated_at = EXCLUDED.updated_at",
            (f"{_SOURCE_KEY}{buffer_id}", path, now, now),
        )

    def source_paths(self, buffer_ids: Sequence[int] | None = None) -> dict[int, str]:
        """Buffer id -> absolute source path, where one was recorded."""
        rows = self._rows(
            "SELECT key, value FROM metadata WHERE starts_with(key, %s)", (_SOURCE_KEY,)
        )
        wanted = None if buffer_ids is None else {int(b) for b in buffer_ids}
        out: dict[int, str] = {}
        for key, value in rows:
            suffix = str(key)[len(_SOURCE_KEY) :]
            if suffix.isdigit() and (wanted is None or int(suffix) in wanted):
                out[int(suffix)] = str(value)
        return out

    def insert_buffer(self, new: NewBuffer) -> int:
        """Insert a buffer row; names are unique within a collection.

        An advisory lock on (collection, name), held to the end of the load's
        transaction, makes two concurrent loads of the same name queue instead of
        both passing the check.
        """
        if new.name is not None:
            self._exec(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (f"{new.collection or ''}\x1f{new.name}",),
            )
            if self.find_buffer_in(new.name, new.collection) is not None:
                raise BufferExistsError(new.name)
        now = self.now()
        row = self._one(
            "INSERT INTO buffers(name, source_path, content, content_type, content_hash, size,"
            " line_count, chunk_count, created_at, updated_at, collection, encoding,"
            " source_mtime, chunk_strategy, chunk_size, chunk_overlap)"
            " VALUES (%s, %s, '', %s, %s, %s, %s, 0, %s, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING id",
            (
                new.name,
                new.source,
                new.content_type,
                new.content_hash,
                new.size,
                new.line_count,
                now,
                now,
                new.collection,
                new.encoding,
                new.source_mtime,
                new.chunk_strategy,
                new.chunk_size,
                new.chunk_overlap,
            ),
        )
        self._record_source(int(row[0]), new.source)
        return int(row[0])

    def update_buffer_meta(self, buffer_id: int, new: NewBuffer) -> None:
        self._exec(
            "UPDATE buffers SET source_path = %s, content_type = %s, content_hash = %s,"
            " size = %s, line_count = %s, updated_at = %s, collection = %s, encoding = %s,"
            " source_mtime = %s, chunk_strategy = %s, chunk_size = %s, chunk_overlap = %s"
            " WHERE id = %s",
            (
                new.source,
                new.content_type,
                new.content_hash,
                new.size,
                new.line_count,
                self.now(),
                new.collection,
                new.encoding,
                new.source_mtime,
                new.chunk_strategy,
                new.chunk_size,
                new.chunk_overlap,
                buffer_id,
            ),
        )
        self._record_source(buffer_id, new.source)

    def write_buffer_segments(self, buffer_id: int, pieces: Iterable[bytes]) -> int:
        self._exec("DELETE FROM buffer_segments WHERE buffer_id = %s", (buffer_id,))
        pending = bytearray()
        seq = 0
        total = 0
        for piece in pieces:
            pending += piece
            total += len(piece)
            while len(pending) >= SEGMENT_SIZE:
                self._insert_segment(buffer_id, seq, bytes(pending[:SEGMENT_SIZE]))
                del pending[:SEGMENT_SIZE]
                seq += 1
        if pending:
            self._insert_segment(buffer_id, seq, bytes(pending))
        return total

    def _insert_segment(self, buffer_id: int, seq: int, data: bytes) -> None:
        self._exec(
            "INSERT INTO buffer_segments(buffer_id, seq, data) VALUES (%s, %s, %s)",
            (buffer_id, seq, data),
        )

    def read_buffer_bytes(self, buffer_id: int, start: int = 0, end: int | None = None) -> bytes:
        if end is None:
            end = self.get_buffer(buffer_id).size
        if end <= start:
            return b""
        first, last = start // SEGMENT_SIZE, (end - 1) // SEGMENT_SIZE
        rows = self._rows(
            "SELECT seq, data FROM buffer_segments WHERE buffer_id = %s"
            " AND seq BETWEEN %s AND %s ORDER BY seq",
            (buffer_id, first, last),
        )
        data = b"".join(bytes(r[1]) for r in rows)
        offset = start - first * SEGMENT_SIZE
        return data[offset : offset + (end - start)]

    def iter_buffer_segments(self, buffer_id: int) -> Iterator[bytes]:
        seq = 0
        while True:
            row = self._one(
                "SELECT data FROM buffer_segments WHERE buffer_id = %s AND seq = %s",
                (buffer_id, seq),
            )
            if row is None:
                return
            yield bytes(row[0])
            seq += 1

    def get_buffer(self, buffer_id: int) -> Buffer:
        if not fits_bigint(buffer_id):
            raise BufferNotFoundError(str(buffer_id))
        row = self._one(f"SELECT {_BUFFER_COLUMNS} FROM buffers WHERE id = %s", (buffer_id,))
        if row is None:
            raise BufferNotFoundError(str(buffer_id))
        return _buffer(row)

    def find_buffer_by_name(self, name: str) -> Buffer | None:
        if not storable(name):
            return None
        row = self._one(
            f"SELECT {_BUFFER_COLUMNS} FROM buffers WHERE name = %s ORDER BY id LIMIT 1", (name,)
        )
        return _buffer(row) if row else None

    def find_buffer_in(self, name: str, collection: str | None) -> Buffer | None:
        if not storable(name) or (collection is not None and not storable(collection)):
            return None
        row = self._one(
            f"SELECT {_BUFFER_COLUMNS} FROM buffers WHERE name = %s"
            " AND collection IS NOT DISTINCT FROM %s ORDER BY id LIMIT 1",
            (name, collection),
        )
        return _buffer(row) if row else None

    def _named(self, name: str) -> list[Buffer]:
        if not storable(name):
            return []
        rows = self._rows(
            f"SELECT {_BUFFER_COLUMNS} FROM buffers WHERE name = %s ORDER BY id LIMIT 20",
            (name,),
        )
        return [_buffer(r) for r in rows]

    def resolve_buffer(self, identifier: str | int) -> Buffer:
        text = str(identifier)
        try:
            as_id = int(text)
        except ValueError:
            as_id = None
        if as_id is not None and fits_bigint(as_id):
            row = self._one(f"SELECT {_BUFFER_COLUMNS} FROM buffers WHERE id = %s", (as_id,))
            if row is not None:
                return _buffer(row)
        named = self._named(text)
        if len(named) > 1:
            raise AmbiguousBufferError(text, [(b.id, b.collection) for b in named])
        found = (named[0] if named else None) or self._only_buffer_from_source(text)
        if found is None:
            raise BufferNotFoundError(text, close_names(text, self._names("name")))
        return found

    def _names(self, column: str) -> list[str]:
        assert column in ("name", "collection")
        rows = self._rows(
            f"SELECT DISTINCT {column} FROM buffers WHERE {column} IS NOT NULL LIMIT 100000"
        )
        return [str(r[0]) for r in rows]

    def list_collections(self) -> list[str]:
        return sorted(self._names("collection"))

    def require_collection(self, name: str) -> None:
        if not storable(name) or not self._one(
            "SELECT 1 FROM buffers WHERE collection = %s LIMIT 1", (name,)
        ):
            raise CollectionNotFoundError(name, close_names(name, self._names("collection")))

    def _only_buffer_from_source(self, source: str) -> Buffer | None:
        if not storable(source):
            return None
        rows = self._rows(
            f"SELECT {_BUFFER_COLUMNS} FROM buffers WHERE source_path = %s ORDER BY id LIMIT 2",
            (source,),
        )
        return _buffer(rows[0]) if len(rows) == 1 else None

    def list_buffers(self, collection: str | None = None) -> list[Buffer]:
        if collection is None:
            rows = self._rows(f"SELECT {_BUFFER_COLUMNS} FROM buffers ORDER BY id")
        else:
            rows = self._rows(
                f"SELECT {_BUFFER_COLUMNS} FROM buffers WHERE collection = %s ORDER BY id",
                (collection,),
            )
        return [_buffer(r) for r in rows]

    def delete_buffer(self, buffer_id: int) -> None:
        self._exec("DELETE FROM buffers WHERE id = %s", (buffer_id,))
        self._exec("DELETE FROM metadata WHERE key = %s", (f"{_SOURCE_KEY}{buffer_id}",))

    def set_chunk_count(self, buffer_id: int, count: int) -> None:
        self._exec(
            "UPDATE buffers SET chunk_count = %s, updated_at = %s WHERE id = %s",
            (count, self.now(), buffer_id),
        )
