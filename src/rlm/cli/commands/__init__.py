"""Command modules; each registers one group of commands on the root group."""

from __future__ import annotations

import click

_registered = False


def register(root: click.Group) -> None:
    global _registered
    if _registered:
        return
    _registered = True
    from rlm.cli.commands import buffers, chunk, context_cmds, inspect, store_cmds

    for module in (store_cmds, buffers, inspect, chunk, context_cmds):
        module.register(root)
    _register_optional(root)


def _register_optional(root: click.Group) -> None:
    """Command groups that land with later issues register themselves here."""
    import importlib

    for name in ("search_cmd", "model_cmd", "agents_cmd", "mcp_cmd", "eval_cmd"):
        try:
            module = importlib.import_module(f"rlm.cli.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"rlm.cli.commands.{name}":
                raise
            continue
        module.register(root)
