"""The lexical buffer filter: same rows whether FTS5 is driven by rowid or not.

Small scopes are read by rowid, large ones (a 10k-file collection) filter the
MATCH scan instead (:meth:`rlm.store.lexical.LexicalQueries._scope_filter`);
both plans must keep exactly the rows of the chosen buffers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import rlm
from rlm.store import lexical
from rlm.store.store import Store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("RLM_EMBEDDER", "hash")
    for i in range(12):
        folder = tmp_path / ("a" if i % 2 else "b")
        folder.mkdir(exist_ok=True)
        (folder / f"f{i}.txt").write_text(
            f"lighthouse keeper note {i}.\n\nship {i} passed the reef; camelCaseName {i}\n",
            encoding="utf-8",
        )
    db = Store.init(tmp_path / ".rlm" / "rlm-state.db")
    rlm.load(db, [str(tmp_path / "a")], embed="off")
    rlm.load(db, [str(tmp_path / "b")], embed="off")
    return db


@pytest.mark.parametrize("drive", [0, 10**9], ids=["filtered-scan", "by-rowid"])
def test_both_plans_keep_exactly_the_scoped_rows(
    store: Store, monkeypatch: pytest.MonkeyPatch, drive: int
) -> None:
    monkeypatch.setattr(lexical, "_DRIVE_BY_ROWID", drive)
    buffers = store.list_buffers()
    scope = [b.id for b in buffers if b.collection == buffers[0].collection]
    assert 0 < len(scope) < len(buffers)
    allowed = {ref.id for b in scope for ref in store.list_chunk_refs(b)}
    everything = {cid for cid, _ in store.bm25('"lighthouse"', 100)}
    assert allowed < everything

    single = store.bm25('"lighthouse"', 100, scope)
    summed = store.bm25_sum([('"lighthouse"', 1.0), ('"reef"', 2.0)], 100, scope)
    per_term = store.bm25_per_term(['"lighthouse"', '"ship"'], "porter", scope)
    aux = store.bm25_per_term(['"camel"'], "aux", scope)
    assert {cid for cid, _ in single} == allowed
    assert {cid for cid, _ in summed} == allowed
    assert {cid for _, cid, _ in per_term} == allowed and len(per_term) == 2 * len(allowed)
    assert {cid for _, cid, _ in aux} == allowed
    assert store.bm25('"lighthouse"', 100, []) == []
    # Scores do not depend on the plan: the filter only drops rows.
    full = dict(store.bm25('"lighthouse"', 100))
    assert all(abs(full[cid] - score) < 1e-9 for cid, score in single)


def test_per_term_rows_of_some_chunks_are_those_rows_exactly(store: Store) -> None:
    """``chunk_ids`` is asked as a rowid range and picked in Python (FTS5 ran
    ``rowid IN (...)`` as one MATCH per id): the same rows, the same scores."""
    terms = ['"lighthouse"', '"reef"', '"ship"']
    everything = store.bm25_per_term(terms, "porter")
    chosen = sorted({cid for _, cid, _ in everything})[1::3]
    assert chosen and len(chosen) < len({cid for _, cid, _ in everything})
    some = store.bm25_per_term(terms, "porter", chunk_ids=chosen)
    assert sorted(some) == sorted(row for row in everything if row[1] in set(chosen))
    assert store.bm25_per_term(terms, "porter", chunk_ids=[]) == []
