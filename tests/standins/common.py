"""Shared parts of the test stand-ins for cloud secret services.

These are STAND-INS, written for mcp-warden's tests: no official emulator of
GCP Secret Manager, Azure Key Vault or 1Password Connect runs here, so each stand-in implements
the documented REST API and token endpoints, and the tests prove its fidelity
by driving it with the official Python SDKs.

This module owns: HTTP(S) listeners on 127.0.0.1 only (a TLS one with the
certificate the test made, and optionally a plain one for metadata-style
endpoints), the "ready" file that tells the test which ports were bound, RS256
JWT verification, a request log, and a small control API under /__standin/
(inject N failures, read the log, hang). Every listener stops when the
process is killed; nothing here reaches beyond loopback.
"""

from __future__ import annotations

import base64
import json
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def load_public_key(pem: str):
    """A PEM public key or certificate -> its public key."""
    data = pem.encode()
    if b"CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


def verify_jwt(token: str, public_key) -> dict | None:
    """The claims of an RS256 JWT whose signature `public_key` verifies, else None."""
    try:
        head_b64, claims_b64, sig_b64 = token.split(".")
        header = json.loads(b64url_decode(head_b64))
        if header.get("alg") != "RS256":
            return None
        public_key.verify(
            b64url_decode(sig_b64),
            f"{head_b64}.{claims_b64}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
        return json.loads(b64url_decode(claims_b64))
    except Exception:
        return None


def jwt_header(token: str) -> dict:
    try:
        return json.loads(b64url_decode(token.split(".")[0]))
    except Exception:
        return {}


def cert_thumbprints(pem: str) -> tuple[str, str]:
    """(x5t, x5t#S256) of a PEM certificate."""
    cert = x509.load_pem_x509_certificate(pem.encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    sha1 = hashes.Hash(hashes.SHA1())
    sha1.update(der)
    sha256 = hashes.Hash(hashes.SHA256())
    sha256.update(der)
    return b64url(sha1.finalize()), b64url(sha256.finalize())


class State:
    """What every handler shares: the log, injected failures, a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.log: list[dict] = []
        self.fail_next: list[tuple[int, str | None]] = []  # (status, Retry-After)
        self.hang_api = False
        self.tokens_issued = 0
        self.expire_next = False

    def take_expiry(self) -> bool:
        """Whether the token being issued is to be treated as expired (once)."""
        with self.lock:
            self.tokens_issued += 1
            e, self.expire_next = self.expire_next, False
            return e

    def record(self, kind: str, **extra) -> None:
        with self.lock:
            self.log.append({"kind": kind, "t": time.time(), **extra})

    def take_failure(self) -> tuple[int, str | None] | None:
        with self.lock:
            return self.fail_next.pop(0) if self.fail_next else None


class Handler(BaseHTTPRequestHandler):
    """Routes to `self.server.app.handle(self)`; answers JSON."""

    protocol_version = "HTTP/1.1"
    server_version = "standin"

    def log_message(self, fmt, *args):  # quiet: the test reads /__standin/log
        pass

    def body(self) -> bytes:
        return self._body

    def json_body(self):
        try:
            return json.loads(self.body() or b"{}")
        except ValueError:
            return None

    def form(self) -> dict[str, str]:
        """A form body, or a JSON object body (Google's token endpoints take both)."""
        if "json" in (self.headers.get("content-type") or ""):
            obj = self.json_body()
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in (obj or {}).items()}
        return {k: v[0] for k, v in parse_qs(self.body().decode(), keep_blank_values=True).items()}

    def split(self) -> tuple[str, dict[str, str]]:
        u = urlsplit(self.path)
        return u.path, {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}

    def send_json(self, status: int, obj, headers: dict | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_text(self, status: int, text: str, headers: dict | None = None) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def dispatch(self, method: str) -> None:
        app = self.server.app  # type: ignore[attr-defined]
        # Read the whole body first: an answer sent without reading it would
        # leave its bytes in a kept-alive connection.
        n = int(self.headers.get("content-length") or 0)
        self._body = self.rfile.read(n) if n else b""
        path, query = self.split()
        if path.startswith("/__standin/"):
            return control(self, app.state, method, path, query)
        try:
            app.handle(self, method, path, query)
        except BrokenPipeError:
            pass
        except Exception as e:  # a stand-in bug must show in the test's log
            print(f"stand-in error on {method} {path}: {e!r}", file=sys.stderr, flush=True)
            self.send_json(500, {"error": {"code": 500, "message": "stand-in internal error"}})

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")


def control(h: Handler, state: State, method: str, path: str, query: dict) -> None:
    """/__standin/log, /__standin/fail?status=503&count=2[&retry_after=1],
    /__standin/expire-next-token (the API will call the next token issued expired),
    /__standin/hang."""
    if path == "/__standin/log":
        with state.lock:
            return h.send_json(200, state.log)
    if path == "/__standin/fail" and method == "POST":
        n = int(query.get("count", "1"))
        with state.lock:
            state.fail_next.extend([(int(query.get("status", "503")), query.get("retry_after"))] * n)
        return h.send_json(200, {})
    if path == "/__standin/expire-next-token" and method == "POST":
        with state.lock:
            state.expire_next = True
        return h.send_json(200, {})
    if path == "/__standin/hang" and method == "POST":
        state.hang_api = query.get("on", "1") == "1"
        return h.send_json(200, {})
    h.send_json(404, {})


def injected(h: Handler, state: State) -> bool:
    """Answers with an injected failure (or hangs) when one is queued."""
    if state.hang_api:
        time.sleep(3600)
    f = state.take_failure()
    if f is None:
        return False
    status, retry_after = f
    state.record("injected", status=status)
    headers = {"retry-after": retry_after} if retry_after else None
    h.send_json(status, {"error": {"code": status, "message": "injected by the test"}}, headers)
    return True


class Server(ThreadingHTTPServer):
    """Threads per connection; a listen backlog for bursts of concurrent clients
    (the default of 5 makes the 6th simultaneous connect wait for a SYN retry)."""

    daemon_threads = True
    request_queue_size = 128


def serve(app, tls_cert: str | None, tls_key: str | None, plain: bool, ready: str) -> None:
    """Binds 127.0.0.1:0 (TLS when a certificate is given, plus a plain
    listener when `plain`), writes {"port": P, "plain_port": Q} to `ready`, serves."""
    servers = []
    tls = Server(("127.0.0.1", 0), Handler)
    tls.app = app  # type: ignore[attr-defined]
    if tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls_cert, tls_key)
        # The handshake happens in the handler's thread, so one slow client stalls nobody.
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True, do_handshake_on_connect=False)
    servers.append(tls)
    info = {"port": tls.server_address[1]}
    if plain:
        p = Server(("127.0.0.1", 0), Handler)
        p.app = app  # type: ignore[attr-defined]
        servers.append(p)
        info["plain_port"] = p.server_address[1]
    app.ports = info
    for s in servers[1:]:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    tmp = ready + ".tmp"
    with open(tmp, "w") as f:
        json.dump(info, f)
    import os

    os.replace(tmp, ready)
    servers[0].serve_forever()
