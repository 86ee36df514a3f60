"""Passages planned under older passage rules (issue #10, item 8): status and search say
so, and ``rlm chunk embed`` re-plans them without touching the chunk vectors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rlm.embedding.passages import PASSAGE_RULES
from rlm.store import Store
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

TEXT = "".join(
    f"Paragraph {i} tells of harbours and lanterns. The copper tide {i} rose at dawn.\n\n"
    for i in range(40)
)
NOTICE = "planned under older passage rules"


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, isolated_env: Path, hash_embedder: None) -> str:
    """A ``-d`` value: a SQLite file in the test's folder, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(isolated_env / "store.db")
    request.applymarker(pytest.mark.pg)
    url: str = request.getfixturevalue("pg_url")
    return url


def _sql(db: str, *statements: str) -> list[tuple[Any, ...]]:
    """Run statements in one transaction on the store behind ``db`` (either backend);
    the rows of the last."""
    rows: list[tuple[Any, ...]] = []
    with Store.open(db) as store:
        pg = getattr(store, "pg", None)
        if pg is None:
            with store.transaction():
                for sql in statements:
                    rows = [tuple(r) for r in store.conn.execute(sql).fetchall()]
            return rows
        with pg.transaction():
            for sql in statements:
                cur = pg.execute(sql.replace("rowid", "ctid::text"))
                rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
        return rows


def _loaded(cli: Cli, db: str, isolated_env: Path) -> None:
    (isolated_env / "tides.md").write_text(TEXT, encoding="utf-8")
    assert cli("-d", db, "init").code == 0
    loaded = cli("-d", db, "load", "tides.md", "--chunk-size", "400", "--overlap", "0")
    assert loaded.code == 0, loaded.err


def _age(db: str, chunks: int) -> list[int]:
    """Mark the passages of the first ``chunks`` chunks as planned under rules 2, and date
    every chunk vector to 1970 (a rewritten vector would get the current time)."""
    ids = [int(r[0]) for r in _sql(db, "SELECT id FROM chunks ORDER BY id")][:chunks]
    marks = ",".join(str(i) for i in ids)
    _sql(db, f"UPDATE passage_embeddings SET rules = 2 WHERE chunk_id IN ({marks})")
    _sql(db, "UPDATE chunk_embeddings SET created_at = 1")
    return ids


def _vectors(db: str) -> list[tuple[Any, ...]]:
    return _sql(db, "SELECT chunk_id, rowid, created_at, embedding FROM chunk_embeddings")


def _passage_rules(db: str) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for cid, rules in _sql(db, "SELECT chunk_id, rules FROM passage_embeddings"):
        out.setdefault(int(cid), set()).add(int(rules))
    return out


def test_new_passages_carry_the_current_rules(cli: Cli, db: str, isolated_env: Path) -> None:
    _loaded(cli, db, isolated_env)
    rules = _passage_rules(db)
    assert rules and all(r == {PASSAGE_RULES} for r in rules.values())
    assert cli("-d", db, "--format", "json", "status").json()["embedding"]["replan_chunks"] == 0


def test_old_passages_are_reported_and_replanned_without_touching_chunk_vectors(
    cli: Cli, db: str, isolated_env: Path
) -> None:
    _loaded(cli, db, isolated_env)
    old = _age(db, 3)
    before = _vectors(db)
    passages_before = _sql(db, "SELECT COUNT(*) FROM passage_embeddings")[0][0]

    status = cli("-d", db, "--format", "json", "status").json()
    assert status["embedding"]["replan_chunks"] == 3
    text = cli("-d", db, "status").out
    assert f"3 chunks {NOTICE}" in text and "rlm chunk embed" in text

    found = cli("-d", db, "search", "copper tide dawn")
    assert found.code == 0 and found.out  # the old passages still answer
    said = [line for line in found.err.splitlines() if NOTICE in line]
    assert len(said) == 1 and "3 chunks" in said[0] and "rlm chunk embed" in said[0]

    embedded = cli("-d", db, "--format", "json", "chunk", "embed", "--all")
    assert embedded.code == 0, embedded.err
    assert "Re-planning the passages of 3 chunks" in embedded.err
    (item,) = embedded.json()
    assert item["replanned_count"] == 3 and item["embedded_count"] == 0
    assert item["replaced_count"] == 0 and item["had_changes"] is True

    rules = _passage_rules(db)
    assert all(rules[cid] == {PASSAGE_RULES} for cid in old)
    assert _vectors(db) == before  # same rows, same bytes, still dated 1970
    assert _sql(db, "SELECT COUNT(*) FROM passage_embeddings")[0][0] == passages_before
    assert cli("-d", db, "--format", "json", "status").json()["embedding"]["replan_chunks"] == 0
    assert NOTICE not in cli("-d", db, "search", "copper tide dawn").err
    again = cli("-d", db, "--format", "json", "chunk", "embed", "--all")
    assert "Re-planning" not in again.err and again.json()[0]["replanned_count"] == 0


