"""The MCP front end: ``rlm mcp`` serves the store's commands as MCP tools over stdio.

:mod:`rlm.mcp.invoke` runs a CLI command in-process and returns its ``Output``
(so tool results are the CLI's ``--format json`` payloads); :mod:`rlm.mcp.server`
defines the tools and the server (it imports the ``mcp`` SDK, this package does not).
"""
