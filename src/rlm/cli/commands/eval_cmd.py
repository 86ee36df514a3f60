"""``rlm eval DATASET_DIR``: retrieval quality of bm25, semantic and hybrid search."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import click

from rlm.cli.context import AppContext, pass_app
from rlm.cli.options import embedder_factory, model_options, progress_bar
from rlm.cli.render import Output
from rlm.defaults import DEFAULT_RRF_K, DEFAULT_THRESHOLD, MODES

_MODES = tuple(reversed(MODES))
_LABELS = {
    "ndcg@10": "nDCG@10",
    "recall@10": "Recall@10",
    "recall@100": "Recall@100",
    "mrr@10": "MRR@10",
}


@contextmanager
def _phase_progress(verbose: bool) -> Iterator[Callable[[str, int, int], None]]:
    """One stderr progress bar per phase (or a line per phase with -v off a terminal)."""
    stack = ExitStack()
    state: dict[str, Any] = {"phase": None, "update": None}

    def report(phase: str, done: int, total: int) -> None:
        if phase != state["phase"]:
            stack.close()
            state["phase"] = phase
            state["update"] = stack.enter_context(progress_bar(phase))
            if state["update"] is None and verbose:
                sys.stderr.write(f"{phase} ({total})...\n")
                sys.stderr.flush()
        if state["update"] is not None:
            state["update"](done, total)

    try:
        yield report
    finally:
        stack.close()


def _parse_modes(value: str) -> list[str]:
    modes = [m.strip().lower() for m in value.split(",") if m.strip()]
    bad = [m for m in modes if m not in _MODES]
    if bad or not modes:
        raise click.BadParameter(
            f"unknown mode(s): {', '.join(bad) or value!r}; use {', '.join(_MODES)}",
            param_hint="--modes",
        )
    return modes


@click.command(name="eval")
@click.argument("dataset_dir", type=click.Path(file_okay=False))
@click.option(
    "--modes",
    default=",".join(_MODES),
    show_default=True,
    help="Comma-separated modes to evaluate.",
)
@click.option(
    "--limit-queries",
    type=click.IntRange(min=1),
    default=None,
    help="Evaluate only the first N queries of the qrels (quick runs).",
)
@click.option(
    "-t",
    "--threshold",
    type=float,
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Semantic similarity threshold (as in 'rlm search').",
)
@click.option(
    "--rrf-k",
    type=click.FloatRange(min=0),
    default=DEFAULT_RRF_K,
    show_default=True,
    help="RRF constant k for hybrid.",
)
@click.option(
    "--run-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write a TREC run (qid Q0 docid rank score mode) for every mode.",
)
@click.option(
    "--drop-query-doc",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Drop a retrieved document whose id is the query id (auto: when that "
    "document is the query, as in ArguAna).",
)
@click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Keep the scratch store here and reuse it (default: a temporary file).",
)
@model_options
@pass_app
def eval_command(
    app: AppContext,
    dataset_dir: str,
    modes: str,
    limit_queries: int | None,
    threshold: float,
    rrf_k: float,
    run_file: str | None,
    drop_query_doc: str,
    store_path: str | None,
    model: str | None,
    model_path: str | None,
) -> Output:
    """Evaluate retrieval on a BEIR dataset (corpus.jsonl, queries.jsonl, qrels/test.tsv).

    Loads the corpus into a scratch store (one chunk per document), embeds it
    with the model, runs every judged query and prints nDCG@10, Recall@10,
    Recall@100 and MRR@10 per mode (trec_eval definitions).
    """
    from rlm.search.evaluation import load_beir, run_eval, write_trec_run

    mode_list = _parse_modes(modes)
    dataset = load_beir(dataset_dir, limit_queries)
    with _phase_progress(app.verbose) as progress:
        report = run_eval(
            dataset,
            modes=mode_list,
            embedder=embedder_factory(model, model_path),
            threshold=threshold,
            rrf_k=rrf_k,
            drop_query_doc=drop_query_doc,
            store_path=store_path,
            progress=progress,
        )
    if run_file:
        write_trec_run(run_file, report)
    warnings = []
    if report.semantic_available is False:
        warnings.append("semantic model unavailable: semantic/hybrid use the hash fallback")

    def text() -> str:
        lines = [
            f"Dataset: {report.dataset} ({report.documents} documents, "
            f"{report.queries} queries, model {report.model or '-'})",
            "",
            f"{'Mode':<10}" + "".join(f"{_LABELS[m]:>12}" for m in _LABELS),
            "-" * (10 + 12 * len(_LABELS)),
        ]
        for mode, values in report.metrics.items():
            lines.append(f"{mode:<10}" + "".join(f"{values[m]:>12.4f}" for m in _LABELS))
        timing = ", ".join(f"{k} {v:.1f}s" for k, v in report.seconds.items())
        lines += ["", f"Time: {timing}"]
        if run_file:
            lines.append(f"Run written to {run_file}")
        return "\n".join(lines) + "\n"

    return Output(data=report.to_json(), text=text, warnings=warnings)


def register(root: click.Group) -> None:
    root.add_command(eval_command)
