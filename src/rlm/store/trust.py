"""Is this store's schema one rlm made? Checked on every open, before any query.

A store file can come from somebody else (a shared folder, a download, a
repository). Its schema is SQL that SQLite runs on our behalf: a trigger can
rewrite every chunk loaded later (planting prompt injection in text agents
will quote), a view can replace a table with attacker-chosen rows or recurse
for ever, and ``trusted_schema=ON`` lets that SQL call any function.

So :func:`check_schema` compares ``sqlite_master`` with the reference
schema, what rlm's own migrations create (computed once per process by
running them on an in-memory database), before anything else runs:

* a trigger, view, index or virtual table must match a reference object of
  the same name **and** SQL (any version some migration ever created, so
  stores that are still to be migrated pass);
* a plain table must have a reference name (tables change SQL through
  ``ALTER TABLE ADD COLUMN`` and rlm-rs wrote its own spelling, so their SQL is
  not compared; a table cannot run code by itself);
* when the ledger says every migration ran, every object of the final schema
  must be there (a store whose ledger lies about its schema is corrupt).

Anything else is :class:`~rlm.errors.UntrustedStoreError`, naming the objects,
so the user can inspect and drop them with ``sqlite3``.

Reading ``sqlite_master`` never runs the schema's SQL, so even a store with a
recursive view is rejected at once instead of hanging the first command.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from functools import lru_cache

from rlm.errors import DatabaseError, UntrustedStoreError

_COMPARED_TYPES = ("trigger", "view", "index")
ALLOWED_LEGACY_NAMES = frozenset({"idx_chunks_buffer"})
"""Objects rlm-rs creates again when it reopens a file (m005 dropped this index)."""


def normalize_sql(sql: str | None) -> str:
    """A canonical spelling of a CREATE statement, so only real differences count.

    ``IF NOT EXISTS`` (SQLite drops it when storing the text anyway), case,
    white space, identifier quotes and a trailing ``;`` are ignored: rlm-rs
    and older rlm versions wrote the same statements with other spacing, and
    none of those changes what a statement does. Any other change (one more
    statement in a trigger, another table, another literal) still differs.
    """
    if sql is None:
        return ""
    text = re.sub(r"(?i)\bIF\s+NOT\s+EXISTS\b", "", sql)
    text = re.sub(r'[\s"`]+', "", text).lower()
    return text.rstrip(";")


@dataclass(frozen=True)
class ReferenceSchema:
    """What rlm's migrations create."""

    names: frozenset[tuple[str, str]]
    """(type, name) of every object any migration step ever had."""
    code: frozenset[tuple[str, str, str]]
    """(type, name, normalized sql) of every trigger, view and virtual table ever made."""
    final: frozenset[tuple[str, str]]
    """(type, name) of the fully migrated schema."""


def _is_virtual(sql: str | None) -> bool:
    return bool(sql) and normalize_sql(sql).upper().startswith("CREATE VIRTUAL TABLE")


def _objects(conn: sqlite3.Connection) -> list[tuple[str, str, str | None]]:
    rows = conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
    return [(str(t), str(n), None if s is None else str(s)) for t, n, s in rows]


@lru_cache(maxsize=1)
def reference_schema() -> ReferenceSchema:
    """Run every migration on an empty in-memory database, step by step, and record it."""
    from rlm.store.migrations import MIGRATIONS, _ensure_ledger

    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        _ensure_ledger(conn)
        names: set[tuple[str, str]] = set()
        code: set[tuple[str, str, str]] = set()
        for _name, func in MIGRATIONS:
            func(conn)
            for kind, name, sql in _objects(conn):
                names.add((kind, name))
                if kind in _COMPARED_TYPES or _is_virtual(sql):
                    code.add((kind, name, normalize_sql(sql)))
        final = {(kind, name) for kind, name, _ in _objects(conn)}
    finally:
        conn.close()
    return ReferenceSchema(frozenset(names), frozenset(code), frozenset(final))


def _is_internal(name: str) -> bool:
    """SQLite's own tables and automatic indexes (sqlite_sequence, sqlite_stat1...)."""
    return name.startswith("sqlite_")


def unexpected_objects(conn: sqlite3.Connection) -> list[str]:
    """Descriptions of the schema objects rlm did not create (empty when all is well)."""
    ref = reference_schema()
    found: list[str] = []
    for kind, name, sql in _objects(conn):
        if _is_internal(name) or name in ALLOWED_LEGACY_NAMES:
            continue
        if kind in _COMPARED_TYPES or _is_virtual(sql):
            if (kind, name, normalize_sql(sql)) not in ref.code:
                known = (kind, name) in ref.names
                found.append(f"{kind} {name}" + (" (changed)" if known else ""))
        elif (kind, name) not in ref.names:
            found.append(f"{kind} {name}")
    return found


def missing_objects(conn: sqlite3.Connection) -> list[str]:
    """Objects of the final schema that a fully migrated store lacks."""
    present = {(kind, name) for kind, name, _ in _objects(conn)}
    return sorted(
        f"{kind} {name}"
        for kind, name in reference_schema().final - present
        if not _is_internal(name)
    )


def check_schema(conn: sqlite3.Connection, path: str, *, fully_migrated: bool) -> None:
    """Raise :class:`UntrustedStoreError` unless the schema is rlm's own."""
    try:
        unexpected = unexpected_objects(conn)
        missing = missing_objects(conn) if fully_migrated else []
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"database error: {exc}") from exc
    if unexpected:
        raise UntrustedStoreError(path, "SQL rlm did not create: " + ", ".join(unexpected))
    if missing:
        raise UntrustedStoreError(
            path, "its migration ledger is complete but these are missing: " + ", ".join(missing)
        )


# --- values read back from rows -------------------------------------------------------
#
# SQLite columns are not typed: a crafted store can hold text where rlm wrote a
# blob, a float or a string where it wrote an integer, and anything at all in
# a JSON column. These turn such a value into a typed DatabaseError naming the
# row, instead of a TypeError deep inside a command (an InternalError).

CORRUPT_HINT = (
    "The store holds a value rlm did not write (a crafted or damaged file): inspect the row"
    " with sqlite3, or rebuild the store ('rlm init --force', then load again)"
)
_INT_RANGE = (-(1 << 63), (1 << 63) - 1)


def corrupt(what: str, value: object) -> DatabaseError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return DatabaseError(f"corrupt store: {what} is {shown}", suggestion=CORRUPT_HINT)


def stored_int(value: object, what: str) -> int:
    """An integer column's value (an integral float such as ``1e3`` is accepted)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise corrupt(what, value)
    if not _INT_RANGE[0] <= number <= _INT_RANGE[1]:
        raise corrupt(what, value)
    return number


def stored_bytes(value: object, what: str) -> bytes:
    """A blob column's value (never text: that would be decoded with a guessed encoding)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise corrupt(what, value)


def stored_ids(value: object, what: str) -> list[int]:
    """A JSON array of row ids, as rlm writes them (``[12, 13]``)."""
    try:
        data = json.loads(value) if isinstance(value, str | bytes) else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, list):
        raise corrupt(what, value)
    ids: list[int] = []
    for item in data:
        try:
            number = stored_int(item, what)
        except DatabaseError:
            raise corrupt(what, value) from None
        if number < 1:
            raise corrupt(what, value)
        ids.append(number)
    return ids
