"""Option bundles shared by several commands (one definition each)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from rlm.defaults import CHUNKERS, DEFAULT_CHUNK_SIZE, DEFAULT_CHUNKER, DEFAULT_OVERLAP, DEVICES
from rlm.embedding.base import Embedder
from rlm.io import DEFAULT_MAX_FILE_SIZE

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


def max_file_size_option(func: F) -> F:
    """``--max-file-size``: the per-file read limit, the same for load and watch."""
    return click.option(
        "--max-file-size",
        type=click.IntRange(min=1),
        default=DEFAULT_MAX_FILE_SIZE,
        show_default=True,
        help="Refuse files larger than this many bytes.",
    )(func)


def _set_device(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """``--device`` travels as ``RLM_DEVICE``: the embedder and any background worker read it."""
    del ctx, param
    if value:
        os.environ["RLM_DEVICE"] = value.lower()


def model_options(func: F) -> F:
    """``--model``, ``--model-path`` and ``--device`` for commands that embed."""
    func = click.option(
        "--device",
        type=click.Choice(DEVICES, case_sensitive=False),
        expose_value=False,
        callback=_set_device,
        help="ONNX Runtime device: cpu (default), auto (first accelerator present), cuda,"
        " rocm, coreml, directml, openvino, tensorrt; a missing one falls back to the CPU"
        " with a warning [env RLM_DEVICE].",
    )(func)
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

        embedder = get_embedder(model=model, model_path=model_path)
        notice = getattr(embedder, "device_notice", None)
        if notice and notice not in _said:
            _said.add(notice)
            click.echo(f"Warning: {notice}", err=True)
        return embedder

    return make


_said: set[str] = set()
"""Device notices already printed by this process (the fallback is said once)."""


def stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


PROGRESS_AFTER = 2.0
"""Seconds before the first plain progress line: quick jobs stay silent."""
PROGRESS_EVERY = 10.0
"""Seconds between plain progress lines (a line also comes at each 10 %)."""
_BYTE_LABELS = frozenset({"Storing", "Loading", "Loading files", "Updating"})
"""Phases whose progress counts bytes (the others count chunks, or :data:`_QUERY_LABELS`)."""
_QUERY_LABELS = frozenset({"Embedding queries", "Searching"})
"""Phases whose progress counts queries (``rlm eval``)."""


def _env_seconds(name: str, default: float) -> float:
    """``RLM_PROGRESS_AFTER``/``RLM_PROGRESS_EVERY``: tests and impatient logs set them."""
    import os

    try:
        return max(0.0, float(os.environ.get(name, default)))
    except ValueError:
        return default


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _amount(count: float, in_bytes: bool) -> str:
    if in_bytes:
        from rlm.cli.render import human_size

        return human_size(int(count))
    return f"{count:.1f}" if 0 < count < 10 and count != int(count) else f"{count:.0f}"


START_LINE_MIN = 200
"""Chunk jobs this large announce themselves at once (the first estimate needs a batch)."""


class PlainProgress:
    """Progress as plain lines on stderr, for logs, CI and agents (pip/cargo style).

    A terminal gets click's bar; anything else used to get nothing for minutes.
    Here: a start line for big chunk jobs (with ``hint``), then nothing for the
    first :data:`PROGRESS_AFTER` seconds, then a line every
    :data:`PROGRESS_EVERY` seconds or 10 %, whichever comes first, each with
    the elapsed time, the rate and the time left (the first one is the
    estimate). The phase ends with its elapsed time and rate, in a terminal
    too, as soon as it completes (or "stopped at" if it failed).
    """

    def __init__(self, label: str, *, hint: str | None = None, lines: bool = True) -> None:
        self.label = label
        self.hint = hint
        self.lines = lines
        self.in_bytes = label in _BYTE_LABELS
        self.unit = "" if self.in_bytes else " queries" if label in _QUERY_LABELS else " chunks"
        self.after = _env_seconds("RLM_PROGRESS_AFTER", PROGRESS_AFTER)
        self.every = _env_seconds("RLM_PROGRESS_EVERY", PROGRESS_EVERY)
        self.started = time.monotonic()
        self.done = 0
        self.total = 0
        self.printed = 0
        self.announced = False
        self.finished = False
        self.last_time = 0.0
        self.last_bucket = -1

    def _write(self, text: str) -> None:
        try:
            sys.stderr.write(f"{self.label}: {text}\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # a closed stderr must not fail the job

    def _amount(self, count: float) -> str:
        return _amount(count, self.in_bytes)

    def update(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if total <= 0 or self.finished:
            return
        now = time.monotonic()
        elapsed = now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        if done >= total:
            self.finished = True
            if self.printed or elapsed >= self.after:
                self._write(
                    f"{self._amount(total)}{self.unit} done in {_duration(elapsed)}"
                    f" ({self._amount(rate)}{self.unit}/s)"
                )
            return
        if not self.lines:
            return
        if not self.announced and not self.in_bytes and total >= START_LINE_MIN:
            self.announced = True
            hint = f" ({self.hint})" if self.hint else ""
            self._write(f"starting {total}{self.unit}; an estimate follows the first batch{hint}")
        if elapsed < self.after or done == 0:
            return
        bucket = done * 10 // total
        if self.printed and now - self.last_time < self.every and bucket <= self.last_bucket:
            return
        left = (total - done) / rate if rate > 0 else 0.0
        self._write(
            f"{self._amount(done)}/{self._amount(total)}{self.unit} ({done * 100 // total}%),"
            f" {_duration(elapsed)} elapsed, {self._amount(rate)}{self.unit}/s,"
            f" about {_duration(left)} left"
        )
        self.printed += 1
        self.last_time = now
        self.last_bucket = bucket

    def finish(self, error: BaseException | None) -> None:
        """After a failure or interrupt: how far the phase got (success said it already)."""
        elapsed = time.monotonic() - self.started
        if self.finished or self.total <= 0 or error is None:
            return
        if self.printed or self.announced or elapsed >= self.after:
            self._write(
                f"stopped at {self._amount(self.done)}/{self._amount(self.total)}{self.unit}"
                f" after {_duration(elapsed)}"
            )


@contextmanager
def progress_bar(
    label: str, unit_scale: str = "", *, hint: str | None = None
) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback: a bar on a terminal, plain lines otherwise (see PlainProgress).

    Either way the phase ends with a line giving its elapsed time and rate
    (when it lasted long enough to be worth one).
    """
    del unit_scale
    terminal = stderr_is_terminal()
    plain = PlainProgress(label, hint=hint, lines=not terminal)
    state: dict[str, Any] = {}

    def close_bar() -> None:
        bar = state.pop("bar", None)
        if bar is not None:
            bar.__exit__(None, None, None)

    def update(done: int, total: int) -> None:
        if terminal and not state.get("closed"):
            bar = state.get("bar")
            if bar is None:
                bar = click.progressbar(
                    length=max(total, 1),
                    label=label,
                    file=sys.stderr,
                    show_eta=True,
                    show_percent=True,
                )
                bar.__enter__()
                state["bar"] = bar
                state["done"] = 0
            step = done - state["done"]
            if step > 0:
                bar.update(step)
                state["done"] = done
            if total > 0 and done >= total:  # close it now: the final line goes below it
                close_bar()
                state["closed"] = True
        plain.update(done, total)

    error: BaseException | None = None
    try:
        yield update
    except BaseException as exc:
        error = exc
        raise
    finally:
        close_bar()
        plain.finish(error)
