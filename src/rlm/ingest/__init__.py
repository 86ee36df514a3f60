"""Getting text into the store: loads, folder syncs and in-place updates.

``loader`` writes one text as a buffer (one transaction), ``collection`` loads
folders and globs as one buffer per file, ``update`` replaces a buffer's text
keeping the ids of unchanged chunks. They sit between ``rlm.io`` (reading)
and ``rlm.store``; the CLI and the MCP server reach them through ``rlm.ops``.
"""
