#!/usr/bin/env python3
"""STAND-IN for the GitHub REST API's App authentication, for tests.

    github_app.py --config CONFIG.json --ready READY.json [--cert C --key K]

Not GitHub's service: a local server written for mcp-warden's tests from
GitHub's public REST documentation ("Authenticating as a GitHub App",
"Create an installation access token for an app", "List repositories
accessible to the app installation", "Get a repository"). It implements:

- POST /app/installations/{id}/access_tokens, authenticated with the App's
  JWT (RS256 checked against the App's registered public key; `iss` the App
  ID; `exp` in the future and at most 10 minutes ahead; `iat` not in the
  future). Body `repositories` (names), `repository_ids`, `permissions`
  (`read` < `write` < `admin`, within the installation's). 201 with a
  `ghs_` + 36 alphanumerics token, `expires_at` (now + `token_lifetime`
  seconds from the config, default 3600), the granted `permissions`,
  `repository_selection` and, when repositories were named, `repositories`.
  401 for a bad JWT, 404 for an installation of another App or none, 422
  for permissions or repositories the installation does not have, 403
  without a User-Agent (as GitHub does).
- GET /app and GET /app/installations/{id} (App JWT).
- GET /installation/repositories and GET /repos/{owner}/{repo} with an
  installation token (`Authorization: token T` or `Bearer T`): 401 "Bad
  credentials" for an unknown or expired token, 404 for a repository the
  token does not cover.
Every route is served at `/` and under `/api/v3/` (GitHub Enterprise
Server's layout). Its fidelity is proven by tests driving it with PyGithub.

Config: {"apps": {"APP_ID": {"public_key": PEM, "slug": "..."}},
         "installations": {"ID": {"app_id": "APP_ID", "account": "octo-org",
             "permissions": {"contents": "write", ...}, "repositories": ["a", ...],
             "repository_selection": "all"|"selected"}},
         "token_lifetime": 3600}
Listens on 127.0.0.1 only. See common.py for the control API.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import re
import secrets
import string
import time

from common import Handler, State, injected, load_public_key, serve, verify_jwt

DOCS = "https://docs.github.com/rest"
LEVELS = {"read": 1, "write": 2, "admin": 3}
ACCESS_TOKENS = re.compile(r"^/app/installations/(\d+)/access_tokens$")
INSTALLATION = re.compile(r"^/app/installations/(\d+)$")
REPO = re.compile(r"^/repos/([^/]+)/([^/]+)$")


def iso(t: float) -> str:
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def message(h: Handler, status: int, text: str) -> None:
    h.send_json(status, {"message": text, "documentation_url": DOCS, "status": str(status)})


class App:
    def __init__(self, config: dict) -> None:
        self.cfg = config
        self.state = State()
        self.apps = {str(k): load_public_key(v["public_key"]) for k, v in config.get("apps", {}).items()}
        self.installations = {str(k): v for k, v in config.get("installations", {}).items()}
        self.tokens: dict[str, dict] = {}
        self.ports: dict = {}

    # --- authentication -------------------------------------------------------
    def app_jwt(self, h: Handler) -> tuple[str | None, str]:
        """(App ID, why not) of the request's App JWT."""
        auth = h.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:].count(".") != 2:
            return None, "A JSON web token could not be decoded"
        tok = auth[7:]
        try:
            claims_part = tok.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(claims_part + "=" * (-len(claims_part) % 4)))
        except Exception:
            return None, "A JSON web token could not be decoded"
        iss = str(claims.get("iss", ""))
        key = self.apps.get(iss)
        if key is None or verify_jwt(tok, key) is None:
            return None, "A JSON web token could not be decoded"
        now = time.time()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int) or not isinstance(iat, int):
            return None, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
        if exp > now + 600:
            return None, "'Expiration time' claim ('exp') is too far in the future"
        if exp <= now:
            return None, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
        if iat > now + 30:
            return None, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
        self.state.record("jwt", iss=iss, lifetime=exp - iat)
        return iss, ""

    def installation_token(self, h: Handler) -> dict | None:
        auth = h.headers.get("authorization", "")
        for prefix in ("token ", "Bearer ", "bearer "):
            if auth.startswith(prefix):
                info = self.tokens.get(auth[len(prefix):])
                if info is not None and info["expires"] > time.time():
                    return info
        return None

    # --- objects -----------------------------------------------------------------
    def base(self, h: Handler) -> str:
        return f"https://{h.headers.get('host', '127.0.0.1')}"

    def repo_json(self, h: Handler, account: str, name: str, n: int) -> dict:
        return {
            "id": 1000 + n,
            "node_id": f"R_{n}",
            "name": name,
            "full_name": f"{account}/{name}",
            "private": True,
            "owner": {"login": account, "id": 1, "type": "Organization"},
            "url": f"{self.base(h)}/repos/{account}/{name}",
        }

    def installation_json(self, h: Handler, iid: str, inst: dict) -> dict:
        return {
            "id": int(iid),
            "app_id": int(inst["app_id"]),
            "account": {"login": inst["account"], "id": 1, "type": "Organization"},
            "target_type": "Organization",
            "permissions": inst.get("permissions", {}),
            "repository_selection": inst.get("repository_selection", "selected"),
            "access_tokens_url": f"{self.base(h)}/app/installations/{iid}/access_tokens",
            "events": [],
        }

    # --- routes -------------------------------------------------------------------
    def access_tokens(self, h: Handler, iid: str) -> None:
        app_id, why = self.app_jwt(h)
        body = h.json_body()
        self.state.record(
            "access_tokens",
            installation=iid,
            app=app_id,
            body=body,
            accept=h.headers.get("accept"),
            api_version=h.headers.get("x-github-api-version"),
            user_agent=h.headers.get("user-agent"),
        )
        if app_id is None:
            return message(h, 401, why)
        inst = self.installations.get(iid)
        if inst is None or str(inst["app_id"]) != app_id:
            return message(h, 404, "Not Found")
        if not isinstance(body, dict):
            return message(h, 400, "Problems parsing JSON")
        installed = inst.get("repositories", [])
        names = body.get("repositories")
        ids = body.get("repository_ids")
        chosen: list[str] | None = None
        if names is not None or ids is not None:
            chosen = []
            for n in names or []:
                match = [r for r in installed if r.lower() == str(n).lower()]
                if not match:
                    return message(h, 422, "There is at least one repository that does not exist or is not accessible to the parent installation.")
                chosen.append(match[0])
            for i in ids or []:
                if not isinstance(i, int) or not 0 <= i - 1000 < len(installed):
                    return message(h, 422, "There is at least one repository that does not exist or is not accessible to the parent installation.")
                chosen.append(installed[i - 1000])
        have = inst.get("permissions", {})
        asked = body.get("permissions")
        if asked is not None:
            if not isinstance(asked, dict):
                return message(h, 422, "Invalid request.")
            for name, level in asked.items():
                if level not in LEVELS or LEVELS[level] > LEVELS.get(have.get(name, ""), 0):
                    return message(h, 422, "The permissions requested are not granted to this installation.")
            granted = dict(asked)
        else:
            granted = dict(have)
        tok = "ghs_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))
        expires = time.time() + float(self.cfg.get("token_lifetime", 3600))
        # for the tests' canary search (this log is read over the control API only)
        self.state.record("minted", token=tok)
        self.tokens[tok] = {
            "installation": iid,
            "account": inst["account"],
            "repositories": chosen if chosen is not None else list(installed),
            "selection": "selected" if chosen is not None else inst.get("repository_selection", "selected"),
            "permissions": granted,
            "expires": expires,
        }
        out = {
            "token": tok,
            "expires_at": iso(expires),
            "permissions": granted,
            "repository_selection": self.tokens[tok]["selection"],
        }
        if chosen is not None:
            out["repositories"] = [self.repo_json(h, inst["account"], r, installed.index(r)) for r in chosen]
        h.send_json(201, out)

    def handle(self, h: Handler, method: str, path: str, query: dict) -> None:
        if path.startswith("/api/v3/"):
            path = path[len("/api/v3"):]
        if not h.headers.get("user-agent"):
            return message(h, 403, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header")
        if (m := ACCESS_TOKENS.match(path)) and method == "POST":
            if injected(h, self.state):
                return
            return self.access_tokens(h, m.group(1))
        if path == "/app" and method == "GET":
            app_id, why = self.app_jwt(h)
            if app_id is None:
                return message(h, 401, why)
            slug = self.cfg["apps"][app_id].get("slug", f"app-{app_id}")
            return h.send_json(200, {"id": int(app_id), "slug": slug, "name": slug, "owner": {"login": "octo-org"}})
        if (m := INSTALLATION.match(path)) and method == "GET":
            app_id, why = self.app_jwt(h)
            if app_id is None:
                return message(h, 401, why)
            inst = self.installations.get(m.group(1))
            if inst is None or str(inst["app_id"]) != app_id:
                return message(h, 404, "Not Found")
            return h.send_json(200, self.installation_json(h, m.group(1), inst))
        info = self.installation_token(h)
        self.state.record("api", method=method, path=path, authorized=info is not None)
        if info is None:
            return message(h, 401, "Bad credentials")
        installed = self.installations[info["installation"]].get("repositories", [])
        if path == "/installation/repositories" and method == "GET":
            repos = [self.repo_json(h, info["account"], r, installed.index(r)) for r in info["repositories"]]
            return h.send_json(200, {"total_count": len(repos), "repository_selection": info["selection"], "repositories": repos})
        if (m := REPO.match(path)) and method == "GET":
            owner, name = m.groups()
            if owner.lower() == info["account"].lower():
                for r in info["repositories"]:
                    if r.lower() == name.lower():
                        return h.send_json(200, self.repo_json(h, info["account"], r, installed.index(r)))
            return message(h, 404, "Not Found")
        message(h, 404, "Not Found")


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
