"""How the project reaches Temporal: its standard client configuration read and checked, and a refusal told apart.

Temporal's own variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_*,
TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE with its TOML profiles) are read by temporalio.envconfig, as the `temporal`
CLI reads them. What the SDK would only find out at the first connection (a missing file, a key that is not the
certificate's, a CA that is no certificate) is checked here, at start, and reported naming the variable.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key
from temporalio.envconfig import ClientConfigProfile, ClientConfigTLS, DataSource
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

# What envconfig reads TEMPORAL_TLS as; any other value would silently leave TLS on.
TLS_SWITCH = {"true", "false", "1", "0"}
DEFAULT_FILE = "~/.config/temporalio/temporal.toml"
# How a server (or the proxy before it) refuses credentials, as the SDK's connect error words it:
# an HTTP 401 from a proxy that checks the API key, or gRPC's own codes from Temporal itself.
_KEY_REFUSED = re.compile(r"status: 401 Unauthorized|code: (Unauthenticated|PermissionDenied)\b")
# A TLS alert about the client's certificate (the server refused it in the handshake), or the HTTP 400 a proxy
# such as nginx answers over TLS to a client without an acceptable certificate.
_CERTIFICATE_REFUSED = re.compile(
    r"AlertReceived\((BadCertificate|CertificateRequired|UnknownCA|CertificateUnknown|CertificateExpired|"
    r"CertificateRevoked|UnsupportedCertificate|AccessDenied)\)|status: 400 Bad Request"
)
# This client did not trust the server's certificate.
_SERVER_UNTRUSTED = re.compile(r"InvalidCertificate\((\w+)")
_HTTP_STATUS = re.compile(r"status: (\d{3}(?: [A-Z][A-Za-z]*)+)")
_GRPC_CODE = re.compile(r"code: (\w+)")
_PICTURE = re.compile(r"\s*\d*\s*\|")


def read_profile(environ: Mapping[str, str]) -> ClientConfigProfile:
    """The client profile that TEMPORAL_* and the config file give; ValueError naming the variable when unusable."""
    file = environ.get("TEMPORAL_CONFIG_FILE")
    if file:  # envconfig would quietly read nothing from a file that is not there
        _read(Path(file), "TEMPORAL_CONFIG_FILE")
    switch = environ.get("TEMPORAL_TLS")
    if switch is not None and switch.strip().lower() not in TLS_SWITCH:
        raise ValueError(f"TEMPORAL_TLS: must be true or false, not {switch!r}")
    try:
        profile = ClientConfigProfile.load(override_env_vars=dict(environ))
    except RuntimeError as err:  # envconfig's ConfigError
        raise ValueError(_config_error(str(err), environ)) from None
    if profile.tls is not None and profile.tls.disabled is not True:
        _check_tls(profile.tls, _Origins(environ))
    return profile


def address_origin(environ: Mapping[str, str]) -> str:
    """What to name when the address of the profile is wrong."""
    return "TEMPORAL_ADDRESS" if environ.get("TEMPORAL_ADDRESS") else _Origins(environ).in_file("address")


def refusal(error: BaseException, target_host: str, api_key: str | None, tls: bool | TLSConfig | None) -> str | None:
    """Why Temporal turned this client away, when a failed call says it refused its credentials; else None.

    A refusal is no outage: trying again with the same credentials cannot help.
    """
    where = f"Temporal at {target_host}"
    if isinstance(error, RPCError):  # a call after the connection was made: Temporal's own status
        if error.status in (RPCStatusCode.UNAUTHENTICATED, RPCStatusCode.PERMISSION_DENIED):
            return _key_refused(where, api_key, error.message)
        return None
    text = str(error)
    if _KEY_REFUSED.search(text):
        return _key_refused(where, api_key, _reason(text))
    certificate = _CERTIFICATE_REFUSED.search(text)
    if certificate and tls:
        why = f"TLS alert {certificate.group(1)}" if certificate.group(1) else _reason(text)
        if isinstance(tls, TLSConfig) and tls.client_cert:
            return f"{where} refused the client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH): {why}"
        return (
            f"{where} refused this client: it asks for a client certificate "
            f"(TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH): {why}"
        )
    untrusted = _SERVER_UNTRUSTED.search(text)
    if untrusted:
        return (
            f"{where} presented a certificate this client does not trust ({untrusted.group(1)}): "
            "check TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_NAME"
        )
    return None


def _reason(text: str) -> str:
    """The HTTP status or gRPC code a connect error carries, in a few words."""
    status, code = _HTTP_STATUS.search(text), _GRPC_CODE.search(text)
    return f"HTTP {status.group(1)}" if status else f"gRPC {code.group(1)}" if code else text[:120]


def _key_refused(where: str, api_key: str | None, reason: str) -> str:
    if api_key:
        return f"{where} refused the API key (TEMPORAL_API_KEY): {reason}"
    return f"{where} refused this client: it asks for credentials (TEMPORAL_API_KEY or a client certificate): {reason}"


@dataclass(frozen=True)
class _Material:
    """A certificate or key as given: its bytes, and how to name where they came from."""

    origin: str  # "TEMPORAL_TLS_CLIENT_CERT_PATH", or where in the config file
    path: Path | None
    data: bytes

    @property
    def named(self) -> str:
        return f"{self.origin}: {self.path}" if self.path else self.origin


class _Origins:
    """Names the variable (or the place in the config file) a value of the profile came from."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.file = environ.get("TEMPORAL_CONFIG_FILE") or DEFAULT_FILE
        self.profile = environ.get("TEMPORAL_PROFILE") or "default"

    def in_file(self, key: str) -> str:
        return f"TEMPORAL_CONFIG_FILE: {self.file}: profile {self.profile!r}: {key}"

    def of(self, source: DataSource, variable: str, key: str) -> str:
        """`variable`_PATH or _DATA when the environment gave the value, else its key in the file."""
        kind = "PATH" if isinstance(source, Path) else "DATA"
        if self.environ.get(f"{variable}_{kind}"):
            return f"{variable}_{kind}"
        return self.in_file(f"tls.{key}_{kind.lower()}")


