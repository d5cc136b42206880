#!/usr/bin/env python3
"""The comparison point for `scripts/bench.d/cloud`: the OFFICIAL Python SDKs
fetching the same secrets concurrently, as a wrapper written with them would.

    cloud_sdk.py gcp ENDPOINT USER_JSON PROJECT N
    cloud_sdk.py azure VAULT_URL AUTHORITY TENANT CLIENT_ID CLIENT_SECRET N

Fetches secrets s0..s{N-1} with N threads after building one credential
(its token request included), prints the in-process wall time in ms on
stdout. Trust: REQUESTS_CA_BUNDLE.
"""

import sys
import time
from concurrent.futures import ThreadPoolExecutor


def gcp(endpoint, user_json, project, n):
    import google.oauth2.credentials
    from google.api_core.client_options import ClientOptions
    from google.cloud import secretmanager

    import json

    start = time.perf_counter()
    info = json.load(open(user_json))
    creds = google.oauth2.credentials.Credentials(
        None,
        refresh_token=info["refresh_token"],
        token_uri=info["token_uri"],
        client_id=info["client_id"],
        client_secret=info["client_secret"],
    )
    c = secretmanager.SecretManagerServiceClient(
        credentials=creds, transport="rest", client_options=ClientOptions(api_endpoint=endpoint)
    )
    names = [f"projects/{project}/secrets/s{i}/versions/latest" for i in range(n)]
    with ThreadPoolExecutor(max_workers=n) as ex:
        values = list(ex.map(lambda nm: c.access_secret_version(request={"name": nm}).payload.data, names))
    assert len(values) == n
    return time.perf_counter() - start


def azure(vault, authority, tenant, client_id, secret, n):
    from azure.identity import ClientSecretCredential
    from azure.keyvault.secrets import SecretClient

    start = time.perf_counter()
    cred = ClientSecretCredential(tenant, client_id, secret, authority=authority, disable_instance_discovery=True)
    c = SecretClient(vault_url=vault, credential=cred, verify_challenge_resource=False)
    with ThreadPoolExecutor(max_workers=n) as ex:
        values = list(ex.map(lambda i: c.get_secret(f"s{i}").value, range(n)))
    assert len(values) == n
    return time.perf_counter() - start


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    n = int(args[-1])
    took = gcp(*args[:-1], n) if kind == "gcp" else azure(*args[:-1], n)
    print(f"{took * 1000:.1f}")
