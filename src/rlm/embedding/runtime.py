"""The ONNX session rlm runs itself: tokenized passages in, pooled unit vectors out.

Why not fastembed's session: profiled, 95% of embedding time is ONNX Runtime's
``run``, and how the session is set up decides how fast that is on a small,
busy machine (bench/embed_bench.py, same run):

* **no spinning** (``session.intra_op.allow_spinning=0``): ORT's worker
  threads otherwise busy-wait between operators; on two cores shared with
  other processes (another rlm worker, a build, the agent) that burns the
  time slices the computation needs. Measured 1.2-1.4x on this machine; on an
  idle machine it costs little (threads wake in microseconds).
* **one inter-op thread, sequential execution**: a BERT graph has no parallel
  branches worth a second pool; fastembed asks for ``threads`` of both.
* rlm's own tokenizer (no second tokenization in fastembed, no truncation:
  the caller hands in passages that fit the window).

Pooling mirrors fastembed's (mean over the attention mask, or the CLS row,
then L2-normalized), so vectors are those of fastembed's path (checked in
tests/embedding/test_runtime.py against it, cosine >= 0.999).

Tried and not kept (bench/embed_bench.py, same run, busy 2-core machine):
onnxruntime's transformer optimizer on the constant-folded graph (it fuses
BiasGelu and SkipLayerNormalization, not this export's attention): 0.98x of
this session on 5 MB, not worth the ``onnx`` dependency and a 90 MB cached
graph; dynamic int8 quantization of the MatMuls: 2x faster but min cosine
0.91-0.99 against today's vectors; batches of 4,096 tokens instead of 2,048:
slower; one intra-op thread: faster only while other processes load the
cores.

**Batches in parallel, one intra-op thread each** (:func:`run_batches`): on a
CPU, the embedder runs one session with ``intra_op_num_threads=1`` and feeds it
from one Python thread per core (``run`` releases the GIL and is thread-safe).
Passage batches are small (about 16 passages of 64 tokens), so splitting each
operator over two threads spends much of the time at ORT's barriers, and a
descheduled thread stalls the other; whole batches side by side do not wait
for each other. One shared session, not one per thread: the weights are in
memory (and in the L3 cache) once; two sessions measured slower. Same math,
so the same vectors (min cosine 1.000000). Measured with 1,024-token batches
(2,048 was slower in this scheme): see docs/benchmarks.md.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rlm.embedding.registry import Pooling

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

T = TypeVar("T")


def session_options(threads: int, *, spinning: bool = False) -> Any:
    """ORT options for embedding throughput (see the module docstring for why)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # the serialized-model hints are not for users
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


OPTIMIZED_DIR = "optimized"
"""Folder of the model cache holding graphs ORT has already optimised (see
:func:`create_session`)."""


GRAPH_CACHE_ENV = "RLM_GRAPH_CACHE"
"""``RLM_GRAPH_CACHE=0`` keeps no optimised graph (the tests set it: each has its own
model cache, and each would write 90 MB)."""


def _optimized_path(cache: Path, sha256: str) -> Path:
    """Where the optimised graph of one model file, for this ORT and CPU, is kept."""
    import platform

    import onnxruntime as ort

    name = f"{sha256[:16]}-ort{ort.__version__}-{platform.machine() or 'cpu'}.onnx"
    return cache / OPTIMIZED_DIR / name


