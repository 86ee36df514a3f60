"""var and global: named string values kept in the store (rlm-rs's context row)."""

from __future__ import annotations

import json

import click

from rlm.cli.context import AppContext, pass_app
from rlm.cli.render import Output

_SCOPES = {"var": ("variables", "Variable", "variable"), "global": ("globals", "Global", "global")}


def _debug_repr(value: str) -> str:
    """Rust's ``String("...")`` debug rendering, which rlm-rs printed."""
    return "String(" + json.dumps(value, ensure_ascii=False) + ")"


def _make(kind: str) -> click.Command:
    scope, title, word = _SCOPES[kind]

    @click.command(name=kind, help=f"Get, set (with VALUE) or delete (-d) a {word}.")
    @click.argument("name")
    @click.argument("value", required=False)
    @click.option("-d", "--delete", "remove", is_flag=True, help=f"Delete the {word}.")
    @pass_app
    def command(app: AppContext, name: str, value: str | None, remove: bool) -> Output:
        store = app.store()
        if remove:
            existed = store.delete_value(scope, name)
            return Output(
                data={"deleted": existed, "name": name, "scope": scope},
                text=f"Deleted {word}: {name}\n",
            )
        if value is not None:
            store.set_value(scope, name, value)
            return Output(
                data={"name": name, "scope": scope, "value": value},
                text=f"Set {word}: {name} = {value}\n",
            )
        found = store.get_value(scope, name)
        if found is None:
            return Output(
                data={"found": False, "name": name, "type": None, "value": None},
                text=f"{title} '{name}' not found\n",
            )
        shown = str(found.get("value", ""))
        return Output(data=found, text=f"{name} = {_debug_repr(shown)}\n")

    return command


def register(root: click.Group) -> None:
    root.add_command(_make("var"))
    root.add_command(_make("global"))
