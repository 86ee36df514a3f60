"""Option bundles shared by several commands (one definition each)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from rlm.defaults import CHUNKERS, DEFAULT_CHUNK_SIZE, DEFAULT_CHUNKER, DEFAULT_OVERLAP
from rlm.embedding.base import Embedder

F = TypeVar("F", bound=Callable[..., Any])


def chunk_options(func: F) -> F:
    """``--chunker/--strategy``, ``--chunk-size``, ``--overlap``, ``--language``."""
    func = click.option(
        "--language",
        metavar="LANG",
        help="Code chunker language (default: from the file extension).",
    )(func)
    func = click.option(
        "--overlap",
        type=click.IntRange(min=0),
        default=DEFAULT_OVERLAP,
        show_default=True,
        help="Overlap between consecutive chunks, in bytes.",
    )(func)
    func = click.option(
        "--chunk-size",
        type=click.IntRange(min=1),
        default=DEFAULT_CHUNK_SIZE,
        show_default=True,
        help="Target chunk size in bytes of UTF-8 (max 50000).",
    )(func)
    func = click.option(
        "-c",
        "--chunker",
        "--strategy",
        "chunker",
        default=DEFAULT_CHUNKER,
        show_default=True,
        type=click.Choice(CHUNKERS, case_sensitive=False),
        help="Chunking strategy.",
    )(func)
    return func


def model_options(func: F) -> F:
    """``--model`` and ``--model-path`` for commands that embed."""
    func = click.option(
        "--model-path",
        envvar="RLM_MODEL_PATH",
        metavar="DIR",
        help="A local ONNX model folder [env RLM_MODEL_PATH].",
    )(func)
    func = click.option(
        "--model",
        envvar="RLM_MODEL",
        metavar="NAME",
        help="Embedding model (see 'rlm model list') [env RLM_MODEL].",
    )(func)
    return func


def embedder_factory(model: str | None, model_path: str | None) -> Callable[[], Embedder]:
    """Defer the model import and load until something actually embeds."""

    def make() -> Embedder:
        from rlm.embedding import get_embedder

        return get_embedder(model=model, model_path=model_path)

    return make


def stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def progress_bar(label: str, unit_scale: str = "") -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing a bar on stderr, or None when stderr is not a terminal."""
    if not stderr_is_terminal():
        yield None
        return
    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = click.progressbar(
                length=max(total, 1), label=label, file=sys.stderr, show_eta=True, show_percent=True
            )
            bar.__enter__()
            state["bar"] = bar
            state["done"] = 0
        step = done - state["done"]
        if step > 0:
            bar.update(step)
            state["done"] = done

    try:
        yield update
    finally:
        bar = state.get("bar")
        if bar is not None:
            bar.__exit__(None, None, None)
