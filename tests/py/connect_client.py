#!/usr/bin/env python3
"""Drive `mcp-warden connect` (or any stdio MCP server) with the official
Python `mcp` client through a list of steps, for tests/connect.rs.

Usage:
    connect_client.py [--timeout S] [--era initialize|discover] --steps JSON -- COMMAND [ARGS...]

Steps (in order):
    {"op": "list"}                                  tools/list -> names
    {"op": "call", "name": N, "arguments": {...}}   tools/call -> texts, progress seen / error
    {"op": "call_bg", "name": N, "arguments": {...}} start a call in the background
    {"op": "cancel_bg", "after": S}                 cancel the background call after S seconds
    {"op": "join"}                                  wait for the background call
    {"op": "touch", "path": P}                      create file P
    {"op": "wait_file", "path": P, "timeout": S}    wait until file P exists

The client answers sampling with the text "from-the-client", roots/list with
file:///client-root and elicitation with {"name": "from-the-user"}. Prints ONE JSON object: {"ok", "init", "steps": [...],
"error"?, "elapsed"}; a step's result is {"tools": [...]}, {"texts": [...],
"isError": b}, {"error": {"code", "message"}} or {"cancelled": true}.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError


async def sampling(context: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text="from-the-client"),
        model="test-model",
    )


async def elicit(context: Any, params: Any) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content={"name": "from-the-user"})


async def roots(context: Any) -> types.ListRootsResult:
    return types.ListRootsResult(roots=[types.Root(uri="file:///client-root")])


def err(exc: MCPError) -> dict[str, Any]:
    e = getattr(exc, "error", None)
    return {"code": getattr(e, "code", None), "message": getattr(e, "message", str(exc))}


async def call(session: ClientSession, step: dict[str, Any]) -> dict[str, Any]:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    try:
        res = await session.call_tool(
            step["name"], step.get("arguments") or {}, progress_callback=on_progress
        )
    except MCPError as exc:
        return {"error": err(exc)}
    d = res.model_dump(by_alias=True, mode="json", exclude_none=True)
    return {
        "isError": bool(d.get("isError", False)),
        "texts": [c.get("text") for c in d.get("content", []) if c.get("type") == "text"],
        "progress": seen,
    }


async def run(command: list[str], era: str, steps: list[dict[str, Any]], out: dict[str, Any]) -> None:
    params = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
    async with stdio_client(params) as streams:
        async with ClientSession(
            streams[0],
            streams[1],
            sampling_callback=sampling,
            list_roots_callback=roots,
            elicitation_callback=elicit,
        ) as session:
            if era == "discover":
                d = await session.discover()
                out["init"] = d.model_dump(by_alias=True, mode="json", exclude_none=True)
            else:
                i = await session.initialize()
                out["init"] = i.model_dump(by_alias=True, mode="json", exclude_none=True)
            results: list[dict[str, Any]] = []
            out["steps"] = results
            async with anyio.create_task_group() as tg:
                bg: dict[str, Any] = {}
                done = anyio.Event()
                scope = anyio.CancelScope()

                async def background(step: dict[str, Any]) -> None:
                    with scope:
                        bg["result"] = await call(session, step)
                    if scope.cancelled_caught:
                        bg["result"] = {"cancelled": True}
                    done.set()

                for step in steps:
                    op = step["op"]
                    if op == "list":
                        listed = await session.list_tools()
                        results.append({"tools": [t.name for t in listed.tools]})
                    elif op == "call":
                        results.append(await call(session, step))
                    elif op == "call_bg":
                        tg.start_soon(background, step)
                        results.append({"started": True})
                    elif op == "cancel_bg":
                        await anyio.sleep(float(step.get("after", 0)))
                        scope.cancel()
                        results.append({"cancel_sent": True})
                    elif op == "join":
                        await done.wait()
                        results.append(bg.get("result", {}))
                    elif op == "touch":
                        open(step["path"], "w").close()
                        results.append({})
                    elif op == "wait_file":
                        limit = time.monotonic() + float(step.get("timeout", 20))
                        while not os.path.exists(step["path"]) and time.monotonic() < limit:
                            await anyio.sleep(0.05)
                        results.append({"found": os.path.exists(step["path"])})
                    else:
                        raise ValueError(f"unknown op {op}")


def main() -> int:
    argv = sys.argv[1:]
    split = argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--era", default="initialize")
    ap.add_argument("--steps", default="[]")
    opts = ap.parse_args(argv[:split])
    out: dict[str, Any] = {"ok": False}
    start = time.monotonic()

    def alarm(_s: int, _f: Any) -> None:
        out["error"] = "hard timeout (alarm)"
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
        os._exit(124)

    signal.signal(signal.SIGALRM, alarm)
    signal.alarm(int(opts.timeout) + 5)

    async def runner() -> None:
        with anyio.fail_after(opts.timeout):
            await run(argv[split + 1 :], opts.era, json.loads(opts.steps), out)

    code = 0
    try:
        anyio.run(runner)
        out["ok"] = True
    except BaseException as exc:  # noqa: BLE001 - every failure is reported as JSON
        while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[0]
        if isinstance(exc, KeyboardInterrupt):
            raise
        if isinstance(exc, MCPError):
            out["rpcError"] = err(exc)
        out["error"] = f"{type(exc).__name__}: {exc}"
        code = 124 if isinstance(exc, TimeoutError) else 2
    finally:
        signal.alarm(0)
    out["elapsed"] = time.monotonic() - start
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
