"""Temporal's standard client configuration: read as the `temporal` CLI reads it; a bad one stops the process with
one line naming the variable."""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bootstrap import temporal_connection
from settings import load_settings
from tests.e2e.secured_temporal import Authority

ROOT = Path(__file__).resolve().parents[1]


class Files:
    """Certificates, keys and config files for the cases below."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        authority = Authority(folder, "ca")
        self.ca = authority.pem
        self.cert, self.key = authority.issue("pizzeria-client")
        self.other_cert, self.other_key = authority.issue("someone-else")
        self.junk = self.write("junk.pem", "not a certificate\n")

    def write(self, name: str, text: str) -> Path:
        (self.folder / name).write_text(text)
        return self.folder / name

    def profile(self, body: str) -> Path:
        return self.write("temporal.toml", body)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(tmp_path_factory.mktemp("temporal-config"))


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PIZZERIA_", "TEMPORAL_"))}


def _use(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]) -> None:
    for name in list(os.environ):
        if name.startswith(("PIZZERIA_TEMPORAL_", "TEMPORAL_")):
            monkeypatch.delenv(name)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


BAD: list[tuple[str, Callable[[Files], dict[str, str]], str]] = [
    (
        "a client certificate that is not there",
        lambda f: {"TEMPORAL_TLS_CLIENT_CERT_PATH": "/x/y.pem", "TEMPORAL_TLS_CLIENT_KEY_PATH": str(f.key)},
        "TEMPORAL_TLS_CLIENT_CERT_PATH: /x/y.pem: no such file",
    ),
    (
        "a key that is not there",
        lambda f: {"TEMPORAL_TLS_CLIENT_CERT_PATH": str(f.cert), "TEMPORAL_TLS_CLIENT_KEY_PATH": "/x/y.key"},
        "TEMPORAL_TLS_CLIENT_KEY_PATH: /x/y.key: no such file",
    ),
    (
        "a key that is not the certificate's",
        lambda f: {"TEMPORAL_TLS_CLIENT_CERT_PATH": str(f.cert), "TEMPORAL_TLS_CLIENT_KEY_PATH": str(f.other_key)},
        "TEMPORAL_TLS_CLIENT_KEY_PATH: {other_key}: is not the key of the client certificate {cert}",
    ),
    (
        "a key that is no key",
        lambda f: {"TEMPORAL_TLS_CLIENT_CERT_PATH": str(f.cert), "TEMPORAL_TLS_CLIENT_KEY_PATH": str(f.junk)},
        "TEMPORAL_TLS_CLIENT_KEY_PATH: {junk}: is not a private key in PEM form",
    ),
    (
        "a client certificate that is no certificate",
        lambda f: {"TEMPORAL_TLS_CLIENT_CERT_PATH": str(f.junk), "TEMPORAL_TLS_CLIENT_KEY_PATH": str(f.key)},
        "TEMPORAL_TLS_CLIENT_CERT_PATH: {junk}: is not a certificate in PEM form",
    ),
    (
        "a certificate without its key",
        lambda f: {"TEMPORAL_TLS_CLIENT_CERT_PATH": str(f.cert)},
        "TEMPORAL_TLS_CLIENT_KEY_PATH is required with TEMPORAL_TLS_CLIENT_CERT_PATH",
    ),
    (
        "a key without its certificate",
        lambda f: {"TEMPORAL_TLS_CLIENT_KEY_PATH": str(f.key)},
        "TEMPORAL_TLS_CLIENT_CERT_PATH is required with TEMPORAL_TLS_CLIENT_KEY_PATH",
    ),
    (
        "a CA that is no certificate",
        lambda f: {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(f.junk)},
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH: {junk}: is not a CA certificate in PEM form",
    ),
    (
        "a CA that cannot be read",
        lambda f: {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(f.folder)},
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH: {folder}: cannot be read (is a directory)",
    ),
    (
        "a CA given inline that is no certificate",
        lambda f: {"TEMPORAL_TLS_SERVER_CA_CERT_DATA": "-----BEGIN CERTIFICATE-----\nnope\n"},
        "TEMPORAL_TLS_SERVER_CA_CERT_DATA: is not a CA certificate in PEM form",
    ),
    (
        "a profile that is not in the file",
        lambda f: {
            "TEMPORAL_CONFIG_FILE": str(f.profile('[profile.prod]\naddress = "temporal.example:7233"\n')),
            "TEMPORAL_PROFILE": "staging",
        },
        "TEMPORAL_PROFILE: no profile 'staging' in {folder}/temporal.toml",
    ),
    (
        "a config file that is not TOML",
        lambda f: {"TEMPORAL_CONFIG_FILE": str(f.profile("[profile.default\n"))},
        "TEMPORAL_CONFIG_FILE: {folder}/temporal.toml: TOML parse error at line 1, column 17: "
        "unclosed table, expected `]`",
    ),
    (
        "a config file that is not there",
        lambda f: {"TEMPORAL_CONFIG_FILE": "/x/temporal.toml"},
        "TEMPORAL_CONFIG_FILE: /x/temporal.toml: no such file",
    ),
    (
        "a profile whose key is not its certificate's",
        lambda f: {
            "TEMPORAL_CONFIG_FILE": str(
                f.profile(
                    f'[profile.prod]\naddress = "temporal.example:7233"\n[profile.prod.tls]\n'
                    f'client_cert_path = "{f.cert}"\nclient_key_path = "{f.other_key}"\n'
                )
            ),
            "TEMPORAL_PROFILE": "prod",
        },
        "TEMPORAL_CONFIG_FILE: {folder}/temporal.toml: profile 'prod': tls.client_key_path: {other_key}: "
        "is not the key of the client certificate {cert}",
    ),
    ("TLS neither on nor off", lambda f: {"TEMPORAL_TLS": "off"}, "TEMPORAL_TLS: must be true or false, not 'off'"),
    (
        "an address without a port",
        lambda f: {"TEMPORAL_ADDRESS": "temporal.example"},
        "TEMPORAL_ADDRESS: must be host:port, e.g. localhost:7233, not 'temporal.example'",
    ),
]


@pytest.mark.parametrize(("case", "variables", "line"), BAD, ids=[case for case, _, _ in BAD])
def test_bad_temporal_configuration_stops_the_process_with_one_line_naming_it(
    monkeypatch, files, case, variables, line
):
    _use(monkeypatch, variables(files))
    with pytest.raises(SystemExit) as stopped:
        load_settings()
    expected = line.format(**{k: v for k, v in vars(files).items() if isinstance(v, Path)})
    assert str(stopped.value) == f"configuration error: {expected}"


def test_a_worker_given_a_certificate_that_is_not_there_stops_with_that_line(files):
    env = {**_clean_env(), "TEMPORAL_TLS_CLIENT_CERT_PATH": "/x/y.pem", "TEMPORAL_TLS_CLIENT_KEY_PATH": str(files.key)}
    done = subprocess.run([sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "configuration error: TEMPORAL_TLS_CLIENT_CERT_PATH: /x/y.pem: no such file"
    ]


def test_the_api_given_a_key_that_is_not_its_certificates_stops_before_it_serves(files):
    env = {
        **_clean_env(),
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(files.cert),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(files.other_key),
    }
    command = [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", "0"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"configuration error: TEMPORAL_TLS_CLIENT_KEY_PATH: {files.other_key}: "
        f"is not the key of the client certificate {files.cert}"
    ]


def test_with_nothing_set_the_shop_connects_to_a_local_unsecured_temporal(monkeypatch):
    _use(monkeypatch, {"TEMPORAL_CONFIG_FILE": os.devnull})
    assert temporal_connection(load_settings()) == {"target_host": "localhost:7233", "namespace": "default"}


def test_temporal_s_own_variables_say_where_to_connect_unless_the_shop_s_override_them(monkeypatch):
    _use(monkeypatch, {"TEMPORAL_ADDRESS": "temporal.example:7233", "TEMPORAL_NAMESPACE": "pizzeria-eu"})
    settings = load_settings()
    assert (settings.temporal_address, settings.temporal_namespace) == ("temporal.example:7233", "pizzeria-eu")
    monkeypatch.setenv("PIZZERIA_TEMPORAL_ADDRESS", "127.0.0.1:7233")
    monkeypatch.setenv("PIZZERIA_TEMPORAL_NAMESPACE", "default")
    connection = temporal_connection(load_settings())
    assert (connection["target_host"], connection["namespace"]) == ("127.0.0.1:7233", "default")


def test_a_profile_gives_address_namespace_and_api_key_and_the_api_key_turns_tls_on(monkeypatch, files):
    config = files.profile(
        '[profile.cloud]\naddress = "pizzeria.a1b2c.tmprl.cloud:7233"\nnamespace = "pizzeria.a1b2c"\n'
        'api_key = "from-the-file"\n'
    )
    _use(monkeypatch, {"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "cloud"})
    settings = load_settings()
    assert "from-the-file" not in repr(settings)
    assert temporal_connection(settings) == {
        "target_host": "pizzeria.a1b2c.tmprl.cloud:7233",
        "namespace": "pizzeria.a1b2c",
        "api_key": "from-the-file",
        "tls": True,
    }
    monkeypatch.setenv("TEMPORAL_API_KEY", "from-the-shell")  # the environment wins over the file, as for the CLI
    monkeypatch.setenv("TEMPORAL_TLS", "false")
    connection = temporal_connection(load_settings())
    assert (connection["api_key"], connection["tls"]) == ("from-the-shell", False)


def test_client_certificates_reach_the_connection_as_read_from_their_files(monkeypatch, files):
    _use(
        monkeypatch,
        {
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(files.cert),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(files.key),
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(files.ca),
            "TEMPORAL_TLS_SERVER_NAME": "temporal.pizzeria.test",
        },
    )
    tls = temporal_connection(load_settings())["tls"]
    assert not isinstance(tls, bool)
    assert (tls.client_cert, tls.client_private_key) == (files.cert.read_bytes(), files.key.read_bytes())
    assert (tls.server_root_ca_cert, tls.domain) == (files.ca.read_bytes(), "temporal.pizzeria.test")
