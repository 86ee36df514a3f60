"""The promise of the README set-up: real semantic embedding, offline, out of the box.

Runs the installed ``rlm`` command in a subprocess whose Python refuses every
non-loopback socket (a ``sitecustomize`` shim), loads real documents with the
default transformer model (not the fallback) and checks that a paraphrase
sharing no word with the right document finds it first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = {
    "lighthouse.txt": (
        "The lighthouse on the northern point turns its beam once every twelve seconds. "
        "Captains who see that rhythm at night know which headland is ahead and steer "
        "clear of the reef below the cliffs."
    ),
    "bakery.txt": (
        "The bakery opens at five. Its sourdough starter is fed with rye flour every "
        "evening, left to rise overnight and folded into the dough before sunrise."
    ),
    "nets.txt": (
        "When a fishing net tears, the mender cuts away the damaged meshes and ties new "
        "ones row by row with sheet bends, each knot pulled tight against a wooden gauge."
    ),
    "budget.txt": (
        "The council budget sets aside money for resurfacing the coast road, replacing "
        "street lamps and a grant for the volunteer lifeboat crew."
    ),
}
# Shares no word (not even a stop word) with any document above.
PARAPHRASE = "What beacon warns mariners about submerged dangers after dark?"

NO_NETWORK_SHIM = """
import ipaddress, socket
_real = socket.socket.connect
def _guard(self, address):
    host = address[0] if isinstance(address, tuple) and address else None
    if host not in (None, "", "localhost"):
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise OSError("network disabled for this test: " + repr(address))
    return _real(self, address)
socket.socket.connect = _guard
"""


def _words(text: str) -> set[str]:
    return {w.strip(".,?").lower() for w in text.split()}


@pytest.fixture
def offline_env(tmp_path: Path) -> dict[str, str]:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(NO_NETWORK_SHIM, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RLM_")}
    env["PYTHONPATH"] = str(shim)
    env["HF_HUB_OFFLINE"] = "0"  # prove we never try the hub, rather than being told not to
    return env


def _rlm(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("rlm")
    return subprocess.run(
        [str(exe), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_paraphrase_finds_the_right_document_offline(
    tmp_path: Path, offline_env: dict[str, str]
) -> None:
    for text in DOCS.values():
        assert not (_words(PARAPHRASE) & _words(text))
    for name, text in DOCS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert _rlm(["init"], tmp_path, offline_env).returncode == 0
    for name in DOCS:
        done = _rlm(["--format", "json", "load", name], tmp_path, offline_env)
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        assert data["embedded_count"] == data["chunk_count"] == 1
        assert data["model"] == "all-MiniLM-L6-v2-int8"
        assert "fallback" not in done.stderr.lower()
    status = json.loads(_rlm(["--format", "json", "chunk", "status"], tmp_path, offline_env).stdout)
    assert {m for b in status["buffers"] for m in b["models"]} == {"all-MiniLM-L6-v2-int8"}
    for mode in ("semantic", "hybrid"):
        found = _rlm(
            ["--format", "json", "search", PARAPHRASE, "--mode", mode], tmp_path, offline_env
        )
        assert found.returncode == 0, found.stderr
        results = json.loads(found.stdout)["results"]
        assert results, f"{mode}: no results"
        assert results[0]["buffer_name"] == "lighthouse.txt", (mode, results)
