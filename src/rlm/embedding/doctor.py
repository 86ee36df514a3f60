"""Library side of ``rlm model list|info|doctor``: plain JSON-able dicts, no printing.

``doctor`` walks the default path step by step (packages, sha256, tokenizer,
cache, session, a probe embedding) so that "embedding works offline right
after pip install" is something a user can check in one command, and so that
a failure names the step that broke instead of a stack trace.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlm.embedding.hashing import HashEmbedder
from rlm.embedding.integrity import verify
from rlm.embedding.onnx_embedder import OnnxEmbedder, available_cores
from rlm.embedding.paths import cache_dir, locate
from rlm.embedding.registry import (
    MODELS,
    BundledFile,
    ModelDescription,
    SourceKind,
    default_model,
    fingerprint,
    get_model,
)
from rlm.embedding.selection import RUNTIME_MODULES, build_embedder, forced_hash
from rlm.errors import RlmError

PROBE = "How do I fix a flat bicycle tire?"


def _availability(model: ModelDescription) -> str:
    if model.source is SourceKind.BUILTIN:
        return "builtin"
    if model.source is SourceKind.BUNDLED:
        files = (model.onnx, model.tokenizer)
        return "installed" if all(f and locate(f) for f in files) else "missing"
    return "download on first use"


def list_models() -> list[dict[str, Any]]:
    """Every registered model, default first, with whether it is usable offline now."""
    return [
        {
            "name": model.name,
            "dim": model.dim,
            "max_tokens": model.max_tokens,
            "source": model.source.value,
            "licence": model.licence,
            "size_mb": model.size_mb,
            "default": model.default,
            "semantic": model.source is not SourceKind.BUILTIN,
            "status": _availability(model),
            "description": model.description,
        }
        for model in MODELS
    ]


def model_info(name: str | None = None) -> dict[str, Any]:
    """The full description of one model (default: the bundled one).

    Raises ConfigError (listing valid names) for an unknown name.
    """
    model = get_model(name) if name else default_model()
    info: dict[str, Any] = model.to_dict()
    info["status"] = _availability(model)
    info["cache_dir"] = str(cache_dir())
    if model.source is not SourceKind.BUILTIN:
        info["fingerprint"] = fingerprint(model, model.sha256, model.max_tokens)
    for key, bundled in (("onnx", model.onnx), ("tokenizer", model.tokenizer)):
        if bundled is not None:
            path = locate(bundled)
            info[key] = {**info[key], "installed_path": str(path) if path else None}
    return info


def _versions() -> dict[str, str | None]:
    """Installed versions, read from metadata (nothing is imported)."""
    out: dict[str, str | None] = {}
    for name in RUNTIME_MODULES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


class _Checks:
    """Collects named checks; a failing step records its error instead of raising."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def run(self, name: str, step: Callable[[], str]) -> bool:
        started = time.perf_counter()
        try:
            detail, ok = step(), True
        except RlmError as exc:
            detail, ok = exc.message, False
        except Exception as exc:
            detail, ok = f"{type(exc).__name__}: {exc}", False
        seconds = round(time.perf_counter() - started, 4)
        self.items.append({"name": name, "ok": ok, "detail": detail, "seconds": seconds})
        return ok


def _check_file(bundled: BundledFile, cache: Path) -> Callable[[], str]:
    def step() -> str:
        path = locate(bundled)
        if path is None:
            raise FileNotFoundError(f"{bundled.path} not found (install {bundled.distribution})")
        ok, actual = verify(path, bundled.sha256, cache)
        if not ok:
            raise ValueError(f"{path}: sha256 {actual} != expected {bundled.sha256}")
        return f"{path} (sha256 ok)"

    return step


def _check_cache(cache: Path) -> str:
    cache.mkdir(parents=True, exist_ok=True)
    if not os.access(cache, os.W_OK):
        raise PermissionError(f"{cache} is not writable")
    return f"{cache} (writable)"


def _probe(embedder: OnnxEmbedder) -> str:
    import numpy as np

    vector = embedder.embed_query(PROBE)
    norm = float(np.linalg.norm(vector))
    if vector.shape != (embedder.dimensions,) or not math.isclose(norm, 1.0, abs_tol=1e-3):
        raise ValueError(f"bad probe vector: shape {vector.shape}, norm {norm:.4f}")
    return f"{embedder.dimensions}-d unit vector"


def doctor(model: str | None = None, model_path: str | None = None) -> dict[str, Any]:
    """Check that ``model`` (default: the bundled one) loads and embeds, offline.

    Never downloads: a catalogue model that is not cached yet fails its load
    check with a hint. Returns ``ok`` plus one entry per check, and the facts a
    bug report needs (versions, cache dir, threads, window, fallback status).
    """
    description = get_model(model) if model else default_model()
    cache = cache_dir()
    checks = _Checks()
    versions = _versions()
    for name, version in versions.items():
        checks.run(f"package {name}", _require(version))
    checks.run("cache dir", lambda: _check_cache(cache))
    if description.source is SourceKind.BUNDLED and not model_path:
        for label, bundled in (
            ("model file", description.onnx),
            ("tokenizer", description.tokenizer),
        ):
            if bundled is not None:
                checks.run(label, _check_file(bundled, cache))
    embedder = build_embedder(description, model_path, allow_download=False)
    fallback_reason = embedder.fallback_reason
    if isinstance(embedder, OnnxEmbedder):
        if checks.run("session loads", lambda: _load(embedder)):
            checks.run("probe embedding", lambda: _probe(embedder))
    elif description.source is not SourceKind.BUILTIN:
        checks.run("model usable", lambda: _raise(fallback_reason or "fallback in use"))
    return {
        "ok": all(item["ok"] for item in checks.items),
        "model": description.name,
        "embedder": embedder.name,
        "semantic": embedder.is_semantic,
        "dimensions": embedder.dimensions,
        "max_tokens": embedder.max_tokens,
        "fingerprint": embedder.fingerprint,
        "threads": embedder.threads if isinstance(embedder, OnnxEmbedder) else None,
        "cores": available_cores(),
        "cache_dir": str(cache),
        "network_needed": description.source in (SourceKind.FASTEMBED, SourceKind.HUGGINGFACE)
        and not model_path,
        "load_seconds": embedder.load_seconds if isinstance(embedder, OnnxEmbedder) else None,
        "fallback": {
            "active": isinstance(embedder, HashEmbedder) and fallback_reason is not None,
            "reason": fallback_reason,
            "forced_by_env": forced_hash(),
        },
        "versions": versions,
        "checks": checks.items,
    }


def _require(version: str | None) -> Callable[[], str]:
    def step() -> str:
        if version is None:
            raise ModuleNotFoundError("not installed")
        return version

    return step


def _raise(reason: str) -> str:
    raise RuntimeError(reason)


def _load(embedder: OnnxEmbedder) -> str:
    seconds = embedder.load()
    return f"{seconds:.2f} s, {embedder.threads} threads"
