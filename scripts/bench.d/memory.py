#!/usr/bin/env python3
"""Memory of supervised MCP servers as users pay it, for `scripts/bench memory`.

    memory.py --count N [--settle-ms MS] [--relay-mb MB] --label L -- COMMAND [ARGS...]

Starts N copies of COMMAND together (each a supervisor such as
`mcp-warden run K=REF -- SERVER`), each with its own stdin/stdout pipes. Every
copy must answer a JSON-RPC request line with one response line (the server
behind it does). Then, for each copy's own process (the supervisor, never its
children), it reads /proc/PID/smaps_rollup:

- idle: after one round trip and --settle-ms;
- relaying: after --relay-mb megabytes of 1 KB requests were pushed through
  each copy and answered (pipelined, bounded window).

USS = Private_Clean + Private_Dirty (what one more copy costs), PSS (its fair
share of shared pages), RSS. Prints one JSON object: per-copy figures and the
totals and means over the N copies, in KiB. Every loop is bounded and every
copy is killed at the end.
"""
import argparse
import json
import os
import select
import subprocess
import sys
import time

FIELDS = ("Rss", "Pss", "Private_Clean", "Private_Dirty", "Shared_Clean", "Shared_Dirty")


def rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in FIELDS:
                out[name] = int(rest.split()[0])
    out["Uss"] = out.get("Private_Clean", 0) + out.get("Private_Dirty", 0)
    return out


def request(i, size):
    pad = "a" * max(0, size - 80)
    return (
        json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"t": pad}}}) + "\n"
    ).encode()


def read_line(proc, deadline):
    buf = b""
    fd = proc.stdout.fileno()
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no answer in time")
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        chunk = os.read(fd, 1)
        if not chunk:
            raise EOFError("the copy closed its stdout")
        buf += chunk
    return buf


def relay(proc, megabytes, deadline, window=64):
    """Push megabytes of 1 KB requests through one copy, reading the answers."""
    total = megabytes * 1000
    sent = answered = 0
    fd_out = proc.stdout.fileno()
    pending = b""
    while answered < total:
        if time.monotonic() > deadline:
            raise TimeoutError("relaying took too long")
        while sent < total and sent - answered < window:
            proc.stdin.write(request(sent + 1000, 1000))
            sent += 1
        proc.stdin.flush()
        r, _, _ = select.select([fd_out], [], [], 1.0)
        if r:
            chunk = os.read(fd_out, 1 << 16)
            if not chunk:
                raise EOFError("the copy closed its stdout")
            pending += chunk
            answered += pending.count(b"\n")
            pending = pending[pending.rfind(b"\n") + 1:]


def summary(rows):
    keys = ("Uss", "Pss", "Rss")
    return {
        "total": {k: sum(r[k] for r in rows) for k in keys},
        "mean": {k: round(sum(r[k] for r in rows) / len(rows), 1) for k in keys},
        "max": {k: max(r[k] for r in rows) for k in keys},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--settle-ms", type=int, default=500)
    ap.add_argument("--relay-mb", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--label", default="")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        ap.error("no command")
    deadline = time.monotonic() + a.timeout
    procs = [subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
             for _ in range(a.count)]
    try:
        for i, p in enumerate(procs):
            p.stdin.write(request(i + 1, 100))
            p.stdin.flush()
        for p in procs:
            read_line(p, deadline)
        time.sleep(a.settle_ms / 1000)
        idle = [rollup(p.pid) for p in procs]
        for p in procs:
            relay(p, a.relay_mb, deadline)
        time.sleep(a.settle_ms / 1000)
        busy = [rollup(p.pid) for p in procs]
    finally:
        for p in procs:
            try:
                p.stdin.close()
            except OSError:
                pass
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    print(json.dumps({
        "label": a.label,
        "count": a.count,
        "idle": {"copies": idle, **summary(idle)},
        "relaying": {"copies": busy, **summary(busy), "relay_mb_each": a.relay_mb},
    }))


if __name__ == "__main__":
    sys.exit(main())
