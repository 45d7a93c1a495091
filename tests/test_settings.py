"""Configuration is read once; a bad value stops the process with one line naming the variable."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from settings import DEV_JWT_SECRET, load_settings
from workflows.payload_codec import new_key_entry

ROOT = Path(__file__).resolve().parents[1]


def test_the_defaults_need_no_account_key_or_network(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("PIZZERIA_", "STRIPE_", "TWILIO_")):
            monkeypatch.delenv(name)
    settings = load_settings()
    assert (settings.temporal_address, settings.temporal_namespace, settings.task_queue) == (
        "localhost:7233", "default", "pizzeria-orders",
    )  # fmt: skip
    assert settings.database_url == "sqlite:///data/pizzeria.db"
    assert (settings.payments, settings.notifier, settings.kitchen_sla_seconds) == ("fake", "console", 2700)
    assert settings.jwt_secret == DEV_JWT_SECRET


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"PIZZERIA_TEMPORAL_ADDRESS": "no port here"}, "PIZZERIA_TEMPORAL_ADDRESS"),
        ({"PIZZERIA_DATABASE_URL": "not a url"}, "PIZZERIA_DATABASE_URL"),
        ({"PIZZERIA_API_PORT": "eighty"}, "PIZZERIA_API_PORT"),
        ({"PIZZERIA_KITCHEN_SLA_SECONDS": "0"}, "PIZZERIA_KITCHEN_SLA_SECONDS"),
        ({"PIZZERIA_JWT_SECRET": "short"}, "PIZZERIA_JWT_SECRET"),
        ({"PIZZERIA_PAYMENTS": "paypal"}, "PIZZERIA_PAYMENTS"),
        ({"PIZZERIA_NOTIFIER": "pigeon"}, "PIZZERIA_NOTIFIER"),
        ({"PIZZERIA_PAYMENTS": "stripe"}, "STRIPE_API_KEY"),
        ({"PIZZERIA_NOTIFIER": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}, "TWILIO_FROM_NUMBER"),
        (
            {"PIZZERIA_NOTIFIER": "twilio", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+15550001111"},
            "TWILIO_ACCOUNT_SID",
        ),
        (
            {"PIZZERIA_NOTIFIER": "twilio", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_FROM_NUMBER": "+15550001111"},
            "TWILIO_AUTH_TOKEN",
        ),
        ({"PIZZERIA_PAYMENTS": "stripe", "STRIPE_API_KEY": "pk_test_publishable"}, "STRIPE_API_KEY"),
        ({"PIZZERIA_STRIPE_API_BASE": "localhost:8420"}, "PIZZERIA_STRIPE_API_BASE"),
        ({"PIZZERIA_TWILIO_API_BASE": "ftp://127.0.0.1"}, "PIZZERIA_TWILIO_API_BASE"),
        ({"PIZZERIA_TWILIO_API_BASE": "http://"}, "PIZZERIA_TWILIO_API_BASE"),
        ({"PIZZERIA_STRIPE_CURRENCY": "dollars"}, "PIZZERIA_STRIPE_CURRENCY"),
        ({"PIZZERIA_STRIPE_CURRENCY": "JPY"}, "PIZZERIA_STRIPE_CURRENCY"),
        ({"PIZZERIA_STRIPE_CURRENCY": "abc"}, "PIZZERIA_STRIPE_CURRENCY"),
        ({"PIZZERIA_STRIPE_CURRENCY": "xau"}, "PIZZERIA_STRIPE_CURRENCY"),
        ({"PIZZERIA_STRIPE_TIMEOUT_SECONDS": "0"}, "PIZZERIA_STRIPE_TIMEOUT_SECONDS"),
        ({"PIZZERIA_STRIPE_TIMEOUT_SECONDS": "30"}, "PIZZERIA_STRIPE_TIMEOUT_SECONDS"),
        ({"TWILIO_FROM_NUMBER": "555-1234"}, "TWILIO_FROM_NUMBER"),
        ({"PIZZERIA_ENCRYPTION_KEYS": "k1:AAAA"}, "PIZZERIA_ENCRYPTION_KEYS"),
        ({"PIZZERIA_ENCRYPTION_KEYS": "no-colon-here"}, "PIZZERIA_ENCRYPTION_KEYS"),
        ({"PIZZERIA_ENCRYPTION_KEYS_FILE": "pyproject.toml"}, "PIZZERIA_ENCRYPTION_KEYS_FILE"),
        ({"PIZZERIA_CODEC_CORS_ORIGINS": "localhost:8233"}, "PIZZERIA_CODEC_CORS_ORIGINS"),
        ({"PIZZERIA_CODEC_CORS_ORIGINS": "http://ui.example/path"}, "PIZZERIA_CODEC_CORS_ORIGINS"),
        ({"PIZZERIA_CODEC_LOOPBACK_WITHOUT_TOKEN": "perhaps"}, "PIZZERIA_CODEC_LOOPBACK_WITHOUT_TOKEN"),
        ({"PIZZERIA_WORKER_METRICS_ADDRESS": "9464"}, "PIZZERIA_WORKER_METRICS_ADDRESS"),
        ({"PIZZERIA_LOG_FORMAT": "xml"}, "PIZZERIA_LOG_FORMAT"),
        ({"PIZZERIA_LOG_LEVEL": "loud"}, "PIZZERIA_LOG_LEVEL"),
    ],
)
def test_a_bad_or_missing_variable_stops_the_worker_with_one_line_naming_it(variables, named):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIZZERIA_", "STRIPE_", "TWILIO_"))}
    done = subprocess.run(
        [sys.executable, "worker.py"], cwd=ROOT, env={**env, **variables}, capture_output=True, text=True, timeout=30
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("configuration error: ") and named in lines[0]


def test_a_worker_whose_metrics_port_is_taken_stops_with_one_line_naming_the_variable():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        env = {**os.environ, "PIZZERIA_WORKER_METRICS_ADDRESS": address}
        done = subprocess.run(
            [sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
        )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "configuration error: PIZZERIA_WORKER_METRICS_ADDRESS: Failed starting Prometheus exporter: "
        "Address already in use (os error 98)"
    ]


def serve_api(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`uvicorn api.app:app`, run to its end."""
    command = [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", "0"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)


def test_a_bad_variable_stops_the_api_before_it_serves():
    done = serve_api({**os.environ, "PIZZERIA_DATABASE_URL": "::"})
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "configuration error: PIZZERIA_DATABASE_URL: must be an SQLAlchemy URL such as sqlite:///data/pizzeria.db, "
        "not '::'"
    ]


