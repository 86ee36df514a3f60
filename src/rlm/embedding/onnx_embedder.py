"""The semantic embedder: an ONNX model run in-process on the CPU (or a device).

One instance per (model, path) per process (see :mod:`rlm.embedding.selection`),
shared by threads. Nothing heavy happens at construction: the tokenizer loads on
the first ``count_tokens``/embed call and the ONNX session on the first embed,
each once, under a lock. fastembed's ``parallel`` process pool is never used:
one session shared by one thread per usable core (each running whole batches)
is faster to start, and keeps memory bounded (one copy of the weights), for
the batch sizes rlm sees.

A model with local files (the bundled one, ``--model-path``) runs in rlm's own
session (:mod:`rlm.embedding.runtime`: options tuned for throughput, rlm's
own tokens); a catalogue model fastembed downloads runs through fastembed.
``runtime="fastembed"`` forces the old path (bench/embed_bench.py's same-run
baseline).

Texts longer than the model's window are windowed (see
:mod:`rlm.embedding.windowing`), never truncated; ``EmbeddingBatch.windows``
says how many windows each text took.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlm.embedding import passages
from rlm.embedding.assembly import folder_window_limit
from rlm.embedding.base import EmbeddingBatch, PassageBatch, import_numpy_here
from rlm.embedding.passages import plan_passages, pooled, with_whole
from rlm.embedding.registry import ModelDescription, Pooling, SourceKind, fingerprint
from rlm.embedding.runtime import DirectSession, run_batches
from rlm.embedding.validation import check_texts, check_vectors
from rlm.embedding.windowing import Window, plan_windows
from rlm.errors import EmbeddingError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

SLICE = 256
"""Texts tokenized, embedded and pooled per step: bounds memory, paces progress."""
BATCH_SIZE = 8
"""Windows per ONNX run. Windows are sorted by length first, so padding stays small."""
PARALLEL_BATCH_TOKENS = 1024
"""Tokens per ONNX run when batches run side by side (one intra-op thread each):
1,024 measured 1.18-1.24x today's 2,048 x two intra-op threads; 2,048 in this
scheme only 1.05-1.14x (bench/embed_bench.py, docs/benchmarks.md)."""

_register_lock = threading.Lock()


@contextlib.contextmanager
def _quiet_fastembed() -> Iterator[None]:
    """Silence fastembed's loguru errors while we probe the cache: a miss is expected."""
    try:
        from loguru import logger
    except ImportError:
        yield
        return
    logger.disable("fastembed")
    try:
        yield
    finally:
        logger.enable("fastembed")


def available_cores() -> int:
    """CPU cores this process may run on (cgroup/affinity aware where possible)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ModelFiles:
    """Where a model's files are, decided before anything heavy is loaded."""

    folder: Path | None
    """A local fastembed folder (assembled or user-given); None = fastembed download."""
    sha256: str | None
    max_tokens: int


Piece = tuple[str, int]
"""A window's text (prefix included) and its token count (prefix excluded)."""


