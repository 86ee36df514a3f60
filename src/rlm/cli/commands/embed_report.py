"""``chunk embed``: bring vectors up to date and say what changed (rlm-rs wording)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rlm.cli.context import AppContext
from rlm.cli.render import Output
from rlm.embedding.base import Embedder
from rlm.embedding.sync import EmbedOutcome, embed_buffer
from rlm.errors import InvalidArgumentError
from rlm.store import Buffer
from rlm.suggest import rlm_command


def _outcome_json(b: Buffer, o: EmbedOutcome, warning: str | None) -> dict[str, Any]:
    total = o.total_chunks
    done = total - (o.total_chunks - o.embedded - o.replaced - o.skipped)
    return {
        "buffer_id": b.id,
        "buffer_name": b.name,
        "completion_percentage": 100.0 if total == 0 else round(done / total * 100, 2),
        "embedded_count": o.embedded,
        "empty_count": o.empty,
        "had_changes": o.embedded > 0 or o.replaced > 0,
        "model": o.model,
        "model_warning": warning,
        "replaced_count": o.replaced,
        "skipped_count": o.skipped,
        "total_chunks": total,
        "windows": o.windows,
    }


def _outcome_text(b: Buffer, o: EmbedOutcome, warning: str | None) -> str:
    lines = [f"Warning: {warning}"] if warning else []
    if o.embedded == 0 and o.replaced == 0:
        lines.append(
            f"Buffer '{b.label}' already fully embedded ({o.total_chunks} chunks)."
            " Use --force to re-embed."
        )
    else:
        if o.embedded:
            lines.append(
                f"Embedded {o.embedded} new chunks in buffer '{b.label}' using model '{o.model}'."
            )
        if o.replaced:
            lines.append(f"Re-embedded {o.replaced} chunks with updated model.")
        if o.skipped:
            lines.append(f"Skipped {o.skipped} chunks (already embedded with current model).")
    return "\n".join(lines) + "\n"


def embed_buffers(
    app: AppContext,
    buffer: str | None,
    all_buffers: bool,
    force: bool,
    make_embedder: Callable[[], Embedder],
    progress: Callable[[int, int], None] | None,
) -> Output:
    store = app.store()
    if buffer is None and not all_buffers:
        raise InvalidArgumentError("give a BUFFER or --all", suggestion="rlm chunk embed --all")
    targets = store.list_buffers() if all_buffers else [store.resolve_buffer(buffer or "")]
    embedder = make_embedder()
    results: list[dict[str, Any]] = []
    texts: list[str] = []
    warnings: list[str] = []
    if embedder.fallback_reason:
        warnings.append(
            f"embedding model unavailable ({embedder.fallback_reason}); using the"
            " hash fallback: semantic search will be lexical only"
        )
    for b in targets:
        stale = store.stale_vector_count(b.id, embedder.fingerprint)
        outcome = embed_buffer(store, b.id, embedder, force=force, progress=progress)
        warning = None
        if stale and not force:
            warning = (
                f"{stale} chunks of '{b.label}' have vectors from another model;"
                f" current model is '{embedder.name}'."
                f" Run '{rlm_command('chunk', 'embed', b.label, '--force')}' to regenerate them."
            )
        results.append(_outcome_json(b, outcome, warning))
        texts.append(_outcome_text(b, outcome, warning))
    data: Any = results if all_buffers else results[0]
    return Output(data=data, text="".join(texts), items=results, warnings=warnings)
