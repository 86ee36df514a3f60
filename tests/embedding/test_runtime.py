"""rlm's own ONNX session gives today's vectors (real model).

"Today's" is the fastembed-driven session rlm used before (``runtime="fastembed"``);
issue #12 keeps a speed-up only with cosine >= 0.999 against it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from rlm.embedding.onnx_embedder import OnnxEmbedder
from rlm.embedding.registry import Pooling
from rlm.embedding.runtime import pool, run_batches, session_options

TEXTS = [
    "The harbour master logged three vessels before the storm reached the coast. "
    "Nobody expected the copper shipment to arrive early.",
    "def parse(tokens):\n    return [t for t in tokens if t]\n",
    "short",
    " ".join(f"Sentence {i} talks about rivers, ledgers and falcons." for i in range(80)),
]


def _twin(model: OnnxEmbedder, cache: Path, **options: object) -> OnnxEmbedder:
    return OnnxEmbedder(model.model, model.files, cache=cache, **options)  # type: ignore[arg-type]


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum(axis=1).min())


@pytest.fixture(scope="module")
def baseline(model: OnnxEmbedder, tmp_path_factory: pytest.TempPathFactory) -> OnnxEmbedder:
    return _twin(model, tmp_path_factory.mktemp("cache"), runtime="fastembed")


def test_direct_session_matches_fastembed(
    model: OnnxEmbedder, baseline: OnnxEmbedder, tmp_path: Path
) -> None:
    direct = _twin(model, tmp_path)
    assert direct.runtime == "direct" and baseline.runtime == "fastembed"
    want, got = baseline.embed_passages(TEXTS), direct.embed_passages(TEXTS)
    assert got.windows == want.windows and got.spans == want.spans
    assert _min_cosine(want.vectors, got.vectors) >= 0.999
    for a, b in zip(want.passage_vectors, got.passage_vectors, strict=True):
        assert _min_cosine(a, b) >= 0.999
    assert float(baseline.embed_query(TEXTS[0]) @ direct.embed_query(TEXTS[0])) >= 0.999
    windowed = direct.embed_documents(TEXTS)
    assert windowed.windows[3] > 1
    assert _min_cosine(baseline.embed_documents(TEXTS).vectors, windowed.vectors) >= 0.999


def test_session_options_do_not_spin() -> None:
    options = session_options(2)
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.intra_op_num_threads == 2 and options.inter_op_num_threads == 1


def test_pooling_mean_ignores_padding_and_cls_takes_first_row() -> None:
    hidden = np.array([[[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]], dtype=np.int64)
    mean = pool(hidden, mask, Pooling.MEAN, normalize=True)
    np.testing.assert_allclose(mean, [[2**-0.5, 2**-0.5]], atol=1e-6)
    np.testing.assert_allclose(pool(hidden, mask, Pooling.CLS, normalize=False), [[1.0, 0.0]])


def test_parallel_runs_give_the_serial_vectors(model: OnnxEmbedder, tmp_path: Path) -> None:
    serial = _twin(model, tmp_path / "a", workers=1)
    parallel = _twin(model, tmp_path / "b", workers=2)
    assert serial.workers == 1 and parallel.workers == 2
    texts = TEXTS * 40  # several ONNX runs, so both threads take batches
    want, got = serial.embed_passages(texts), parallel.embed_passages(texts)
    assert got.spans == want.spans
    assert _min_cosine(want.vectors, got.vectors) >= 0.99999
    assert (
        _min_cosine(np.concatenate(want.passage_vectors), np.concatenate(got.passage_vectors))
        >= 0.99999
    )


def test_workers_default_to_cores_on_cpu_and_one_on_a_device(
    model: OnnxEmbedder, tmp_path: Path
) -> None:
    assert _twin(model, tmp_path, threads=3).workers == 3
    device = _twin(model, tmp_path, threads=3, providers=("CUDAExecutionProvider",))
    assert device.workers == 1


def test_run_batches_runs_each_batch_once_across_threads() -> None:
    seen: list[int] = []
    threads: set[int] = set()

    def run(batch: int) -> None:
        import threading
        import time

        threads.add(threading.get_ident())
        time.sleep(0.002)
        seen.append(batch)

    run_batches(run, list(range(50)), workers=3)
    assert sorted(seen) == list(range(50))
    assert len(threads) > 1


def test_run_batches_raises_the_first_error_and_stops() -> None:
    seen: list[int] = []

    def run(batch: int) -> None:
        if batch == 3:
            raise RuntimeError("boom")
        seen.append(batch)

    with pytest.raises(RuntimeError, match="boom"):
        run_batches(run, list(range(1000)), workers=2)
    assert len(seen) < 999


def test_start_loading_loads_in_the_background_and_embeds_the_same(
    model: OnnxEmbedder, tmp_path: Path
) -> None:
    """A search starts the model load early; the query vector is the one a plain
    load gives, and the load happens once."""
    early = _twin(model, tmp_path)
    early.start_loading()
    early.start_loading()  # a second call starts nothing
    loader = early._loader
    assert loader is not None
    got = early.embed_query(TEXTS[0])  # waits for the loading thread
    assert not loader.is_alive() and early._session is not None
    assert early.load_seconds is not None
    assert np.array_equal(got, model.embed_query(TEXTS[0]))


def test_a_failed_background_load_is_raised_by_the_embed(
    model: OnnxEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rlm.errors import EmbeddingError

    broken = _twin(model, tmp_path)
    monkeypatch.setattr(broken, "_source_model", lambda: tmp_path / "missing.onnx")
    broken.start_loading()
    with pytest.raises(EmbeddingError):
        broken.embed_query("anything")


def test_a_second_start_does_not_wait_for_the_load(
    model: OnnxEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loading thread holds the model lock for the whole load: a second
    start_loading (the op, then the engine) must not queue behind it."""
    early = _twin(model, tmp_path)
    release = threading.Event()
    monkeypatch.setattr(early, "load", lambda: release.wait(30) and 0.0)
    early.start_loading()  # the loader now holds the lock until released
    second = threading.Thread(target=early.start_loading)
    second.start()
    second.join(20)
    blocked = second.is_alive()
    release.set()
    assert not blocked


