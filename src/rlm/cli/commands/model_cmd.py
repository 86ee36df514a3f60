"""rlm model list | info | doctor: the embedding models rlm knows and whether they work."""

from __future__ import annotations

from typing import Any

import click

from rlm.cli.render import Output


@click.group()
def model() -> None:
    """Embedding models: what is registered, and whether the default works offline."""


@model.command(name="list")
def list_cmd() -> Output:
    """Registered models (the default first) and whether each is usable offline."""
    from rlm.embedding.doctor import list_models

    rows = list_models()

    def text() -> str:
        width = max(len(r["name"]) for r in rows) + 2
        lines = [
            f" {'Name':<{width}} {'Dim':<5} {'Tokens':<7} {'Status':<22} Licence",
            "-" * (width + 50),
        ]
        for r in rows:
            mark = "*" if r["default"] else " "
            tokens = r["max_tokens"] if r["semantic"] else "-"
            lines.append(
                f"{mark}{r['name']:<{width}} {r['dim']:<5} {tokens!s:<7}"
                f" {r['status']:<22} {r['licence']}"
            )
        lines.append("")
        lines.append("* default. Use --model NAME or RLM_MODEL; 'rlm model info NAME' for details.")
        return "\n".join(lines) + "\n"

    return Output(data=rows, text=text)


@model.command()
@click.argument("name", required=False)
def info(name: str | None) -> Output:
    """Everything known about one model (default: the bundled one)."""
    from rlm.embedding.doctor import model_info

    data = model_info(name)
    return Output(data=data, text=lambda: _key_values(data))


@model.command()
@click.option("--model", "model_name", envvar="RLM_MODEL", help="Check this model instead.")
@click.option("--model-path", envvar="RLM_MODEL_PATH", help="Check a local ONNX folder.")
def doctor(model_name: str | None, model_path: str | None) -> Output:
    """Prove the embedding path works offline: files, checksum, session, a probe embedding."""
    from rlm.embedding.doctor import doctor as run_doctor

    report = run_doctor(model_name, model_path)

    def text() -> str:
        lines = [
            f"Model:       {report['model']} ({report['dimensions']}-d,"
            f" max {report['max_tokens']} tokens per window)",
            f"Embedder:    {report['embedder']}"
            f"{'' if report['semantic'] else ' (hash fallback: lexical only)'}",
            f"Cache:       {report['cache_dir']}",
            f"Threads:     {report['threads']} of {report['cores']} cores",
            "",
        ]
        for check in report["checks"]:
            lines.append(f"  {'ok ' if check['ok'] else 'FAIL'} {check['name']}: {check['detail']}")
        lines.append("")
        lines.append(
            "All checks passed: embedding works offline."
            if report["ok"]
            else "Some checks failed; rlm will fall back to the hash embedder."
        )
        return "\n".join(lines) + "\n"

    return Output(data=report, text=text, exit_code=0 if report["ok"] else 1)


def _key_values(data: dict[str, Any], indent: str = "") -> str:
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            lines.append(_key_values(value, indent + "  ").rstrip("\n"))
        else:
            lines.append(f"{indent}{key}: {value}")
    return "\n".join(lines) + "\n"


def register(root: click.Group) -> None:
    root.add_command(model)
