"""Generate ``docs/cli.md`` from the commands' own ``--help`` texts.

The reference is never written by hand: ``python -m rlm.cli.docs > docs/cli.md``
rebuilds it, and a test fails when the committed file differs, so the docs
cannot drift from ``--help``.
"""

from __future__ import annotations

import click

from rlm.cli.commands import COMMAND_MODULES, load_command
from rlm.cli.main import cli

HEADER = """# rlm command reference

Generated from `rlm --help` by `python -m rlm.cli.docs > docs/cli.md`; do not edit by hand.
Global options (`--format`, `--db-path`, `--debug`, `-v`) are accepted anywhere on the line.
Exit codes: 0 success, 1 command error, 2 usage error.
"""


def _help(command: click.Command, path: list[str], parent: click.Context | None) -> str:
    ctx = click.Context(
        command, info_name=path[-1], parent=parent, max_content_width=100, terminal_width=100
    )
    return command.get_help(ctx)


def _walk(
    command: click.Command, path: list[str], parent: click.Context | None, out: list[str]
) -> None:
    title = " ".join(path)
    out.append(f"\n## {title}\n\n```\n{_help(command, path, parent)}\n```\n")
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1], parent=parent)
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                _walk(sub, [*path, name], ctx, out)


def render_cli_docs() -> str:
    out = [HEADER]
    # The root's own context_settings (``-h``, width 100), as ``rlm`` itself
    # uses; click caches each command's help option, so every path must agree.
    root_ctx = click.Context(cli, info_name="rlm", terminal_width=100, **cli.context_settings)
    out.append(f"\n## rlm\n\n```\n{cli.get_help(root_ctx)}\n```\n")
    aliases = {"ls": "list", "rm": "delete", "update": "update-buffer"}
    for name in sorted(COMMAND_MODULES):
        if name in aliases:
            continue
        command = load_command(name)
        if command is not None:
            _walk(command, ["rlm", name], root_ctx, out)
    out.append(
        "\n## Aliases\n\n"
        + "".join(
            f"- `rlm {alias}` = `rlm {target}`\n" for alias, target in sorted(aliases.items())
        )
    )
    return "".join(out)


if __name__ == "__main__":
    click.echo(render_cli_docs(), nl=False)