def test_the_background_worker_replans_them(cli: Cli, db: str, isolated_env: Path) -> None:
    """``chunk embed --wait`` runs the worker here when none runs; it re-plans too
    (on PostgreSQL through row claims, after the missing vectors)."""
    _loaded(cli, db, isolated_env)
    old = _age(db, 2)
    before = _vectors(db)
    waited = cli("-d", db, "--format", "json", "chunk", "embed", "--wait")
    assert waited.code == 0, waited.err
    assert waited.json()["embedding"]["replan_chunks"] == 0
    rules = _passage_rules(db)
    assert all(rules[cid] == {PASSAGE_RULES} for cid in old)
    assert _vectors(db) == before


def test_force_reembeds_everything_and_says_nothing_of_replanning(
    cli: Cli, db: str, isolated_env: Path
) -> None:
    _loaded(cli, db, isolated_env)
    _age(db, 2)
    forced = cli("-d", db, "--format", "json", "chunk", "embed", "--all", "--force")
    assert forced.code == 0 and "Re-planning" not in forced.err
    (item,) = forced.json()
    assert item["replanned_count"] == 0 and item["replaced_count"] > 0
    assert all(r == {PASSAGE_RULES} for r in _passage_rules(db).values())
    assert all(int(r[2]) > 1 for r in _vectors(db))  # --force rewrote the chunk vectors


