#!/usr/bin/env python3
"""Test key material, made at test time with `cryptography` (never committed).

    pki.py tls DIR          -> DIR/ca.pem, DIR/server.pem, DIR/server-key.pem
                               (a private CA and a server certificate for
                               127.0.0.1, 127.0.0.2, ::1 and localhost; the
                               CA's key is never written)
    pki.py rsa DIR NAME [pkcs1]
                            -> DIR/NAME-key.pem (PKCS#8, or PKCS#1 "BEGIN RSA
                               PRIVATE KEY" as GitHub hands out App keys),
                               DIR/NAME-pub.pem
    pki.py client DIR NAME  -> DIR/NAME.pem: a self-signed client certificate
                               and its RSA key in one file (as Azure's
                               AZURE_CLIENT_CERTIFICATE_PATH holds them),
                               and DIR/NAME-cert.pem: the certificate alone
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_key(k) -> bytes:
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def cert(subject: str, pub, issuer_name, signer, ca: bool, sans=None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name)
        .public_key(pub)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if ca:
        b = b.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    return b.sign(signer, hashes.SHA256())


def tls(d: str) -> None:
    ca_key = key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mcp-warden test CA")])
    ca = cert("mcp-warden test CA", ca_key.public_key(), ca_name, ca_key, True)
    srv_key = key()
    sans = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        # a second loopback host for tests/secretless.rs (one API per host)
        x509.IPAddress(ipaddress.ip_address("127.0.0.2")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    srv = cert("localhost", srv_key.public_key(), ca_name, ca_key, False, sans)
    write(os.path.join(d, "ca.pem"), ca.public_bytes(serialization.Encoding.PEM))
    write(os.path.join(d, "server.pem"), srv.public_bytes(serialization.Encoding.PEM))
    write(os.path.join(d, "server-key.pem"), pem_key(srv_key))


def rsa_pair(d: str, name: str, form: str = "pkcs8") -> None:
    k = key()
    if form == "pkcs1":
        private = k.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    else:
        private = pem_key(k)
    write(os.path.join(d, f"{name}-key.pem"), private)
    pub = k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    write(os.path.join(d, f"{name}-pub.pem"), pub)


def client(d: str, name: str) -> None:
    k = key()
    n = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    c = cert(name, k.public_key(), n, k, False).public_bytes(serialization.Encoding.PEM)
    write(os.path.join(d, f"{name}.pem"), pem_key(k) + c)
    write(os.path.join(d, f"{name}-cert.pem"), c)


if __name__ == "__main__":
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == "tls":
        tls(d)
    elif cmd == "rsa":
        rsa_pair(d, sys.argv[3], *sys.argv[4:5])
    elif cmd == "client":
        client(d, sys.argv[3])
    else:
        sys.exit(f"unknown command {cmd}")
