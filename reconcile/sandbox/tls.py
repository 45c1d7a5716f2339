"""HTTPS for the sandbox (``Sandbox(tls=True)``): a self-signed certificate for the loopback.

Why: the real platforms are served over HTTPS, and some behaviours only exist there (a
``Next`` link that downgrades to ``http://``), and some clients (``bsapi``) only speak
HTTPS. The certificate and its key are made once per process, for ``127.0.0.1`` and
``localhost``, and kept in a temporary folder removed at exit; clients trust it through
:func:`certificate_file` (``REQUESTS_CA_BUNDLE`` or a session's ``verify``).
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import ipaddress
import shutil
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@functools.cache
def _files() -> tuple[str, str]:
    """(certificate, key) PEM files, made on first use."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reconcile sandbox")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="reconcile-sandbox-tls-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    cert_file = folder / "sandbox.pem"
    key_file = folder / "sandbox-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return str(cert_file), str(key_file)


def certificate_file() -> str:
    return _files()[0]


def server_context() -> ssl.SSLContext:
    cert_file, key_file = _files()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context