def test_a_missing_provider_variable_stops_the_api_too():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIZZERIA_", "STRIPE_", "TWILIO_"))}
    done = serve_api({**env, "PIZZERIA_PAYMENTS": "stripe"})
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "configuration error: STRIPE_API_KEY is required when PIZZERIA_PAYMENTS=stripe"
    ]


def test_importing_the_app_or_the_worker_reads_no_setting_and_sets_up_no_logs():
    # What a test, a tool or another process gets by importing them: nothing configured behind its back.
    check = (
        "import logging, api.app, bootstrap, observability, settings, worker\n"
        "from temporalio import workflow\n"
        "assert logging.getLogger().handlers == [], logging.getLogger().handlers\n"
        "assert not logging.getLogger('uvicorn.access').disabled\n"
        "assert workflow.logger.workflow_info_on_message\n"
        "print('untouched')\n"
    )
    env = {**os.environ, "PIZZERIA_DATABASE_URL": "::", "PIZZERIA_LOG_FORMAT": "json"}
    done = subprocess.run([sys.executable, "-c", check], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "untouched", "")


def test_a_secret_never_appears_in_the_error_that_names_it(monkeypatch):
    monkeypatch.setenv("PIZZERIA_PAYMENTS", "stripe")
    monkeypatch.setenv("STRIPE_API_KEY", "pk_live_do_not_print_me")
    with pytest.raises(SystemExit) as stopped:
        load_settings()
    assert str(stopped.value).startswith("configuration error: STRIPE_API_KEY: must be a Stripe secret key")
    assert "do_not_print_me" not in str(stopped.value)


def test_a_key_of_the_wrong_length_is_refused_without_printing_it(monkeypatch):
    monkeypatch.setenv("PIZZERIA_ENCRYPTION_KEYS", "k1:c2VjcmV0LWtleS1tYXRlcmlhbA==")
    with pytest.raises(SystemExit) as stopped:
        load_settings()
    assert (
        str(stopped.value)
        == "configuration error: PIZZERIA_ENCRYPTION_KEYS: key 'k1' must be 32 bytes (AES-256), not 19"
    )


def test_encryption_keys_come_from_the_keys_file_unless_the_variable_is_set(monkeypatch, tmp_path):
    monkeypatch.delenv("PIZZERIA_ENCRYPTION_KEYS", raising=False)
    monkeypatch.setenv("PIZZERIA_ENCRYPTION_KEYS_FILE", str(tmp_path / "encryption.keys"))
    assert load_settings().encryption_key_ring is None  # no file: payloads are not encrypted
    (tmp_path / "encryption.keys").write_text(new_key_entry("from-file") + "\n")
    assert list(load_settings().encryption_key_ring or {}) == ["from-file"]
    monkeypatch.setenv("PIZZERIA_ENCRYPTION_KEYS", f"{new_key_entry('new')},{new_key_entry('old')}")
    assert list(load_settings().encryption_key_ring or {}) == ["new", "old"]


