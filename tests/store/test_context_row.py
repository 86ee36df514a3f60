"""The context row is not rewritten per load (review 5a), and a corrupt one is a typed error."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from rlm.errors import DatabaseError
from rlm.ingest.loader import LoadOptions, load_text
from rlm.io import from_text
from rlm.store import Store


def test_loads_leave_the_context_row_alone_and_ids_are_derived(tmp_path: Path) -> None:
    store = Store.init(tmp_path / "db.sqlite")
    store.set_value("variables", "k", "v")
    row_before = store.conn.execute("SELECT data FROM context").fetchone()[0]
    ids = [
        load_text(
            store, from_text(f"text {i}\n"), name=f"f{i}", options=LoadOptions(embed=False)
        ).buffer_id
        for i in range(5)
    ]
    assert store.conn.execute("SELECT data FROM context").fetchone()[0] == row_before
    ctx = store.load_context()
    assert ctx is not None
    assert ctx["buffer_ids"] == ids
    assert ctx["variables"]["k"] == {"type": "String", "value": "v"}
    store.delete_buffer(ids[0])
    assert store.load_context()["buffer_ids"] == ids[1:]  # type: ignore[index]
    # saving the row (a variable change) writes the derived list for rlm-rs readers
    store.set_value("globals", "g", "1")
    assert (
        '"buffer_ids": [' + ", ".join(map(str, ids[1:])) + "]"
        in store.conn.execute("SELECT data FROM context").fetchone()[0]
    )


@pytest.mark.parametrize("data", ["{not json", "[]", "[" * 100_000 + "]" * 100_000, "42"])
def test_corrupt_context_row_is_a_database_error(tmp_path: Path, data: str) -> None:
    db = tmp_path / "db.sqlite"
    Store.init(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE context SET data = ?", (data,))
    with Store.open(db) as store, pytest.raises(DatabaseError, match="corrupt context row"):
        store.get_value("variables", "x")
