"""Choose the embedder for this process: which model, from which files, or the fallback.

Only cheap checks run here (package present, sha256 from the ledger, tokenizer
present, runtime importable: all without importing numpy or onnxruntime). They
decide between the real model and the hash fallback up front, so an embedder's
``name`` and ``dimensions`` never change under a caller. The ONNX session
itself is created on the first embed.

The fallback is taken only for the bundled default, whose failure means a broken
install; a model the user asked for by name or path fails loudly instead.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from rlm.embedding.assembly import assemble, folder_window_limit
from rlm.embedding.base import Embedder
from rlm.embedding.devices import choose, requested_device
from rlm.embedding.hashing import HashEmbedder
from rlm.embedding.integrity import file_sha256, verify
from rlm.embedding.onnx_embedder import ModelFiles, OnnxEmbedder
from rlm.embedding.paths import cache_dir, locate, module_available
from rlm.embedding.registry import ModelDescription, SourceKind, default_model, get_model
from rlm.errors import ConfigError

RUNTIME_MODULES = ("numpy", "tokenizers", "onnxruntime", "fastembed")
_EMBEDDER_MODES = {"": False, "auto": False, "model": False, "onnx": False, "hash": True}

_lock = threading.Lock()
_embedders: dict[tuple[str, str | None, bool, str], Embedder] = {}


class ModelUnavailable(Exception):
    """The bundled model cannot be used; the message is the user-facing reason."""


def forced_hash() -> bool:
    """Whether ``RLM_EMBEDDER=hash`` asks for the lexical fallback."""
    mode = os.environ.get("RLM_EMBEDDER", "").strip().lower()
    if mode not in _EMBEDDER_MODES:
        raise ConfigError(
            f"invalid RLM_EMBEDDER value: {mode!r}",
            suggestion="Use RLM_EMBEDDER=hash to force the lexical fallback, or unset it",
        )
    return _EMBEDDER_MODES[mode]


def resolve_bundled(model: ModelDescription, cache: Path) -> ModelFiles:
    """Check the bundled model's files and assemble its fastembed folder."""
    if model.onnx is None or model.tokenizer is None:
        raise ModelUnavailable(f"{model.name} is not a bundled model")
    missing = [name for name in RUNTIME_MODULES if not module_available(name)]
    if missing:
        raise ModelUnavailable(f"missing Python package(s): {', '.join(missing)}")
    onnx = locate(model.onnx)
    if onnx is None:
        raise ModelUnavailable(f"package {model.onnx.distribution} is not installed")
    if model.onnx.size is not None and onnx.stat().st_size != model.onnx.size:
        raise ModelUnavailable(f"{onnx} has the wrong size (corrupt or replaced file)")
    ok, actual = verify(onnx, model.onnx.sha256, cache)
    if not ok:
        raise ModelUnavailable(
            f"{onnx} failed its sha256 check (expected {model.onnx.sha256[:12]}…, "
            f"got {actual[:12]}…)"
        )
    tokenizer = locate(model.tokenizer)
    if tokenizer is None:
        raise ModelUnavailable(f"tokenizer not found (package {model.tokenizer.distribution})")
    ok, actual = verify(tokenizer, model.tokenizer.sha256, cache)
    if not ok:
        raise ModelUnavailable(f"{tokenizer} failed its sha256 check (got {actual[:12]}…)")
    try:
        folder = assemble(
            model, onnx_file=onnx, tokenizer_file=tokenizer, sha256=model.onnx.sha256, cache=cache
        )
    except OSError as exc:
        raise ModelUnavailable(f"cannot write the model cache {cache}: {exc}") from exc
    return ModelFiles(folder=folder, sha256=model.onnx.sha256, max_tokens=model.max_tokens)


