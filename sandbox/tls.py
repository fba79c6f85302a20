"""Key material the sandbox hands out: a local CA + localhost certificate, and a JWT signing key.

simple-salesforce only builds https URLs, so the Salesforce stand-in serves TLS with a
certificate from a CA the app trusts through ``SALESFORCE_CA_BUNDLE``. The JWT bearer flow
needs an RSA key whose certificate the token endpoint verifies against. Generating keys is
slow, so one set is made per process and copied into each sandbox's data folder; a folder
that already holds them (``python -m sandbox --data DIR``) keeps them across restarts.
"""

from __future__ import annotations

import datetime
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.x509.oid import NameOID

_lock = threading.Lock()
_cache: dict[str, bytes] = {}


@dataclass(frozen=True)
class KeyMaterial:
    """Paths written into the data folder plus the loaded objects the servers need."""

    ca_bundle: Path
    server_ssl: ssl.SSLContext
    jwt_private_key_path: Path
    jwt_certificate_path: Path
    jwt_public_key: RSAPublicKey
    server_key_pem: bytes  # the same certificate for gRPC (the Pub/Sub API server)
    server_cert_chain_pem: bytes


def _generated() -> dict[str, bytes]:
    with _lock:
        if not _cache:
            ca = trustme.CA(organization_name="Crosswalk sandbox")
            _cache["ca_cert"] = ca.cert_pem.bytes()
            _cache["ca_key"] = ca.private_key_pem.bytes()
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _cache["jwt_key"] = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            _cache["jwt_cert"] = _self_signed(key)
        return dict(_cache)


def _self_signed(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crosswalk-sandbox-jwt")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _read_or_write(path: Path, default: bytes) -> bytes:
    if path.exists():
        return path.read_bytes()
    path.write_bytes(default)
    return default


def load_key_material(data_dir: Path) -> KeyMaterial:
    """Reuse the keys in ``data_dir`` when present, else write this process's generated set."""
    data_dir.mkdir(parents=True, exist_ok=True)
    gen = _generated()
    ca_cert = _read_or_write(data_dir / "ca.pem", gen["ca_cert"])
    ca_key = _read_or_write(data_dir / "ca.key", gen["ca_key"])
    jwt_key_path = data_dir / "jwt_private_key.pem"
    jwt_cert_path = data_dir / "jwt_certificate.pem"
    _read_or_write(jwt_key_path, gen["jwt_key"])
    jwt_cert = _read_or_write(jwt_cert_path, gen["jwt_cert"])
    ca = trustme.CA.from_pem(ca_cert, ca_key)
    server_cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(ctx)
    public_key = x509.load_pem_x509_certificate(jwt_cert).public_key()
    assert isinstance(public_key, RSAPublicKey)
    return KeyMaterial(
        ca_bundle=data_dir / "ca.pem",
        server_ssl=ctx,
        jwt_private_key_path=jwt_key_path,
        jwt_certificate_path=jwt_cert_path,
        jwt_public_key=public_key,
        server_key_pem=server_cert.private_key_pem.bytes(),
        server_cert_chain_pem=b"".join(pem.bytes() for pem in server_cert.cert_chain_pems),
    )
