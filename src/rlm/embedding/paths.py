"""Where model files live: the persistent model cache and files inside packages.

The cache is a per-user directory that survives reboots (never the temp dir:
fastembed's temp-dir default made models vanish and re-download, fastembed
#569). Bundled files are found with ``find_spec`` so that locating the 23 MB
model never imports the package that carries it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from rlm.embedding.registry import BundledFile


def cache_dir() -> Path:
    """The directory rlm keeps model files in (not created here).

    ``RLM_CACHE_DIR`` names it directly; otherwise it is ``rlm/models`` under the
    platform's user cache directory (``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux).
    """
    override = os.environ.get("RLM_CACHE_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    return _user_cache_root() / "rlm" / "models"


def _user_cache_root() -> Path:
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA", "").strip()
        return Path(local) if local else Path.home() / "AppData" / "Local"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"


def package_dir(package: str) -> Path | None:
    """The directory of an installed top-level package, without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def locate(bundled: BundledFile) -> Path | None:
    """The installed path of a bundled file, or None if its package is missing."""
    root = package_dir(bundled.package)
    if root is None:
        return None
    path = root / bundled.path
    return path if path.is_file() else None


def module_available(name: str) -> bool:
    """Whether ``import name`` could work, checked without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
