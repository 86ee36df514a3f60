"""Built-in retrieval evaluation on BEIR-layout datasets (``rlm eval``).

Layout: ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl``
(``_id``, ``text``), ``qrels/test.tsv`` (``query-id``, ``corpus-id``, ``score``
with a header line; ``\\r`` stripped). Conventions (BEIR / MTEB):

* document text = ``title + " " + text``, stripped; empty documents skipped;
* only the queries that appear in the qrels are evaluated;
* a retrieved document whose id equals the query id is dropped when that
  document *is* the query (its text contains the query text) — ArguAna's
  rule, decided per query so datasets whose ids merely coincide (NPL: both
  numbered from 1) are not touched. ``drop_query_doc`` forces it on or off.

The corpus goes into a scratch store (one buffer, one chunk per document, so
what is measured is retrieval, not chunking), is embedded through the normal
path (:func:`rlm.embedding.sync.embed_buffer`), then every query runs through
:meth:`SearchEngine.rank` — the same code as ``rlm search``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlm.embedding.base import Embedder
from rlm.errors import InputError, InvalidArgumentError
from rlm.search.engine import DEFAULT_THRESHOLD, MODES, SearchEngine
from rlm.search.fusion import DEFAULT_FUSION, DEFAULT_RRF_K
from rlm.search.metrics import Qrels, evaluate
from rlm.store import NewBuffer, NewChunk, Store
from rlm.store.location import is_postgres_url

PhaseProgress = Callable[[str, int, int], None]
RUN_DEPTH = 100
"""Documents kept per query in the run (Recall@100 needs 100)."""


@dataclass
class Dataset:
    name: str
    doc_ids: list[str]
    doc_texts: list[str]
    queries: dict[str, str]
    """Only the queries that have qrels, in qrels order."""
    qrels: dict[str, dict[str, int]]

    @property
    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for doc_id, text in zip(self.doc_ids, self.doc_texts, strict=True):
            h.update(doc_id.encode("utf-8") + b"\0" + text.encode("utf-8") + b"\0")
        return h.hexdigest()[:32]


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.strip()
                if not line:
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{number}: invalid JSON: {exc.msg}") from exc
                if isinstance(row, dict):
                    yield row
    except FileNotFoundError as exc:
        raise InputError(
            f"file not found: {path}",
            error_type="FileNotFound",
            suggestion="A BEIR dataset folder has corpus.jsonl, queries.jsonl and qrels/test.tsv",
        ) from exc


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except FileNotFoundError as exc:
        raise InputError(
            f"file not found: {path}",
            error_type="FileNotFound",
            suggestion="A BEIR dataset folder has corpus.jsonl, queries.jsonl and qrels/test.tsv",
        ) from exc
    for number, raw in enumerate(lines, start=1):
        line = raw.replace("\r", "").strip()
        if not line:
            continue
        cols = line.split("\t") if "\t" in line else line.split()
        if number == 1 and cols[0].lower().startswith("query"):
            continue
        if len(cols) == 4:  # TREC qrels: qid iter docid rel
            cols = [cols[0], cols[2], cols[3]]
        if len(cols) < 3:
            raise InputError(f"{path}:{number}: expected query-id, corpus-id, score")
        try:
            rel = int(float(cols[2]))
        except ValueError as exc:
            raise InputError(f"{path}:{number}: score is not a number: {cols[2]!r}") from exc
        qrels.setdefault(cols[0], {})[cols[1]] = rel
    return qrels


def load_beir(folder: str | os.PathLike[str], limit_queries: int | None = None) -> Dataset:
    root = Path(folder)
    if not root.is_dir():
        raise InputError(
            f"not a dataset folder: {root}",
            error_type="FileNotFound",
            suggestion="Pass a folder with corpus.jsonl, queries.jsonl and qrels/test.tsv",
        )
    doc_ids: list[str] = []
    doc_texts: list[str] = []
    for row in _read_jsonl(root / "corpus.jsonl"):
        title = str(row.get("title") or "")
        text = f"{title} {row.get('text') or ''}".strip()
        if text:
            doc_ids.append(str(row["_id"]))
            doc_texts.append(text)
    all_queries = {
        str(r["_id"]): str(r.get("text") or "") for r in _read_jsonl(root / "queries.jsonl")
    }
    qrels_all = read_qrels(root / "qrels" / "test.tsv")
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for qid, judged in qrels_all.items():
        text = all_queries.get(qid, "")
        if not text.strip():
            continue
        queries[qid] = text
        qrels[qid] = judged
        if limit_queries is not None and len(queries) >= limit_queries:
            break
    return Dataset(root.resolve().name, doc_ids, doc_texts, queries, qrels)


def _buffer_name(dataset: Dataset) -> str:
    return f"eval:{dataset.name}:{dataset.fingerprint}"


def load_corpus(store: Store, dataset: Dataset) -> list[int]:
    """The corpus as one buffer with one chunk per document; returns chunk ids in doc order."""
    name = _buffer_name(dataset)
    existing = store.find_buffer_by_name(name)
    if existing is not None:
        return [ref.id for ref in store.list_chunk_refs(existing.id)]
    from rlm.ingest.loader import chunk_hash

    sep = b"\n\n"
    chunks: list[NewChunk] = []
    pieces: list[bytes] = []
    offset = 0
    line = 1
    for i, text in enumerate(dataset.doc_texts):
        data = text.encode("utf-8")
        newlines = data.count(b"\n")
        chunks.append(
            NewChunk(
                index=i,
                byte_start=offset,
                byte_end=offset + len(data),
                content=text,
                strategy="document",
                token_count=None,
                line_start=line,
                line_end=line + newlines,
                has_overlap=False,
                content_hash=chunk_hash(data),
            )
        )
        pieces.append(data + sep)
        offset += len(data) + len(sep)
        line += newlines + 2
    with store.transaction():
        buffer_id = store.insert_buffer(
            NewBuffer(
                name=name,
                source=dataset.name,
                content_type="text",
                content_hash=dataset.fingerprint,
                size=offset,
                line_count=line,
                collection="eval",
                encoding="utf-8",
                chunk_strategy="document",
            )
        )
        store.write_buffer_segments(buffer_id, pieces)
        ids = store.insert_chunks(buffer_id, chunks)
        store.set_chunk_count(buffer_id, len(ids))
    return ids


@dataclass
class EvalReport:
    dataset: str
    documents: int
    queries: int
    model: str | None
    semantic_available: bool | None
    metrics: dict[str, dict[str, float]]
    settings: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    runs: dict[str, dict[str, list[tuple[str, float]]]] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "documents": self.documents,
            "metrics": self.metrics,
            "model": self.model,
            "queries": self.queries,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "semantic_available": self.semantic_available,
            "settings": self.settings,
        }


def write_trec_run(path: str | os.PathLike[str], report: EvalReport) -> None:
    """``qid Q0 docid rank score tag`` lines, tag = mode, every mode in one file."""
    with open(path, "w", encoding="utf-8") as out:
        for mode, run in report.runs.items():
            for qid, ranking in run.items():
                for rank, (doc, score) in enumerate(ranking, start=1):
                    out.write(f"{qid} Q0 {doc} {rank} {score:.6g} {mode}\n")


@contextmanager
def _scratch_store(path: str | os.PathLike[str] | None) -> Iterator[Store]:
    if path is not None and is_postgres_url(str(path)):
        with Store.init(str(path)) as pg_store:  # reused when it exists, as a file is
            yield pg_store
        return
    if path is not None:
        target = Path(path)
        store = Store(target, _create=True) if not target.exists() else Store(target)
        try:
            yield store
        finally:
            store.close()
        return
    folder = tempfile.mkdtemp(prefix="rlm-eval-")
    target = Path(folder) / "eval.db"
    store = Store(target, _create=True)
    try:
        yield store
    finally:
        store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        # Sidecars (passage matrix, ANN index) of this scratch store only.
        for suffix in (".vec", ".ann"):
            shutil.rmtree(str(target) + suffix, ignore_errors=True)
        Path(folder).rmdir()


def run_eval(
    dataset: Dataset,
    *,
    modes: Sequence[str] = MODES,
    embedder: Embedder | Callable[[], Embedder] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    rrf_k: float = DEFAULT_RRF_K,
    drop_query_doc: str = "auto",
    store_path: str | os.PathLike[str] | None = None,
    progress: PhaseProgress | None = None,
    fusion: str = DEFAULT_FUSION,
) -> EvalReport:
    """Evaluate ``modes`` on ``dataset``; see the module docstring."""
    modes = list(dict.fromkeys(m.lower() for m in modes))
    for mode in modes:
        if mode not in MODES:
            raise InvalidArgumentError(f"unknown mode: {mode}", suggestion="hybrid, semantic, bm25")
    if drop_query_doc not in ("auto", "always", "never"):
        raise InvalidArgumentError("drop_query_doc must be auto, always or never")
    need_sem = any(m != "bm25" for m in modes)
    seconds: dict[str, float] = {}
    with _scratch_store(store_path) as store:
        t0 = time.perf_counter()
        chunk_ids = load_corpus(store, dataset)
        seconds["load"] = time.perf_counter() - t0
        doc_of = dict(zip(chunk_ids, dataset.doc_ids, strict=True))
        text_of = dict(zip(dataset.doc_ids, dataset.doc_texts, strict=True))
        engine = SearchEngine(store, embedder)
        model: str | None = None
        semantic_available: bool | None = None
        vectors: dict[str, Any] = {}
        if need_sem:
            from rlm.embedding.sync import embed_buffer

            emb = engine.embedder
            model, semantic_available = emb.name, bool(emb.is_semantic)
            buffer = store.find_buffer_by_name(_buffer_name(dataset))
            assert buffer is not None
            t0 = time.perf_counter()
            embed_buffer(
                store,
                buffer.id,
                emb,
                progress=(lambda d, t: progress("Embedding corpus", d, t)) if progress else None,
            )
            seconds["embed_corpus"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            total = len(dataset.queries)
            for i, (qid, text) in enumerate(dataset.queries.items(), start=1):
                vectors[qid] = emb.embed_query(text)
                if progress:
                    progress("Embedding queries", i, total)
            seconds["embed_queries"] = time.perf_counter() - t0
        runs: dict[str, dict[str, list[tuple[str, float]]]] = {m: {} for m in modes}
        t0 = time.perf_counter()
        total = len(dataset.queries)
        for i, (qid, text) in enumerate(dataset.queries.items(), start=1):
            drop = drop_query_doc == "always" or (
                drop_query_doc == "auto"
                and qid in text_of
                and " ".join(text.split()) in " ".join(text_of[qid].split())
            )
            ranked = engine.rank(
                text,
                modes,
                top_k=RUN_DEPTH + (1 if drop else 0),
                threshold=threshold,
                rrf_k=rrf_k,
                query_vector=vectors.get(qid),
                fusion=fusion,
            )
            for mode, hits in ranked.items():
                docs = [(doc_of[h.chunk_id], h.score) for h in hits if h.chunk_id in doc_of]
                if drop:
                    docs = [(d, s) for d, s in docs if d != qid]
                runs[mode][qid] = docs[:RUN_DEPTH]
            if progress:
                progress("Searching", i, total)
        seconds["search"] = time.perf_counter() - t0
    qrels: Qrels = dataset.qrels
    metrics = {
        mode: evaluate({q: [d for d, _ in r] for q, r in run.items()}, qrels)
        for mode, run in runs.items()
    }
    return EvalReport(
        dataset=dataset.name,
        documents=len(dataset.doc_ids),
        queries=len(dataset.queries),
        model=model,
        semantic_available=semantic_available,
        metrics=metrics,
        settings={
            "drop_query_doc": drop_query_doc,
            "fusion": fusion,
            "modes": modes,
            "rrf_k": rrf_k,
            "threshold": threshold,
        },
        seconds=seconds,
        runs=runs,
    )
