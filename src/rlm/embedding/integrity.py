"""sha256 checks of model files, remembered by (path, size, mtime).

Hashing the 23 MB default model costs ~50 ms; doing it on every ``rlm search``
would be a visible tax, so the digest of each file is recorded in a small JSON
file in the model cache and trusted while the file's size and mtime are
unchanged. The ledger holds digests, not verdicts: a replaced or repaired file
has a new stamp and is hashed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path

_LEDGER_NAME = "verified.json"
_lock = threading.Lock()


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _read_ledger(ledger: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(ledger.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_ledger(ledger: Path, data: dict[str, dict[str, str]]) -> None:
    """Write atomically (temp file + replace) so concurrent runs never see half a file."""
    tmp: str | None = None
    try:
        ledger.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=ledger.parent, prefix=".verified-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.replace(tmp, ledger)
    except OSError:
        # A read-only cache only costs a re-hash next time.
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def file_sha256(path: Path, cache: Path | None) -> str:
    """The sha256 of ``path``, served from the ledger in ``cache`` when still valid."""
    key = str(path.resolve())
    stamp = _stamp(path)
    ledger = cache / _LEDGER_NAME if cache is not None else None
    if ledger is not None:
        entry = _read_ledger(ledger).get(key)
        if entry and entry.get("stamp") == stamp and entry.get("sha256"):
            return entry["sha256"]
    digest = sha256_file(path)
    if ledger is not None:
        with _lock:
            data = _read_ledger(ledger)
            data[key] = {"stamp": stamp, "sha256": digest}
            _write_ledger(ledger, data)
    return digest


def verify(path: Path, expected: str, cache: Path | None) -> tuple[bool, str]:
    """(matches, actual sha256) for ``path`` against ``expected``."""
    actual = file_sha256(path, cache)
    return actual == expected, actual
