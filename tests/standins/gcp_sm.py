#!/usr/bin/env python3
"""STAND-IN for GCP Secret Manager and Google's token endpoints, for tests.

    gcp_sm.py --config CONFIG.json --ready READY.json [--cert C --key K]

Not Google's service: a local server written for mcp-warden's tests, since no
official emulator exists. It implements, as documented:

- Secret Manager REST v1: secrets create/get/list/delete, versions
  add/get/list/access/enable/disable/destroy (`latest` alias, CRC32C checked
  on add and sent on access), Google's JSON error shape.
- OAuth 2.0 token endpoint (`POST /token`): service-account JWT assertions
  (RS256 signature checked against the account's public key) and
  authorized-user refresh tokens.
- Self-signed service-account JWTs used directly as bearer tokens (AIP-4111).
- STS token exchange (`POST /v1/token`) for workload identity federation and
  IAM Credentials `generateAccessToken` for impersonation (scope, lifetime,
  delegation chain checked) and `GET /tokeninfo?access_token=` (who a token
  is for, its scopes).
- The metadata server (plain HTTP listener; `Metadata-Flavor: Google`).

Its fidelity is proven by the tests that drive it with Google's official
Python client (google-cloud-secret-manager + google-auth). Listens on
127.0.0.1 only. See common.py for the control API.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import re
import secrets
import time

from common import Handler, State, injected, jwt_header, load_public_key, serve, verify_jwt


def crc32c(data: bytes) -> int:
    poly, c = 0x82F63B78, 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def error(h: Handler, code: int, status: str, message: str) -> None:
    h.send_json(code, {"error": {"code": code, "message": message, "status": status}})


SECRET = re.compile(r"^/v1/projects/([^/]+)/secrets/([^/:]+)$")
SECRETS = re.compile(r"^/v1/projects/([^/]+)/secrets$")
ADD = re.compile(r"^/v1/projects/([^/]+)/secrets/([^/:]+):addVersion$")
VERSIONS = re.compile(r"^/v1/projects/([^/]+)/secrets/([^/:]+)/versions$")
VERSION = re.compile(r"^/v1/projects/([^/]+)/secrets/([^/:]+)/versions/([^/:]+)(?::(access|enable|disable|destroy))?$")
IMPERSONATE = re.compile(r"^/v1/projects/-/serviceAccounts/([^/:]+):generateAccessToken$")
MDS = "/computeMetadata/v1/"


class App:
    def __init__(self, config: dict) -> None:
        self.cfg = config
        self.state = State()
        self.tokens: dict[str, dict] = {}
        self.store: dict[tuple[str, str], dict] = {}
        self.keys = {
            email: load_public_key(sa["public_key"]) for email, sa in config.get("service_accounts", {}).items()
        }
        self.ports: dict = {}

    # --- tokens -------------------------------------------------------------
    def issue(self, identity: str, scopes: list | None = None, expires: float | None = None) -> str:
        expired = self.state.take_expiry()
        tok = "ya29.standin-" + secrets.token_urlsafe(24)
        self.tokens[tok] = {"identity": identity, "expired": expired, "scopes": scopes}
        if expires is not None:
            self.tokens[tok]["expires"] = expires
        return tok

    def token_answer(self, identity: str) -> dict:
        return {"access_token": self.issue(identity), "expires_in": 3599, "token_type": "Bearer"}

    def caller(self, h: Handler) -> tuple[str | None, str]:
        """(identity, why not) of the request's bearer token."""
        auth = h.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return None, "missing bearer token"
        tok = auth[7:]
        info = self.tokens.get(tok)
        if info is not None:
            if info["expired"]:
                return None, "Request had invalid authentication credentials. Expected OAuth 2 access token. The token has expired."
            return info["identity"], ""
        if tok.count(".") == 2:  # a self-signed service account JWT
            claims_iss = jwt_header(tok)
            for email, key in self.keys.items():
                claims = verify_jwt(tok, key)
                if claims and claims.get("iss") == email and claims.get("exp", 0) > time.time():
                    if claims.get("scope") or claims.get("aud"):
                        self.state.record("self-signed-jwt", identity=email, kid=claims_iss.get("kid"))
                        return email, ""
            return None, "invalid self-signed JWT"
        return None, "unknown access token"

    def oauth_token(self, h: Handler) -> None:
        f = h.form()
        grant = f.get("grant_type", "")
        self.state.record("token", grant=grant)
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            assertion = f.get("assertion", "")
            for email, key in self.keys.items():
                claims = verify_jwt(assertion, key)
                if claims is not None and claims.get("iss") == email:
                    if claims.get("exp", 0) < time.time() or not str(claims.get("aud", "")).endswith("/token"):
                        break
                    return h.send_json(200, self.token_answer(email))
            return h.send_json(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        if grant == "refresh_token":
            user = self.cfg.get("users", {}).get(f.get("refresh_token", ""))
            if user and user["client_id"] == f.get("client_id") and user["client_secret"] == f.get("client_secret"):
                return h.send_json(200, self.token_answer(user["account"]))
            return h.send_json(400, {"error": "invalid_grant", "error_description": "Bad Request"})
        h.send_json(400, {"error": "unsupported_grant_type", "error_description": grant})

    def sts(self, h: Handler) -> None:
        f = h.form()
        self.state.record("sts", audience=f.get("audience"))
        ext = self.cfg.get("external", {})
        if f.get("subject_token") != ext.get("subject_token") or f.get("audience") != ext.get("audience"):
            return h.send_json(400, {"error": "invalid_grant", "error_description": "The subject token is invalid."})
        tok = self.issue(ext.get("identity", "principal://federated"))
        h.send_json(200, {
            "access_token": tok,
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "token_type": "Bearer",
            "expires_in": 3599,
        })

    def impersonate(self, h: Handler, target: str) -> None:
        """IAM Credentials v1 projects.serviceAccounts.generateAccessToken, as
        documented: body {scope: [..] (required), lifetime: "Ns" (default
        3600s; above 1h only with the lifetime-extension org policy, at most
        43200s), delegates: ["projects/-/serviceAccounts/EMAIL", ..]}. Every
        link of caller > delegates... > target needs getAccessToken on the next."""
        who, why = self.caller(h)
        body = h.json_body() or {}
        scope = body.get("scope") or []
        delegates = [d.rsplit("/", 1)[-1] for d in body.get("delegates") or []]
        lifetime = body.get("lifetime", "3600s")
        self.state.record("impersonate", target=target, source=who, scope=scope, lifetime=lifetime, delegates=delegates)
        if who is None:
            return error(h, 401, "UNAUTHENTICATED", why)
        if not scope or not all(isinstance(x, str) for x in scope):
            return error(h, 400, "INVALID_ARGUMENT", "Scope required.")
        m = re.fullmatch(r"(\d+)(?:\.\d+)?s", str(lifetime))
        limit = 43200 if self.cfg.get("extended_lifetime") else 3600
        if not m or not 1 <= int(m.group(1)) <= limit:
            return error(h, 400, "INVALID_ARGUMENT", f"The lifetime must be between 1s and {limit}s.")
        if target not in self.keys and target not in self.cfg.get("impersonation", {}):
            return error(h, 404, "NOT_FOUND", f"Requested entity was not found.")
        chain = [who, *delegates, target]
        allowed = self.cfg.get("impersonation", {})
        for a, b in zip(chain, chain[1:]):
            if a not in allowed.get(b, []):
                return error(h, 403, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
        seconds = int(m.group(1))
        exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
        tok = self.issue(target, scopes=scope, expires=exp.timestamp())
        h.send_json(200, {"accessToken": tok, "expireTime": exp.strftime("%Y-%m-%dT%H:%M:%SZ")})

    def tokeninfo(self, h: Handler, query: dict) -> None:
        """oauth2.googleapis.com/tokeninfo?access_token=T: who a token is for."""
        info = self.tokens.get(query.get("access_token", ""))
        self.state.record("tokeninfo", known=info is not None)
        if info is None or info["expired"] or info.get("expires", 1e18) < time.time():
            return h.send_json(400, {"error": "invalid_token", "error_description": "Invalid Value"})
        h.send_json(200, {
            "email": info["identity"],
            "scope": " ".join(info.get("scopes") or []),
            "expires_in": str(int(info.get("expires", time.time() + 3599) - time.time())),
        })

    def metadata(self, h: Handler, path: str) -> None:
        flavor = {"metadata-flavor": "Google"}
        if path in ("/", ""):
            return h.send_text(200, "computeMetadata/", flavor)
        if h.headers.get("metadata-flavor") != "Google":
            return h.send_text(403, "Missing Metadata-Flavor:Google header.", flavor)
        sub = path[len(MDS):]
        email = self.cfg.get("metadata", {}).get("email", "default@standin.iam.gserviceaccount.com")
        self.state.record("metadata", path=sub)
        if sub == "instance/service-accounts/default/token":
            return h.send_json(200, self.token_answer(email), flavor)
        if sub == "instance/service-accounts/default/email":
            return h.send_text(200, email, flavor)
        if sub in ("instance/service-accounts/default/", "instance/service-accounts/default"):
            return h.send_json(200, {"email": email, "aliases": ["default"], "scopes": ["https://www.googleapis.com/auth/cloud-platform"]}, flavor)
        if sub == "project/project-id":
            return h.send_text(200, "standin-project", flavor)
        if sub == "universe/universe-domain":
            return h.send_text(200, "googleapis.com", flavor)
        h.send_text(404, "not found", flavor)

    # --- routing --------------------------------------------------------------
    def handle(self, h: Handler, method: str, path: str, query: dict) -> None:
        if path == "/" or path.startswith(MDS):
            return self.metadata(h, path)
        if path == "/token" and method == "POST":
            return self.oauth_token(h)
        if path == "/v1/token" and method == "POST":
            return self.sts(h)
        if path == "/tokeninfo":
            return self.tokeninfo(h, query)
        m = IMPERSONATE.match(path)
        if m and method == "POST":
            return self.impersonate(h, m.group(1))
        if injected(h, self.state):
            return
        who, why = self.caller(h)
        self.state.record("api", method=method, path=path, identity=who)
        if who is None:
            return error(h, 401, "UNAUTHENTICATED", why)
        write = method != "GET" and not path.endswith(":access")
        if who in self.cfg.get("denied", []) or (write and who in self.cfg.get("readonly", [])):
            perm = "secretmanager.versions.add" if write else "secretmanager.versions.access"
            return error(h, 403, "PERMISSION_DENIED", f"Permission '{perm}' denied for resource '{path[4:]}' (or it may not exist).")
        self.api(h, method, path, query)

    def secret_json(self, project: str, sid: str, s: dict) -> dict:
        return {
            "name": f"projects/{project}/secrets/{sid}",
            "createTime": s["createTime"],
            "replication": s["replication"],
            "etag": f'"{len(s["versions"])}"',
        }

    def version_json(self, project: str, sid: str, v: dict) -> dict:
        out = {
            "name": f"projects/{project}/secrets/{sid}/versions/{v['n']}",
            "createTime": v["createTime"],
            "state": v["state"],
            "etag": '"1"',
            "clientSpecifiedPayloadChecksum": v["crc_given"],
        }
        if v["state"] == "DESTROYED":
            out["destroyTime"] = v.get("destroyTime")
        return out

    def find_version(self, h: Handler, project: str, sid: str, ver: str):
        s = self.store.get((project, sid))
        if s is None:
            error(h, 404, "NOT_FOUND", f"Secret [projects/{project}/secrets/{sid}] not found or has no versions.")
            return None
        if ver == "latest":
            enabled = [v for v in s["versions"] if v["state"] == "ENABLED"]
            if not enabled:
                error(h, 404, "NOT_FOUND", f"Secret [projects/{project}/secrets/{sid}] not found or has no versions.")
                return None
            return enabled[-1]
        for v in s["versions"]:
            if str(v["n"]) == ver:
                return v
        error(h, 404, "NOT_FOUND", f"Secret Version [projects/{project}/secrets/{sid}/versions/{ver}] not found.")
        return None

    def api(self, h: Handler, method: str, path: str, query: dict) -> None:
        if (m := SECRETS.match(path)) and method == "POST":
            project, sid = m.group(1), query.get("secretId", "")
            body = h.json_body() or {}
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", sid):
                return error(h, 400, "INVALID_ARGUMENT", "Secret ID must match [a-zA-Z0-9_-]{1,255}.")
            if (project, sid) in self.store:
                return error(h, 409, "ALREADY_EXISTS", f"Secret [projects/{project}/secrets/{sid}] already exists.")
            if not body.get("replication"):
                return error(h, 400, "INVALID_ARGUMENT", "Secret.replication is required.")
            s = {"createTime": now_rfc3339(), "replication": body["replication"], "versions": []}
            self.store[(project, sid)] = s
            return h.send_json(200, self.secret_json(project, sid, s))
        if (m := SECRETS.match(path)) and method == "GET":
            project = m.group(1)
            ids = sorted(sid for (p, sid) in self.store if p == project)
            size = int(query.get("pageSize") or 25)
            start = int(query.get("pageToken") or 0)
            page = ids[start:start + size]
            out = {"secrets": [self.secret_json(project, sid, self.store[(project, sid)]) for sid in page], "totalSize": len(ids)}
            if start + size < len(ids):
                out["nextPageToken"] = str(start + size)
            return h.send_json(200, out)
        if m := SECRET.match(path):
            project, sid = m.groups()
            s = self.store.get((project, sid))
            if s is None:
                return error(h, 404, "NOT_FOUND", f"Secret [projects/{project}/secrets/{sid}] not found.")
            if method == "GET":
                return h.send_json(200, self.secret_json(project, sid, s))
            if method == "DELETE":
                del self.store[(project, sid)]
                return h.send_json(200, {})
        if (m := ADD.match(path)) and method == "POST":
            project, sid = m.groups()
            s = self.store.get((project, sid))
            if s is None:
                return error(h, 404, "NOT_FOUND", f"Secret [projects/{project}/secrets/{sid}] not found.")
            payload = (h.json_body() or {}).get("payload", {})
            data = base64.b64decode(payload.get("data", ""))
            given = payload.get("dataCrc32c")
            if given is not None and int(given) != crc32c(data):
                return error(h, 400, "INVALID_ARGUMENT", "Checksum mismatch: the data does not match the given CRC32C.")
            v = {"n": len(s["versions"]) + 1, "data": data, "createTime": now_rfc3339(), "state": "ENABLED", "crc_given": given is not None}
            s["versions"].append(v)
            return h.send_json(200, self.version_json(project, sid, v))
        if (m := VERSIONS.match(path)) and method == "GET":
            project, sid = m.groups()
            s = self.store.get((project, sid))
            if s is None:
                return error(h, 404, "NOT_FOUND", f"Secret [projects/{project}/secrets/{sid}] not found.")
            vs = [self.version_json(project, sid, v) for v in reversed(s["versions"])]
            return h.send_json(200, {"versions": vs, "totalSize": len(vs)})
        if m := VERSION.match(path):
            project, sid, ver, verb = m.groups()
            v = self.find_version(h, project, sid, ver)
            if v is None:
                return
            if verb is None and method == "GET":
                return h.send_json(200, self.version_json(project, sid, v))
            if verb == "access" and method == "GET":
                if v["state"] != "ENABLED":
                    return error(h, 400, "FAILED_PRECONDITION", f"Secret Version [projects/{project}/secrets/{sid}/versions/{v['n']}] is in {v['state']} state.")
                data = v["data"]
                return h.send_json(200, {
                    "name": f"projects/{project}/secrets/{sid}/versions/{v['n']}",
                    "payload": {"data": base64.b64encode(data).decode(), "dataCrc32c": str(crc32c(data))},
                })
            if verb in ("enable", "disable", "destroy") and method == "POST":
                if v["state"] == "DESTROYED":
                    return error(h, 400, "FAILED_PRECONDITION", "The version is destroyed.")
                v["state"] = {"enable": "ENABLED", "disable": "DISABLED", "destroy": "DESTROYED"}[verb]
                if verb == "destroy":
                    v["data"] = b""
                    v["destroyTime"] = now_rfc3339()
                return h.send_json(200, self.version_json(project, sid, v))
        error(h, 404, "NOT_FOUND", f"no such method: {method} {path}")


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