def test_the_cached_optimised_graph_gives_the_same_vectors(
    model: OnnxEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first session saves ORT's optimised graph in the model cache; the next ones
    load it with optimisation off and embed exactly as the model file does."""
    from rlm.embedding import runtime

    monkeypatch.setenv("RLM_GRAPH_CACHE", "1")
    assert model.files.sha256 is not None
    cache = tmp_path / "cache"
    target = runtime._optimized_path(cache, model.files.sha256)
    want = model.embed_documents(TEXTS).vectors
    first = _twin(model, cache)
    assert np.array_equal(first.embed_documents(TEXTS).vectors, want)
    assert target.is_file() and target.with_suffix(".sha256").is_file()
    loaded: list[str] = []
    import onnxruntime as ort

    original = ort.InferenceSession

    def spy(path: str, *args: object, **kwargs: object) -> object:
        loaded.append(path)
        return original(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ort, "InferenceSession", spy)
    again = _twin(model, cache)
    assert np.array_equal(again.embed_documents(TEXTS).vectors, want)
    assert loaded == [str(target)]
    target.write_bytes(b"damaged")  # a damaged graph is rebuilt from the model file
    loaded.clear()
    third = _twin(model, cache)
    assert np.array_equal(third.embed_documents(TEXTS).vectors, want)
    assert loaded == [str(first._source_model())]


def test_start_loading_imports_numpy_before_its_thread_can() -> None:
    """Two threads importing NumPy for the first time at once can fail (importlib hands
    one a partially initialised module: "cannot import name '__cpu_features__'"); a cold
    hybrid search failed so in 7 of 12 fresh processes. start_loading imports it in the
    caller's thread first, so it is complete when the call returns."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from rlm.embedding import get_embedder\n"
        "e = get_embedder()\n"
        "before = 'numpy' in sys.modules\n"
        "e.start_loading()\n"
        "np = sys.modules.get('numpy')\n"
        "print(before, np is not None and hasattr(np, 'ndarray') and hasattr(np, 'float32'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["False", "True"], out.stdout + out.stderr
