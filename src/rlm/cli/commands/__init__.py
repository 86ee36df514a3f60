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
    "vacuum": "store_cmds",
    "store": "store_cmds",
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
    "runs": "runs_cmd",
    "model": "model_cmd",
    "mcp": "mcp_cmd",
    "watch": "watch_cmd",
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

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """click's lookup, plus "Did you mean" for a mistyped command (``rlm serch``).

        click suggests close names for options and for subcommands of ``chunk``
        but not for top-level commands of a lazy group; difflib does it here.
        """
        name = click.utils.make_str(args[0]) if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.6)
            hint = ""
            if close:
                hint = " Did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
            ctx.fail(f"No such command '{name}'.{hint}")
        return super().resolve_command(ctx, args)
