"""Commands that do not embed must start fast: no numpy/onnxruntime on their path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("numpy", "onnxruntime", "fastembed", "tokenizers", "tree_sitter")


@pytest.mark.parametrize("argv", [["--help"], ["status"], ["chunk", "get", "1"], ["list"]])
def test_light_commands_import_nothing_heavy(argv: list[str], tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from rlm.cli.main import run\n"
        f"run({argv!r})\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    subprocess.run(
        [sys.executable, "-c", "from rlm.cli.main import run; run(['init'])"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "HEAVY="
