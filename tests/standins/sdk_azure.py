#!/usr/bin/env python3
"""Drives the Azure stand-in with Microsoft's OFFICIAL Python SDK, to prove the
stand-in speaks what Microsoft's clients speak.

    sdk_azure.py --vault https://127.0.0.1:PORT --authority https://127.0.0.1:PORT \
        --tenant T --client-id C --client-secret S CMD ARGS...

    set NAME [--exp EPOCH] [--nbf EPOCH]   value from stdin; prints the version
    get NAME [VERSION]                     value to stdout
    disable NAME VERSION
    list                                   names, one a line
    delete NAME                            soft delete, waits for it
    token SCOPE                            credential.get_token(SCOPE), then ARM
                                           GET /subscriptions with it; prints
                                           {"arm": answer, "expires_in": s}

azure-identity's ClientSecretCredential gets the token from the stand-in's
Entra endpoint (OpenID discovery, client credentials); azure-keyvault-secrets
follows the vault's bearer challenge (verify_challenge_resource=False: the
vault host is loopback). Trust: REQUESTS_CA_BUNDLE names the test's private CA.
"""

import argparse
import datetime
import json
import sys
import time

import requests

from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vault", required=True)
    ap.add_argument("--authority", required=True)
    ap.add_argument("--tenant", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret", required=True)
    ap.add_argument("--exp", type=int)
    ap.add_argument("--nbf", type=int)
    ap.add_argument("cmd")
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    cred = ClientSecretCredential(
        a.tenant, a.client_id, a.client_secret, authority=a.authority, disable_instance_discovery=True
    )
    if a.cmd == "token":
        (scope,) = a.args
        t = cred.get_token(scope)
        r = requests.get(f"{a.vault}/subscriptions", params={"api-version": "2022-12-01"},
                         headers={"Authorization": f"Bearer {t.token}"}, timeout=10)
        print(json.dumps({"status": r.status_code, "arm": r.json(), "expires_in": int(t.expires_on - time.time())}))
        return
    c = SecretClient(vault_url=a.vault, credential=cred, verify_challenge_resource=False)
    ts = lambda e: datetime.datetime.fromtimestamp(e, datetime.timezone.utc) if e else None  # noqa: E731
    if a.cmd == "set":
        (name,) = a.args
        s = c.set_secret(name, sys.stdin.read(), expires_on=ts(a.exp), not_before=ts(a.nbf))
        print(s.properties.version)
    elif a.cmd == "get":
        name, *ver = a.args
        sys.stdout.write(c.get_secret(name, ver[0] if ver else None).value)
    elif a.cmd == "disable":
        name, ver = a.args
        c.update_secret_properties(name, ver, enabled=False)
    elif a.cmd == "list":
        for p in c.list_properties_of_secrets():
            print(p.name)
    elif a.cmd == "delete":
        (name,) = a.args
        c.begin_delete_secret(name).wait()
    else:
        sys.exit(f"unknown command {a.cmd}")


if __name__ == "__main__":
    main()
