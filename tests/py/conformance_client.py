#!/usr/bin/env python3
"""The stdio MCP client that the official conformance suite runs for its
client scenarios, with `mcp-warden connect` as the client under test.

The suite (`conformance client --command "... conformance_client.py"
--scenario NAME`) starts a test server, appends its URL to the command and
sets MCP_CONFORMANCE_SCENARIO. This script starts

    $MCP_WARDEN_BIN connect URL

and, with the official `mcp` Python client on the bridge's stdio, performs
the steps the scenario expects of a client:

  initialize                            initialize, tools/list
  tools_call                            initialize, tools/list, tools/call add_numbers {a: 5, b: 3}
  elicitation-sep1034-client-defaults   initialize (elicitation capability), tools/list,
                                        tools/call test_client_elicitation_defaults; the
                                        elicitation/create request is accepted with every
                                        property's schema default filled in (SEP-1034)
  sse-retry                             initialize, tools/list, tools/call test_reconnection
                                        (the server drops the POST stream; its answer only
                                        comes after the bridge resumes with Last-Event-ID)

Everything the suite checks happens on the HTTP side, between the bridge and
the suite's server; this client only has to drive the exchange and fail
loudly when an answer is wrong or missing. Exit 0 on success, 1 when a step
failed (reason on stderr), 64 on bad usage; every session is bounded by
MCP_CONFORMANCE_CLIENT_TIMEOUT seconds (default 25).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client

SCENARIOS = ("initialize", "tools_call", "elicitation-sep1034-client-defaults", "sse-retry")


class StepFailed(Exception):
    """A scenario step got a wrong or missing answer."""


def texts(result: types.CallToolResult) -> list[str]:
    return [c.text for c in result.content if isinstance(c, types.TextContent)]


async def accept_with_defaults(_context: Any, params: Any) -> types.ElicitResult:
    """Accept a form elicitation, every property set to its schema default."""
    schema = getattr(params, "requested_schema", None) or {}
    content = {
        name: prop["default"]
        for name, prop in (schema.get("properties") or {}).items()
        if isinstance(prop, dict) and "default" in prop
    }
    return types.ElicitResult(action="accept", content=content)


async def call(session: ClientSession, name: str, arguments: dict[str, Any]) -> list[str]:
    result = await session.call_tool(name, arguments)
    if result.is_error:
        raise StepFailed(f"tools/call {name} answered isError: {texts(result)}")
    return texts(result)


async def run(scenario: str, command: list[str]) -> None:
    params = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
    callback = accept_with_defaults if scenario == "elicitation-sep1034-client-defaults" else None
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, elicitation_callback=callback) as session:
            await session.initialize()
            tools = [t.name for t in (await session.list_tools()).tools]
            if scenario == "tools_call":
                got = await call(session, "add_numbers", {"a": 5, "b": 3})
                if not any("8" in t for t in got):
                    raise StepFailed(f"add_numbers(5, 3) answered {got}, expected the sum 8")
            elif scenario == "elicitation-sep1034-client-defaults":
                await call(session, "test_client_elicitation_defaults", {})
            elif scenario == "sse-retry":
                got = await call(session, "test_reconnection", {})
                if not got:
                    raise StepFailed("test_reconnection answered no text")
            print(f"{scenario}: done (tools: {', '.join(tools) or 'none'})", file=sys.stderr)


def unwrap(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def main() -> int:
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    if len(sys.argv) != 2 or scenario not in SCENARIOS:
        print(f"usage: MCP_CONFORMANCE_SCENARIO={'|'.join(SCENARIOS)} {sys.argv[0]} URL", file=sys.stderr)
        return 64
    url = sys.argv[1]
    bridge = os.environ.get("MCP_WARDEN_BIN", "mcp-warden")
    limit = float(os.environ.get("MCP_CONFORMANCE_CLIENT_TIMEOUT", "25"))

    async def bounded() -> None:
        with anyio.fail_after(limit):
            await run(scenario, [bridge, "connect", url])

    try:
        anyio.run(bounded)
    except BaseException as exc:  # noqa: BLE001 - every failure is reported the same way
        real = unwrap(exc)
        if isinstance(real, KeyboardInterrupt):
            raise
        reason = f"no answer within {limit:g} s" if isinstance(real, TimeoutError) else f"{type(real).__name__}: {real}"
        print(f"{scenario}: FAILED through `{bridge} connect {url}`: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