def _find_onnx(directory: Path, model: ModelDescription) -> Path:
    for name in (model.model_file, "model.onnx", "onnx/model.onnx", "model_optimized.onnx"):
        if (directory / name).is_file():
            return directory / name
    found = sorted(directory.glob("*.onnx")) or sorted(directory.glob("onnx/*.onnx"))
    if len(found) == 1:
        return found[0]
    raise ConfigError(
        f"no ONNX model file found in {directory}"
        if not found
        else f"several ONNX files in {directory}",
        suggestion="Put exactly one model.onnx (and tokenizer.json) in the --model-path folder",
    )


def resolve_local(model: ModelDescription, directory: Path, cache: Path) -> ModelFiles:
    """A user's local ONNX folder, used as is when fastembed can load it directly."""
    if not directory.is_dir():
        raise ConfigError(
            f"model path is not a directory: {directory}",
            suggestion=(
                "--model-path / RLM_MODEL_PATH must name a folder holding model.onnx "
                "and tokenizer.json"
            ),
        )
    onnx = _find_onnx(directory, model)
    tokenizer = directory / "tokenizer.json"
    if not tokenizer.is_file():
        raise ConfigError(f"no tokenizer.json in {directory}")
    sha = file_sha256(onnx, cache)
    ready = onnx == directory / "model.onnx" and (directory / "tokenizer_config.json").is_file()
    limit = folder_window_limit(directory) if ready else None
    if ready and limit is not None:
        folder = directory
    else:
        folder = assemble(
            model,
            onnx_file=onnx,
            tokenizer_file=tokenizer,
            sha256=sha,
            cache=cache,
            config_dir=directory,
        )
        limit = folder_window_limit(folder)
    return ModelFiles(
        folder=folder, sha256=sha, max_tokens=min(model.max_tokens, limit or model.max_tokens)
    )


def build_embedder(
    model: ModelDescription,
    model_path: str | None,
    *,
    force_hash: bool = False,
    allow_download: bool = True,
) -> Embedder:
    """A new embedder for ``model`` (uncached; see :func:`get_embedder`)."""
    if force_hash:
        return HashEmbedder(fallback_reason="RLM_EMBEDDER=hash is set")
    if model.source is SourceKind.BUILTIN:
        return HashEmbedder()
    cache = cache_dir()
    if model_path:
        files = resolve_local(model, Path(model_path).expanduser(), cache)
    elif model.source is SourceKind.BUNDLED:
        try:
            files = resolve_bundled(model, cache)
        except ModelUnavailable as exc:
            return HashEmbedder(fallback_reason=f"embedding model {model.name} unavailable: {exc}")
    else:
        files = ModelFiles(folder=None, sha256=model.sha256, max_tokens=model.max_tokens)
    device = choose()
    return OnnxEmbedder(
        model,
        files,
        cache=cache,
        allow_download=allow_download,
        providers=device.providers,
        device_notice=device.notice,
    )


def get_embedder(model: str | None = None, model_path: str | None = None) -> Embedder:
    """The process-wide embedder for ``model`` (default: ``RLM_MODEL``, then the bundled one).

    ``model_path`` (default: ``RLM_MODEL_PATH``) is a local ONNX folder for that
    model. ``RLM_EMBEDDER=hash`` forces the lexical fallback. Embedders are
    cached per (model, path) for the life of the process and shared by threads.
    Raises ConfigError for an unknown model name or a bad model path.
    """
    name = model or os.environ.get("RLM_MODEL", "").strip() or None
    path = model_path or os.environ.get("RLM_MODEL_PATH", "").strip() or None
    description = get_model(name) if name else default_model()
    force = forced_hash()
    key = (description.name, path, force, requested_device())
    with _lock:
        embedder = _embedders.get(key)
        if embedder is None:
            embedder = build_embedder(description, path, force_hash=force)
            _embedders[key] = embedder
        return embedder


def reset_embedders() -> None:
    """Forget cached embedders (tests, or after changing the environment)."""
    with _lock:
        _embedders.clear()
