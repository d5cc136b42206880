#!/usr/bin/env python3
"""An MCP stdio server that calls an HTTPS API with a token from its
environment, for tests/secretless.rs: the official Python SDK (MCPServer)
and httpx with its defaults (trust_env: HTTPS_PROXY, SSL_CERT_FILE, NO_PROXY
are honoured), as a real Python MCP server would be written.

    egress_server.py          (stdio; run it as mcp-warden's child)

The token is the variable named by EGRESS_TOKEN_VAR (default API_TOKEN). Under
`mcp-warden run --secretless` it holds a placeholder, not the real value.
Every tool answers one JSON text:

- call(url, where="header"|"query"|"none", http2=False):
  GET url with `Authorization: Bearer <token>` or `?token=<token>`;
  {"status", "http_version", "body", "x_echo_token"} or {"status": null, "error"}.
- upload(url, megabytes, token_in_body=False): POST a streamed (chunked),
  random body of exactly `megabytes` MiB, the token in the header and, when
  token_in_body, also at the start of the body as `token=<token>\\n`;
  {"sent_bytes", "sent_sha256", "status", "http_version", "answer"}.
- env(dump=""): {"var", "value", "length", "environ_has_value", "pid", "proxy": the
  proxy and CA variables it sees, "ca_file_exists"}; with dump, writes
  /proc/self/environ to that path (so a test can search all of it).
- ws(url, message="hello"): a WebSocket round trip (wss://) through
  HTTPS_PROXY's CONNECT, `Authorization: Bearer <token>` on the upgrade;
  {"status", "accept_ok", "echo"} or {"status": null, "error"}.

On stderr it logs only what a careful real server would: the token's first
four characters.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import ssl
import sys
import urllib.parse
from typing import Any, AsyncIterator

import anyio
import httpx
from mcp.server.mcpserver import MCPServer

VAR = os.environ.get("EGRESS_TOKEN_VAR", "API_TOKEN")
CA_VARS = ["SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"]
PROXY_VARS = [
    "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
    "NO_PROXY", "no_proxy", "NODE_USE_ENV_PROXY",
]  # fmt: skip
MIB = 1 << 20
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def token() -> str:
    return os.environ.get(VAR, "")


def answer(d: dict[str, Any]) -> str:
    return json.dumps(d)


def failure(exc: BaseException) -> str:
    return answer({"status": None, "error": f"{type(exc).__name__}: {exc}"})


server = MCPServer("egress-py")


@server.tool(description="GET url with the token in a header or the query", structured_output=False)
async def call(url: str, where: str = "header", http2: bool = False) -> str:
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    if where == "header":
        headers["Authorization"] = f"Bearer {token()}"
    elif where == "query":
        params["token"] = token()
    try:
        async with httpx.AsyncClient(http2=http2, timeout=30) as client:
            r = await client.get(url, headers=headers, params=params)
    except httpx.HTTPError as exc:
        return failure(exc)
    return answer(
        {
            "status": r.status_code,
            "http_version": r.http_version,
            "body": r.text,
            "x_echo_token": r.headers.get("x-echo-token"),
        }
    )


@server.tool(description="POST a streamed body of `megabytes` MiB", structured_output=False)
async def upload(url: str, megabytes: int, token_in_body: bool = False) -> str:
    total = megabytes * MIB
    digest = hashlib.sha256()
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        head = f"token={token()}\n".encode() if token_in_body else b""
        while sent < total:
            n = min(MIB, total - sent)
            chunk = (head + os.urandom(n))[:n] if sent == 0 else os.urandom(n)
            digest.update(chunk)
            sent += len(chunk)
            yield chunk

    headers = {"Authorization": f"Bearer {token()}", "Content-Type": "application/octet-stream"}
    try:
        async with httpx.AsyncClient(timeout=120) as client:
            r = await client.post(url, headers=headers, content=body())
    except httpx.HTTPError as exc:
        return failure(exc)
    try:
        api: Any = r.json()
    except ValueError:
        api = r.text
    return answer(
        {
            "sent_bytes": sent,
            "sent_sha256": digest.hexdigest(),
            "status": r.status_code,
            "http_version": r.http_version,
            "answer": api,
        }
    )


@server.tool(description="The token variable and the proxy settings as this server sees them", structured_output=False)
def env(dump: str = "") -> str:
    value = token()
    with open("/proc/self/environ", "rb") as f:
        environ = f.read()
    if dump:
        with open(dump, "wb") as f:
            f.write(environ)
    ca = os.environ.get("SSL_CERT_FILE")
    return answer(
        {
            "var": VAR,
            "value": value,
            "length": len(value),
            "environ_has_value": bool(value) and value.encode() in environ,
            "pid": os.getpid(),
            "proxy": {k: os.environ.get(k) for k in PROXY_VARS + CA_VARS},
            "ca_file_exists": bool(ca) and os.path.exists(ca),
        }
    )


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(4096)
        if not piece:
            raise ConnectionError(f"closed before the end of the headers: {data[:200]!r}")
        data += piece
        if len(data) > 65536:
            raise ConnectionError("headers too long")
    return data


def _tunnel(host: str, port: int) -> socket.socket:
    """A TCP connection to host:port, through HTTPS_PROXY's CONNECT when set."""
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    if not proxy:
        return socket.create_connection((host, port), timeout=10)
    p = urllib.parse.urlsplit(proxy)
    sock = socket.create_connection((p.hostname, p.port or 80), timeout=10)
    sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    status = _read_head(sock).split(b"\r\n", 1)[0]
    if b" 200" not in status:
        sock.close()
        raise ConnectionError(f"proxy refused CONNECT: {status.decode(errors='replace')}")
    return sock


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    else:
        head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _ws_read(sock: ssl.SSLSocket, buf: bytes) -> tuple[int, bytes]:
    while True:
        if len(buf) >= 2:
            n, at = buf[1] & 0x7F, 2
            if n == 126 and len(buf) >= 4:
                n, at = int.from_bytes(buf[2:4], "big"), 4
            if n != 126 and len(buf) >= at + n:
                return buf[0] & 0x0F, buf[at : at + n]
        piece = sock.recv(65536)
        if not piece:
            raise ConnectionError("closed before a frame")
        buf += piece