def test_provider_settings_are_read_with_their_documented_names(monkeypatch):
    for name, value in {
        "PIZZERIA_PAYMENTS": "stripe",
        "STRIPE_API_KEY": "sk_test_abc",
        "PIZZERIA_STRIPE_API_BASE": "http://127.0.0.1:8420/",
        "PIZZERIA_STRIPE_CURRENCY": "EUR",
        "PIZZERIA_NOTIFIER": "twilio",
        "TWILIO_ACCOUNT_SID": "AC123",
        "TWILIO_AUTH_TOKEN": "secret",
        "TWILIO_FROM_NUMBER": "MarioPizza",
        "PIZZERIA_TWILIO_API_BASE": "http://127.0.0.1:8421",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert (settings.stripe_api_key, str(settings.stripe_api_base), settings.stripe_currency) == (
        "sk_test_abc", "http://127.0.0.1:8420/", "eur"
    )  # fmt: skip
    assert (settings.twilio_account_sid, settings.twilio_from_number, str(settings.twilio_api_base)) == (
        "AC123", "MarioPizza", "http://127.0.0.1:8421/"
    )  # fmt: skip


def test_the_database_pool_and_timeouts_are_read_with_their_documented_names_and_defaults(monkeypatch):
    names = ("POOL_SIZE", "MAX_OVERFLOW", "POOL_TIMEOUT_SECONDS", "STATEMENT_TIMEOUT_SECONDS")
    names += ("CONNECT_TIMEOUT_SECONDS",)
    for name in names:
        monkeypatch.delenv(f"PIZZERIA_DATABASE_{name}", raising=False)
    settings = load_settings()
    defaults = (5, 10, 10.0, 15.0, 5)
    assert tuple(getattr(settings, f"database_{name.lower()}") for name in names) == defaults
    for name, value in zip(names, ("20", "0", "2.5", "30", "3"), strict=True):
        monkeypatch.setenv(f"PIZZERIA_DATABASE_{name}", value)
    settings = load_settings()
    assert tuple(getattr(settings, f"database_{name.lower()}") for name in names) == (20, 0, 2.5, 30.0, 3)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("PIZZERIA_DATABASE_POOL_SIZE", "0", "greater than or equal to 1"),
        ("PIZZERIA_DATABASE_POOL_SIZE", "many", "valid integer"),
        ("PIZZERIA_DATABASE_MAX_OVERFLOW", "-1", "greater than or equal to 0"),
        ("PIZZERIA_DATABASE_POOL_TIMEOUT_SECONDS", "0", "greater than 0"),
        ("PIZZERIA_DATABASE_STATEMENT_TIMEOUT_SECONDS", "-15", "greater than 0"),
        ("PIZZERIA_DATABASE_CONNECT_TIMEOUT_SECONDS", "0", "greater than or equal to 1"),
        ("PIZZERIA_DATABASE_CONNECT_TIMEOUT_SECONDS", "soon", "valid integer"),
        ("PIZZERIA_MAX_PLACEMENTS_IN_FLIGHT", "0", "greater than or equal to 1"),
        ("PIZZERIA_MAX_PLACEMENTS_IN_FLIGHT", "-5", "greater than or equal to 1"),
        ("PIZZERIA_MAX_PLACEMENTS_IN_FLIGHT", "lots", "valid integer"),
        ("PIZZERIA_OVERLOAD_RETRY_AFTER_SECONDS", "0", "greater than or equal to 1"),
        ("PIZZERIA_OVERLOAD_RETRY_AFTER_SECONDS", "-1", "greater than or equal to 1"),
        ("PIZZERIA_OVERLOAD_RETRY_AFTER_SECONDS", "1.5", "valid integer"),
    ],
)
def test_a_limit_that_is_not_a_positive_number_stops_the_process_naming_it(monkeypatch, variable, value, says):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as stopped:
        load_settings()
    assert str(stopped.value).startswith(f"configuration error: {variable}: ")
    assert says in str(stopped.value)


def test_admission_control_is_read_with_its_documented_names_and_defaults(monkeypatch):
    for name in ("PIZZERIA_MAX_PLACEMENTS_IN_FLIGHT", "PIZZERIA_OVERLOAD_RETRY_AFTER_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.max_placements_in_flight, settings.overload_retry_after_seconds) == (32, 1)
    monkeypatch.setenv("PIZZERIA_MAX_PLACEMENTS_IN_FLIGHT", "8")
    monkeypatch.setenv("PIZZERIA_OVERLOAD_RETRY_AFTER_SECONDS", "3")
    settings = load_settings()
    assert (settings.max_placements_in_flight, settings.overload_retry_after_seconds) == (8, 3)
