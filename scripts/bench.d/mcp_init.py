#!/usr/bin/env python3
"""MCP spawn + initialize + tools/list timing for `scripts/bench mcp`.

    mcp_init.py --runs N [--warmup W] --label NAME -- CMD ARGS [--label NAME -- CMD ARGS ...]

Uses the official `mcp` Python client, imported once, so Python start-up and
import time are outside the measurement. Each run: spawn the server, send
`initialize`, `notifications/initialized`, `tools/list`, then close (stdin
EOF, the client waits for the process). The variants are interleaved
round by round so load drift hits them alike. Per run it records

  ready_ms : from just before spawn until the tools/list result is in hand
             (spawn + initialize + tools/list: the figure the target is about)
  total_ms : ready_ms plus shutdown, until the process has exited

The order of the variants is shuffled in every round (seeded, reproducible)
so no variant always runs right after another one.
Prints one JSON object: per label the median, p90, min and mean of both,
and the ratio of each label's median ready_ms to the first label's.
Every session is bounded by --timeout seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def one(command: list[str], timeout: float) -> tuple[float, float, int]:
    params = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
    with anyio.fail_after(timeout):
        t0 = time.perf_counter()
        async with stdio_client(params) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                listed = await session.list_tools()
                ready = time.perf_counter()
        done = time.perf_counter()
    return (ready - t0) * 1000, (done - t0) * 1000, len(listed.tools)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def stats(xs: list[float]) -> dict:
    return {"median": round(statistics.median(xs), 2), "p90": round(pct(xs, 90), 2),
            "min": round(min(xs), 2), "mean": round(statistics.fmean(xs), 2)}


def main() -> int:
    argv = sys.argv[1:]
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=30.0)
    # split: OPTIONS (--label L -- CMD...)+
    first = argv.index("--label")
    opts = ap.parse_args(argv[:first])
    variants: list[tuple[str, list[str]]] = []
    rest = argv[first:]
    while rest:
        if rest[0] != "--label" or len(rest) < 3 or rest[2] != "--":
            raise SystemExit("expected --label NAME -- CMD ARGS")
        label = rest[1]
        rest = rest[3:]
        end = rest.index("--label") if "--label" in rest else len(rest)
        variants.append((label, rest[:end]))
        rest = rest[end:]

    async def runner() -> dict:
        res: dict[str, dict[str, list[float]]] = {lab: {"ready": [], "total": []} for lab, _ in variants}
        tools: dict[str, int] = {}
        rng = random.Random(20260728)
        for i in range(opts.warmup + opts.runs):
            order = list(variants)
            rng.shuffle(order)
            for lab, cmd in order:
                ready, total, n = await one(cmd, opts.timeout)
                tools[lab] = n
                if i >= opts.warmup:
                    res[lab]["ready"].append(ready)
                    res[lab]["total"].append(total)
        base = statistics.median(res[variants[0][0]]["ready"])
        base_total = statistics.median(res[variants[0][0]]["total"])
        out = {"runs": opts.runs, "warmup": opts.warmup, "variants": {}}
        for lab, cmd in variants:
            r = res[lab]
            out["variants"][lab] = {
                "command": cmd,
                "tools": tools[lab],
                "ready_ms": stats(r["ready"]),
                "total_ms": stats(r["total"]),
                "ready_ratio_vs_first": round(statistics.median(r["ready"]) / base, 3),
                "total_ratio_vs_first": round(statistics.median(r["total"]) / base_total, 3),
            }
        return out

    print(json.dumps(anyio.run(runner), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
