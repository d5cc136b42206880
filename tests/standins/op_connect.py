#!/usr/bin/env python3
"""STAND-IN for a 1Password Connect server, for tests.

    op_connect.py --config CONFIG.json --ready READY.json [--cert C --key K]

Not 1Password's server: a local server written for mcp-warden's tests from
1Password's published Connect API documentation (the Connect server API
reference and its OpenAPI specification), since a real Connect server needs
a 1Password account. It implements, as documented:

- `Authorization: Bearer TOKEN` on every `/v1` call (401 `Invalid token
  signature` otherwise); tokens are scoped to vaults, read or read-write
  (403 `vault … is not in scope`, 403 for a write without write access);
- `GET /v1/vaults[?filter=name eq "…"]`, `GET /v1/vaults/{id}`;
- `GET /v1/vaults/{id}/items[?filter=title eq "…"]` (summaries: no sections,
  fields or files), `POST` (create a FullItem), `GET/PUT/PATCH/DELETE
  /v1/vaults/{id}/items/{id}` (PATCH: RFC 6902 `add`/`replace`/`remove` on
  `/fields`, `/fields/{id}`, `/fields/{id}/{attr}` and item attributes);
- `GET …/items/{id}/files[?inline_files=true]`, `…/files/{id}`,
  `…/files/{id}/content` (attachments are seeded from the config: the API has
  no upload);
- `GET /heartbeat`, `GET /health`;
- for tests only (not Connect: the API cannot manage vaults, a user does
  that in 1Password), `POST /__standin-op/vault?name=N&rename=M` renames a
  vault (its ID stays, as in 1Password) and `POST
  /__standin-op/vault?name=N&recreate=1` deletes it with its items and
  makes an empty vault of the same name with a new ID;
- Connect's error shape `{"status": N, "message": "…"}`; `Retry-After` on
  injected 429s.

SCIM `eq` filters compare without regard to case, as SCIM's default. IDs are
26 lower-case letters and digits. Fidelity is proven by the tests that drive
it with 1Password's official Connect Python SDK (onepasswordconnectsdk:
tests/standins/sdk_op.py). Listens on 127.0.0.1 only; see common.py for the
control API (log, injected failures, hang).
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime
import json
import re
import secrets
import string
import time

from common import Handler, State, serve

CATEGORIES = {
    "LOGIN", "PASSWORD", "API_CREDENTIAL", "SERVER", "DATABASE", "CREDIT_CARD", "MEMBERSHIP",
    "PASSPORT", "SOFTWARE_LICENSE", "OUTDOOR_LICENSE", "SECURE_NOTE", "WIRELESS_ROUTER",
    "BANK_ACCOUNT", "DRIVER_LICENSE", "IDENTITY", "REWARD_PROGRAM", "DOCUMENT", "EMAIL_ACCOUNT",
    "SOCIAL_SECURITY_NUMBER", "MEDICAL_RECORD", "SSH_KEY", "CUSTOM",
}
FIELD_TYPES = {"STRING", "EMAIL", "CONCEALED", "URL", "OTP", "DATE", "MONTH_YEAR", "MENU", "SSHKEY"}
FILTER = re.compile(r'^\s*(\w+)\s+eq\s+"(.*)"\s*$')
VAULT = re.compile(r"^/v1/vaults/([^/]+)$")
ITEMS = re.compile(r"^/v1/vaults/([^/]+)/items$")
ITEM = re.compile(r"^/v1/vaults/([^/]+)/items/([^/]+)$")
FILES = re.compile(r"^/v1/vaults/([^/]+)/items/([^/]+)/files$")
FILE = re.compile(r"^/v1/vaults/([^/]+)/items/([^/]+)/files/([^/]+)(/content)?$")


def new_id() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(26))


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def totp_code(uri: str) -> str:
    """A stand-in code for an OTP field: 6 digits derived from the URI and the minute."""
    return f"{(sum(uri.encode()) * 7919 + int(time.time() // 30)) % 1000000:06d}"


def error(h: Handler, status: int, message: str, headers: dict | None = None) -> None:
    h.send_json(status, {"status": status, "message": message}, headers)


class App:
    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.state = State()
        self.ports: dict = {}
        self.vaults: dict[str, dict] = {}
        for v in cfg.get("vaults", []):
            vid = v.get("id") or new_id()
            self.vaults[vid] = {"id": vid, "name": v["name"], "description": v.get("description", ""),
                                "attributeVersion": 1, "contentVersion": 1, "type": "USER_CREATED",
                                "createdAt": now(), "updatedAt": now()}
        self.items: dict[str, dict[str, dict]] = {vid: {} for vid in self.vaults}
        self.file_content: dict[str, bytes] = {}
        for seed in cfg.get("items", []):
            self.seed(seed)

    # --- state -------------------------------------------------------------------
    def vault_by_name(self, name: str) -> str:
        return next(vid for vid, v in self.vaults.items() if v["name"] == name)

    def seed(self, seed: dict) -> None:
        vid = self.vault_by_name(seed["vault"])
        item = self.normalise(vid, {k: v for k, v in seed.items() if k not in ("vault", "files")}, None)
        files = []
        for f in seed.get("files", []):
            fid = f.get("id") or new_id()
            data = base64.b64decode(f["content_b64"]) if "content_b64" in f else f["content"].encode()
            self.file_content[fid] = data
            entry = {"id": fid, "name": f["name"], "size": len(data),
                     "content_path": f"/v1/vaults/{vid}/items/{item['id']}/files/{fid}/content"}
            if f.get("section"):
                entry["section"] = {"id": f["section"]}
            files.append(entry)
        item["files"] = files
        self.items[vid][item["id"]] = item

    def normalise(self, vid: str, body: dict, old: dict | None) -> dict:
        """A FullItem as stored: IDs given to the item, its sections and fields."""
        item = copy.deepcopy(body)
        item["id"] = (old or {}).get("id") or item.get("id") or new_id()
        item["vault"] = {"id": vid}
        item.setdefault("title", "")
        item.setdefault("category", "LOGIN")
        item.setdefault("tags", [])
        item.setdefault("favorite", False)
        sections = []
        for s in item.get("sections") or []:
            s = dict(s)
            s["id"] = s.get("id") or new_id()
            sections.append(s)
        item["sections"] = sections
        item["fields"] = [self.field(f) for f in item.get("fields") or []]
        item["version"] = (old or {}).get("version", 0) + 1
        item["createdAt"] = (old or {}).get("createdAt") or now()
        item["updatedAt"] = now()
        item["lastEditedBy"] = "standin-token-user"
        if old is not None:
            item["files"] = old.get("files", [])
        item.pop("state", None)
        return item

    def field(self, f: dict) -> dict:
        f = {k: v for k, v in f.items() if v is not None}
        f["id"] = f.get("id") or new_id()
        f["type"] = (f.get("type") or "STRING").upper()
        if f["type"] not in FIELD_TYPES:
            raise ValueError(f"invalid field type {f['type']}")
        if f.pop("generate", False) and not f.get("value"):
            f["value"] = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        f.pop("recipe", None)
        if isinstance(f.get("section"), dict):
            f["section"] = {"id": f["section"].get("id")}
        return f

    # --- presentation --------------------------------------------------------------
    def full(self, item: dict) -> dict:
        out = copy.deepcopy(item)
        for f in out["fields"]:
            if f["type"] == "OTP" and f.get("value"):
                f["totp"] = totp_code(f["value"])
        return out

    @staticmethod
    def summary(item: dict) -> dict:
        return {k: v for k, v in item.items() if k not in ("sections", "fields", "files")}

    # --- auth ----------------------------------------------------------------------
    def token(self, h: Handler) -> dict | None:
        auth = h.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return None
        return self.cfg.get("tokens", {}).get(auth[7:])

    def may(self, tok: dict, vid: str, write: bool = False) -> bool:
        vaults = tok.get("vaults", "*")
        name = self.vaults.get(vid, {}).get("name")
        seen = vaults == "*" or name in vaults
        return seen and (tok.get("write", False) or not write)

    # --- routing -------------------------------------------------------------------
    def handle(self, h: Handler, method: str, path: str, query: dict) -> None:
        if path == "/heartbeat" and method == "GET":
            return h.send_text(200, ".")
        if path == "/health" and method == "GET":
            return h.send_json(200, {"name": "1Password Connect API (stand-in)", "version": "1.7.1",
                                     "dependencies": [{"service": "sync", "status": "ACTIVE"}]})
        if path == "/__standin-op/vault" and method == "POST":
            return self.admin_vault(h, query)
        if not path.startswith("/v1/"):
            return error(h, 404, f"no route {method} {path}")
        if self.state.hang_api:
            time.sleep(3600)
        f = self.state.take_failure()
        if f is not None:
            status, retry_after = f
            self.state.record("injected", status=status, path=path)
            return error(h, status, "injected by the test", {"retry-after": retry_after} if retry_after else None)
        tok = self.token(h)
        if tok is None:
            self.state.record("unauthorized", method=method, path=path)
            return error(h, 401, "Invalid token signature")
        try:
            return self.api(h, tok, method, path, query)
        except ValueError as e:
            return error(h, 400, str(e))

    def admin_vault(self, h: Handler, query: dict) -> None:
        """What a user does in 1Password: rename a vault, or delete and recreate it."""
        with self.state.lock:
            vid = self.vault_by_name(query["name"])
            if "rename" in query:
                self.vaults[vid]["name"] = query["rename"]
            elif query.get("recreate") == "1":
                old = self.vaults.pop(vid)
                del self.items[vid]
                nid = new_id()
                self.vaults[nid] = {**old, "id": nid, "createdAt": now(), "updatedAt": now()}
                self.items[nid] = {}
                vid = nid
        h.send_json(200, {"id": vid})

    def api(self, h: Handler, tok: dict, method: str, path: str, query: dict) -> None:
        if path == "/v1/vaults" and method == "GET":
            self.state.record("vault_list", filter=query.get("filter"))
            out = [v for vid, v in self.vaults.items() if self.may(tok, vid)]
            return h.send_json(200, self.filtered(out, query, "name"))
        m = VAULT.match(path)
        if m and method == "GET":
            vid = m.group(1)
            self.state.record("vault_get", vault=vid)
            if vid not in self.vaults:
                return error(h, 404, f"vault {vid} not found")
            if not self.may(tok, vid):
                return error(h, 403, f"vault {vid} is not in scope")
            return h.send_json(200, self.vaults[vid])
        for rx, route in ((ITEMS, self.items_route), (ITEM, self.item_route), (FILES, self.files_route),
                          (FILE, self.file_route)):
            m = rx.match(path)
            if m:
                vid = m.group(1)
                if vid not in self.vaults:
                    return error(h, 404, f"vault {vid} not found")
                if not self.may(tok, vid):
                    self.state.record("forbidden", method=method, path=path)
                    return error(h, 403, f"vault {vid} is not in scope")
                if method != "GET" and not self.may(tok, vid, write=True):
                    self.state.record("forbidden", method=method, path=path)
                    return error(h, 403, f"token does not have write access to vault {vid}")
                return route(h, method, query, *m.groups())
        error(h, 404, f"no route {method} {path}")

    def filtered(self, rows: list[dict], query: dict, attr: str) -> list[dict]:
        flt = query.get("filter")
        if not flt:
            return rows
        m = FILTER.match(flt)
        if not m or m.group(1) not in (attr, "tag"):
            raise ValueError(f"Invalid filter: {flt}")
        key, want = m.group(1), m.group(2).lower()
        if key == "tag":
            return [r for r in rows if want in [t.lower() for t in r.get("tags", [])]]
        return [r for r in rows if str(r.get(attr, "")).lower() == want]

    def items_route(self, h: Handler, method: str, query: dict, vid: str) -> None:
        if method == "GET":
            self.state.record("item_list", vault=vid, filter=query.get("filter"))
            rows = [self.summary(i) for i in self.items[vid].values()]
            return h.send_json(200, self.filtered(rows, query, "title"))
        if method == "POST":
            body = h.json_body() or {}
            if body.get("category", "LOGIN") not in CATEGORIES:
                return error(h, 400, "Invalid item category")
            if (body.get("vault") or {}).get("id") not in (None, vid):
                return error(h, 400, "The item's vault does not match the request path")
            item = self.normalise(vid, body, None)
            item["files"] = []
            self.items[vid][item["id"]] = item
            self.state.record("create", vault=vid, item=item["id"], title=item["title"])
            return h.send_json(200, self.full(item))
        error(h, 405, f"{method} not allowed")

    def item_route(self, h: Handler, method: str, query: dict, vid: str, iid: str) -> None:
        item = self.items[vid].get(iid)
        self.state.record("item_" + method.lower(), vault=vid, item=iid)
        if item is None:
            return error(h, 404, f"item {iid} not found")
        if method == "GET":
            return h.send_json(200, self.full(item))
        if method == "DELETE":
            del self.items[vid][iid]
            h.send_response(204)
            h.send_header("content-length", "0")
            h.end_headers()
            return None
        if method == "PUT":
            body = h.json_body() or {}
            if body.get("category", item["category"]) not in CATEGORIES:
                return error(h, 400, "Invalid item category")
            new = self.normalise(vid, body, item)
            self.items[vid][iid] = new
            return h.send_json(200, self.full(new))
        if method == "PATCH":
            ops = h.json_body()
            if not isinstance(ops, list):
                return error(h, 400, "Invalid patch document")
            new = copy.deepcopy(item)
            for op in ops:
                self.apply(new, op)
            new["version"] += 1
            new["updatedAt"] = now()
            self.items[vid][iid] = new
            return h.send_json(200, self.full(new))
        error(h, 405, f"{method} not allowed")

    def apply(self, item: dict, op: dict) -> None:
        kind, path, value = op.get("op"), op.get("path", ""), op.get("value")
        if kind not in ("add", "remove", "replace"):
            raise ValueError(f"Invalid patch operation {kind!r}")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
        if parts == ["fields"] and kind == "add":
            item["fields"].append(self.field(value or {}))
            return
        if len(parts) >= 2 and parts[0] == "fields":
            idx = next((i for i, f in enumerate(item["fields"]) if f["id"] == parts[1]), None)
            if idx is None:
                raise ValueError(f"The item doesn't have a {parts[1]} field.")
            if len(parts) == 2:
                if kind == "remove":
                    del item["fields"][idx]
                else:
                    merged = dict(value or {})
                    merged["id"] = parts[1]
                    item["fields"][idx] = self.field(merged)
                return
            if kind == "remove":
                item["fields"][idx].pop(parts[2], None)
            else:
                item["fields"][idx][parts[2]] = value
            return
        if len(parts) == 1 and parts[0] in ("title", "favorite", "tags", "urls", "category"):
            if kind == "remove":
                item.pop(parts[0], None)
            else:
                item[parts[0]] = value
            return
        raise ValueError(f"Invalid patch path {path!r}")

    def files_route(self, h: Handler, method: str, query: dict, vid: str, iid: str) -> None:
        item = self.items[vid].get(iid)
        if item is None:
            return error(h, 404, f"item {iid} not found")
        inline = query.get("inline_files") == "true"
        out = []
        for f in item.get("files", []):
            f = dict(f)
            if inline:
                f["content"] = base64.b64encode(self.file_content[f["id"]]).decode()
            out.append(f)
        h.send_json(200, out)

    def file_route(self, h: Handler, method: str, query: dict, vid: str, iid: str, fid: str, content) -> None:
        item = self.items[vid].get(iid)
        if item is None:
            return error(h, 404, f"item {iid} not found")
        f = next((f for f in item.get("files", []) if f["id"] == fid), None)
        if f is None:
            return error(h, 404, f"file {fid} not found")
        if not content:
            out = dict(f)
            if query.get("inline_files") == "true":
                out["content"] = base64.b64encode(self.file_content[fid]).decode()
            return h.send_json(200, out)
        self.state.record("file_content", vault=vid, item=iid, file=fid)
        data = self.file_content[fid]
        h.send_response(200)
        h.send_header("content-type", "application/octet-stream")
        h.send_header("content-disposition", f'attachment; filename="{f["name"]}"')
        h.send_header("content-length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    with open(a.config) as f:
        cfg = json.load(f)
    serve(App(cfg), a.cert, a.key, plain=True, ready=a.ready)


if __name__ == "__main__":
    main()
