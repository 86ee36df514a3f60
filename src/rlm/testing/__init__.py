"""Helpers for rlm's own tests and benchmarks (not used by the CLI)."""