class OnnxEmbedder:
    """all-MiniLM-L6-v2 (default), a catalogue model, or a local ONNX folder."""

    is_semantic = True
    fallback_reason: str | None = None

    def __init__(
        self,
        model: ModelDescription,
        files: ModelFiles,
        *,
        cache: Path,
        allow_download: bool = True,
        threads: int | None = None,
        batch_size: int = BATCH_SIZE,
        providers: Sequence[str] = ("CPUExecutionProvider",),
        device_notice: str | None = None,
        runtime: str = "auto",
        workers: int | None = None,
    ) -> None:
        self.model = model
        self.name = model.name
        self.dimensions = model.dim
        self.max_tokens = files.max_tokens
        self.fingerprint = fingerprint(model, files.sha256, files.max_tokens)
        self.files = files
        self.threads = threads or available_cores()
        self.batch_size = batch_size
        self.providers = list(providers)
        """ONNX Runtime execution providers, best first (see :mod:`rlm.embedding.devices`)."""
        self.device_notice = device_notice
        """Set when the device asked for is missing and the CPU stands in (one line)."""
        self.load_seconds: float | None = None
        self._cache = cache
        self._allow_download = allow_download
        self._lock = threading.RLock()
        self._engine: Any = None
        self._tokenizer: Any = None
        self._window = files.max_tokens
        self.runtime = "direct" if runtime == "auto" and files.folder is not None else runtime
        """``direct`` (rlm's session) or ``fastembed`` (models without local files)."""
        if self.runtime == "direct" and files.folder is None:
            raise ValueError("the direct runtime needs a model with local files")
        self._session: DirectSession | None = None
        self._loader: threading.Thread | None = None
        self._loader_lock = threading.Lock()
        cpu_only = all(p == "CPUExecutionProvider" for p in self.providers)
        self.workers = max(1, workers or (self.threads if cpu_only else 1))
        """Threads running whole ONNX batches side by side on rlm's session (see
        :func:`rlm.embedding.runtime.run_batches`); each then runs one intra-op
        thread. 1 = one batch at a time over ``threads`` intra-op threads (devices:
        a GPU wants big batches, not CPU threads)."""

    # --- loading ---------------------------------------------------------

    def _fastembed_name(self) -> str:
        """Local folders load under a name of ours, with our file name and pooling."""
        if self.files.folder is not None:
            return f"rlm/{self.model.name}"
        return self.model.fastembed_name or self.model.name

    def _register(self, text_embedding: Any) -> None:
        """Teach fastembed a model it does not ship (a local folder or BGE-M3)."""
        from fastembed.common.model_description import ModelSource, PoolingType

        local = self.files.folder is not None
        if not local and self.model.source is not SourceKind.HUGGINGFACE:
            return
        pooling = PoolingType.CLS if self.model.pooling is Pooling.CLS else PoolingType.MEAN
        with _register_lock:
            try:
                text_embedding.add_custom_model(
                    model=self._fastembed_name(),
                    pooling=pooling,
                    normalization=self.model.normalize,
                    sources=ModelSource(hf=self.model.hf_repo or "rlm/local-folder"),
                    dim=self.model.dim,
                    model_file="model.onnx" if local else self.model.model_file,
                    additional_files=[] if local else list(self.model.additional_files),
                    license=self.model.licence,
                    size_in_gb=self.model.size_mb / 1024,
                )
            except ValueError as exc:
                if "already registered" not in str(exc):
                    raise

    def _create_engine(self) -> Any:
        try:
            from fastembed import TextEmbedding
        except ImportError as exc:
            raise EmbeddingError(
                f"embedding error: fastembed is not installed ({exc})",
                suggestion="Reinstall rlm: pip install --force-reinstall rlm",
            ) from exc
        self._register(TextEmbedding)
        options: dict[str, Any] = {
            "model_name": self._fastembed_name(),
            "threads": self.threads,
            "providers": self.providers,
            "lazy_load": True,
        }
        if self.files.folder is not None:
            return TextEmbedding(specific_model_path=str(self.files.folder), **options)
        options["cache_dir"] = str(self._cache / "fastembed")
        try:  # the persistent cache first: an offline machine never waits on the network
            with _quiet_fastembed():
                return TextEmbedding(local_files_only=True, **options)
        except Exception as exc:
            if not self._allow_download:
                raise EmbeddingError(
                    f"embedding error: model {self.name} is not in the cache ({exc})",
                    suggestion=(
                        f"Embed once with network access to download it into {self._cache}"
                    ),
                ) from exc
        return TextEmbedding(**options)

    def _engine_ready(self) -> Any:
        """The fastembed model with its ONNX session loaded (created on first use)."""
        if self._engine is not None and self.load_seconds is not None:
            return self._engine
        with self._lock:
            if self._engine is None:
                self._engine = self._load(self._create_engine)
            if self.load_seconds is None:
                started = time.perf_counter()
                self._load(self._engine.model.load_onnx_model)
                self.load_seconds = time.perf_counter() - started
        return self._engine

    def load(self) -> float:
        """Load the tokenizer and the ONNX session now; returns the session's load seconds."""
        self.tokenizer()
        if self.runtime == "direct":
            self._session_ready()
        else:
            self._engine_ready()
        return self.load_seconds or 0.0

    def start_loading(self) -> None:
        """Load the tokenizer and the ONNX session in a background thread, now.

        A cold ``rlm search`` needs the session only to embed the query, after
        work that does not need it (opening the store, SQL, mapping the vector
        sidecars, the BM25 leg): started first, the load (0.5-0.9 s) overlaps that
        work instead of adding to it. ORT releases the GIL while it builds the
        session. The first embed waits for the load on ``_lock`` (held by the
        loading thread), so nothing is loaded twice; a failure here is left for
        that embed to raise, with its own message.
        """
        # Not under ``_lock``: the loading thread holds it for the whole load, and a
        # second call must return at once, not wait for the load.
        with self._loader_lock:
            if self._loader is not None or (
                self._tokenizer is not None and self.load_seconds is not None
            ):
                return
            import_numpy_here()  # not raced by the loader's onnxruntime import
            ready = threading.Event()
            self._loader = threading.Thread(
                target=self._load_quietly, args=(ready,), name="rlm-model-load", daemon=True
            )
            self._loader.start()
            ready.wait()  # the thread holds ``_lock`` before any caller can embed

    def _load_quietly(self, ready: threading.Event) -> None:
        with self._lock:
            ready.set()
            with contextlib.suppress(Exception):
                self.load()

    def _source_model(self) -> Path:
        folder = self.model_dir()
        return folder / "model.onnx"

    def _new_session(self, model_file: Path) -> DirectSession:
        session: DirectSession = self._load(
            lambda: DirectSession(
                model_file,
                threads=1 if self.workers > 1 else self.threads,
                providers=self.providers,
                pooling=self.model.pooling,
                normalize=self.model.normalize,
                cache=self._cache,
                sha256=self.files.sha256,
            )
        )
        return session

    def _session_ready(self) -> DirectSession:
        """rlm's own ONNX session over the model file (created once)."""
        if self._session is not None:
            return self._session
        with self._lock:
            if self._session is None:
                started = time.perf_counter()
                self._session = self._new_session(self._source_model())
                self.load_seconds = time.perf_counter() - started
        return self._session

    def _load(self, step: Callable[[], Any]) -> Any:
        try:
            return step()
        except EmbeddingError:
            raise
        except Exception as exc:
            raise EmbeddingError(
                f"embedding error: Failed to load embedding model {self.name}: {exc}",
            ) from exc

    def model_dir(self) -> Path:
        """The folder the model files are in (downloads the model if it must)."""
        if self.files.folder is not None:
            return self.files.folder
        with self._lock:
            if self._engine is None:
                self._engine = self._load(self._create_engine)
        return Path(self._engine.model._model_dir)

    def tokenizer(self) -> Any:
        """The model's tokenizer without truncation or padding (loaded once)."""
        if self._tokenizer is not None:
            return self._tokenizer
        with self._lock:
            if self._tokenizer is None:
                folder = self.model_dir()
                try:
                    from tokenizers import Tokenizer

                    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
                except Exception as exc:
                    raise EmbeddingError(
                        f"embedding error: cannot load the tokenizer of {self.name}: {exc}"
                    ) from exc
                tokenizer.no_truncation()
                tokenizer.no_padding()
                limit = folder_window_limit(folder)
                if limit is not None:
                    self._window = min(self._window, limit)
                self._tokenizer = tokenizer
        return self._tokenizer

    # --- windowing ---------------------------------------------------------

    def _budget(self, prefix: str) -> int:
        tokenizer = self.tokenizer()
        special = int(tokenizer.num_special_tokens_to_add(False))
        used = len(tokenizer.encode(prefix, add_special_tokens=False).ids) if prefix else 0
        budget = self._window - special - used
        if budget <= 0:
            raise EmbeddingError(f"embedding error: the window of {self.name} is too small")
        return budget

    def _split(self, text: str, encoding: Any, budget: int, depth: int = 0) -> list[Piece]:
        windows = plan_windows(
            encoding.offsets, encoding.word_ids, len(text), budget, self.model.window_overlap
        )
        if len(windows) == 1:
            return [(text, windows[0].tokens)]
        pieces: list[Piece] = []
        texts = [text[w.start : w.end] for w in windows]
        encodings = self.tokenizer().encode_batch(texts, add_special_tokens=False)
        for piece, again in zip(texts, encodings, strict=True):
            # A cut inside a long word can re-tokenize longer: split that window again.
            if len(again.ids) > budget and depth < 4:
                pieces.extend(self._split(piece, again, budget, depth + 1))
            else:
                pieces.append((piece, len(again.ids)))
        return pieces

    def _plan(self, texts: Sequence[str], prefix: str) -> list[list[Piece]]:
        budget = self._budget(prefix)
        encodings = self.tokenizer().encode_batch(list(texts), add_special_tokens=False)
        return [
            [(prefix + piece, tokens) for piece, tokens in self._split(text, encoding, budget)]
            for text, encoding in zip(texts, encodings, strict=True)
        ]

    # --- embedding ---------------------------------------------------------

    def _batches(self, lengths: Sequence[int]) -> Iterator[list[int]]:
        """Indexes of pieces per ONNX run, shortest first so each run pads little.

        A run holds up to ``batch_size`` full windows' worth of tokens, so short
        passages go many to an ONNX run (8 per run left the runtime's per-run cost
        dominant: the passage path was 13% slower than 256-token windows), or
        ``PARALLEL_BATCH_TOKENS`` when runs go side by side (``workers`` > 1).
        """
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        budget = self.batch_size * self._window
        if self.runtime == "direct" and self.workers > 1:
            budget = max(self._window, PARALLEL_BATCH_TOKENS)
        start = 0
        while start < len(order):
            end = start + 1
            # Sorted by length: the last piece of a batch is its longest (padding length).
            while end < len(order) and (end - start + 1) * lengths[order[end]] <= budget:
                end += 1
            yield order[start:end]
            start = end

    def _run(self, pieces: list[Piece]) -> npt.NDArray[np.float32]:
        """Embed window texts (each fits the model window), in order."""
        import numpy as np

        vectors = np.empty((len(pieces), self.dimensions), dtype=np.float32)
        try:
            if self.runtime == "direct":
                self._run_direct(pieces, vectors)
            else:
                engine = self._engine_ready()
                for batch in self._batches([tokens + 2 for _, tokens in pieces]):
                    rows = list(engine.embed([pieces[i][0] for i in batch], batch_size=len(batch)))
                    vectors[np.array(batch, dtype=np.int64)] = np.asarray(rows, dtype=np.float32)
        except EmbeddingError:
            raise
        except Exception as exc:
            raise EmbeddingError(f"embedding error: ONNX runtime failure: {exc}") from exc
        return vectors

    def _run_direct(self, pieces: list[Piece], out: npt.NDArray[np.float32]) -> None:
        import numpy as np

        session = self._session_ready()
        encodings = self.tokenizer().encode_batch(
            [text for text, _ in pieces], add_special_tokens=True
        )
        # Pieces fit the window; a rare re-tokenization overflow is cut as fastembed
        # cut it (keeping the closing special token).
        ids = [
            row if len(row) <= self._window else [*row[: self._window - 1], row[-1]]
            for row in (encoding.ids for encoding in encodings)
        ]

        def run(batch: list[int]) -> None:
            out[np.array(batch, dtype=np.int64)] = session.run([ids[i] for i in batch])

        run_batches(run, list(self._batches([len(row) for row in ids])), self.workers)

    def _embed(
        self, texts: Sequence[str], prefix: str
    ) -> tuple[npt.NDArray[np.float32], list[int]]:
        import numpy as np

        plans = self._plan(texts, prefix)
        flat = [piece for plan in plans for piece in plan]
        window_vectors = self._run(flat)
        check_vectors(window_vectors, self.dimensions)
        out = np.empty((len(texts), self.dimensions), dtype=np.float32)
        start = 0
        for i, plan in enumerate(plans):
            chunk = window_vectors[start : start + len(plan)]
            start += len(plan)
            if len(plan) == 1:
                out[i] = chunk[0]
                continue
            weights = np.array([max(tokens, 1) for _, tokens in plan], dtype=np.float64)
            pooled = (chunk.astype(np.float64) * weights[:, None]).sum(axis=0) / weights.sum()
            out[i] = (pooled / np.linalg.norm(pooled)).astype(np.float32)
        check_vectors(out, self.dimensions)
        return out, [len(plan) for plan in plans]

    def embed_documents(
        self,
        texts: Sequence[str],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> EmbeddingBatch:
        """Unit vectors for ``texts``, in order; ``progress(done, total)`` after each slice.

        Raises EmbeddingError for an empty or whitespace-only text (callers skip
        those), and for non-finite model output.
        """
        import numpy as np

        check_texts(texts)
        total = len(texts)
        vectors = np.empty((total, self.dimensions), dtype=np.float32)
        windows: list[int] = []
        for start in range(0, total, SLICE):
            part = texts[start : start + SLICE]
            vectors[start : start + len(part)], counts = self._embed(
                part, self.model.document_prefix
            )
            windows.extend(counts)
            if progress is not None:
                progress(start + len(part), total)
        return EmbeddingBatch(vectors=vectors, windows=windows)

    def embed_passages(
        self,
        texts: Sequence[str],
        budget: int | None = None,
        *,
        progress: Callable[[int, int], None] | None = None,
        query: bool = False,
        whole: bool = True,
    ) -> PassageBatch:
        """Each text cut into passages (:mod:`rlm.embedding.passages`), every passage
        embedded, and each text's vector pooled from its passages (``query``: with
        the query prefix; a long query is pooled like a document, see
        :func:`rlm.search.vector.long_query_chunk_vector`). A document text of
        several passages that fits one model window is also embedded whole, and
        its vector is the pooled one blended with that (:func:`passages.with_whole`),
        unless ``whole`` is False: a re-plan keeps the chunk vector and needs the
        passages only, so embedding the chunk again would be thrown away.

        Short passages cost less per token than 256-token windows (attention is
        quadratic, batches sorted by length pad little) and a text longer than one
        window is not embedded a second time, so a large document is no slower than
        :meth:`embed_documents`; a corpus of small texts pays for the second pass.
        A passage that re-tokenizes longer than the model window (a cut inside
        a huge word) is windowed, never truncated.
        """
        import numpy as np

        check_texts(texts)
        prefix = self.model.query_prefix if query else self.model.document_prefix
        window = self._budget(prefix)
        budget = max(1, min(budget or passages.PASSAGE_TOKENS, window))
        total = len(texts)
        pooled_rows = np.empty((total, self.dimensions), dtype=np.float32)
        spans: list[list[Window]] = []
        passage_vectors: list[npt.NDArray[np.float32]] = []
        for start in range(0, total, SLICE):
            part = list(texts[start : start + SLICE])
            encodings = self.tokenizer().encode_batch(part, add_special_tokens=False)
            plans = [
                plan_passages(text, enc.offsets, enc.word_ids, budget)
                or [Window(0, len(text), len(enc.ids))]
                for text, enc in zip(part, encodings, strict=True)
            ]
            flat = [text[w.start : w.end] for text, plan in zip(part, plans, strict=True)
                    for w in plan]  # fmt: skip
            fits = [] if query or not whole else [
                i for i, (plan, enc) in enumerate(zip(plans, encodings, strict=True))
                if len(plan) > 1 and len(enc.ids) <= window
            ]  # fmt: skip
            # One run for passages and whole texts: batches sorted by length pad little.
            vectors, _ = self._embed(flat + [part[i] for i in fits], prefix)
            whole_vectors = dict(zip(fits, vectors[len(flat) :], strict=True))
            offset = 0
            for i, plan in enumerate(plans):
                rows = vectors[offset : offset + len(plan)]
                offset += len(plan)
                spans.append(plan)
                passage_vectors.append(rows)
                pooled_rows[start + i] = with_whole(pooled(rows, plan), whole_vectors.get(i))
            if progress is not None:
                progress(start + len(part), total)
        check_vectors(pooled_rows, self.dimensions)
        return PassageBatch(vectors=pooled_rows, spans=spans, passage_vectors=passage_vectors)

    def embed_query(self, text: str) -> npt.NDArray[np.float32]:
        """The query's unit vector (with the model's query prefix; windowed if long)."""
        check_texts([text], what="query")
        vectors, _ = self._embed([text], self.model.query_prefix)
        vector: npt.NDArray[np.float32] = vectors[0]
        return vector

    def count_tokens(self, texts: Sequence[str]) -> list[int] | None:
        """Exact token counts, special tokens included (fits one window iff <= max_tokens).

        Needs only the tokenizer, never the ONNX session.
        """
        if isinstance(texts, str):
            raise EmbeddingError("embedding error: expected a sequence of texts, got one str")
        encodings = self.tokenizer().encode_batch(list(texts), add_special_tokens=True)
        return [len(encoding.ids) for encoding in encodings]
