"""Agents: dispatch a buffer's chunks to sub-agents and aggregate what they found.

* :func:`rlm.agents.dispatch.dispatch` — batches (by count or token budget),
  recorded as a run for the coverage ledger.
* :func:`rlm.agents.findings.parse_findings` — rlm-rs and analyst-prompt
  findings, JSON or NDJSON, validated item by item.
* :func:`rlm.agents.aggregate.aggregate` — filter, group, dedup, verify quoted
  evidence against the cited chunks, audit a run's coverage.
"""
