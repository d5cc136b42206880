#!/usr/bin/env python3
"""Prepares and checks `scripts/bench oauth`: one authorization each for
`mcp-warden login` and mcp-remote against the same provider and server, a
client-credentials token stored for the static-header variant, and
afterwards the files left holding token material.

    oauth_prep.py prepare --provider URL --url MCP_URL --bin MCP_WARDEN
                          --node NODE --mcp-remote PROXY_JS
    oauth_prep.py files --provider URL DIR...

Environment: HOME, MCP_WARDEN_HOME, MCP_REMOTE_CONFIG_DIR, BROWSER as the bridges
will see them. `prepare` prints nothing secret; `files` prints one JSON
object: per DIR the files holding any credential the provider issued.
Every wait is bounded.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import select
import subprocess
import sys
import time
import urllib.parse
import urllib.request

LIMIT = 60.0


def state(provider: str) -> dict:
    with urllib.request.urlopen(f"{provider}/__test/state", timeout=10) as r:
        return json.load(r)


def client_credentials_token(provider: str, url: str) -> str:
    """A token for the static-header variant, from the pre-registered
    client-credentials client `cc-secret-basic`."""
    secret = state(provider)["clients"]["cc_secret"]
    body = urllib.parse.urlencode({"grant_type": "client_credentials", "resource": url,
                                   "scope": "mcp:tools"}).encode()
    auth = base64.b64encode(f"cc-secret-basic:{secret}".encode()).decode()
    req = urllib.request.Request(f"{provider}/token", data=body, headers={
        "Authorization": f"Basic {auth}", "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)["access_token"]


def run_bounded(cmd: list[str], stdin: bytes | None = None) -> None:
    p = subprocess.run(cmd, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=LIMIT)
    if p.returncode != 0:
        raise SystemExit(f"{cmd[0]} {cmd[1]}: exit {p.returncode}: {p.stderr.decode()[-400:]}")


def mcp_remote_authorize(node: str, proxy: str, url: str) -> None:
    """Starts mcp-remote, lets it authorize (BROWSER completes the step),
    and waits until tools/list is answered: its cache is then written."""
    msgs = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
    ]
    p = subprocess.Popen([node, proxy, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    try:
        assert p.stdin and p.stdout
        p.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in msgs))
        p.stdin.flush()
        deadline = time.monotonic() + LIMIT
        buf = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([p.stdout], [], [], 1.0)
            if not ready:
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            for line in buf.split(b"\n"):
                if line.strip() and json.loads(line).get("id") == 2:
                    return
        raise SystemExit("mcp-remote did not answer tools/list after authorizing")
    finally:
        p.kill()
        p.wait(timeout=10)


def prepare(o: argparse.Namespace) -> int:
    run_bounded([o.bin, "login", o.url])
    token = client_credentials_token(o.provider, o.url)
    run_bounded([o.bin, "secret", "set", "local://bench-static-token"], stdin=token.encode())
    mcp_remote_authorize(o.node, o.mcp_remote, o.url)
    return 0


def files(o: argparse.Namespace) -> int:
    issued = [i["value"].encode() for i in state(o.provider)["issued"] if len(i["value"]) >= 16]
    out = {}
    for d in o.dirs:
        holding = []
        for root, _, names in os.walk(d):
            for n in names:
                path = os.path.join(root, n)
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                if any(t in data for t in issued):
                    holding.append(os.path.relpath(path, d))
        out[d] = sorted(holding)
    print(json.dumps(out, indent=1))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    for a in ("--provider", "--url", "--bin", "--node", "--mcp-remote"):
        p.add_argument(a, required=True)
    f = sub.add_parser("files")
    f.add_argument("--provider", required=True)
    f.add_argument("dirs", nargs="+")
    o = ap.parse_args()
    return prepare(o) if o.cmd == "prepare" else files(o)


if __name__ == "__main__":
    sys.exit(main())