def _read(path: Path, named: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{named}: {path}: no such file") from None
    except OSError as err:
        raise ValueError(f"{named}: {path}: cannot be read ({err.strerror.lower() if err.strerror else err})") from None


def _material(source: DataSource | None, variable: str, key: str, origins: _Origins) -> _Material | None:
    if source is None:
        return None
    origin = origins.of(source, variable, key)
    if isinstance(source, Path):
        return _Material(origin, source, _read(source, origin))
    return _Material(origin, None, source.encode() if isinstance(source, str) else source)


def _certificates(material: _Material, what: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(material.data)
    except ValueError:
        raise ValueError(f"{material.named}: is not {what} in PEM form") from None


def _check_tls(tls: ClientConfigTLS, origins: _Origins) -> None:
    ca = _material(tls.server_root_ca_cert, "TEMPORAL_TLS_SERVER_CA_CERT", "server_ca_cert", origins)
    cert = _material(tls.client_cert, "TEMPORAL_TLS_CLIENT_CERT", "client_cert", origins)
    key = _material(tls.client_private_key, "TEMPORAL_TLS_CLIENT_KEY", "client_key", origins)
    if ca:
        _certificates(ca, "a CA certificate")
    if cert and not key:
        raise ValueError(f"TEMPORAL_TLS_CLIENT_KEY_PATH is required with {cert.origin}")
    if key and not cert:
        raise ValueError(f"TEMPORAL_TLS_CLIENT_CERT_PATH is required with {key.origin}")
    if cert and key:
        leaf = _certificates(cert, "a certificate")[0]
        try:
            private = load_pem_private_key(key.data, password=None)
        except TypeError:  # the SDK takes no password
            raise ValueError(f"{key.named}: is encrypted; give the key unencrypted") from None
        except ValueError:
            raise ValueError(f"{key.named}: is not a private key in PEM form") from None
        spki = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        if private.public_key().public_bytes(*spki) != leaf.public_key().public_bytes(*spki):
            raise ValueError(f"{key.named}: is not the key of the client certificate {cert.path or cert.origin}")


def _config_error(message: str, environ: Mapping[str, str]) -> str:
    """envconfig's error as one line naming the variable it concerns."""
    # A TOML error comes in lines: where, a picture of the line in question (`2 | address=1`, `  | ^`), then what.
    lines = [line.strip() for line in message.splitlines() if line.strip() and not _PICTURE.match(line)]
    text = ": ".join(dict.fromkeys(lines))
    origins = _Origins(environ)
    if text.startswith("Profile "):
        return f"TEMPORAL_PROFILE: no profile {origins.profile!r} in {origins.file}"
    named = re.search(r"\bTEMPORAL_[A-Z_]+", text)
    if named:
        return f"{named.group(0)}: {text}"
    return f"TEMPORAL_CONFIG_FILE: {origins.file}: {text.removeprefix('Configuration loading error: ')}"
