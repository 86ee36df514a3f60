"""``rlm.mcp`` is a front end over ``rlm.ops``: it imports nothing from ``rlm.cli``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

MCP = Path(__file__).parents[2] / "src" / "rlm" / "mcp"


def imported_modules(path: Path) -> set[str]:
    """Every module an ``import`` or ``from ... import`` names, at any depth of the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_of_rlm_mcp_imports_rlm_cli() -> None:
    files = sorted(MCP.glob("*.py"))
    assert {f.name for f in files} >= {"__init__.py", "server.py", "access.py", "output.py"}
    offenders = {
        f.name: sorted(m for m in imported_modules(f) if m == "rlm.cli" or m.startswith("rlm.cli."))
        for f in files
    }
    assert {name: found for name, found in offenders.items() if found} == {}
    assert not any("importlib" in imported_modules(f) for f in files)


def test_importing_the_server_loads_no_cli_module() -> None:
    script = (
        "import sys, rlm.mcp.server, rlm.mcp.http\n"
        "print(sorted(m for m in sys.modules if m.startswith('rlm.cli')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
