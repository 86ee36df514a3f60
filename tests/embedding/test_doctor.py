from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlm.embedding import integrity
from rlm.embedding.doctor import doctor, list_models, model_info
from rlm.embedding.registry import MODELS
from rlm.errors import ConfigError


def test_doctor_proves_the_default_path() -> None:
    report = doctor()
    assert report["ok"], report["checks"]
    names = [check["name"] for check in report["checks"]]
    for expected in ("model file", "tokenizer", "session loads", "probe embedding"):
        assert expected in names
    assert report["max_tokens"] == 256 and report["dimensions"] == 384
    assert report["network_needed"] is False
    assert report["fallback"] == {"active": False, "reason": None, "forced_by_env": False}
    assert report["threads"] >= 1
    json.dumps(report)


def test_doctor_reports_an_uncached_catalogue_model_without_downloading() -> None:
    report = doctor("BAAI/bge-small-en-v1.5")
    assert report["ok"] is False
    failed = [c for c in report["checks"] if not c["ok"]]
    assert failed and "not in the cache" in failed[0]["detail"]


def test_list_and_info() -> None:
    listed = list_models()
    assert [m["name"] for m in listed] == [m.name for m in MODELS]
    assert listed[0]["default"] and listed[0]["status"] == "installed"
    info = model_info()
    assert info["onnx"]["installed_path"].endswith("model.onnx")
    assert info["fingerprint"].startswith("all-MiniLM-L6-v2-int8:")
    json.dumps(listed)
    json.dumps(info)
    with pytest.raises(ConfigError):
        model_info("nope")


def test_sha256_is_remembered_by_path_size_and_mtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(b"model bytes")
    first = integrity.file_sha256(path, tmp_path)
    monkeypatch.setattr(integrity, "sha256_file", lambda p: pytest.fail("re-hashed"))
    assert integrity.file_sha256(path, tmp_path) == first
    monkeypatch.undo()
    path.write_bytes(b"other bytes, other size")
    assert integrity.file_sha256(path, tmp_path) != first
