"""The MCP front end: ``rlm mcp`` serves the store's operations as MCP tools.

:mod:`rlm.mcp.server` defines the tools, each one call into :mod:`rlm.ops`
returning that result's ``to_json()``; :mod:`rlm.mcp.http` serves them over
streamable HTTP with a bearer token; :mod:`rlm.mcp.access` decides which paths
``load`` may read. Nothing here imports :mod:`rlm.cli` (a test checks it).
"""
