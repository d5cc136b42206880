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

  auth/*                                the suite's OAuth scenarios: initialize, tools/list,
                                        tools/call test-tool (client credentials and
                                        pre-registration: initialize, tools/list). The bridge
                                        does the whole authorization; this script only gives it
                                        what the suite hands a client in MCP_CONFORMANCE_CONTEXT
                                        (a client id, and its secret or private key, stored first
                                        with `mcp-warden secret set local://...` so connect takes
                                        them as references) and a browser: BROWSER is this script
                                        with --browse, which GETs the authorization URL and follows
                                        its redirects to the bridge's loopback redirect, as a
                                        browser would after the user consented.

Everything the suite checks happens on the HTTP side, between the bridge and
the suite's server; this client only has to drive the exchange and fail
loudly when an answer is wrong or missing. Exit 0 on success, 1 when a step
failed (reason on stderr), 64 on bad usage; every session is bounded by
MCP_CONFORMANCE_CLIENT_TIMEOUT seconds (default 25).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client

SCENARIOS = ("initialize", "tools_call", "elicitation-sep1034-client-defaults", "sse-retry")
AUTH_SCENARIOS = (
    "auth/metadata-default",
    "auth/metadata-var1",
    "auth/metadata-var2",
    "auth/metadata-var3",
    "auth/basic-cimd",
    "auth/scope-from-www-authenticate",
    "auth/scope-from-scopes-supported",
    "auth/scope-omitted-when-undefined",
    "auth/scope-step-up",
    "auth/scope-retry-limit",
    "auth/token-endpoint-auth-basic",
    "auth/token-endpoint-auth-post",
    "auth/token-endpoint-auth-none",
    "auth/pre-registration",
    "auth/2025-03-26-oauth-metadata-backcompat",
    "auth/2025-03-26-oauth-endpoint-fallback",
    "auth/resource-mismatch",
    "auth/offline-access-scope",
    "auth/offline-access-not-supported",
    "auth/client-credentials-jwt",
    "auth/client-credentials-basic",
)
# The suite's fixed Client ID Metadata Document URL (its authorization server
# accepts it without fetching it).
CIMD_URL = "https://conformance-test.local/client-metadata.json"
# Scenarios whose client only lists tools (as the suite's own client does).
LIST_ONLY = ("auth/pre-registration", "auth/client-credentials-jwt", "auth/client-credentials-basic")


def browse(url: str) -> int:
    """GET `url` and follow its redirects (to the bridge's loopback redirect)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as resp:
            resp.read(64 * 1024)
    except Exception as exc:  # noqa: BLE001 - a browser shows the error page
        print(f"browser: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def store_secret(bridge: str, name: str, value: str) -> str:
    """Stores `value` with `mcp-warden secret set` (value on stdin); its reference."""
    ref = f"local://{name}"
    subprocess.run([bridge, "secret", "set", ref], input=value.encode(), check=True, timeout=30)
    return ref


def auth_arguments(scenario: str, bridge: str) -> list[str]:
    """What `connect` is given for an auth scenario, from the suite's context."""
    ctx = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    if scenario == "auth/pre-registration":
        secret = store_secret(bridge, "conformance-client-secret", ctx["client_secret"])
        return ["--client-id", ctx["client_id"], "--client-secret", secret]
    if scenario == "auth/client-credentials-basic":
        secret = store_secret(bridge, "conformance-client-secret", ctx["client_secret"])
        return ["--client-credentials", "--client-id", ctx["client_id"], "--client-secret", secret]
    if scenario == "auth/client-credentials-jwt":
        key = store_secret(bridge, "conformance-client-key", ctx["private_key_pem"])
        return ["--client-credentials", "--client-id", ctx["client_id"], "--private-key", key]
    return ["--client-metadata-url", CIMD_URL]


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
            elif scenario.startswith("auth/") and scenario not in LIST_ONLY:
                await call(session, "test-tool", {})
            print(f"{scenario}: done (tools: {', '.join(tools) or 'none'})", file=sys.stderr)


def unwrap(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--browse":
        return browse(sys.argv[2])
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    if len(sys.argv) != 2 or scenario not in SCENARIOS + AUTH_SCENARIOS:
        print(f"usage: MCP_CONFORMANCE_SCENARIO={'|'.join(SCENARIOS)}|auth/... {sys.argv[0]} URL", file=sys.stderr)
        return 64
    url = sys.argv[1]
    bridge = os.environ.get("MCP_WARDEN_BIN", "mcp-warden")
    limit = float(os.environ.get("MCP_CONFORMANCE_CLIENT_TIMEOUT", "25"))
    command = [bridge, "connect", url]
    if scenario.startswith("auth/"):
        command += auth_arguments(scenario, bridge)
        # the bridge opens "a browser": this script, which follows the redirects
        os.environ["BROWSER"] = f"{sys.executable} {os.path.abspath(__file__)} --browse"

    async def bounded() -> None:
        with anyio.fail_after(limit):
            await run(scenario, command)

    try:
        anyio.run(bounded)
    except BaseException as exc:  # noqa: BLE001 - every failure is reported the same way
        real = unwrap(exc)
        if isinstance(real, KeyboardInterrupt):
            raise
        reason = f"no answer within {limit:g} s" if isinstance(real, TimeoutError) else f"{type(real).__name__}: {real}"
        print(f"{scenario}: FAILED through `{' '.join(command)}`: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
