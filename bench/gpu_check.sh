#!/usr/bin/env bash
# Tokens per second of the bundled embedding model on every ONNX Runtime execution
# provider this machine has (CPU always; CUDA, ROCm, CoreML, DirectML... when the
# installed onnxruntime build offers them). Run as-is on a GPU machine:
#
#   pip uninstall -y onnxruntime && pip install -e '.[gpu]'   # CUDA build
#   bash bench/gpu_check.sh            # default: 400 KB of text
#   bash bench/gpu_check.sh 2000       # KB of text per device
#
# Each device runs in its own process (RLM_DEVICE=...), after one warm-up batch,
# on the same text; the last column compares with the CPU in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
KB="${1:-400}"

"$PY" - "$KB" <<'PYEOF'
import os
import subprocess
import sys

from rlm.embedding.devices import AUTO_ORDER, PROVIDERS, available_providers

kb = int(sys.argv[1])
have = available_providers()
devices = ["cpu"] + [d for d in (*AUTO_ORDER, "tensorrt", "openvino") if PROVIDERS[d][0] in have]
print(f"onnxruntime providers: {', '.join(have)}")
print(f"{'device':<10} {'tokens/s':>10} {'KB/s':>8} {'vs cpu':>7}")
child = r'''
import sys, time
from rlm.embedding import get_embedder
kb = int(sys.argv[1])
line = "The lighthouse keeper logged every ship that passed the reef at night. "
text = (line * (kb * 1024 // len(line) + 1))[: kb * 1024]
chunks = [text[i : i + 3000] for i in range(0, len(text), 3000)]
emb = get_embedder()
if getattr(emb, "device_notice", None):
    print("FALLBACK", emb.device_notice, file=sys.stderr)
emb.embed_documents(chunks[:8])  # warm-up: session creation, first allocation
start = time.perf_counter()
emb.embed_documents(chunks)
seconds = time.perf_counter() - start
tokens = sum(emb.count_tokens(chunks) or [])
print(tokens / seconds, len(text) / 1024 / seconds)
'''
base = None
for device in devices:
    env = dict(os.environ, RLM_DEVICE=device)
    env.pop("RLM_EMBEDDER", None)
    out = subprocess.run(
        [sys.executable, "-c", child, str(kb)], env=env, capture_output=True, text=True
    )
    if out.returncode != 0 or "FALLBACK" in out.stderr:
        print(f"{device:<10} {'failed':>10}  {out.stderr.strip().splitlines()[-1:]}")
        continue
    tps, kbs = (float(x) for x in out.stdout.split())
    base = base or tps
    print(f"{device:<10} {tps:>10.0f} {kbs:>8.1f} {tps / base:>6.2f}x")
PYEOF
