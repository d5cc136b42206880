#!/usr/bin/env python3
"""A real remote MCP server for tests/connect.rs: the official Python `mcp`
SDK (MCPServer) over Streamable HTTP on 127.0.0.1, requiring a bearer token.

Usage:
    remote_mcp.py --port P --token-file F [--key-file K] [--stateless] [--log L] [--tls-dir D]

- Every request must carry `Authorization: Bearer <token>` (read from
  --token-file, so the token is never in argv); with --key-file, also the
  query parameter `key=<value>`. Otherwise 401.
- --log appends one JSON line per HTTP request: method, path, whether the
  credentials matched, and the MCP transport headers it carried.
- Tools: `echo` (text), `whoami` (returns the Authorization header it got:
  a server that echoes a credential), `slow` (sleeps; records its
  cancellation in the log), `ask_client` (sampling + roots through the
  client), `progress` (three progress notifications), `ask_user` (elicitation through the client), `dropped` (closes its answer stream before answering: the client
  must resume with Last-Event-ID), `fail` (a tool error).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import anyio
import uvicorn
from pydantic import BaseModel
from mcp import types
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http import EventMessage, EventStore


class MemoryEvents(EventStore):
    """Every event in memory, so a client can resume with Last-Event-ID."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, object]] = []

    async def store_event(self, stream_id, message):  # noqa: ANN001 - the SDK's types
        event_id = str(len(self.events) + 1)
        self.events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(self, last_event_id, send_callback):  # noqa: ANN001
        at = next((i for i, (e, _, _) in enumerate(self.events) if e == last_event_id), None)
        if at is None:
            return None
        stream = self.events[at][1]
        for event_id, stream_id, message in self.events[at + 1 :]:
            if stream_id == stream and message is not None:
                await send_callback(EventMessage(message, event_id))
        return stream


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--key-file")
    ap.add_argument("--stateless", action="store_true")
    ap.add_argument("--log")
    ap.add_argument("--tls-dir", help="serve https with DIR/server.pem and DIR/server-key.pem")
    opts = ap.parse_args()
    token = open(opts.token_file, encoding="utf-8").read().strip()
    key = open(opts.key_file, encoding="utf-8").read().strip() if opts.key_file else None

    def log(entry: dict) -> None:
        if opts.log:
            with open(opts.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")

    server = MCPServer("remote-test")

    @server.tool()
    def echo(text: str) -> str:
        """Echo the text back."""
        return f"echo: {text}"

    @server.tool()
    def whoami(ctx: Context) -> str:
        """Return the Authorization header this request carried."""
        headers = ctx.headers or {}
        return f"you sent: {headers.get('authorization', '')}"

    @server.tool()
    async def slow(seconds: float) -> str:
        """Sleep, then answer; a cancellation is recorded."""
        try:
            await anyio.sleep(seconds)
        except anyio.get_cancelled_exc_class():
            log({"event": "slow-cancelled", "at": time.time()})
            raise
        return f"slept {seconds}"

    @server.tool()
    async def ask_client(ctx: Context) -> str:
        """Ask the client for a sampling completion and its roots."""
        session = ctx.request_context.session
        sampled = await session.create_message(
            messages=[
                types.SamplingMessage(role="user", content=types.TextContent(type="text", text="hi"))
            ],
            max_tokens=5,
        )
        roots = await session.list_roots()
        text = sampled.content.text if hasattr(sampled.content, "text") else str(sampled.content)
        return f"sampled: {text}; roots: {','.join(str(r.uri) for r in roots.roots)}"

    class Answer(BaseModel):
        name: str

    @server.tool()
    async def ask_user(ctx: Context) -> str:
        """Elicit a name from the client's user."""
        result = await ctx.elicit("your name?", Answer)
        name = result.data.name if result.action == "accept" and result.data else ""
        return f"elicited: {result.action} {name}"

    @server.tool()
    async def progress(ctx: Context) -> str:
        """Reports progress three times, then answers."""
        for i in range(1, 4):
            await ctx.report_progress(i, 3, f"step {i}")
        return "done"

    @server.tool()
    async def dropped(ctx: Context) -> str:
        """Closes its own answer stream, then answers: the client must resume."""
        await ctx.close_sse_stream()
        await anyio.sleep(0.5)
        return "answered after the stream was dropped"

    @server.tool()
    def fail() -> str:
        """Always fails."""
        raise ValueError("this tool always fails")

    app = server.streamable_http_app(
        stateless_http=opts.stateless,
        event_store=None if opts.stateless else MemoryEvents(),
        retry_interval=200,
    )

    async def guarded(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        auth_ok = headers.get("authorization") == f"Bearer {token}"
        key_ok = key is None or f"key={key}" in query.split("&")
        log(
            {
                "method": scope["method"],
                "path": scope["path"],
                "auth_ok": auth_ok,
                "key_ok": key_ok,
                "session": headers.get("mcp-session-id"),
                "version": headers.get("mcp-protocol-version"),
                "mcp_method": headers.get("mcp-method"),
                "mcp_name": headers.get("mcp-name"),
                "last_event_id": headers.get("last-event-id"),
            }
        )
        if not (auth_ok and key_ok):
            await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"unauthorized"})
            return
        return await app(scope, receive, send)

    tls = {}
    if opts.tls_dir:
        tls = {
            "ssl_certfile": f"{opts.tls_dir}/server.pem",
            "ssl_keyfile": f"{opts.tls_dir}/server-key.pem",
        }
    uvicorn.run(guarded, host="127.0.0.1", port=opts.port, log_level="warning", lifespan="on", **tls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
