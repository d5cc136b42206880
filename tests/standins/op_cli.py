#!/usr/bin/env python3
"""STAND-IN for the 1Password CLI (`op`), for tests.

    op_cli.py --standin-data ACCOUNT.json OP-ARGS...

Not 1Password's CLI: a small program written for mcp-warden's tests, since
the real `op` needs a 1Password account. The test puts an executable named
`op` on PATH that runs this with the account file. It follows the CLI's
documented commands and output:

- `op --version`;
- `op whoami --format json` (url, email, user_type);
- `op item get ITEM --vault VAULT --format json`: the item in the CLI's JSON
  shape (snake_case times, `vault {id, name}`, `sections`, fields with
  `section {id, label}` and their `reference`, `files`);
- `op item list --vault VAULT --format json`;
- `op read [-n|--no-newline] op://VAULT/ITEM[/SECTION]/FIELD[?attribute=…]`:
  a field's value, an attachment's content, a one-time password;
- global flags `--no-color`, `--account`; `--` ends the flags (what follows
  is positional, as with cobra/pflag); an unknown flag is an error; errors as the CLI prints them,
  `[ERROR] YYYY/MM/DD HH:MM:SS message` on stderr with exit code 1.

Sign-in: `OP_SERVICE_ACCOUNT_TOKEN` must equal the account file's
`service_account_token` (or the file says `"desktop": true`), else "You are
not currently signed in". The account file's `mode` makes it misbehave on
purpose: `hang` (sleeps 60 s, never answering), `fail` (an error line, then a
line that echoes data the caller must not repeat). Every run's argv and the
names (never the values) of the `OP_*` variables it saw are appended to the
file's `log`.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import time
from urllib.parse import parse_qs, unquote


def die(message: str) -> None:
    stamp = datetime.datetime.now().strftime("%Y/%m/%d %H:%M:%S")
    sys.stderr.write(f"[ERROR] {stamp} {message}\n")
    sys.exit(1)


def same(a: str, b: str) -> bool:
    return a.lower() == b.lower()


class Account:
    def __init__(self, data: dict) -> None:
        self.data = data

    def vault(self, name: str) -> dict:
        found = [v for v in self.data.get("vaults", []) if v["id"] == name or same(v["name"], name)]
        if not found:
            die(f'"{name}" isn\'t a vault in this account. Specify the vault with its ID or name.')
        return found[0]

    def item(self, vault: dict, name: str) -> dict:
        items = [i for i in self.data.get("items", []) if i["vault"] == vault["name"]]
        by_id = [i for i in items if i["id"] == name]
        found = by_id or [i for i in items if same(i["title"], name)]
        if not found:
            die(f'"{name}" isn\'t an item in the "{vault["name"]}" vault. Specify the item with its UUID, name, or domain.')
        if len(found) > 1:
            die(f'More than one item matches "{name}". Try again and specify the item by its ID.')
        return found[0]

    def item_json(self, vault: dict, item: dict) -> dict:
        labels = {s["id"]: s.get("label", "") for s in item.get("sections", [])}
        fields = []
        for f in item.get("fields", []):
            out = {k: v for k, v in f.items() if k != "section"}
            out.setdefault("type", "STRING")
            ref = [vault["name"], item["title"]]
            if f.get("section"):
                out["section"] = {"id": f["section"], "label": labels.get(f["section"], "")}
                ref.append(labels.get(f["section"]) or f["section"])
            ref.append(f.get("label") or f["id"])
            out["reference"] = "op://" + "/".join(ref)
            if out["type"] == "OTP":
                out["totp"] = "123456"
            fields.append(out)
        files = []
        for f in item.get("files", []):
            entry = {"id": f["id"], "name": f["name"], "size": len(f["content"].encode()),
                     "content_path": f"/v1/vaults/{vault['id']}/items/{item['id']}/files/{f['id']}/content"}
            if f.get("section"):
                entry["section"] = {"id": f["section"], "label": labels.get(f["section"], "")}
            files.append(entry)
        out = {
            "id": item["id"], "title": item["title"], "version": item.get("version", 1),
            "vault": {"id": vault["id"], "name": vault["name"]}, "category": item.get("category", "LOGIN"),
            "last_edited_by": "STANDINUSER", "created_at": item.get("created_at", "2024-01-02T03:04:05Z"),
            "updated_at": item.get("updated_at", "2024-01-02T03:04:05Z"),
            "sections": item.get("sections", []), "fields": fields,
        }
        if files:
            out["files"] = files
        return out

    def read(self, ref: str) -> bytes:
        if not ref.startswith("op://"):
            die(f"could not read secret '{ref}': invalid secret reference: must start with op://")
        body, _, query = ref[5:].partition("?")
        parts = [unquote(p) for p in body.split("/")]
        if len(parts) not in (3, 4) or not all(parts):
            die(f"could not read secret '{ref}': invalid secret reference")
        vault = self.vault(parts[0])
        item = self.item(vault, parts[1])
        want = parts[-1]
        section = parts[2] if len(parts) == 4 else None
        attribute = (parse_qs(query).get("attribute") or ["value"])[0]
        labels = {s["id"]: s.get("label", "") for s in item.get("sections", [])}

        def in_section(sid):
            return section is None or (sid is not None and (sid == section or same(labels.get(sid, ""), section)))

        fields = [f for f in item.get("fields", []) if in_section(f.get("section"))
                  and (f["id"] == want or same(f.get("label", ""), want))]
        if len(fields) > 1:
            die(f"could not read secret '{ref}': more than one field matches \"{want}\"")
        if fields:
            f = fields[0]
            if attribute == "otp":
                return b"123456"
            if attribute in ("type", "id", "label", "purpose"):
                return str(f.get(attribute, "")).encode()
            return str(f.get("value", "")).encode()
        files = [f for f in item.get("files", []) if in_section(f.get("section"))
                 and (f["id"] == want or same(f["name"], want))]
        if files:
            return files[0]["content"].encode()
        die(f"could not read secret '{ref}': the specified field cannot be found within the item")
        return b""


def signed_in(data: dict) -> bool:
    if data.get("desktop"):
        return True
    token = os.environ.get("OP_SERVICE_ACCOUNT_TOKEN")
    return bool(token) and token == data.get("service_account_token")


def flag(args: list[str], name: str) -> str | None:
    if name in args:
        i = args.index(name)
        if i + 1 < len(args):
            value = args[i + 1]
            del args[i:i + 2]
            return value
    for i, a in enumerate(args):
        if a.startswith(name + "="):
            del args[i]
            return a.split("=", 1)[1]
    return None


def main() -> None:
    argv = sys.argv[1:]
    if len(argv) < 2 or argv[0] != "--standin-data":
        sys.exit("usage: op_cli.py --standin-data ACCOUNT.json OP-ARGS...")
    with open(argv[1]) as f:
        data = json.load(f)
    args = argv[2:]
    if data.get("log"):
        with open(data["log"], "a") as log:
            env = sorted(k for k in os.environ if k.startswith("OP_"))
            log.write(json.dumps({"argv": args, "env": env, "t": time.time()}) + "\n")
    for g in ("--no-color", "--cache"):
        while g in args:
            args.remove(g)
    flag(args, "--account")
    if args == ["--version"]:
        print(data.get("version", "2.30.0"))
        return
    mode = data.get("mode", "ok")
    if mode == "hang":
        time.sleep(60)
        die("timed out waiting for the desktop app")
    if mode == "fail":
        stamp = datetime.datetime.now().strftime("%Y/%m/%d %H:%M:%S")
        sys.stderr.write(f"[ERROR] {stamp} {data.get('fail_message', 'an internal error occurred')}\n")
        sys.stderr.write(data.get("fail_detail", "") + "\n")
        sys.exit(1)
    if not signed_in(data):
        die("You are not currently signed in. Please run `op signin --help` for instructions")
    acct = Account(data)
    # Arguments after `--` are positional, never flags (cobra/pflag).
    positional: list[str] = []
    if "--" in args:
        i = args.index("--")
        args, positional = args[:i], args[i + 1:]
    fmt = flag(args, "--format")
    vault_name = flag(args, "--vault")
    newline = True
    for n in ("-n", "--no-newline"):
        while args[:1] == ["read"] and n in args:
            args.remove(n)
            newline = False
    unknown = [a for a in args if a.startswith("-")]
    if unknown:
        die(f"unknown flag: {unknown[0]}")
    args = args + positional
    if args[:1] == ["whoami"]:
        info = data.get("whoami", {"url": "standin.1password.com", "user_type": "SERVICE_ACCOUNT"})
        print(json.dumps(info) if fmt == "json" else "\n".join(f"{k}: {v}" for k, v in info.items()))
        return
    if args[:2] == ["item", "get"] and len(args) == 3:
        if vault_name is None:
            die("a vault is required: use --vault")
        vault = acct.vault(vault_name)
        item = acct.item(vault, args[2])
        out = acct.item_json(vault, item)
        print(json.dumps(out, indent=2) if fmt == "json" else out["title"])
        return
    if args[:2] == ["item", "list"]:
        vault = acct.vault(vault_name or "")
        rows = []
        for i in data.get("items", []):
            if i["vault"] == vault["name"]:
                full = acct.item_json(vault, i)
                rows.append({k: full[k] for k in ("id", "title", "version", "vault", "category",
                                                     "last_edited_by", "created_at", "updated_at")})
        print(json.dumps(rows, indent=2))
        return
    if args[:1] == ["read"]:
        if len(args) != 2:
            die("expected exactly one secret reference")
        value = acct.read(args[1])
        sys.stdout.buffer.write(value + (b"\n" if newline else b""))
        return
    die(f'unknown command "{" ".join(args[:2])}" for "op"')


if __name__ == "__main__":
    main()
