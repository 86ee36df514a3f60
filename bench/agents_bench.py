#!/usr/bin/env python
"""Findings parsing and grep: rlm against a bare baseline measured in the same run.

    .venv/bin/python bench/agents_bench.py            # a table
    .venv/bin/python bench/agents_bench.py --json     # one JSON line

Rows:
* parse: ``parse_findings`` on 20k items sent as 40 concatenated arrays plus
  NDJSON lines, against ``json.loads`` of the same items as one array (the
  floor any parser pays).
* hostile fence / curly quotes: the old backtracking regexes (cubic and
  quadratic, timed on inputs small enough to finish) against the new linear
  code on inputs 10-100x larger.
* grep: RE2 scanning a 10 MB buffer (one hit, at the end) against Python ``re``
  with the same pattern,
  and the catastrophic ``(a+)+$`` on 100 KB, which ``re`` never finishes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from rlm.agents.findings import inline_quotes, parse_documents, parse_findings
from rlm.errors import InvalidFindingsError

OLD_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n(.*?)\n\s*```\s*$", re.DOTALL)
OLD_QUOTE = re.compile(r'"([^"\n]{3,})"|“([^”\n]{3,})”')


def timed(fn: Callable[[], Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def parse_rows() -> dict[str, float]:
    items = [
        {"chunk_id": i, "relevance": "high", "findings": [{"text": f"t{i}", "evidence": "q"}]}
        for i in range(20_000)
    ]
    arrays = "".join(json.dumps(items[i : i + 500]) + "\n" for i in range(0, 15_000, 500))
    ndjson = "".join(json.dumps(x) + "\n" for x in items[15_000:])
    stream = arrays + ndjson
    one = json.dumps(items)
    return {
        "parse_rlm_s": timed(lambda: parse_findings(stream)),
        "parse_json_loads_s": timed(lambda: json.loads(one)),
    }


def hostile_rows() -> dict[str, float]:
    def new_fence() -> None:
        with contextlib.suppress(InvalidFindingsError):
            parse_documents("```\n" + "\n" * 20_000 + "x")

    return {
        "fence_old_2k_s": timed(lambda: OLD_FENCE.match("```\n" + "\n" * 2_000 + "x"), 1),
        "fence_new_20k_s": timed(new_fence),
        "quote_old_20k_s": timed(lambda: OLD_QUOTE.findall("“a" * 20_000), 1),
        "quote_new_400k_s": timed(lambda: inline_quotes("“a" * 400_000)),
    }


def grep_rows() -> dict[str, float]:
    import re2

    line = "alpha beta gamma retry_upload(done) delta epsilon 12345\n"
    body = line * (10 * 1024 * 1024 // len(line))
    data = (body + "retry_upload(failed)\n").encode()  # one hit, at the very end: a scan
    text = data.decode()
    options = re2.Options()
    options.log_errors = False
    fast = re2.compile(rb"retry_\w+\(fail", options)
    slow = re.compile(r"retry_\w+\(fail")
    bad = re2.compile(rb"(a+)+$", options)
    aaa = b"a" * 100_000 + b"b"
    return {
        "grep_re2_10mb_s": timed(lambda: sum(1 for _ in fast.finditer(data))),
        "grep_re_10mb_s": timed(lambda: sum(1 for _ in slow.finditer(text))),
        "grep_re2_redos_100k_s": timed(lambda: list(bad.finditer(aaa))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = parse_rows() | hostile_rows() | grep_rows()
    if args.json:
        print(json.dumps(figures))
        return
    f = figures
    rows = [
        ("parse 20k items (stream)", f["parse_rlm_s"], f["parse_json_loads_s"], "json.loads"),
        ("fence, 20k newlines (new)", f["fence_new_20k_s"], f["fence_old_2k_s"], "old, 2k"),
        ("curly quotes 400k (new)", f["quote_new_400k_s"], f["quote_old_20k_s"], "old, 20k"),
        ("grep 10 MB, RE2", f["grep_re2_10mb_s"], f["grep_re_10mb_s"], "Python re"),
        ("grep (a+)+$ on 100 KB, RE2", f["grep_re2_redos_100k_s"], float("nan"), "re: no end"),
    ]
    print(f"{'figure':<30} {'rlm s':>9} {'baseline s':>11}  {'baseline':<11} {'base/rlm':>8}")
    for name, ours, base, label in rows:
        ratio = base / ours if ours > 0 and base == base else float("nan")
        print(f"{name:<30} {ours:>9.4f} {base:>11.4f}  {label:<11} {ratio:>8.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