def create_session(
    model_file: Path,
    options: Any,
    providers: Sequence[str],
    *,
    cache: Path | None = None,
    sha256: str | None = None,
) -> Any:
    """An ORT session over ``model_file``, from its cached optimised graph when there is one.

    Building the session spends most of its time optimising the graph (constant
    folding the int8 model's dequantisation, fusions): 0.45-0.75 s of a cold
    ``rlm search`` on a busy 2-core machine. ORT can save the optimised graph
    (``optimized_model_filepath``); loading that with optimisations off took 0.74x
    the time (medians of 5, interleaved: 0.447 vs 0.606 s) and gives the very same
    vectors (max difference 0.0; tests/embedding/test_runtime.py). The first
    session writes it (90 MB: the folded float weights) into the model cache under
    the model's sha256, ORT's version and the machine type, with its own sha256
    beside it (checked through the integrity ledger, as the model file is); CPU
    only, since other providers optimise for their device; ``RLM_GRAPH_CACHE=0``
    turns it off. Any failure falls back to the model file as before.
    """
    import onnxruntime as ort

    from rlm.embedding.integrity import file_sha256, verify

    cpu = all(p == "CPUExecutionProvider" for p in providers)
    off = os.environ.get(GRAPH_CACHE_ENV, "").strip().lower() in ("0", "off", "no", "false")
    if cache is None or sha256 is None or not cpu or off:
        return ort.InferenceSession(str(model_file), options, providers=list(providers))
    target = _optimized_path(cache, sha256)
    digest = target.with_suffix(".sha256")
    try:
        ok = target.is_file() and verify(target, digest.read_text().strip(), cache)[0]
    except OSError:
        ok = False
    if ok:
        graph_level = options.graph_optimization_level
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return ort.InferenceSession(str(target), options, providers=list(providers))
        except Exception:  # a damaged file: rebuild it below
            options.graph_optimization_level = graph_level
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        options.optimized_model_filepath = str(tmp)
    except OSError:  # a read-only cache: optimise in memory, as before
        pass
    session = ort.InferenceSession(str(model_file), options, providers=list(providers))
    with contextlib.suppress(OSError):
        if tmp.is_file():
            os.replace(tmp, target)
            # Hashed once here (and remembered in the ledger), not by the next process.
            written = digest.with_name(f".{digest.name}.{os.getpid()}.tmp")
            written.write_text(file_sha256(target, cache) + "\n")
            os.replace(written, digest)
    with contextlib.suppress(OSError):
        tmp.unlink()
    return session


class DirectSession:
    """One ONNX Runtime session over a model file, run with rlm's token ids."""

    def __init__(
        self,
        model_file: Path,
        *,
        threads: int,
        providers: Sequence[str],
        pooling: Pooling,
        normalize: bool = True,
        cache: Path | None = None,
        sha256: str | None = None,
    ) -> None:
        self.model_file = model_file
        self.pooling = pooling
        self.normalize = normalize
        self.session = create_session(
            model_file, session_options(threads), providers, cache=cache, sha256=sha256
        )
        self.inputs = {node.name for node in self.session.get_inputs()}

    def run(self, ids: Sequence[Sequence[int]], pad_id: int = 0) -> npt.NDArray[np.float32]:
        """Pooled vectors of one batch of token id lists (special tokens included)."""
        import numpy as np

        length = max(len(row) for row in ids)
        input_ids = np.full((len(ids), length), pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), length), dtype=np.int64)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        feed: dict[str, Any] = {"input_ids": input_ids}
        if "attention_mask" in self.inputs:
            feed["attention_mask"] = mask
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        hidden = self.session.run(None, feed)[0]
        return pool(hidden, mask, self.pooling, self.normalize)


def pool(
    hidden: Any, mask: npt.NDArray[np.int64], pooling: Pooling, normalize: bool
) -> npt.NDArray[np.float32]:
    """fastembed's pooling: masked mean (or the CLS row) of the token vectors, then L2."""
    import numpy as np

    hidden = np.asarray(hidden, dtype=np.float32)
    if hidden.ndim == 2:  # the model pools itself
        vectors = hidden
    elif pooling is Pooling.CLS:
        vectors = hidden[:, 0]
    else:
        weights = mask[:, :, None].astype(np.float32)
        vectors = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    if normalize:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.maximum(norms, 1e-12)
    out: npt.NDArray[np.float32] = vectors.astype(np.float32, copy=False)
    return out


def run_batches(run: Callable[[T], None], batches: Sequence[T], workers: int) -> None:
    """Call ``run`` on every batch, from up to ``workers`` threads (the caller's included).

    Threads are started per call, not kept in a pool: a query embedded while
    the MCP server's background thread embeds a backlog must not queue behind
    that backlog's batches. The first exception stops the other threads from
    taking new batches and is raised in the caller.
    """
    count = min(max(1, workers), len(batches))
    if count <= 1:
        for batch in batches:
            run(batch)
        return
    lock = threading.Lock()
    position = 0
    errors: list[BaseException] = []

    def work() -> None:
        nonlocal position
        while True:
            with lock:
                if errors or position >= len(batches):
                    return
                batch = batches[position]
                position += 1
            try:
                run(batch)
            except BaseException as exc:  # re-raised in the caller below
                with lock:
                    errors.append(exc)
                return

    helpers = [threading.Thread(target=work, daemon=True) for _ in range(count - 1)]
    for thread in helpers:
        thread.start()
    work()
    for thread in helpers:
        thread.join()
    if errors:
        raise errors[0]
