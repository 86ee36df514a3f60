"""Subprocesses are offline-safe: the real model loads and embeds with no network at all.

``tests/conftest.py`` forbids non-loopback connects in-process only; ``rlm``
run as a program could still reach out (a model download, a telemetry ping,
a Hugging Face lookup) and fall back silently. Here every ``rlm`` process runs

* in a new network namespace (``unshare -n``: only a down loopback) when the
  machine allows it, and always
* with a ``sitecustomize`` shim on ``PYTHONPATH`` that refuses and logs every
  non-loopback ``connect`` / ``connect_ex`` / ``getaddrinfo``,

with ``HOME`` pointing at an empty folder (a cold model cache). The test then
requires the *real* model, not the hash fallback: ``model doctor`` is ok, the
load's JSON ``model`` field, ``chunk status`` models and a hybrid search all
name it, and the shim logged zero network attempts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.reliability._support import RLM, make_text, rlm_env

MODEL = "all-MiniLM-L6-v2-int8"
SHIM = """
import ipaddress, os, socket

_LOG = os.environ["RLM_TEST_NET_LOG"]
with open(_LOG, "a") as _f:
    _f.write("shim loaded\\n")


def _local(host):
    if host in (None, "", "localhost") or isinstance(host, bytes) and host == b"localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse(what):
    with open(_LOG, "a") as f:
        f.write(f"network attempt: {what}\\n")
    raise OSError(f"network access refused by the test shim: {what}")


_connect, _connect_ex, _gai = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo


def connect(self, address):
    if isinstance(address, tuple) and not _local(address[0]):
        _refuse(f"connect {address!r}")
    return _connect(self, address)


def connect_ex(self, address):
    if isinstance(address, tuple) and not _local(address[0]):
        _refuse(f"connect_ex {address!r}")
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if not _local(host):
        _refuse(f"getaddrinfo {host!r}")
    return _gai(host, *args, **kwargs)


socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = (
    connect, connect_ex, getaddrinfo)
"""


def _netns_prefix() -> list[str]:
    """``unshare -n`` if this machine lets us create a network namespace, else nothing."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True)
    return [unshare, "-n"] if probe.returncode == 0 else []


def test_real_model_loads_and_embeds_without_network(tmp_path: Path) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SHIM)
    log = tmp_path / "net.log"
    home = tmp_path / "home"
    home.mkdir()
    env = rlm_env(home, RLM_TEST_NET_LOG=str(log), PYTHONPATH=str(shim))
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME", "FASTEMBED_CACHE_PATH"):
        env.pop(var, None)
    prefix = _netns_prefix()
    db = tmp_path / "offline.db"
    doc = tmp_path / "doc.txt"
    doc.write_bytes(make_text(30_000, seed=3))

    def rlm(*args: str) -> Any:
        done = subprocess.run(
            [*prefix, str(RLM), "--db-path", str(db), *args, "--format", "json"],
            env=env,
            capture_output=True,
            timeout=300,
        )
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
        return json.loads(done.stdout)

    doctor = rlm("model", "doctor")
    assert doctor["ok"] is True and doctor["semantic"] is True
    assert doctor["model"] == MODEL and doctor["fallback"]["active"] is False
    assert doctor["network_needed"] is False
    assert str(home) in doctor["cache_dir"]  # the cold cache, not the developer's

    rlm("init")
    loaded = rlm("load", str(doc), "--name", "doc")
    assert loaded["model"] == MODEL
    assert loaded["embedded_count"] == loaded["chunk_count"] > 10
    status = rlm("chunk", "status")
    assert [row["models"] for row in status["buffers"]] == [[MODEL]]
    found = rlm("search", "harbour lantern signal", "--mode", "semantic")
    assert found["model"] == MODEL and found["results"]
    assert all(r["semantic_score"] is not None for r in found["results"])

    lines = log.read_text().splitlines()
    assert "shim loaded" in lines  # the shim really ran inside the rlm processes
    assert [line for line in lines if line != "shim loaded"] == []
    print(f"offline run: {'unshare -n + ' if prefix else ''}socket shim, {len(lines)} processes")
