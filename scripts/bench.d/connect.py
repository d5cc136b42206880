#!/usr/bin/env python3
"""`mcp-warden connect` side by side with other stdio-to-HTTP bridges, for
`scripts/bench connect`.

    connect.py --url URL [--runs N] [--warmup W] [--lat N] [--blobs N] [--blob-size B]
               --label NAME -- BRIDGE ARGS [--label NAME -- BRIDGE ARGS ...]

URL is a Streamable HTTP MCP server with the tools `echo {text}` and
`blob {size}` (scripts/bench.d/connect_server.py). Each BRIDGE is a stdio MCP
server that forwards to URL (`mcp-warden connect URL`, `node mcp-remote URL`).
Python start-up and imports stay outside every figure. Four measurements:

  ready      spawn -> initialize -> notifications/initialized -> tools/list
             answered, per bridge, with a minimal JSON-RPC client on its
             stdio; baselines on the same server: the official Python SDK
             client's own connect + initialize + tools/list
             ("python-sdk direct", the target's reference) and the same three
             messages from a raw HTTP client ("raw http direct"). --runs
             rounds after --warmup, variants shuffled in every round (seeded).
  latency    one session per variant, --lat sequential `echo` calls (after
             200 warm-up calls): p50/p90/p99 round trip; the raw HTTP client
             on a kept-alive connection is the direct reference.
  throughput --blobs sequential `blob` calls of --blob-size bytes: MB/s of
             tool result delivered (MB = 10^6 bytes).
  rss        the bridge process's VmHWM (peak RSS) and VmRSS from
             /proc/PID/status at the end of its latency + throughput session,
             and how many child processes it had.

Prints one JSON object. Every wait is bounded (--timeout per message); every
bridge started here is killed when its session ends.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import select
import statistics
import subprocess
import sys
import time
import urllib.parse
from typing import Any

import anyio
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

PROTOCOL = "2025-11-25"
INIT_PARAMS = {
    "protocolVersion": PROTOCOL,
    "capabilities": {},
    "clientInfo": {"name": "mcp-warden-bench", "version": "1"},
}


def request(rid: int, method: str, params: dict | None = None) -> dict:
    msg: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params is not None:
        msg["params"] = params
    return msg


NOTIFY_INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


class StdioPeer:
    """A bridge on pipes: JSON-RPC lines out, lines in, bounded waits."""

    def __init__(self, cmd: list[str], timeout: float, log) -> None:
        self.timeout = timeout
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
        self.fd = self.proc.stdout.fileno()
        self.buf = bytearray()

    def send(self, msg: dict) -> None:
        self.proc.stdin.write(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
        self.proc.stdin.flush()

    def _line(self, deadline: float) -> bytes:
        while True:
            nl = self.buf.find(b"\n")
            if nl >= 0:
                line = bytes(self.buf[:nl])
                del self.buf[: nl + 1]
                return line
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from the bridge in time")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    raise EOFError(f"the bridge closed its stdout (exit {self.proc.poll()})")
                self.buf += chunk

    def answer(self, rid: int) -> dict:
        """The response to `rid`; server notifications in between are skipped."""
        deadline = time.monotonic() + self.timeout
        while True:
            line = self._line(deadline)
            if not line.strip():
                continue
            msg = json.loads(line)
            if msg.get("id") == rid and "method" not in msg:
                if "error" in msg:
                    raise RuntimeError(f"request {rid} failed: {msg['error']}")
                return msg["result"]
            if "method" in msg and "id" in msg:  # a server request: refuse it, politely
                self.send({"jsonrpc": "2.0", "id": msg["id"], "error": {"code": -32601, "message": "not supported"}})

    def call(self, rid: int, method: str, params: dict | None = None) -> dict:
        self.send(request(rid, method, params))
        return self.answer(rid)

    def rss(self) -> dict:
        status = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "VmRSS"):
                    status[k] = int(v.split()[0])
        kids = 0
        for task in os.listdir(f"/proc/{self.proc.pid}/task"):
            with open(f"/proc/{self.proc.pid}/task/{task}/children") as f:
                kids += len(f.read().split())
        return {"vm_hwm_kb": status.get("VmHWM"), "vm_rss_kb": status.get("VmRSS"), "children": kids}

    def close(self) -> float:
        """Stdin EOF, then wait (5 s, then kill); returns seconds to exit."""
        t0 = time.perf_counter()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.perf_counter() - t0


class HttpPeer:
    """The direct reference: raw Streamable HTTP POSTs on one kept-alive connection."""

    def __init__(self, url: str, timeout: float) -> None:
        u = urllib.parse.urlsplit(url)
        self.path = u.path or "/"
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        self.session: str | None = None

    def post(self, msg: dict) -> dict | None:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": PROTOCOL,
        }
        if self.session:
            headers["Mcp-Session-Id"] = self.session
        self.conn.request("POST", self.path, body=json.dumps(msg, separators=(",", ":")), headers=headers)
        resp = self.conn.getresponse()
        body = resp.read()
        self.session = resp.getheader("Mcp-Session-Id") or self.session
        if resp.status == 202:
            return None
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {body[:200]!r}")
        if (resp.getheader("Content-Type") or "").startswith("text/event-stream"):
            for event in body.split(b"\n\n"):
                data = b"\n".join(ln[5:].lstrip() for ln in event.split(b"\n") if ln.startswith(b"data:"))
                if data.strip():
                    got = json.loads(data)
                    if got.get("id") == msg.get("id"):
                        return got
            raise RuntimeError("no response event in the SSE stream")
        return json.loads(body)

    def call(self, rid: int, method: str, params: dict | None = None) -> dict:
        got = self.post(request(rid, method, params))
        if got is None or "error" in got:
            raise RuntimeError(f"{method} failed: {got}")
        return got["result"]

    def close(self) -> None:
        if self.session:
            try:
                self.conn.request("DELETE", self.path, headers={"Mcp-Session-Id": self.session})
                self.conn.getresponse().read()
            except OSError:
                pass
        self.conn.close()


def handshake(peer) -> int:
    peer.call(1, "initialize", INIT_PARAMS)
    if isinstance(peer, StdioPeer):
        peer.send(NOTIFY_INITIALIZED)
    else:
        peer.post(NOTIFY_INITIALIZED)
    return len(peer.call(2, "tools/list", {})["tools"])


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def stats(xs: list[float]) -> dict:
    return {
        "median": round(statistics.median(xs), 3),
        "p90": round(pct(xs, 90), 3),
        "p99": round(pct(xs, 99), 3),
        "min": round(min(xs), 3),
        "mean": round(statistics.fmean(xs), 3),
        "n": len(xs),
    }


async def sdk_ready(url: str) -> float:
    t0 = time.perf_counter()
    async with streamable_http_client(url) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            await session.list_tools()
            ready = time.perf_counter()
    return (ready - t0) * 1000


def raw_ready(url: str, timeout: float) -> float:
    t0 = time.perf_counter()
    peer = HttpPeer(url, timeout)
    handshake(peer)
    ready = time.perf_counter()
    peer.close()
    return (ready - t0) * 1000


def bridge_ready(cmd: list[str], timeout: float, log) -> tuple[float, float]:
    t0 = time.perf_counter()
    peer = StdioPeer(cmd, timeout, log)
    try:
        handshake(peer)
        ready = time.perf_counter()
    finally:
        exit_s = peer.close()
    return (ready - t0) * 1000, exit_s * 1000


def workload(peer, lat_n: int, blobs: int, blob_size: int) -> dict:
    """Latency then throughput on one open session of `peer`."""
    rid = 10
    for _ in range(200):
        rid += 1
        peer.call(rid, "tools/call", {"name": "echo", "arguments": {"text": "ping"}})
    rtts = []
    for _ in range(lat_n):
        rid += 1
        t0 = time.perf_counter()
        peer.call(rid, "tools/call", {"name": "echo", "arguments": {"text": "ping"}})
        rtts.append((time.perf_counter() - t0) * 1000)
    got = 0
    t0 = time.perf_counter()
    for _ in range(blobs):
        rid += 1
        res = peer.call(rid, "tools/call", {"name": "blob", "arguments": {"size": blob_size}})
        got += len(res["content"][0]["text"])
    secs = time.perf_counter() - t0
    if got != blobs * blob_size:
        raise RuntimeError(f"throughput: received {got} bytes of text, expected {blobs * blob_size}")
    return {
        "latency_ms": stats(rtts),
        "throughput": {"calls": blobs, "bytes": got, "seconds": round(secs, 3),
                       "mb_per_s": round(got / 1e6 / secs, 1)},
    }


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[tuple[str, list[str]]]]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--lat", type=int, default=2000)
    ap.add_argument("--blobs", type=int, default=50)
    ap.add_argument("--blob-size", type=int, default=1_000_000)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--log", default=os.devnull, help="where the bridges' stderr goes")
    ap.add_argument("--bridges-only", action="store_true",
                    help="ready rounds of the bridges alone, ratios against the first one "
                         "(for a server the direct clients cannot reach, e.g. one requiring OAuth)")
    first = argv.index("--label")
    opts = ap.parse_args(argv[:first])
    variants = []
    rest = argv[first:]
    while rest:
        if rest[0] != "--label" or len(rest) < 3 or rest[2] != "--":
            raise SystemExit("expected --label NAME -- CMD ARGS")
        label, rest = rest[1], rest[3:]
        end = rest.index("--label") if "--label" in rest else len(rest)
        variants.append((label, rest[:end]))
        rest = rest[end:]
    return opts, variants


async def ready_rounds(o: argparse.Namespace, variants: list[tuple[str, list[str]]], log) -> dict:
    directs = [] if o.bridges_only else ["python-sdk direct", "raw http direct"]
    names = directs + [lab for lab, _ in variants]
    cmds = dict(variants)
    ready: dict[str, list[float]] = {n: [] for n in names}
    exits: dict[str, list[float]] = {lab: [] for lab, _ in variants}
    rng = random.Random(20261202)
    for i in range(o.warmup + o.runs):
        order = list(names)
        rng.shuffle(order)
        for name in order:
            if name == "python-sdk direct":
                with anyio.fail_after(o.timeout):
                    ms = await sdk_ready(o.url)
            elif name == "raw http direct":
                ms = raw_ready(o.url, o.timeout)
            else:
                ms, exit_ms = bridge_ready(cmds[name], o.timeout, log)
                if i >= o.warmup:
                    exits[name].append(exit_ms)
            if i >= o.warmup:
                ready[name].append(ms)
    key = "ratio_vs_first" if o.bridges_only else "ratio_vs_python_sdk"
    base = statistics.median(ready[names[0]])
    return {n: {"ready_ms": stats(v), key: round(statistics.median(v) / base, 3),
                **({"exit_after_eof_ms": stats(exits[n])} if n in exits else {})}
            for n, v in ready.items()}


def sessions(o: argparse.Namespace, variants: list[tuple[str, list[str]]], log) -> dict:
    out = {}
    direct = HttpPeer(o.url, o.timeout)
    handshake(direct)
    out["raw http direct"] = workload(direct, o.lat, o.blobs, o.blob_size)
    direct.close()
    for label, cmd in variants:
        peer = StdioPeer(cmd, o.timeout, log)
        try:
            handshake(peer)
            res = workload(peer, o.lat, o.blobs, o.blob_size)
            res["rss"] = peer.rss()
        finally:
            peer.close()
        out[label] = res
    base = out["raw http direct"]["latency_ms"]
    for label, _ in variants:
        lat = out[label]["latency_ms"]
        out[label]["added_ms"] = {"p50": round(lat["median"] - base["median"], 3),
                                  "p99": round(lat["p99"] - base["p99"], 3)}
    return out


def main() -> int:
    o, variants = parse(sys.argv[1:])
    with open(o.log, "ab") as log:
        ready = anyio.run(ready_rounds, o, variants, log)
        work = {} if o.bridges_only else sessions(o, variants, log)
    print(json.dumps({"url": o.url, "runs": o.runs, "warmup": o.warmup, "lat_samples": o.lat,
                      "blob_size": o.blob_size, "variants": [lab for lab, _ in variants],
                      "ready": ready, "sessions": work}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
