"""A fused copy of the model graph, built once per machine and cached.

Why: the bundled model stores its weights as int8 that the graph dequantizes
(Cast, Mul) into float32 MatMuls, and its GELU and residual+LayerNorm steps
are spelled out in small operators that ONNX Runtime's own optimizer does not
fuse for this export. onnxruntime's transformer optimizer fuses them (BiasGelu,
SkipLayerNormalization); measured 1.1-1.2x tokens/s on this machine, with the
same vectors (it computes the same function; attention is not fused for this
export, so nothing is approximated).

How: ONNX Runtime's basic level folds the dequantization into float32
initializers and writes that graph; the transformer optimizer (it needs the
``onnx`` package; no ``sympy``: shape inference is off) fuses it; a probe
compares the two graphs on a few texts and the result is kept only if every
cosine is >= 0.9999. The file lives in the user cache
(``optimized/<source sha256>/model.onnx``, about 90 MB, never in the
repository); a failed or rejected build leaves a ``rejected`` note with the
reason so it is not retried on every run.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlm.embedding.paths import module_available

VERSION = "1"
"""Bumped when the recipe changes, so an older cached graph is not reused."""
MIN_COSINE = 0.9999
MODEL_FILE = "model.onnx"
REJECTED = "rejected"


def optimized_dir(cache: Path, sha256: str) -> Path:
    return cache / "optimized" / f"{sha256[:16]}-v{VERSION}"


def cached(cache: Path, sha256: str | None) -> Path | None:
    """The cached fused graph for a source model, if one was built and accepted."""
    if not sha256:
        return None
    path = optimized_dir(cache, sha256) / MODEL_FILE
    return path if path.is_file() else None


def rejected(cache: Path, sha256: str | None) -> str | None:
    """Why an earlier build was rejected (then it is not retried), else None."""
    if not sha256:
        return None
    note = optimized_dir(cache, sha256) / REJECTED
    try:
        return note.read_text(encoding="utf-8").strip() or "rejected"
    except OSError:
        return None


Probe = Callable[[Path], Any]
"""Embeds the probe texts with the graph at a path; returns an (n, dim) array."""


def build(source: Path, sha256: str, cache: Path, probe: Probe) -> Path | None:
    """Build, check and cache the fused graph of ``source``; None if it cannot be used.

    Safe to run in several processes at once: each writes its own temporary
    folder and the first rename wins.
    """
    if cached(cache, sha256) is not None:
        return cached(cache, sha256)
    if rejected(cache, sha256) is not None:
        return None
    if not module_available("onnx"):
        return None  # not an error: the plain graph runs, a little slower
    target = optimized_dir(cache, sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        work = Path(tmp)
        try:
            fused = _fuse(source, work)
            import numpy as np

            plain, quick = probe(source), probe(fused)
            cosine = float((np.asarray(plain) * np.asarray(quick)).sum(axis=1).min())
        except Exception as exc:  # any failure means: run the plain graph
            _reject(target, f"build failed: {type(exc).__name__}: {exc}")
            return None
        if not cosine >= MIN_COSINE:
            _reject(target, f"vectors differ (min cosine {cosine:.6f} < {MIN_COSINE})")
            return None
        ready = work / "ready"
        ready.mkdir()
        fused.rename(ready / MODEL_FILE)
        with contextlib.suppress(OSError):  # another process won the race: use its file
            os.rename(ready, target)
    return cached(cache, sha256)


def _fuse(source: Path, work: Path) -> Path:
    import logging

    import onnxruntime as ort
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    folded = work / "folded.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    options.log_severity_level = 3
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    fusion = FusionOptions("bert")
    fusion.enable_shape_inference = False  # would need sympy; the fusions used do not
    # Its notes ("shape inference disabled") are not for the user of a load; its
    # modules log under bare names (it puts its folder on sys.path), so mute all.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        model = optimizer.optimize_model(
            str(folded),
            model_type="bert",
            num_heads=0,
            hidden_size=0,
            opt_level=0,
            optimization_options=fusion,
            use_gpu=False,
        )
    finally:
        logging.disable(previous)
    out = work / MODEL_FILE
    model.save_model_to_file(str(out))
    folded.unlink()
    return out


def _reject(target: Path, reason: str) -> None:
    with contextlib.suppress(OSError):
        target.mkdir(parents=True, exist_ok=True)
        (target / REJECTED).write_text(reason + "\n", encoding="utf-8")
