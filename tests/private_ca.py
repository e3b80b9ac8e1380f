"""A private CA and a certificate for 127.0.0.1 that it signed, made per test run for TLS tests.

Unit and integration suites both point the simulator's HTTPS at these files; nothing here is
trusted anywhere else, and the keys live only in the test's temporary folder.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_PEM = serialization.Encoding.PEM


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _validity(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return builder.not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(
        now + datetime.timedelta(days=1)
    )


def _make_ca(common_name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        _validity(x509.CertificateBuilder())
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def write_private_ca(directory: Path, label: str) -> dict[str, Path]:
    """Write ca.pem, server.pem (for IP 127.0.0.1, signed by that CA), server-key.pem (0600) and
    other-ca.pem (an unrelated CA) into ``directory``; return their paths by those names."""
    ca_key, ca_cert = _make_ca(f"{label} CA")
    _other_key, other_ca = _make_ca("an unrelated CA")
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        _validity(x509.CertificateBuilder())
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {name: Path(directory) / f"{name}.pem" for name in ("ca", "server", "server-key", "other-ca")}
    paths["ca"].write_bytes(ca_cert.public_bytes(_PEM))
    paths["other-ca"].write_bytes(other_ca.public_bytes(_PEM))
    paths["server"].write_bytes(server_cert.public_bytes(_PEM))
    key_bytes = server_key.private_bytes(_PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with open(os.open(paths["server-key"], os.O_WRONLY | os.O_CREAT, 0o600), "wb") as handle:
        handle.write(key_bytes)
    return paths
