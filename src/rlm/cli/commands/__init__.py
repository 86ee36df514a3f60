"""Command modules, imported only when their command runs.

Each module defines click commands and a ``register(root)`` function. The
root group knows which module holds which command name (``COMMAND_MODULES``)
and imports just that module, so ``rlm status`` never imports the loader,
the chunkers or anything that embeds.
"""

from __future__ import annotations

import importlib

import click

COMMAND_MODULES: dict[str, str] = {
    "init": "store_cmds",
    "status": "store_cmds",
    "reset": "store_cmds",
    "load": "buffers",
    "list": "buffers",
    "ls": "buffers",
    "show": "buffers",
    "delete": "buffers",
    "rm": "buffers",
    "add-buffer": "buffers",
    "export-buffers": "buffers",
    "peek": "inspect",
    "grep": "inspect",
    "chunk-indices": "inspect",
    "write-chunks": "inspect",
    "chunk": "chunk",
    "var": "context_cmds",
    "global": "context_cmds",
    "search": "search_cmd",
    "eval": "eval_cmd",
    "update-buffer": "agents_cmd",
    "update": "agents_cmd",
    "dispatch": "agents_cmd",
    "aggregate": "agents_cmd",
    "model": "model_cmd",
    "mcp": "mcp_cmd",
}


def load_command(name: str) -> click.Command | None:
    """Import the module that defines ``name`` and return that command."""
    module_name = COMMAND_MODULES.get(name)
    if module_name is None:
        return None
    module = importlib.import_module(f"rlm.cli.commands.{module_name}")
    holder = click.Group()
    module.register(holder)
    return holder.commands.get(name)


class LazyGroup(click.Group):
    """A root group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None:
            command = load_command(cmd_name)
        return command
