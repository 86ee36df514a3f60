"""Claim benchmark: short scientific-style claims against the shared corpora (SciFact's kind).

SciFact asks one declarative claim ("X does not increase Y in Z") and judges the abstract
it is about; BM25 is the stronger leg there, as claims keep the field's terms. Neither
shared set is like that (NPL's queries are keyword titles, ArguAna's are whole arguments),
so this bench adds claims of our own over their corpora. Each was written by a helper who
saw only the document, never the engine or its results, taking documents in a fixed random
order (about one in four is negated, as in SciFact): ``bench/claims/<set>.jsonl``, one
``{"doc", "claim", "stance"}`` per line. Sets: ``npl1``, ``npl2`` (NPL abstracts) and
``arg`` (ArguAna arguments). One judged document per claim.

Written with the document at hand, those claims keep most of its words, and every leg
finds them (nDCG@10 0.87-1.0). SciFact's claims come from citing sentences (BM25 nDCG@10
about 0.67 there). So each set also has a ``-hard`` twin: every claim rewritten from the
claim alone, keeping at most two of its distinctive words, the rest as synonyms, broader
terms or another construction, as a scientist from a neighbouring field would cite the
finding (``original`` keeps the claim). The first 50 of each set were rewritten by a helper
who never saw the documents, the rest by the claim's writer from the claim text. The two
twins bracket SciFact.

The script writes a BEIR folder per set (the claims as queries and qrels, the shared
corpus linked), named like the source set so a store made by ``rlm eval --store`` for that
set is reused, and runs ``rlm eval``'s library path on it:

    python bench/claims.py --set npl1 --store /tmp/npl.db      # nDCG@10 etc. per mode
                                        # (no --store: embeds the whole corpus first, ~30 min)
    python bench/claims.py --set arg --folder-only             # print the folder (for
                                                               # fusion_lab.py --beir)
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "bench-data"
SOURCES = {"npl": "vaswani-npl", "arg": "arguana"}
SETS = tuple(f"{name}{twin}" for name in ("npl1", "npl2", "arg") for twin in ("", "-hard"))


def source(name: str) -> str:
    """The shared set a claim set's documents come from."""
    return SOURCES[name[:3]]


def claims(name: str) -> list[dict[str, str]]:
    with open(HERE / "claims" / f"{name}.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def folder(name: str, cache: Path, data: Path = DATA) -> Path:
    """The set as a BEIR folder under ``cache``, named like its source set."""
    root = cache / f"claims-{name}" / source(name)
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    corpus = root / "corpus.jsonl"
    if not corpus.exists():
        corpus.symlink_to((data / source(name) / "corpus.jsonl").resolve())
    rows = claims(name)
    with open(root / "queries.jsonl", "w", encoding="utf-8") as out:
        for number, row in enumerate(rows, start=1):
            out.write(json.dumps({"_id": f"{name}-{number:03d}", "text": row["claim"]}) + "\n")
    with open(root / "qrels" / "test.tsv", "w", encoding="utf-8") as out:
        out.write("query-id\tcorpus-id\tscore\n")
        for number, row in enumerate(rows, start=1):
            out.write(f"{name}-{number:03d}\t{row['doc']}\t1\n")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", dest="name", choices=SETS, required=True)
    parser.add_argument("--store", help="a store made by rlm eval for the source set")
    parser.add_argument("--modes", default="bm25,semantic,hybrid")
    parser.add_argument("--folder-only", action="store_true")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("RLM_BENCH_CACHE", Path.home() / ".cache" / "rlm-bench")),
    )
    args = parser.parse_args()
    root = folder(args.name, args.cache)
    if args.folder_only:
        print(root)
        return
    from rlm.search.evaluation import load_beir, run_eval

    report = run_eval(load_beir(root), modes=args.modes.split(","), store_path=args.store)
    rows = claims(args.name)
    refute = sum(r["stance"] == "refute" for r in rows)
    print(f"{args.name}: {len(rows)} claims ({refute} negated) over {source(args.name)}")
    for mode, m in report.metrics.items():
        figures = "  ".join(f"{k} {v:.4f}" for k, v in sorted(m.items()))
        print(f"  {mode:<8} {figures}")


if __name__ == "__main__":
    main()
