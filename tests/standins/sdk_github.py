#!/usr/bin/env python3
"""Drives the GitHub App stand-in with PyGithub, the GitHub REST client most
Python code uses, to prove the stand-in speaks what GitHub's clients speak.

    sdk_github.py --api URL mint APP_ID KEY_FILE INSTALLATION_ID [PERMISSIONS]
        Auth.AppAuth signs the App JWT (PyJWT), GithubIntegration asks for an
        installation token (PERMISSIONS: contents:read,issues:write);
        prints {"token", "expires_at", "permissions"} as JSON.
    sdk_github.py --api URL installation APP_ID KEY_FILE INSTALLATION_ID
        get_app_installation (App JWT), then get_repos() through
        AppInstallationAuth (a token minted by PyGithub itself); prints
        {"account", "repositories"}.
    sdk_github.py --api URL use OWNER REPO...      (an installation token on stdin)
        Auth.Token: lists /installation/repositories and gets each
        OWNER/REPO; prints {"listed": [...], "repos": {REPO: status}}.

Trust: REQUESTS_CA_BUNDLE names the test's private CA.
"""

import argparse
import json
import os
import sys

from github import Auth, Github, GithubException, GithubIntegration


def verify():
    return os.environ.get("REQUESTS_CA_BUNDLE", True)


def app_auth(app_id: str, key_file: str) -> Auth.AppAuth:
    with open(key_file) as f:
        return Auth.AppAuth(app_id, f.read())


def mint(a, app_id, key_file, installation, perms=""):
    gi = GithubIntegration(auth=app_auth(app_id, key_file), base_url=a.api, verify=verify())
    asked = dict(p.split(":", 1) for p in perms.split(",") if p)
    t = gi.get_access_token(int(installation), permissions=asked)
    print(json.dumps({"token": t.token, "expires_at": t.expires_at.isoformat(), "permissions": t.raw_data.get("permissions")}))


def installation(a, app_id, key_file, installation_id):
    gi = GithubIntegration(auth=app_auth(app_id, key_file), base_url=a.api, verify=verify())
    inst = gi.get_app_installation(int(installation_id))
    names = [r.name for r in inst.get_repos()]
    print(json.dumps({"account": inst.raw_data["account"]["login"], "repositories": names}))


def use(a, owner, *repos):
    token = sys.stdin.read().strip()
    g = Github(auth=Auth.Token(token), base_url=a.api, verify=verify())
    out = {"listed": None, "repos": {}}
    try:
        _, data = g.requester.requestJsonAndCheck("GET", "/installation/repositories")
        out["listed"] = [r["name"] for r in data["repositories"]]
    except GithubException as e:
        out["listed"] = e.status
    for r in repos:
        try:
            out["repos"][r] = 200 if g.get_repo(f"{owner}/{r}").name else 0
        except GithubException as e:
            out["repos"][r] = e.status
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("cmd")
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    cmds = {"mint": mint, "installation": installation, "use": use}
    if a.cmd not in cmds:
        sys.exit(f"unknown command {a.cmd}")
    cmds[a.cmd](a, *a.args)


if __name__ == "__main__":
    main()
