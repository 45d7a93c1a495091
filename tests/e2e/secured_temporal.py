"""A secured Temporal for the tests: nginx in front of an unsecured dev server, speaking TLS.

Two doors, each on a port of its own: one asks for a client certificate signed by the test's CA (mTLS), the
other for an API key (`Authorization: Bearer KEY`). The certificates are made here, with `cryptography`.
"""

import datetime
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tools.supervisor import Children, free_port, wait_for

SERVER_NAME = "temporal.pizzeria.test"  # the server certificate's DNS name; TEMPORAL_TLS_SERVER_NAME says it
API_KEY = "a-pizzeria-api-key-that-nginx-checks"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class Authority:
    """A certificate authority of the test's own, issuing server and client certificates into a folder."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder, self.name = folder, name
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )  # fmt: skip
        self.pem = self.write(f"{name}.pem", self.certificate.public_bytes(serialization.Encoding.PEM))

    def write(self, filename: str, data: bytes) -> Path:
        path = self.folder / filename
        path.write_bytes(data)
        return path

    def issue(self, name: str, server: bool = False) -> tuple[Path, Path]:
        """A certificate for `name` (a server's DNS name, or a client) and its key: their files."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        certificate = builder.sign(self.key, hashes.SHA256())
        return (
            self.write(f"{name}.pem", certificate.public_bytes(serialization.Encoding.PEM)),
            self.write(f"{name}.key", _pem_key(key)),
        )


@dataclass(frozen=True)
class Credentials:
    """The files a client of the secured Temporal may be given."""

    ca: Path  # the CA that signed the server's certificate (and the clients nginx lets in)
    client_cert: Path
    client_key: Path
    stranger_cert: Path  # signed by another CA: nginx refuses it
    stranger_key: Path


@dataclass(frozen=True)
class SecuredTemporal:
    """nginx in front of a dev server: `mtls_address` wants a client certificate, `api_key_address` the key."""

    mtls_address: str
    api_key_address: str
    credentials: Credentials

    def mtls_env(self) -> dict[str, str]:
        """TEMPORAL_* for a client that presents its certificate."""
        return {
            "TEMPORAL_ADDRESS": self.mtls_address,
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(self.credentials.client_cert),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(self.credentials.client_key),
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(self.credentials.ca),
            "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME,
        }

    def api_key_env(self, key: str = API_KEY) -> dict[str, str]:
        """TEMPORAL_* for a client that sends an API key over TLS."""
        return {
            "TEMPORAL_ADDRESS": self.api_key_address,
            "TEMPORAL_API_KEY": key,
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(self.credentials.ca),
            "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME,
        }


def nginx_binary() -> str:
    """nginx, which `make test` installs; the test fails (never skips) without it."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if found is None:
        pytest.fail("nginx not found: install it (`make nginx` does it with apt-get: nginx-light)")
    return found


def _nginx_conf(folder: Path, upstream: str, mtls_port: int, api_key_port: int, server: tuple[Path, Path]) -> str:
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    tls = f"ssl_certificate {server[0]}; ssl_certificate_key {server[1]};"
    return f"""
daemon off;
master_process on;
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} info;
events {{ worker_connections 256; }}
http {{
    access_log {folder / "access.log"};
    # A worker's long polls last up to 70 s; nginx would otherwise cut them at 60.
    grpc_read_timeout 120s;
    grpc_send_timeout 120s;
    client_body_timeout 120s;
{temp}
    server {{
        listen 127.0.0.1:{mtls_port} ssl http2;
        {tls}
        ssl_client_certificate {folder / "ca.pem"};
        ssl_verify_client on;
        location / {{ grpc_pass grpc://{upstream}; }}
    }}
    server {{
        listen 127.0.0.1:{api_key_port} ssl http2;
        {tls}
        location / {{
            if ($http_authorization != "Bearer {API_KEY}") {{ return 401; }}
            grpc_pass grpc://{upstream};
        }}
    }}
}}
"""


@contextmanager
def secured_temporal(upstream: str) -> Iterator[SecuredTemporal]:
    """nginx in front of the dev server at `upstream` (host:port), with certificates made for it, until the end."""
    binary = nginx_binary()
    folder = Path(tempfile.mkdtemp(prefix="nginx-"))
    authority = Authority(folder, "ca")
    server = authority.issue(SERVER_NAME, server=True)
    client = authority.issue("pizzeria-client")
    stranger = Authority(folder, "stranger-ca").issue("stranger-client")
    mtls_port, api_key_port = free_port(), free_port()
    config = folder / "nginx.conf"
    config.write_text(_nginx_conf(folder, upstream.replace("localhost", "127.0.0.1"), mtls_port, api_key_port, server))
    test = subprocess.run([binary, "-t", "-c", str(config), "-e", str(folder / "error.log")], capture_output=True)
    assert test.returncode == 0, test.stderr.decode()
    children = Children(folder)
    children.start("nginx", [binary, "-c", str(config), "-e", str(folder / "error.log")])

    def listening() -> bool:
        children.check("nginx")
        for port in (mtls_port, api_key_port):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True

    try:
        wait_for(listening, "nginx to listen")
        yield SecuredTemporal(
            f"127.0.0.1:{mtls_port}",
            f"127.0.0.1:{api_key_port}",
            Credentials(authority.pem, *client, *stranger),
        )
    finally:
        children.stop()
        shutil.rmtree(folder, ignore_errors=True)
