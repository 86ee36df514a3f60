"""The hostile-input suite of issue #15: each test rebuilds one attack of the security review.

Map from the review (shared/notes/security-review-2026-12.md) to the tests:

* H3 hostile folders: test_hostile_folders.py (end to end), tests/io/test_walk_safety.py,
  tests/io/test_ignore_matcher.py;
* H4 a file shrinking under the reader: test_hostile_folders.py, tests/io/test_reader.py;
* H1 file access (library policy the MCP server applies): tests/io/test_access.py;
* M1 read-only store: tests/store/test_read_only.py;
* M2 terminal injection: test_terminal.py;
* M3 resource limits: test_limits.py, tests/store/test_context_row.py,
  bench/folder_bench.py (100k files: timing belongs in a benchmark);
* section 6 crafted stores: tests/store/test_trust.py, test_suggested_commands.py,
  test_crafted_rows.py (type-confused rows, the SQLite floor);
* H2 one slow call stalls the server: tests/mcp/test_calls.py (deadlines, cancellation);
* section 4a injection (clean, kept clean): test_injection.py.
"""
