#!/usr/bin/env python3
"""STAND-IN for Azure Key Vault, the Entra ID token endpoint and the managed
identity endpoints, for tests.

    azure_kv.py --config CONFIG.json --ready READY.json [--cert C --key K]

Not Microsoft's service: a local server written for mcp-warden's tests, since
no official emulator exists. It implements, as documented:

- Key Vault secrets REST (`?api-version=`): GET/PUT/PATCH/DELETE
  `/secrets/{name}[/{version}]`, list secrets and versions (paged with
  `nextLink`), soft delete (`/deletedsecrets/{name}`), attributes (`enabled`,
  `exp`, `nbf`, `created`, `updated`), Key Vault's JSON error shape, and the
  `401` bearer challenge (`WWW-Authenticate: Bearer authorization=…,
  resource=…`) for requests without a valid token.
- Entra ID: OpenID configuration discovery and `POST /{tenant}/oauth2/v2.0/token`
  for client credentials: client secret, certificate assertion (RS256 checked
  against the registered certificate, `aud` = the token URL) and federated
  workload identity tokens.
- Managed identity: IMDS (`/metadata/identity/oauth2/token`, `Metadata: true`)
  and App Service (`/msi/token`, `X-IDENTITY-HEADER`), on the plain listener too.
- Azure Resource Manager `GET /subscriptions` (one subscription), which takes
  only tokens issued for ARM's audience: what `azure-token://` tests call.

Roles: "user" may get and list, "officer" may also set and delete, "none"
nothing (403 ForbiddenByRbac). Its fidelity is proven by the tests that drive
it with Microsoft's official Python SDK (azure-keyvault-secrets +
azure-identity). Listens on 127.0.0.1 only. See common.py for the control API.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import time
from urllib.parse import unquote

from common import Handler, State, injected, jwt_header, load_public_key, serve, verify_jwt, cert_thumbprints

RESOURCE = "https://vault.azure.net"
ARM = "https://management.azure.com"
SECRET = re.compile(r"^/secrets/([^/]+)(?:/([^/]*))?/?$")
VERSIONS = re.compile(r"^/secrets/([^/]+)/versions/?$")
DELETED = re.compile(r"^/deletedsecrets/([^/]+)/?$")
NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")


def kv_error(h: Handler, status: int, code: str, message: str, inner: str | None = None, headers=None) -> None:
    e = {"code": code, "message": message}
    if inner:
        e["innererror"] = {"code": inner}
    h.send_json(status, {"error": e}, headers)


class App:
    def __init__(self, cfg: dict) -> None:
        self.cfg = cfg
        self.state = State()
        self.tenant = cfg.get("tenant", "standin-tenant")
        self.tokens: dict[str, dict] = {
            # Tokens handed out elsewhere (a stand-in `az` prints one).
            tok: {"identity": who, "role": role, "scope": RESOURCE + "/.default", "expired": False}
            for tok, (who, role) in cfg.get("static_tokens", {}).items()
        }
        self.secrets: dict[str, list[dict]] = {}
        self.deleted: dict[str, list[dict]] = {}
        self.ports: dict = {}

    # --- tokens ---------------------------------------------------------------
    def issue(self, identity: str, role: str, scope: str) -> str:
        expired = self.state.take_expiry()
        tok = "eyJ0eXAiOiJKV1QifQ.standin." + secrets.token_urlsafe(24)
        self.tokens[tok] = {
            "identity": identity,
            "role": role,
            "scope": scope,
            "expired": expired,
        }
        return tok

    def host(self, h: Handler) -> str:
        return h.headers.get("host") or f"127.0.0.1:{self.ports.get('port')}"

    def openid(self, h: Handler, tenant: str) -> None:
        base = f"https://{self.host(h)}/{tenant}"
        h.send_json(200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "issuer": f"{base}/v2.0",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "tenant_region_scope": "WW",
        })

    def entra_token(self, h: Handler, tenant: str) -> None:
        f = h.form()
        client_id = f.get("client_id", "")
        self.state.record("token", tenant=tenant, client_id=client_id,
                          how="assertion" if "client_assertion" in f else "secret", scope=f.get("scope"))

        def refuse(status: int, err: str, desc: str) -> None:
            h.send_json(status, {"error": err, "error_description": f"{desc}\r\nTrace ID: 0000\r\nTimestamp: now", "error_codes": [0]})

        if tenant != self.tenant:
            return refuse(400, "invalid_request", f"AADSTS90002: Tenant '{tenant}' not found.")
        if f.get("grant_type") != "client_credentials":
            return refuse(400, "unsupported_grant_type", "AADSTS70003: grant type not supported here.")
        client = self.cfg.get("clients", {}).get(client_id)
        if client is None:
            return refuse(400, "unauthorized_client", f"AADSTS700016: Application with identifier '{client_id}' was not found in the directory.")
        scope = f.get("scope", "")
        if not scope.endswith("/.default"):
            return refuse(400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.")
        if "client_secret" in f:
            if f["client_secret"] != client.get("secret"):
                return refuse(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
        elif "client_assertion" in f:
            assertion = f["client_assertion"]
            header = jwt_header(assertion)
            if "x5t" in header or "x5t#S256" in header:
                pem = client.get("cert", "")
                if not pem:
                    return refuse(401, "invalid_client", "AADSTS700027: No certificate registered for this client.")
                x5t, x5t256 = cert_thumbprints(pem)
                if header.get("x5t") not in (None, x5t) or header.get("x5t#S256") not in (None, x5t256):
                    return refuse(401, "invalid_client", "AADSTS700027: The certificate thumbprint does not match.")
                claims = verify_jwt(assertion, load_public_key(pem))
                want_aud = f"https://{self.host(h)}/{tenant}/oauth2/v2.0/token"
                if (claims is None or claims.get("aud") != want_aud or claims.get("iss") != client_id
                        or claims.get("sub") != client_id or claims.get("exp", 0) < time.time()):
                    return refuse(401, "invalid_client", "AADSTS700027: Client assertion failed signature validation.")
            elif assertion != client.get("federated_token"):
                return refuse(400, "invalid_client", "AADSTS700211: No matching federated identity record found for presented assertion.")
        else:
            return refuse(401, "invalid_client", "AADSTS7000218: The request body must contain client_assertion or client_secret.")
        tok = self.issue(f"app:{client_id}", client.get("role", "user"), scope)
        life = int(self.cfg.get("expires_in", 3599))
        h.send_json(200, {"token_type": "Bearer", "expires_in": life, "ext_expires_in": life, "access_token": tok})

    def arm(self, h: Handler, query: dict) -> None:
        """Azure Resource Manager `GET /subscriptions?api-version=`: accepts only
        a token issued for ARM's audience (scope https://management.azure.com/.default)."""
        auth = h.headers.get("authorization", "")
        info = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        self.state.record("arm", identity=info and info["identity"], scope=info and info["scope"])
        if "api-version" not in query:
            return h.send_json(400, {"error": {"code": "MissingApiVersionParameter", "message": "The api-version query parameter (?api-version=) is required for all requests."}})
        if info is None:
            return h.send_json(401, {"error": {"code": "AuthenticationFailed", "message": "Authentication failed. The 'Authorization' header is missing or invalid."}})
        if info["expired"]:
            return h.send_json(401, {"error": {"code": "ExpiredAuthenticationToken", "message": "The access token expiry UTC time is earlier than current UTC time."}})
        if info["scope"].rstrip("/") not in (ARM + "/.default", ARM + "//.default"):
            return h.send_json(401, {"error": {"code": "InvalidAuthenticationTokenAudience", "message": "The access token has been obtained for wrong audience or resource. It should exactly match one of the allowed audiences 'https://management.azure.com/'."}})
        h.send_json(200, {"value": [{"id": "/subscriptions/sub-1", "subscriptionId": "sub-1", "displayName": "standin", "state": "Enabled"}], "count": {"type": "Total", "value": 1}})

    def managed_token(self, h: Handler, query: dict, kind: str) -> None:
        self.state.record("managed", via=kind, client_id=query.get("client_id"))
        mi = self.cfg.get("managed", {})
        if kind == "imds" and h.headers.get("metadata") != "true":
            return h.send_json(400, {"error": "invalid_request", "error_description": "Required metadata header not specified"})
        if kind == "appservice" and h.headers.get("x-identity-header") != self.cfg.get("identity_header"):
            return h.send_json(401, {"statusCode": 401, "message": "Unauthorized: the X-IDENTITY-HEADER is wrong."})
        cid = query.get("client_id")
        role = mi.get("user_assigned", {}).get(cid) if cid else mi.get("system")
        if role is None:
            return h.send_json(400, {"error": "invalid_request", "error_description": "Identity not found"})
        resource = query.get("resource", "")
        tok = self.issue(f"mi:{cid or 'system'}", role, resource.rstrip("/") + "/.default")
        exp = str(int(time.time()) + 86399)
        h.send_json(200, {"access_token": tok, "client_id": cid or "system-mi", "expires_in": "86399",
                          "expires_on": exp, "ext_expires_in": "86399", "not_before": str(int(time.time())),
                          "resource": resource, "token_type": "Bearer"})

    # --- routing ----------------------------------------------------------------
    def handle(self, h: Handler, method: str, path: str, query: dict) -> None:
        m = re.match(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$", path)
        if m and method == "GET":
            return self.openid(h, m.group(1))
        m = re.match(r"^/([^/]+)/oauth2/v2\.0/token$", path)
        if m and method == "POST":
            return self.entra_token(h, m.group(1))
        if path == "/metadata/identity/oauth2/token" and method == "GET":
            return self.managed_token(h, query, "imds")
        if path == "/msi/token" and method == "GET":
            return self.managed_token(h, query, "appservice")
        if path == "/subscriptions" and method == "GET":
            return self.arm(h, query)
        if path.startswith("/secrets") or path.startswith("/deletedsecrets"):
            return self.vault(h, method, path, query)
        h.send_json(404, {"error": {"code": "NotFound", "message": f"no route {method} {path}"}})

    def challenge(self, h: Handler, message: str) -> None:
        # A test may make the vault ask for another audience than Key Vault's.
        resource = self.cfg.get("challenge_resource", RESOURCE)
        auth = f'Bearer authorization="https://{self.host(h)}/{self.tenant}", resource="{resource}"'
        kv_error(h, 401, "Unauthorized", message, headers={"www-authenticate": auth})

    def vault(self, h: Handler, method: str, path: str, query: dict) -> None:
        if "api-version" not in query:
            return kv_error(h, 400, "BadParameter", "The request URI contains an invalid api-version.")
        if injected(h, self.state):
            return
        auth = h.headers.get("authorization", "")
        info = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        self.state.record("api", method=method, path=path, identity=info and info["identity"])
        if info is None:
            return self.challenge(h, "AKV10000: Request is missing a Bearer or PoP token.")
        if info["expired"]:
            return self.challenge(h, "AKV10022: Invalid audience or expired token.")
        if info["scope"] != self.cfg.get("challenge_resource", RESOURCE) + "/.default":
            return self.challenge(h, "AKV10022: Invalid audience.")
        write = method in ("PUT", "PATCH", "DELETE")
        role = info["role"]
        if role == "none" or (write and role != "officer"):
            return kv_error(h, 403, "Forbidden", f"Caller is not authorized to perform action on resource. Caller: {info['identity']}", "ForbiddenByRbac")
        self.api(h, method, path, query)

    def bundle(self, h: Handler, name: str, v: dict, value: bool = True) -> dict:
        out = {"id": f"https://{self.host(h)}/secrets/{name}/{v['version']}", "attributes": dict(v["attributes"])}
        if value:
            out["value"] = v["value"]
        for k in ("contentType", "tags"):
            if v.get(k) is not None:
                out[k] = v[k]
        return out

    def page(self, h: Handler, items: list, query: dict, path: str) -> dict:
        size = int(query.get("maxresults") or 25)
        start = int(query.get("$skiptoken") or 0)
        out = {"value": items[start:start + size], "nextLink": None}
        if start + size < len(items):
            out["nextLink"] = f"https://{self.host(h)}{path}?api-version={query['api-version']}&maxresults={size}&$skiptoken={start + size}"
        return out

    def api(self, h: Handler, method: str, path: str, query: dict) -> None:
        path = unquote(path)
        if path.rstrip("/") == "/secrets" and method == "GET":
            items = [
                {"id": f"https://{self.host(h)}/secrets/{n}", "attributes": dict(vs[-1]["attributes"])}
                for n, vs in sorted(self.secrets.items())
            ]
            return h.send_json(200, self.page(h, items, query, "/secrets"))
        if (m := VERSIONS.match(path)) and method == "GET":
            vs = self.secrets.get(m.group(1))
            if not vs:
                return kv_error(h, 404, "SecretNotFound", f"A secret with (name/id) {m.group(1)} was not found in this key vault.")
            items = [self.bundle(h, m.group(1), v, value=False) for v in vs]
            return h.send_json(200, self.page(h, items, query, path))
        if m := DELETED.match(path):
            name = m.group(1)
            if name not in self.deleted:
                return kv_error(h, 404, "SecretNotFound", f"Deleted Secret not found: {name}")
            if method == "DELETE":
                del self.deleted[name]
                self.state.record("purged", name=name)
                h.send_response(204)
                h.send_header("content-length", "0")
                h.end_headers()
                return None
            b = self.bundle(h, name, self.deleted[name][-1], value=False)
            b.update({"recoveryId": f"https://{self.host(h)}/deletedsecrets/{name}", "deletedDate": int(time.time()), "scheduledPurgeDate": int(time.time()) + 90 * 86400})
            return h.send_json(200, b)
        m = SECRET.match(path)
        if not m:
            return kv_error(h, 404, "NotFound", f"no route {method} {path}")
        name, version = m.group(1), (m.group(2) or None)
        if not NAME.match(name):
            return kv_error(h, 400, "BadParameter", "The request URI contains an invalid name.")
        if method == "PUT" and version is None:
            if name in self.deleted:
                return kv_error(h, 409, "Conflict", f"Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.", "ObjectIsDeletedButRecoverable")
            body = h.json_body() or {}
            if not isinstance(body.get("value"), str):
                return kv_error(h, 400, "BadParameter", "Property value is required.")
            now = int(time.time())
            attrs = {"enabled": True, "created": now, "updated": now, "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}
            for k in ("enabled", "exp", "nbf"):
                if k in (body.get("attributes") or {}):
                    attrs[k] = body["attributes"][k]
            v = {"version": secrets.token_hex(16), "value": body["value"], "attributes": attrs,
                 "contentType": body.get("contentType"), "tags": body.get("tags")}
            self.secrets.setdefault(name, []).append(v)
            return h.send_json(200, self.bundle(h, name, v))
        vs = self.secrets.get(name)
        if not vs:
            return kv_error(h, 404, "SecretNotFound", f"A secret with (name/id) {name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.")
        if method == "DELETE" and version is None:
            self.deleted[name] = self.secrets.pop(name)
            b = self.bundle(h, name, vs[-1], value=False)
            b.update({"recoveryId": f"https://{self.host(h)}/deletedsecrets/{name}", "deletedDate": int(time.time()), "scheduledPurgeDate": int(time.time()) + 90 * 86400})
            return h.send_json(200, b)
        v = vs[-1] if version is None else next((x for x in vs if x["version"] == version), None)
        if v is None:
            return kv_error(h, 404, "SecretNotFound", f"A secret with (name/id) {name}/{version} was not found in this key vault.")
        if method == "PATCH":
            body = h.json_body() or {}
            for k in ("enabled", "exp", "nbf"):
                if k in (body.get("attributes") or {}):
                    if body["attributes"][k] is None:
                        v["attributes"].pop(k, None)
                    else:
                        v["attributes"][k] = body["attributes"][k]
            v["attributes"]["updated"] = int(time.time())
            return h.send_json(200, self.bundle(h, name, v, value=False))
        if method == "GET":
            if not v["attributes"].get("enabled", True):
                return kv_error(h, 403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled")
            return h.send_json(200, self.bundle(h, name, v))
        kv_error(h, 405, "MethodNotAllowed", f"{method} is not allowed here")


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
