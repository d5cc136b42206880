#!/usr/bin/env python3
"""Drive one MCP stdio server session with the official `mcp` Python client.

Used by the Rust integration tests (via std::process::Command) and by
scripts/demo to prove that a real MCP client works through `mcp-warden run`.

Usage:
    mcp_session.py [--timeout SECS] [--call JSON]... -- COMMAND [ARGS...]

    --call '{"name":"echo","arguments":{"message":"hi"}}'   (repeatable, in order)

The server is started with this script's whole environment (not the SDK's
reduced default set), so variables set by the caller reach the command.

Prints exactly ONE JSON object on stdout:
    {
      "ok": true,
      "protocolVersion": "...",
      "serverInfo": {"name": ..., "version": ...},
      "tools": ["echo", "get-env", ...],
      "calls": [
        {"name": "echo", "isError": false, "texts": ["Echo: hi"], "structuredContent": null},
        {"name": "nope", "error": {"code": -32602, "message": "..."}}
      ]
    }
On a fatal failure (spawn, initialize, transport, timeout) it prints
{"ok": false, "error": "...", ...partial fields...} and exits 2 (124 on timeout).
The server's stderr is passed through to this script's stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

try:  # mcp >= 2
    from mcp.shared.exceptions import MCPError as _McpError
except ImportError:  # mcp 1.x
    from mcp.shared.exceptions import McpError as _McpError  # type: ignore[no-redef,attr-defined]


def _dump(model: Any) -> Any:
    """Pydantic model -> JSON-able dict with the wire (camelCase) names."""
    if model is None:
        return None
    if hasattr(model, "model_dump"):
        return model.model_dump(by_alias=True, mode="json", exclude_none=True)
    return model


def _error_of(exc: _McpError) -> dict[str, Any]:
    err = getattr(exc, "error", None)
    code = getattr(err, "code", None)
    message = getattr(err, "message", None)
    if code is None:
        code = getattr(exc, "code", None)
    if message is None:
        message = str(exc)
    return {"code": code, "message": message}


def _unwrap(exc: BaseException) -> BaseException:
    """anyio task groups wrap failures in ExceptionGroup; find the real one."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) >= 1:
        exc = exc.exceptions[0]
    return exc


async def _session(command: list[str], calls: list[dict[str, Any]], out: dict[str, Any]) -> None:
    params = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
    async with stdio_client(params) as streams:
        read_stream, write_stream = streams[0], streams[1]
        async with ClientSession(read_stream, write_stream) as session:
            init = await session.initialize()
            init_d = _dump(init)
            out["protocolVersion"] = init_d.get("protocolVersion")
            out["serverInfo"] = init_d.get("serverInfo")

            listed = await session.list_tools()
            out["tools"] = [t.name for t in listed.tools]

            results: list[dict[str, Any]] = []
            out["calls"] = results
            for call in calls:
                name = call["name"]
                entry: dict[str, Any] = {"name": name}
                try:
                    res = await session.call_tool(name, call.get("arguments") or {})
                except _McpError as exc:
                    entry["error"] = _error_of(exc)
                else:
                    d = _dump(res)
                    entry["isError"] = bool(d.get("isError", False))
                    entry["texts"] = [c.get("text") for c in d.get("content", []) if c.get("type") == "text"]
                    entry["contentTypes"] = [c.get("type") for c in d.get("content", [])]
                    entry["structuredContent"] = d.get("structuredContent")
                results.append(entry)


def main() -> int:
    argv = sys.argv[1:]
    if "--" not in argv:
        print("usage: mcp_session.py [--timeout S] [--call JSON]... -- COMMAND [ARGS...]", file=sys.stderr)
        return 64
    split = argv.index("--")
    ours, command = argv[:split], argv[split + 1 :]
    parser = argparse.ArgumentParser(prog="mcp_session.py")
    parser.add_argument("--timeout", type=float, default=30.0, help="hard limit for the whole session, seconds")
    parser.add_argument("--call", action="append", default=[], help='tool call as JSON: {"name":..,"arguments":{..}}')
    opts = parser.parse_args(ours)
    if not command:
        parser.error("no command after --")
    try:
        calls = [json.loads(c) for c in opts.call]
    except json.JSONDecodeError as exc:
        parser.error(f"--call is not valid JSON: {exc}")
    for c in calls:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            parser.error('--call needs an object with a string "name"')

    out: dict[str, Any] = {"ok": False, "command": command}

    # Backstop: if the event loop itself wedges, SIGALRM still ends us.
    def _alarm(_signum: int, _frame: Any) -> None:
        out["error"] = f"hard timeout after {opts.timeout + 5:.0f}s (alarm)"
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
        os._exit(124)

    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(opts.timeout) + 5)

    async def runner() -> None:
        with anyio.fail_after(opts.timeout):
            await _session(command, calls, out)

    code = 0
    try:
        anyio.run(runner)
        out["ok"] = True
    except BaseException as exc:  # noqa: BLE001 - we report every failure as JSON
        real = _unwrap(exc)
        if isinstance(real, KeyboardInterrupt):
            raise
        if isinstance(real, TimeoutError):
            out["error"] = f"timeout after {opts.timeout:g}s"
            code = 124
        elif isinstance(real, _McpError):
            out["error"] = f"MCP error: {_error_of(real)}"
            out["rpcError"] = _error_of(real)
            code = 2
        else:
            out["error"] = f"{type(real).__name__}: {real}"
            code = 2
    finally:
        signal.alarm(0)
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
