#!/usr/bin/env python3
"""Drives the GCP stand-in with Google's OFFICIAL Python client, to prove the
stand-in speaks what Google's clients speak.

    sdk_gcp.py --endpoint https://127.0.0.1:PORT --key-file SA.json put PROJECT SECRET   (value: stdin)
    sdk_gcp.py ... get PROJECT SECRET [VERSION]    (value to stdout)
    sdk_gcp.py ... disable PROJECT SECRET VERSION
    sdk_gcp.py ... list PROJECT                    (secret ids, one a line)
    sdk_gcp.py ... impersonate TARGET SCOPES LIFETIME_S [DELEGATES]
                   (google.auth.impersonated_credentials: prints the token's
                   tokeninfo JSON: email, scope; commas separate lists)

The service account key's token_uri points at the stand-in: google-auth signs
its JWT assertion and exchanges it there (the RS256 signature is checked),
then google-cloud-secret-manager calls the REST API with that token.
Trust: REQUESTS_CA_BUNDLE names the test's private CA.
"""

import argparse
import sys

import json
import urllib.parse
import urllib.request

import google.auth.impersonated_credentials
import google.auth.transport.requests
import google.oauth2.credentials
from google.api_core.client_options import ClientOptions
from google.cloud import secretmanager
from google.oauth2 import service_account

SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def crc32c(data: bytes) -> int:
    poly, c = 0x82F63B78, 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF


def client(a):
    sa = service_account.Credentials.from_service_account_file(a.key_file, scopes=[SCOPE])
    sa.refresh(google.auth.transport.requests.Request())  # the OAuth token endpoint, JWT assertion
    creds = google.oauth2.credentials.Credentials(token=sa.token)
    return secretmanager.SecretManagerServiceClient(
        credentials=creds, transport="rest", client_options=ClientOptions(api_endpoint=a.endpoint)
    )


def impersonate(a):
    target, scopes, lifetime, *rest = a.args
    sa = service_account.Credentials.from_service_account_file(a.key_file, scopes=[SCOPE])
    creds = google.auth.impersonated_credentials.Credentials(
        source_credentials=sa,
        target_principal=target,
        target_scopes=scopes.split(","),
        delegates=rest[0].split(",") if rest else None,
        lifetime=int(lifetime),
        iam_endpoint_override=f"{a.endpoint}/v1/projects/-/serviceAccounts/{target}:generateAccessToken",
    )
    creds.refresh(google.auth.transport.requests.Request())
    q = urllib.parse.urlencode({"access_token": creds.token})
    with urllib.request.urlopen(f"{a.endpoint}/tokeninfo?{q}", timeout=10) as r:
        info = json.load(r)
    info["expiry_in"] = int((creds.expiry - creds.expiry.now()).total_seconds()) if creds.expiry else None
    print(json.dumps(info))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--key-file", required=True)
    ap.add_argument("cmd")
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    if a.cmd == "impersonate":
        return impersonate(a)
    c = client(a)
    if a.cmd == "put":
        project, secret = a.args
        parent = f"projects/{project}/secrets/{secret}"
        try:
            c.get_secret(request={"name": parent})
        except Exception:
            c.create_secret(request={
                "parent": f"projects/{project}",
                "secret_id": secret,
                "secret": {"replication": {"automatic": {}}},
            })
        data = sys.stdin.buffer.read()
        v = c.add_secret_version(request={
            "parent": parent,
            "payload": {"data": data, "data_crc32c": crc32c(data)},
        })
        print(v.name.rsplit("/", 1)[1])
    elif a.cmd == "get":
        project, secret, *ver = a.args
        name = f"projects/{project}/secrets/{secret}/versions/{ver[0] if ver else 'latest'}"
        r = c.access_secret_version(request={"name": name})
        sys.stdout.buffer.write(r.payload.data)
    elif a.cmd == "disable":
        project, secret, ver = a.args
        c.disable_secret_version(request={"name": f"projects/{project}/secrets/{secret}/versions/{ver}"})
    elif a.cmd == "list":
        (project,) = a.args
        for s in c.list_secrets(request={"parent": f"projects/{project}"}):
            print(s.name.rsplit("/", 1)[1])
    else:
        sys.exit(f"unknown command {a.cmd}")


if __name__ == "__main__":
    main()
