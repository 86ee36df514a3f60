"""The worker's backlog: missing vectors first, then, when a re-plan is asked for, the
passages of the worker's model planned under older rules."""

from __future__ import annotations

from pathlib import Path

from rlm.embedding.hashing import HashEmbedder
from rlm.embedding.passages import PASSAGE_RULES
from rlm.ingest.background import claim_next, work_backlog
from rlm.store import Store
from tests.search.conftest import add_chunks


def test_buffers_lacking_vectors_are_claimed_before_replans(isolated_env: Path) -> None:
    fingerprint = HashEmbedder().fingerprint  # the model add_chunks embedded with
    with Store.init(isolated_env / "w.db") as store:
        old = add_chunks(store, "old", ["First sentence here. Second one.", "Another chunk."])
        new = add_chunks(store, "new", ["Not embedded yet. Really not.", "Nor this."])
        with store.transaction():
            store.conn.execute(
                f"UPDATE passage_embeddings SET rules = {PASSAGE_RULES - 1}"
                f" WHERE chunk_id IN ({old[0]}, {old[1]})"
            )
            store.conn.execute(f"DELETE FROM chunk_embeddings WHERE chunk_id = {new[0]}")
        buffers = {b.name: b.id for b in store.list_buffers()}
        work = work_backlog(store, replan=fingerprint)
        assert [b for b, _, _ in work.buffers] == [buffers["new"], buffers["old"]]
        assert work.chunks == 3  # one vector missing, two chunks to re-plan
        assert store.embedding_backlog().chunks == 1  # re-plans are not "missing"
        claim = claim_next(store, set(), fingerprint)
        assert claim is not None and claim[:2] == (buffers["new"], 1)
        assert work_backlog(store, [buffers["old"]], replan=fingerprint).chunks == 2


def test_without_a_replan_or_for_another_model_only_missing_vectors_are_work(
    isolated_env: Path,
) -> None:
    """A load's worker (no re-plan asked) embeds what is missing and stops; a re-plan
    for one model never counts another model's old passages (``embed_buffer`` with that
    model would not touch them: the worker would claim a buffer it cannot move)."""
    with Store.init(isolated_env / "w.db") as store:
        add_chunks(store, "old", ["First sentence here. Second one.", "Another chunk."])
        new = add_chunks(store, "new", ["Not embedded yet. Really not.", "Nor this."])
        with store.transaction():
            store.conn.execute(f"UPDATE passage_embeddings SET rules = {PASSAGE_RULES - 1}")
            store.conn.execute(f"DELETE FROM chunk_embeddings WHERE chunk_id = {new[0]}")
        buffers = {b.name: b.id for b in store.list_buffers()}
        assert work_backlog(store).buffers == store.embedding_backlog().buffers
        assert [b for b, _, _ in work_backlog(store).buffers] == [buffers["new"]]
        other = work_backlog(store, replan="other-model:0123456789abcdef")
        assert other.chunks == 1 and [b for b, _, _ in other.buffers] == [buffers["new"]]
        assert claim_next(store, {buffers["new"]}, "other-model:0123456789abcdef") is None
