"""Which ONNX Runtime execution provider embeds: ``--device`` / ``RLM_DEVICE``.

Why a separate step: the CPU provider ships with every onnxruntime, the others
only with builds made for them (``onnxruntime-gpu`` for CUDA and TensorRT,
``onnxruntime-rocm``, ``onnxruntime-directml``, ``onnxruntime-openvino``; CoreML
is in the macOS wheels). A user asking for a device the installed build lacks
gets the CPU and one line saying so, never a failed load. ``auto`` takes the
first accelerator present, else the CPU, quietly.

The selection is pure (:func:`select_providers` takes the list onnxruntime
reports), so it is unit-tested without a GPU; :func:`available_providers`
imports onnxruntime, and is only called when a device other than ``cpu`` is
asked for, so the default path costs nothing extra.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from rlm.defaults import DEFAULT_DEVICE, DEVICES
from rlm.errors import ConfigError

CPU = "CPUExecutionProvider"
PROVIDERS: dict[str, tuple[str, ...]] = {
    "cpu": (CPU,),
    "cuda": ("CUDAExecutionProvider",),
    "tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider"),
    "rocm": ("ROCMExecutionProvider",),
    "coreml": ("CoreMLExecutionProvider",),
    "directml": ("DmlExecutionProvider",),
    "openvino": ("OpenVINOExecutionProvider",),
}
"""Device name -> the providers it asks for, best first (the CPU is always appended)."""
AUTO_ORDER = ("cuda", "rocm", "coreml", "directml")
"""What ``auto`` tries, in order (TensorRT and OpenVINO need tuning: ask for them by name)."""
PACKAGES = {
    "cuda": "onnxruntime-gpu",
    "tensorrt": "onnxruntime-gpu",
    "rocm": "onnxruntime-rocm",
    "directml": "onnxruntime-directml",
    "openvino": "onnxruntime-openvino",
    "coreml": "onnxruntime (macOS wheels)",
}


@dataclass(frozen=True)
class DeviceChoice:
    device: str
    """The device that will run: the one asked for, or ``cpu`` after a fallback."""
    providers: tuple[str, ...]
    """Handed to the ONNX session, best first, the CPU last."""
    notice: str | None = None
    """One line for the user when the device asked for is missing."""


def requested_device(explicit: str | None = None) -> str:
    """``explicit`` or ``RLM_DEVICE`` or ``cpu``, checked against :data:`DEVICES`."""
    raw = explicit or os.environ.get("RLM_DEVICE", "").strip() or DEFAULT_DEVICE
    device = raw.strip().lower()
    if device not in DEVICES:
        raise ConfigError(
            f"unknown device: {raw!r}",
            suggestion="Use one of: " + ", ".join(DEVICES) + " (--device or RLM_DEVICE)",
        )
    return device


def select_providers(device: str, available: Sequence[str]) -> DeviceChoice:
    """The providers for ``device`` given what the installed onnxruntime offers."""
    if device == "cpu":
        return DeviceChoice("cpu", (CPU,))
    if device == "auto":
        for name in AUTO_ORDER:
            if PROVIDERS[name][0] in available:
                return select_providers(name, available)
        return DeviceChoice("cpu", (CPU,))
    wanted = tuple(p for p in PROVIDERS[device] if p in available)
    if wanted and wanted[0] == PROVIDERS[device][0]:
        return DeviceChoice(device, (*wanted, CPU))
    have = ", ".join(p for p in available if p != CPU) or "CPU only"
    notice = (
        f"device '{device}' is not available in this onnxruntime ({have}); embedding on"
        f" the CPU. Install {PACKAGES.get(device, 'an onnxruntime build with it')}"
        " in place of onnxruntime to use it."
    )
    return DeviceChoice("cpu", (CPU,), notice)


def available_providers() -> list[str]:
    """What the installed onnxruntime can run (imports onnxruntime)."""
    try:
        import onnxruntime
    except ImportError:
        return [CPU]
    return list(onnxruntime.get_available_providers())


def choose(explicit: str | None = None) -> DeviceChoice:
    """The device for this process (imports onnxruntime only for a non-CPU request)."""
    device = requested_device(explicit)
    if device == "cpu":
        return DeviceChoice("cpu", (CPU,))
    return select_providers(device, available_providers())
