"""--device / RLM_DEVICE: provider selection and the CPU fallback (no GPU needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rlm.embedding import devices, get_embedder, reset_embedders
from rlm.embedding.devices import CPU, requested_device, select_providers
from rlm.errors import ConfigError
from tests.conftest import CliResult

CUDA = "CUDAExecutionProvider"


def test_cpu_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert requested_device() == "cpu"
    monkeypatch.setenv("RLM_DEVICE", "CUDA")
    assert requested_device() == "cuda"
    assert requested_device("rocm") == "rocm"  # the flag wins over the variable


def test_unknown_device_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLM_DEVICE", "tpu")
    with pytest.raises(ConfigError) as err:
        requested_device()
    assert "cuda" in (err.value.suggestion or "")


def test_present_device_runs_first_with_cpu_behind() -> None:
    choice = select_providers("cuda", [CUDA, CPU])
    assert (choice.device, choice.providers, choice.notice) == ("cuda", (CUDA, CPU), None)
    trt = select_providers("tensorrt", ["TensorrtExecutionProvider", CUDA, CPU])
    assert trt.providers == ("TensorrtExecutionProvider", CUDA, CPU)


def test_missing_device_falls_back_to_cpu_with_one_line() -> None:
    choice = select_providers("cuda", [CPU])
    assert choice.device == "cpu" and choice.providers == (CPU,)
    assert choice.notice is not None and "\n" not in choice.notice
    assert "'cuda'" in choice.notice and "onnxruntime-gpu" in choice.notice
    # TensorRT without its own provider is not TensorRT, even if CUDA is there
    assert select_providers("tensorrt", [CUDA, CPU]).device == "cpu"


def test_auto_takes_the_first_accelerator_or_cpu_quietly() -> None:
    assert select_providers("auto", ["ROCMExecutionProvider", CPU]).device == "rocm"
    assert select_providers("auto", [CUDA, "ROCMExecutionProvider", CPU]).device == "cuda"
    quiet = select_providers("auto", [CPU])
    assert (quiet.device, quiet.notice) == ("cpu", None)


def test_the_model_gets_the_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real selection path: this onnxruntime has no CUDA, so the model falls back."""
    if CUDA in devices.available_providers():
        pytest.fail("this test assumes a CPU-only onnxruntime (the CI machine's)")
    monkeypatch.setenv("RLM_DEVICE", "cuda")
    reset_embedders()
    try:
        embedder = get_embedder()
        assert getattr(embedder, "providers", None) == [CPU]
        assert "not available" in (getattr(embedder, "device_notice", None) or "")
        vector = embedder.embed_query("lighthouse keeper")
        assert vector.shape == (embedder.dimensions,)
    finally:
        reset_embedders()


def test_cli_device_flag_warns_once(
    cli: Callable[..., CliResult], isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RLM_DEVICE", "cpu")  # the flag sets it; restored after the test
    reset_embedders()
    try:
        (isolated_env / "a.md").write_text("The lighthouse keeper logs ships.\n", encoding="utf-8")
        assert cli("init").code == 0
        loaded = cli("load", "a.md", "--device", "cuda")
        assert loaded.code == 0, loaded.err
        assert loaded.err.count("device 'cuda' is not available") == 1
        bad = cli("search", "ships", "--device", "tpu")
        assert bad.code == 2
    finally:
        reset_embedders()
