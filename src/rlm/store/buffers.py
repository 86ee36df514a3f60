"""Buffers: rows in ``buffers`` plus their text in ``buffer_segments``."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from rlm.errors import (
    AmbiguousBufferError,
    BufferExistsError,
    BufferNotFoundError,
    CollectionNotFoundError,
)
from rlm.store.base import StoreBase, fits_sqlite_integer, storable_text
from rlm.store.migrations import SEGMENT_SIZE
from rlm.store.models import Buffer

_BUFFER_COLUMNS = (
    "id, name, source_path, content_type, content_hash, size, line_count, chunk_count,"
    " created_at, updated_at, collection, encoding, source_mtime, chunk_strategy,"
    " chunk_size, chunk_overlap"
)


@dataclass(frozen=True)
class NewBuffer:
    name: str | None
    source: str | None = None
    content_type: str | None = None
    content_hash: str | None = None
    size: int = 0
    line_count: int | None = None
    collection: str | None = None
    encoding: str | None = None
    source_mtime: float | None = None
    chunk_strategy: str | None = None
    chunk_size: int | None = None
    chunk_overlap: int | None = None


def close_names(wanted: str, names: list[str], n: int = 3) -> list[str]:
    """Names a typo probably meant: same start (``big-report`` -> ``big-report.md``),
    same file name in another folder, then difflib's close matches."""
    import difflib

    if not wanted:
        return []
    folded = wanted.casefold()
    out = [x for x in names if x.casefold().startswith(folded)][:n]
    out += [x for x in names if x.rsplit("/", 1)[-1].casefold() == folded and x not in out]
    if len(out) < n:
        pool = names
        if len(pool) > _DIFFLIB_POOL:  # difflib over 100k names takes seconds: narrow first
            head = folded.rsplit("/", 1)[-1][:2]
            pool = [x for x in names if x.rsplit("/", 1)[-1].casefold().startswith(head)]
            pool = pool[:_DIFFLIB_POOL]
        for x in difflib.get_close_matches(wanted, pool, n=n, cutoff=0.6):
            if x not in out:
                out.append(x)
    return out[:n]


_DIFFLIB_POOL = 5000
"""At most this many names go through difflib (about 0.3 s); more are narrowed first."""


def _row_to_buffer(row: sqlite3.Row | tuple[object, ...]) -> Buffer:
    return Buffer(*row)


_SOURCE_KEY = "source_abs:"
"""``metadata`` key prefix of a buffer's absolute source path (no migration needed)."""


