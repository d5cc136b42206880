#!/usr/bin/env python3
"""The local Streamable HTTP MCP server of `scripts/bench connect`.

    connect_server.py --port PORT [--stateless]

The official Python SDK's server (uvicorn) on 127.0.0.1:PORT/mcp, stateful by
default, with two tools:

  echo {text}   answers `text` (the added-latency round trips)
  blob {size}   answers one text block of `size` bytes (the 1 MB throughput)

Every client of the benchmark (the direct Python SDK client, the direct raw
HTTP client, `mcp-warden connect`, `mcp-remote`) talks to the same process.
Loopback only; it runs until killed.
"""

from __future__ import annotations

import argparse

from mcp.server.mcpserver import MCPServer

MAX_BLOB = 16_000_000


def build() -> MCPServer:
    server = MCPServer("mcp-warden-bench", version="1")

    @server.tool()
    def echo(text: str) -> str:
        """Answers the text it was given."""
        return text

    @server.tool()
    def blob(size: int) -> str:
        """Answers `size` bytes of text (at most 16 MB)."""
        return "x" * max(0, min(size, MAX_BLOB))

    return server


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--stateless", action="store_true")
    a = ap.parse_args()
    build().run(
        "streamable-http",
        host="127.0.0.1",
        port=a.port,
        stateless_http=a.stateless,
        # 1 MB results come back in one message; requests stay small.
        max_request_body_size=4 * 1024 * 1024,
    )


if __name__ == "__main__":
    main()
