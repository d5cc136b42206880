#!/usr/bin/env python3
"""A lean HTTPS client for the `egress` section of scripts/bench (issue 18).

    egress_client.py --port PORT --token-env NAME --out FILE
                     [--lat N] [--warmup W] [--download BYTES] [--downloads R]

Runs either directly against tests/servers/egress_api.mjs or as the child of
`mcp-warden run --secretless`. It honours nothing implicitly: it reads
HTTPS_PROXY (the proxied case: CONNECT through it with
HTTPSConnection.set_tunnel) and SSL_CERT_FILE (the CA to verify with) from its
environment itself, and sends `Authorization: Bearer $NAME` (the real token
directly, the placeholder under mcp-warden). HTTP/1.1 (http.client).

Measures, in this order, after W warm-up requests each:
- `reused`: N sequential GET /whoami on one keep-alive connection;
- `new`: N sequential GET /whoami, each on a new TCP + TLS connection
  (through the proxy: a new CONNECT + TLS handshake with mcp-warden);
- `download`: R sequential GET /download?bytes=BYTES on new connections,
  the body read into one reused buffer; MB/s = BYTES / 10^6 / seconds from
  the request sent to the last byte read.

Writes JSON to --out (never the token): raw latencies in microseconds and
download seconds. Exits 1 on any non-200 answer.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import ssl
import sys
import time
from urllib.parse import urlsplit

HOST = "127.0.0.1"


class Client:
    """Opens connections to the API, directly or through HTTPS_PROXY."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}"}
        self.ctx = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
        proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
        self.proxy = urlsplit(proxy) if proxy else None

    def connect(self) -> http.client.HTTPSConnection:
        if self.proxy is None:
            c = http.client.HTTPSConnection(HOST, self.port, context=self.ctx, timeout=30)
        else:
            c = http.client.HTTPSConnection(self.proxy.hostname, self.proxy.port, context=self.ctx, timeout=30)
            c.set_tunnel(HOST, self.port)
        c.connect()
        return c

    def get(self, c: http.client.HTTPSConnection, path: str) -> http.client.HTTPResponse:
        c.request("GET", path, headers=self.headers)
        r = c.getresponse()
        if r.status != 200:
            sys.exit(f"egress_client: GET {path} answered {r.status}")
        return r


def reused(cl: Client, n: int, warmup: int) -> list[float]:
    c = cl.connect()
    out = []
    for i in range(warmup + n):
        t = time.perf_counter()
        cl.get(c, "/whoami").read()
        if i >= warmup:
            out.append((time.perf_counter() - t) * 1e6)
    c.close()
    return out


def new(cl: Client, n: int, warmup: int) -> list[float]:
    out = []
    for i in range(warmup + n):
        t = time.perf_counter()
        c = cl.connect()
        cl.get(c, "/whoami").read()
        c.close()
        if i >= warmup:
            out.append((time.perf_counter() - t) * 1e6)
    return out


def download(cl: Client, size: int, runs: int) -> list[float]:
    buf = memoryview(bytearray(1 << 20))
    out = []
    for _ in range(runs):
        c = cl.connect()
        t = time.perf_counter()
        r = cl.get(c, f"/download?bytes={size}")
        got = 0
        while True:
            k = r.readinto(buf)
            if not k:
                break
            got += k
        dt = time.perf_counter() - t
        c.close()
        if got != size:
            sys.exit(f"egress_client: download got {got} of {size} bytes")
        out.append(dt)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token-env", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--lat", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--download", type=int, default=100 * 1024 * 1024)
    ap.add_argument("--downloads", type=int, default=5)
    a = ap.parse_args()
    cl = Client(a.port, os.environ[a.token_env])
    result = {
        "proxied": cl.proxy is not None,
        "reused_us": reused(cl, a.lat, a.warmup),
        "new_us": new(cl, a.lat, a.warmup),
        "download_bytes": a.download,
        "download_s": download(cl, a.download, a.downloads),
    }
    with open(a.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
