#!/usr/bin/env python3
"""A minimal Streamable HTTP MCP server on loopback for the Rust integration tests.

Started as `remote_probe.py PORT_FILE RECORD_FILE`. It listens on 127.0.0.1
(a free port, written to PORT_FILE), answers POSTed JSON-RPC with JSON:
`initialize` (echoing the client's protocol version) and `tools/list` (one
tool), notifications with 202, GET with 405 (no stream), DELETE with 200.
Every request's Authorization header and `token` query parameter go to
RECORD_FILE as JSON lines, so a test can check what a bridge filled in;
nothing is printed. It exits when its parent closes its stdin.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def main():
    port_file, record_file = sys.argv[1], sys.argv[2]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def record(self):
            query = parse_qs(urlsplit(self.path).query)
            entry = {
                "method": self.command,
                "path": urlsplit(self.path).path,
                "authorization": self.headers.get("Authorization"),
                "token": (query.get("token") or [None])[0],
            }
            with lock, open(record_file, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")

        def reply(self, status, body=None):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.record()
            self.reply(405)

        def do_DELETE(self):
            self.record()
            self.reply(200)

        def do_POST(self):
            self.record()
            length = int(self.headers.get("Content-Length") or 0)
            msg = json.loads(self.rfile.read(length) or b"{}")
            if "id" not in msg:
                self.reply(202)
                return
            method = msg.get("method")
            if method == "initialize":
                version = msg.get("params", {}).get("protocolVersion", "2025-06-18")
                result = {
                    "protocolVersion": version,
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "remote-probe", "version": "1.0.0"},
                }
            elif method == "tools/list":
                result = {"tools": [{"name": "ping", "inputSchema": {"type": "object"}}]}
            else:
                self.reply(200, {"jsonrpc": "2.0", "id": msg["id"],
                                 "error": {"code": -32601, "message": "no such method"}})
                return
            self.reply(200, {"jsonrpc": "2.0", "id": msg["id"], "result": result})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.replace(port_file + ".tmp", port_file)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
