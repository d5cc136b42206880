#!/usr/bin/env python3
"""An MCP-style stdio server that writes the values of its MWENC_* variables
back in every spelling Python's standard library produces.

For every request line with an "id" it answers one JSON-RPC response (the
envelope by json.dumps, ensure_ascii on, as the default) whose text contents
are the spellings as JSON written by json.dumps with ensure_ascii on, off, and
as JSON text inside a JSON string (stacked). On stderr it writes each spelling
as plain text (base64.encodebytes wraps at 76 columns over several lines) and
one JSON log line per value. Used by tests/encoders.rs.
"""
import base64
import binascii
import json
import os
import sys
import urllib.parse


def values():
    return [os.environ[k] for k in sorted(os.environ) if k.startswith("MWENC_")]


def spellings(v):
    b = v.encode("utf-8")
    return {
        "raw": v,
        "b64": base64.b64encode(b).decode(),
        "b64url": base64.urlsafe_b64encode(b).decode(),
        "encodebytes": base64.encodebytes(b).decode(),
        "hex": binascii.hexlify(b).decode(),
        "HEX": binascii.hexlify(b).decode().upper(),
        "quote": urllib.parse.quote(v, safe=""),
        "quote_plus": urllib.parse.quote_plus(v),
        "url": "https://api.example/x?token=" + urllib.parse.quote(v, safe="") + "&a=1",
        "urlencode": urllib.parse.urlencode({"token": v, "a": "b"}),
    }


def main():
    for line in sys.stdin:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if "id" not in msg:
            continue
        docs = [spellings(v) for v in values()]
        texts = [
            json.dumps(docs),
            json.dumps(docs, ensure_ascii=False),
            json.dumps({"inner": json.dumps(docs)}),
        ]
        result = {"content": [{"type": "text", "text": t} for t in texts]}
        sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}) + "\n")
        sys.stdout.flush()
        for d in docs:
            for k, s in d.items():
                sys.stderr.write(f"{k}: {s}\n")
            sys.stderr.write(json.dumps({"level": "info", "doc": d}) + "\n")
        sys.stderr.flush()


if __name__ == "__main__":
    main()
