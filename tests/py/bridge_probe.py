#!/usr/bin/env python3
"""A stand-in for stdio-to-remote header bridges in the Rust integration tests.

Started as `bridge_probe.py PROGRAM ARGS...` (PROGRAM is the name it plays:
mcp-remote, supergateway or mcp-proxy). It records the argv it was given and
the headers the real bridge would send, then exits 0:

    mcp-remote    --header "Name: value" / --header=... ; `${VAR}` in a value is
                  expanded from the environment, as mcp-remote does
    supergateway  --header "Name: value", --oauth2Bearer TOKEN
    mcp-proxy     --headers NAME VALUE / -H NAME VALUE

The record goes to the JSON file named by MW_BRIDGE_OUT:
    {"argv": [...], "headers": {"Authorization": "Bearer ..."}}
"""

import json
import os
import re
import sys


def expand(value):
    return re.sub(r"\$\{([^}]+)\}", lambda m: os.environ.get(m.group(1), ""), value)


def header_line(line, headers):
    name, _, value = line.partition(":")
    headers[name.strip()] = value.strip()


def main():
    program, args = sys.argv[1], sys.argv[2:]
    headers = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("--header="):
            header_line(a[len("--header="):], headers)
        elif a in ("--header", "-H") and program != "mcp-proxy" and i + 1 < len(args):
            header_line(args[i + 1], headers)
            i += 1
        elif a in ("--headers", "-H") and program == "mcp-proxy" and i + 2 < len(args):
            headers[args[i + 1]] = args[i + 2]
            i += 2
        elif a == "--oauth2Bearer" and i + 1 < len(args):
            headers["Authorization"] = "Bearer " + args[i + 1]
            i += 1
        i += 1
    if program == "mcp-remote":
        headers = {k: expand(v) for k, v in headers.items()}
    with open(os.environ["MW_BRIDGE_OUT"], "w", encoding="utf-8") as f:
        json.dump({"argv": [program] + args, "headers": headers}, f)


if __name__ == "__main__":
    main()
