"""The MCP server: the scripts' work offered as Model Context Protocol tools over stdio.

``commands/mcp_server.py`` starts it. ``protocol`` knows the wire (JSON-RPC, protocol revisions,
error codes); ``schemas`` derives each tool's input schema from the command's flags and typed
request, and its output schema from ``references/schemas/``; ``tools`` is the table of tools and
their thin adapters over the library; ``calls`` runs one call (worker thread, cancellation, what
is in flight, progress); ``content`` turns a result document into a tool result; ``server`` is
the read-dispatch-write loop.
"""