def _ws_round_trip(url: str, message: str) -> dict[str, Any]:
    u = urllib.parse.urlsplit(url)
    host, port = u.hostname or "", u.port or 443
    ctx = ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE"))
    ctx.set_alpn_protocols(["http/1.1"])
    with ctx.wrap_socket(_tunnel(host, port), server_hostname=host) as tls:
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {u.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token()}\r\n\r\n"
        )
        tls.sendall(request.encode())
        head = _read_head(tls)
        headers, rest = head.split(b"\r\n\r\n", 1)
        lines = headers.decode(errors="replace").split("\r\n")
        status = int(lines[0].split(" ")[1])
        if status != 101:
            return {"status": status, "accept_ok": False, "echo": None}
        want = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        got = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        tls.sendall(_ws_frame(1, message.encode()))
        opcode, payload = _ws_read(tls, rest)
        tls.sendall(_ws_frame(8, b""))
        return {
            "status": status,
            "accept_ok": got.get("sec-websocket-accept") == want,
            "echo": payload.decode(errors="replace") if opcode == 1 else None,
        }


@server.tool(description="A WebSocket round trip to a wss:// url", structured_output=False)
async def ws(url: str, message: str = "hello") -> str:
    try:
        return answer(await anyio.to_thread.run_sync(_ws_round_trip, url, message))
    except (OSError, ValueError, IndexError) as exc:
        return failure(exc)


def main() -> None:
    print(f"egress-py: {VAR} starts with {token()[:4]!r}", file=sys.stderr, flush=True)
    server.run()


if __name__ == "__main__":
    main()
