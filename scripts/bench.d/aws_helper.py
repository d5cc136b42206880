#!/usr/bin/env python3
"""AWS helpers for `scripts/bench aws` (run with the project venv's python).

    aws_helper.py create --endpoint URL --count N --prefix P
        Creates secrets P0 .. P{N-1} (SecretString, 40 random characters) in
        Secrets Manager at URL (moto), idempotently.

    aws_helper.py rtt --endpoint URL --name NAME [--n 200]
        Measures one GetSecretValue round trip against URL with as little
        client overhead as possible: the request is signed once with botocore
        (SigV4, valid for minutes), then the same bytes are sent N times with
        http.client, (a) each on a NEW TCP connection ("cold", what a fresh
        process pays) and (b) on one kept-alive connection ("warm"). Prints
        JSON with median/p90 in milliseconds. Also times boto3's own
        get_secret_value on a warm client, for reference.

Credentials are the moto dummies from the environment (AWS_ACCESS_KEY_ID=test ...).
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import statistics
import string
import time
import urllib.parse

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest


def client(endpoint: str):
    return boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")


def create(a) -> None:
    c = client(a.endpoint)
    alphabet = string.ascii_letters + string.digits
    for i in range(a.count):
        name = f"{a.prefix}{i}"
        value = "".join(secrets.choice(alphabet) for _ in range(40))
        try:
            c.create_secret(Name=name, SecretString=value)
        except c.exceptions.ResourceExistsException:
            c.put_secret_value(SecretId=name, SecretString=value)
    print(json.dumps({"created": a.count, "prefix": a.prefix}))


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def rtt(a) -> None:
    u = urllib.parse.urlsplit(a.endpoint)
    host, port = u.hostname, u.port or 80
    body = json.dumps({"SecretId": a.name}).encode()
    req = AWSRequest(
        method="POST",
        url=a.endpoint.rstrip("/") + "/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "secretsmanager.GetSecretValue",
        },
    )
    creds = boto3.Session().get_credentials()
    SigV4Auth(creds, "secretsmanager", "us-east-1").add_auth(req)
    headers = dict(req.headers.items())

    def once(conn: http.client.HTTPConnection) -> float:
        t0 = time.perf_counter()
        conn.request("POST", "/", body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        dt = time.perf_counter() - t0
        if r.status != 200 or b"SecretString" not in data:
            raise SystemExit(f"unexpected response {r.status}: {data[:200]!r}")
        return dt

    cold: list[float] = []
    for _ in range(a.n):
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.connect()
        connect = time.perf_counter() - t0
        cold.append(connect + once(conn))
        conn.close()

    warm: list[float] = []
    conn = http.client.HTTPConnection(host, port, timeout=10)
    once(conn)
    for _ in range(a.n):
        warm.append(once(conn))
    conn.close()

    c = client(a.endpoint)
    c.get_secret_value(SecretId=a.name)
    b3: list[float] = []
    for _ in range(min(a.n, 100)):
        t0 = time.perf_counter()
        c.get_secret_value(SecretId=a.name)
        b3.append(time.perf_counter() - t0)

    def summary(xs: list[float]) -> dict:
        ms = [x * 1000 for x in xs]
        return {"n": len(ms), "median_ms": round(statistics.median(ms), 3), "p90_ms": round(pct(ms, 90), 3),
                "min_ms": round(min(ms), 3)}

    print(json.dumps({"cold_new_connection": summary(cold), "warm_keepalive": summary(warm),
                      "boto3_warm": summary(b3)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create")
    c.add_argument("--endpoint", required=True)
    c.add_argument("--count", type=int, default=20)
    c.add_argument("--prefix", default="bench/s")
    r = sub.add_parser("rtt")
    r.add_argument("--endpoint", required=True)
    r.add_argument("--name", required=True)
    r.add_argument("--n", type=int, default=200)
    a = ap.parse_args()
    {"create": create, "rtt": rtt}[a.cmd](a)


if __name__ == "__main__":
    main()