class BufferQueries(StoreBase):
    def _record_source(self, buffer_id: int, source: str | None) -> None:
        """Remember where ``source`` is on disk, so ``--refresh``, ``watch`` and the
        reload check find the file from any folder.

        ``source_path`` keeps the path as the load was given it (what rlm-rs shows,
        often relative to the folder the load ran in); the loader opened it
        relative to this process's folder, so its absolute form is taken now.
        Recorded only for a file that exists (not stdin or text).
        """
        if not source:
            return
        path = os.path.abspath(source)
        if not os.path.isfile(path):
            return
        now = self.now()
        self.conn.execute(
            "INSERT INTO metadata(key, value, created_at, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (f"{_SOURCE_KEY}{buffer_id}", path, now, now),
        )

    def source_paths(self, buffer_ids: Sequence[int] | None = None) -> dict[int, str]:
        """Buffer id -> absolute source path, for buffers loaded from a file since
        paths were recorded (older buffers: resolve ``source`` as before)."""
        rows = self.conn.execute(
            "SELECT key, value FROM metadata WHERE key >= ? AND key < ?",
            (_SOURCE_KEY, _SOURCE_KEY[:-1] + chr(ord(_SOURCE_KEY[-1]) + 1)),
        ).fetchall()
        wanted = None if buffer_ids is None else set(buffer_ids)
        out: dict[int, str] = {}
        for key, value in rows:
            suffix = str(key)[len(_SOURCE_KEY) :]
            if suffix.isdigit() and (wanted is None or int(suffix) in wanted):
                out[int(suffix)] = str(value)
        return out

    def insert_buffer(self, new: NewBuffer) -> int:
        """Insert a buffer row; names are unique within a collection (rlm-rs allowed silent
        duplicates; two folders with the same layout need the same names side by side)."""
        if new.name is not None and self.find_buffer_in(new.name, new.collection) is not None:
            raise BufferExistsError(new.name)
        now = self.now()
        cur = self.conn.execute(
            "INSERT INTO buffers(name, source_path, content, content_type, content_hash, size,"
            " line_count, chunk_count, created_at, updated_at, collection, encoding,"
            " source_mtime, chunk_strategy, chunk_size, chunk_overlap)"
            " VALUES (?, ?, '', ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        assert cur.lastrowid is not None
        self._record_source(cur.lastrowid, new.source)
        return cur.lastrowid

    def update_buffer_meta(self, buffer_id: int, new: NewBuffer) -> None:
        """Replace a buffer's metadata (size, hash, source...) after its text changed."""
        self.conn.execute(
            "UPDATE buffers SET source_path = ?, content_type = ?, content_hash = ?, size = ?,"
            " line_count = ?, updated_at = ?, collection = ?, encoding = ?, source_mtime = ?,"
            " chunk_strategy = ?, chunk_size = ?, chunk_overlap = ? WHERE id = ?",
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
        """Store the buffer text as fixed-size segments; returns the byte count."""
        self.conn.execute("DELETE FROM buffer_segments WHERE buffer_id = ?", (buffer_id,))
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
        self.conn.execute(
            "INSERT INTO buffer_segments(buffer_id, seq, data) VALUES (?, ?, ?)",
            (buffer_id, seq, data),
        )

    def read_buffer_bytes(self, buffer_id: int, start: int = 0, end: int | None = None) -> bytes:
        """The bytes ``[start, end)`` of a buffer's text, reading only the segments needed."""
        if end is None:
            end = self.get_buffer(buffer_id).size
        if end <= start:
            return b""
        first, last = start // SEGMENT_SIZE, (end - 1) // SEGMENT_SIZE
        rows = self.conn.execute(
            "SELECT seq, data FROM buffer_segments WHERE buffer_id = ? AND seq BETWEEN ? AND ?"
            " ORDER BY seq",
            (buffer_id, first, last),
        ).fetchall()
        data = b"".join(bytes(r[1]) for r in rows)
        offset = start - first * SEGMENT_SIZE
        return data[offset : offset + (end - start)]

    def iter_buffer_segments(self, buffer_id: int) -> Iterator[bytes]:
        """Stream a buffer's bytes segment by segment (bounded memory)."""
        seq = 0
        while True:
            row = self.conn.execute(
                "SELECT data FROM buffer_segments WHERE buffer_id = ? AND seq = ?",
                (buffer_id, seq),
            ).fetchone()
            if row is None:
                return
            yield bytes(row[0])
            seq += 1

    def read_buffer(self, buffer_id: int) -> str:
        """A buffer's whole text (use ``read_buffer_bytes`` for ranges of huge buffers)."""
        return self.read_buffer_bytes(buffer_id).decode("utf-8", errors="replace")

    def get_buffer(self, buffer_id: int) -> Buffer:
        row = self.conn.execute(
            f"SELECT {_BUFFER_COLUMNS} FROM buffers WHERE id = ?", (buffer_id,)
        ).fetchone()
        if row is None:
            raise BufferNotFoundError(str(buffer_id))
        return _row_to_buffer(row)

    def find_buffer_by_name(self, name: str) -> Buffer | None:
        if not storable_text(name):
            return None  # a name SQLite cannot even receive cannot name a buffer
        row = self.conn.execute(
            f"SELECT {_BUFFER_COLUMNS} FROM buffers WHERE name = ? ORDER BY id LIMIT 1", (name,)
        ).fetchone()
        return _row_to_buffer(row) if row else None

    def find_buffer_in(self, name: str, collection: str | None) -> Buffer | None:
        """The buffer ``name`` of ``collection`` (None: the buffers of no collection)."""
        if not storable_text(name) or (collection is not None and not storable_text(collection)):
            return None
        row = self.conn.execute(
            f"SELECT {_BUFFER_COLUMNS} FROM buffers WHERE name = ? AND collection IS ?"
            " ORDER BY id LIMIT 1",
            (name, collection),
        ).fetchone()
        return _row_to_buffer(row) if row else None

    def _named(self, name: str) -> list[Buffer]:
        """Every buffer called ``name`` (several only across collections)."""
        if not storable_text(name):
            return []
        rows = self.conn.execute(
            f"SELECT {_BUFFER_COLUMNS} FROM buffers WHERE name = ? ORDER BY id LIMIT 20", (name,)
        )
        return [_row_to_buffer(r) for r in rows]

    def resolve_buffer(self, identifier: str | int) -> Buffer:
        """rlm-rs resolution (an existing numeric id, then the exact name), then the source path."""
        text = str(identifier)
        try:
            as_id = int(text)
        except ValueError:
            as_id = None
        if as_id is not None and fits_sqlite_integer(as_id):
            row = self.conn.execute(
                f"SELECT {_BUFFER_COLUMNS} FROM buffers WHERE id = ?", (as_id,)
            ).fetchone()
            if row is not None:
                return _row_to_buffer(row)
        named = self._named(text)
        if len(named) > 1:
            raise AmbiguousBufferError(text, [(b.id, b.collection) for b in named])
        found = (named[0] if named else None) or self._only_buffer_from_source(text)
        if found is None:
            raise BufferNotFoundError(text, close_names(text, self._names("name")))
        return found

    def _names(self, column: str) -> list[str]:
        """Distinct names (``name`` or ``collection``), for "did you mean" (bounded)."""
        assert column in ("name", "collection")
        rows = self.conn.execute(
            f"SELECT DISTINCT {column} FROM buffers WHERE {column} IS NOT NULL LIMIT 100000"
        )
        return [str(r[0]) for r in rows]

    def list_collections(self) -> list[str]:
        return sorted(self._names("collection"))

    def require_collection(self, name: str) -> None:
        """Raise :class:`CollectionNotFoundError` (with close names) unless ``name`` exists."""
        if (
            not storable_text(name)
            or not self.conn.execute(
                "SELECT 1 FROM buffers WHERE collection = ? LIMIT 1", (name,)
            ).fetchone()
        ):
            raise CollectionNotFoundError(name, close_names(name, self._names("collection")))

    def _only_buffer_from_source(self, source: str) -> Buffer | None:
        """The one buffer loaded from ``source`` (the path search results show), if unique.

        Folder loads name buffers relative to the folder (``findings.py``)
        while results show the path as loaded (``agents/findings.py``); both
        should work. Two buffers from the same path resolve to neither.
        """
        if not storable_text(source):
            return None
        rows = self.conn.execute(
            f"SELECT {_BUFFER_COLUMNS} FROM buffers WHERE source_path = ? ORDER BY id LIMIT 2",
            (source,),
        ).fetchall()
        return _row_to_buffer(rows[0]) if len(rows) == 1 else None

    def list_buffers(self, collection: str | None = None) -> list[Buffer]:
        if collection is None:
            rows = self.conn.execute(f"SELECT {_BUFFER_COLUMNS} FROM buffers ORDER BY id")
        else:
            rows = self.conn.execute(
                f"SELECT {_BUFFER_COLUMNS} FROM buffers WHERE collection = ? ORDER BY id",
                (collection,),
            )
        return [_row_to_buffer(r) for r in rows]

    def delete_buffer(self, buffer_id: int) -> None:
        """Delete a buffer; chunks, vectors, FTS rows and segments go with it."""
        self.conn.execute("DELETE FROM buffers WHERE id = ?", (buffer_id,))
        self.conn.execute("DELETE FROM metadata WHERE key = ?", (f"{_SOURCE_KEY}{buffer_id}",))

    def set_chunk_count(self, buffer_id: int, count: int) -> None:
        self.conn.execute(
            "UPDATE buffers SET chunk_count = ?, updated_at = ? WHERE id = ?",
            (count, self.now(), buffer_id),
        )
