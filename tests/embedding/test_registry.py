from __future__ import annotations

import dataclasses
import json

import pytest

from rlm.embedding.registry import (
    DEFAULT_MODEL,
    FALLBACK_MODEL,
    MODELS,
    ModelDescription,
    Pooling,
    SourceKind,
    default_model,
    fingerprint,
    get_model,
)
from rlm.errors import ConfigError


def test_names_are_unique_and_one_default() -> None:
    names = [m.name.lower() for m in MODELS]
    assert len(names) == len(set(names))
    assert [m.name for m in MODELS if m.default] == [DEFAULT_MODEL]
    assert default_model().source is SourceKind.BUNDLED


def test_expected_entries() -> None:
    bundled = get_model(DEFAULT_MODEL)
    assert (bundled.dim, bundled.max_tokens, bundled.pooling) == (384, 256, Pooling.MEAN)
    assert bundled.sha256 == "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
    m3 = get_model("bge-m3")
    assert (m3.name, m3.dim, m3.max_tokens, m3.pooling) == ("BGE-M3", 1024, 8192, Pooling.CLS)
    assert get_model("baai/BGE-SMALL-en-v1.5").query_prefix.startswith("Represent this")
    fallback = get_model(FALLBACK_MODEL)
    assert fallback.source is SourceKind.BUILTIN
    assert fallback.name != "fallback-hash-v1"  # another hash than rlm-rs: another name


def test_unknown_name_lists_valid_ones() -> None:
    with pytest.raises(ConfigError) as info:
        get_model("no-such-model")
    assert "no-such-model" in info.value.message
    assert info.value.suggestion is not None
    for model in MODELS:
        assert model.name in info.value.suggestion


@pytest.mark.parametrize(
    "change",
    [
        {"dim": 0},
        {"max_tokens": 2},
        {"window_overlap": 200},
        {"sha256": "ABC"},
        {"onnx": None},
        {"name": " padded "},
        {"pooling": Pooling.NONE},
    ],
)
def test_invalid_descriptions_are_rejected(change: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="invalid model description"):
        dataclasses.replace(default_model(), **change)  # type: ignore[arg-type]


def test_downloadable_model_needs_a_source() -> None:
    with pytest.raises(ValueError, match="hf_repo"):
        dataclasses.replace(get_model("BGE-M3"), hf_repo=None)


def test_fingerprint_tracks_what_changes_vectors() -> None:
    model = default_model()
    base = fingerprint(model, model.sha256, 256)
    assert base.startswith(f"{DEFAULT_MODEL}:")
    assert base == fingerprint(model, model.sha256, 256)
    assert base != fingerprint(model, "0" * 64, 256)
    assert base != fingerprint(model, model.sha256, 128)
    assert base != fingerprint(dataclasses.replace(model, pooling=Pooling.CLS), model.sha256, 256)
    assert base != fingerprint(dataclasses.replace(model, window_overlap=16), model.sha256, 256)


def test_descriptions_are_json_able() -> None:
    for model in MODELS:
        data = model.to_dict()
        assert json.loads(json.dumps(data))["name"] == model.name
        assert isinstance(model, ModelDescription)