def test_background_start_counts_the_chunks_to_replan(
    cli: Cli, isolated_env: Path, hash_embedder: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``chunk embed`` with no arguments starts the worker for re-plans alone, and says
    how many first (stderr, and ``replan_chunks`` in its JSON)."""
    from rlm.ingest import background as bg
    from rlm.ingest import load

    db = str(isolated_env / "store.db")
    _loaded(cli, db, isolated_env)
    _age(db, 4)
    started: list[int] = []

    def starter(command: object = None) -> Callable[..., bg.BackgroundJob]:
        def start(store: Store, backlog: Any, eta: float | None) -> bg.BackgroundJob:
            started.append(backlog.chunks)
            return bg.BackgroundJob(backlog.chunks, backlog.tokens, eta, True, "log", 1)

        return start

    monkeypatch.setattr(load, "process_starter", starter)
    result = cli("-d", db, "--format", "json", "chunk", "embed")
    assert result.code == 0, result.err
    assert "Re-planning the passages of 4 chunks" in result.err
    assert result.json()["replan_chunks"] == 4 and started == [4]


def test_a_store_from_before_the_rules_column_counts_as_old(
    cli: Cli, db: str, isolated_env: Path
) -> None:
    """Migrating a store made before m009 / p004: its passages get rules 0, never current,
    and ``rlm chunk embed`` re-plans every chunk."""
    _loaded(cli, db, isolated_env)
    chunks = int(_sql(db, "SELECT COUNT(*) FROM chunks")[0][0])
    passages = int(_sql(db, "SELECT COUNT(*) FROM passage_embeddings")[0][0])
    before = _vectors(db)
    # Undo the migration, as a store of the previous release has it.
    _sql(
        db,
        "DROP INDEX idx_passages_rules",
        "ALTER TABLE passage_embeddings DROP COLUMN rules",
        "DELETE FROM _rlm_migrations WHERE name LIKE '%_add_passage_rules'",
    )
    status = cli("-d", db, "--format", "json", "status").json()  # migrates
    assert status["embedding"]["replan_chunks"] == chunks
    assert set().union(*_passage_rules(db).values()) == {0}
    with Store.open(db) as store:
        assert store.replan_count(1) == chunks  # 0 is older than every version
    embedded = cli("-d", db, "--format", "json", "chunk", "embed", "--all")
    assert embedded.json()[0]["replanned_count"] == chunks
    assert all(r == {PASSAGE_RULES} for r in _passage_rules(db).values())
    assert int(_sql(db, "SELECT COUNT(*) FROM passage_embeddings")[0][0]) == passages
    assert [r[:2] + r[3:] for r in _vectors(db)] == [r[:2] + r[3:] for r in before]


def test_counting_old_passages_seeks_the_rules_index(isolated_env: Path) -> None:
    """Status and every new search process count them: an index range, no table walk."""
    from tests.search.conftest import add_chunks

    with Store.init(isolated_env / "q.db") as store:
        add_chunks(store, "doc", ["One sentence here. Another one there.", "Second chunk."])
        seen: list[str] = []
        store.conn.set_trace_callback(seen.append)
        try:
            assert store.replan_count(PASSAGE_RULES) == 0
            assert store.replan_count(PASSAGE_RULES, "fp") == 0
            assert store.replan_backlog(PASSAGE_RULES).chunks == 0
        finally:
            store.conn.set_trace_callback(None)
        assert len(seen) == 3
        for sql in seen:
            plan = " ".join(str(r[-1]) for r in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "idx_passages_rules (rules<?)" in plan, (sql, plan)


def test_finding_chunks_without_passages_seeks_each_chunk(isolated_env: Path) -> None:
    """``chunk embed`` with nothing to do: each chunk's passages are probed by the whole
    ``idx_passages_model`` key, not by a walk over every passage of the model."""
    from rlm.embedding.hashing import HashEmbedder
    from rlm.embedding.sync import embed_buffer
    from tests.search.conftest import add_chunks

    with Store.init(isolated_env / "q.db") as store:
        add_chunks(store, "doc", ["One sentence here. Another one there.", "Second chunk."])
        buffer_id = store.list_buffers()[0].id
        embedder = HashEmbedder()
        embed_buffer(store, buffer_id, embedder)
        seen: list[str] = []
        store.conn.set_trace_callback(seen.append)
        try:
            assert (
                store.chunks_to_embed_passages(buffer_id, embedder.fingerprint, force=False) == []
            )
        finally:
            store.conn.set_trace_callback(None)
        assert len(seen) == 1
        plan = " ".join(str(r[-1]) for r in store.conn.execute(f"EXPLAIN QUERY PLAN {seen[0]}"))
        assert "AND chunk_id=?" in plan, plan


def _worker_here(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Replace the detached worker by the same worker run here at once (as the process
    would, with no request of its own): the chunks each started worker did."""
    from rlm.cli.commands import buffers
    from rlm.embedding import get_embedder
    from rlm.ingest import background as bg
    from rlm.ingest import load

    done: list[int] = []

    def starter(command: object = None) -> Callable[..., bg.BackgroundJob]:
        def start(store: Store, backlog: Any, eta: float | None) -> bg.BackgroundJob:
            done.append(bg.run_worker(store, get_embedder).chunks)
            return bg.BackgroundJob(backlog.chunks, backlog.tokens, eta, True, "log", 1)

        return start

    monkeypatch.setattr(load, "process_starter", starter)  # chunk embed
    monkeypatch.setattr(buffers, "process_starter", starter)  # load
    return done


def _request_file(db: str) -> Path:
    from rlm.ingest.background import WorkerFiles

    with Store.open(db) as store:
        return WorkerFiles.of(store.path).replan


def test_a_load_worker_embeds_what_is_missing_and_replans_only_when_asked(
    cli: Cli, db: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker a load started leaves old passages alone (status keeps saying so);
    ``rlm chunk embed`` asks for the re-plan, which the next worker does, then forgets."""
    _loaded(cli, db, isolated_env)
    old = _age(db, 3)
    before = _vectors(db)
    done = _worker_here(monkeypatch)
    (isolated_env / "harbour.md").write_text(TEXT.replace("tide", "wind"), encoding="utf-8")
    loaded = cli(
        "-d",
        db,
        "load",
        "harbour.md",
        "--embed",
        "background",
        "--chunk-size",
        "400",
        "--overlap",
        "0",
    )
    assert loaded.code == 0, loaded.err
    assert len(done) == 1 and done[0] > 0  # the new buffer's chunks, nothing else
    status = cli("-d", db, "--format", "json", "status").json()["embedding"]
    assert status["missing_chunks"] == 0 and status["replan_chunks"] == 3
    assert status["replan_requested"] is False
    rules = _passage_rules(db)
    assert all(rules[cid] == {2} for cid in old)
    assert "run 'rlm chunk embed' to re-plan them" in cli("-d", db, "status").out
    assert not _request_file(db).exists()

    embedded = cli("-d", db, "--format", "json", "chunk", "embed")
    assert embedded.code == 0, embedded.err
    assert "Re-planning the passages of 3 chunks" in embedded.err
    assert embedded.json()["replan_chunks"] == 3 and done[1:] == [3]
    rules = _passage_rules(db)
    assert all(rules[cid] == {PASSAGE_RULES} for cid in old)
    assert [r for r in _vectors(db) if r[0] in old] == [r for r in before if r[0] in old]
    assert not _request_file(db).exists()  # done: the next load's worker re-plans nothing
    assert cli("-d", db, "--format", "json", "status").json()["embedding"]["replan_chunks"] == 0


def test_a_replan_asked_while_a_load_worker_runs_is_done_by_that_worker(
    cli: Cli, db: str, isolated_env: Path
) -> None:
    """``rlm chunk embed`` while a load's worker runs: the request is a file the worker
    reads at each claim, so the worker already running does the re-plan."""
    from rlm.embedding import get_embedder
    from rlm.ingest.background import WorkerFiles, request_replan, run_worker

    _loaded(cli, db, isolated_env)
    old = _age(db, 2)
    with Store.open(db) as store:
        assert run_worker(store, get_embedder).chunks == 0  # a load's worker: nothing to do
        assert all(_passage_rules(db)[cid] == {2} for cid in old)
        files = WorkerFiles.of(store.path)
        request_replan(files)
        assert cli("-d", db, "--format", "json", "status").json()["embedding"]["replan_requested"]
        assert run_worker(store, get_embedder).chunks == 2
        assert not files.replan.exists()
    assert all(_passage_rules(db)[cid] == {PASSAGE_RULES} for cid in old)


def test_old_passages_of_another_model_are_not_work_for_chunk_embed(
    cli: Cli, db: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``chunk embed`` re-plans the current model's old passages only (another model's
    change with ``--force``), so they start no worker and the count that suggests
    ``rlm chunk embed`` leaves them out; status says them apart, with ``--force``."""
    _loaded(cli, db, isolated_env)
    old = _age(db, 3)
    marks = ",".join(str(i) for i in old)
    for table in ("chunk_embeddings", "passage_embeddings"):
        _sql(
            db,
            f"UPDATE {table} SET fingerprint = 'other-model:0123456789abcdef',"
            f" model_name = 'other-model' WHERE chunk_id IN ({marks})",
        )
    done = _worker_here(monkeypatch)

    status = cli("-d", db, "--format", "json", "status").json()["embedding"]
    assert status["replan_chunks"] == 0 and status["replan_other_chunks"] == 3
    text = cli("-d", db, "status").out
    assert "re-plan them" not in text
    (line,) = [x for x in text.splitlines() if "another model" in x]
    assert "3 chunks" in line and "rlm chunk embed --all --force" in line

    embedded = cli("-d", db, "--format", "json", "chunk", "embed")
    assert embedded.code == 0, embedded.err
    assert embedded.json() == {"background_embedding": None, "replan_chunks": 0}
    assert "Re-planning" not in embedded.err and done == []
    waited = cli("-d", db, "--format", "json", "chunk", "embed", "--wait")
    assert waited.code == 0, waited.err
    assert waited.json()["embedding"]["replan_chunks"] == 0
    assert waited.json()["embedding"]["replan_other_chunks"] == 3
