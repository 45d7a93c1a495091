"""Configuration: read once from the environment at start; a bad value stops the process.

Also how a process sets up its tracing (from the standard OTEL_* variables) and its logs.
"""

import functools
import logging
import os
import re
import sys
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from temporalio import activity, workflow
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from domain.text import phone_problem
from workflows.order_metrics import READY_BUCKETS, READY_SECONDS
from workflows.payload_codec import parse_keys

SENDER_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")  # alphanumeric sender id, where a country allows it
# Prices are kept in cents; currencies without a minor unit would be charged 100 times over.
ZERO_DECIMAL = frozenset(
    ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"]
)
DEV_JWT_SECRET = "dev-only-secret-of-marios-pizzeria-change-me"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PIZZERIA_", extra="ignore", frozen=True)

    temporal_address: str = Field("localhost:7233", min_length=1)
    temporal_namespace: str = Field("default", min_length=1)
    task_queue: str = Field("pizzeria-orders", min_length=1)
    database_url: str = Field("sqlite:///data/pizzeria.db", min_length=1)
    api_port: int = Field(8000, ge=1, le=65535)
    # In production every secret must be given; in development the API makes what is missing under data/.
    environment: Literal["development", "production"] = "development"
    # The HMAC key that turns an Idempotency-Key into an order id (api/order_ids.py); unset, it is read from
    # order_id_secret_file (make run writes one there).
    order_id_secret: SecretStr | None = Field(None, min_length=32)
    order_id_secret_file: Path = Path("data/order-id.secret")
    # Also answer a key with the order its id named before ids were keyed; turn off once Temporal keeps none.
    legacy_order_ids: bool = True
    jwt_secret: str = Field(DEV_JWT_SECRET, min_length=32, repr=False)
    payments: Literal["fake", "stripe"] = "fake"
    stripe_api_key: str | None = Field(None, validation_alias=_env("STRIPE_API_KEY"), repr=False)
    stripe_api_base: str | None = None
    stripe_currency: str = "usd"
    # Each request to Stripe gives up after this long: under the charge's and refund's 30 s per attempt, so a
    # Stripe that never answers ends the attempt with an error Temporal retries.
    stripe_timeout_seconds: float = Field(20.0, gt=0, le=25)
    notifier: Literal["console", "twilio"] = "console"
    twilio_account_sid: str | None = Field(None, validation_alias=_env("TWILIO_ACCOUNT_SID"))
    twilio_auth_token: str | None = Field(None, validation_alias=_env("TWILIO_AUTH_TOKEN"), repr=False)
    twilio_from_number: str | None = Field(None, validation_alias=_env("TWILIO_FROM_NUMBER"))
    twilio_api_base: str | None = None
    kitchen_sla_seconds: int = Field(2700, gt=0)
    # How long POST /api/orders waits for the order to be confirmed before answering 503.
    confirm_timeout_seconds: float = Field(10.0, gt=0, le=60)
    # id:base64-key pairs, newest first; set, every payload in Temporal is encrypted (workflows/payload_codec.py).
    # Unset, they are read from encryption_keys_file when it exists (make run writes a dev key there).
    encryption_keys: SecretStr | None = None
    encryption_keys_file: Path = Path("data/encryption.keys")
    # Web origins (the Temporal UI) allowed to call the codec endpoint from a browser.
    codec_cors_origins: str = "http://localhost:8233,http://127.0.0.1:8233"
    # Development only (make run): the codec endpoint serves callers on loopback without a staff token.
    codec_loopback_without_token: bool = False
    # host:port where a worker serves Prometheus metrics (the SDK's and the orders'); unset, it serves none.
    worker_metrics_address: str | None = None
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("temporal_address", "worker_metrics_address")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536 or any(c.isspace() for c in host):
            raise ValueError(f"must be host:port, e.g. localhost:7233, not {value!r}")
        return value

    @field_validator("stripe_api_base", "twilio_api_base")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http(s) URL such as http://127.0.0.1:8420, not {value!r}")
        return value.rstrip("/")

    @field_validator("stripe_api_key")
    @classmethod
    def _secret_key(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sk_", "rk_")):
            raise ValueError("must be a Stripe secret key (sk_...) or restricted key (rk_...), not a publishable key")
        return value

    @field_validator("stripe_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{3}", value):
            raise ValueError(f"must be a three-letter ISO currency code such as usd, not {value!r}")
        if value.lower() in ZERO_DECIMAL:
            raise ValueError(f"{value} has no cents; prices are kept in cents, so it cannot be used")
        return value.lower()

    @field_validator("twilio_from_number")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        # A phone number in E.164 (the rule customers' numbers follow), or an alphanumeric sender id where the
        # country allows one.
        if value and phone_problem(value) and not SENDER_ID.fullmatch(value):
            raise ValueError(f"must be a phone number in E.164 form such as +15550001111, not {value!r}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _keys_from_file(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("encryption_keys"):
            return data
        path = Path(data.get("encryption_keys_file") or cls.model_fields["encryption_keys_file"].default)
        if path.is_file():
            try:
                data = {**data, "encryption_keys": path.read_text().strip()}
                parse_keys(data["encryption_keys"])
            except (OSError, ValueError) as err:
                raise ValueError(f"PIZZERIA_ENCRYPTION_KEYS_FILE: {path}: {err}") from None
        return data

    @model_validator(mode="before")
    @classmethod
    def _order_id_secret_from_file(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("order_id_secret"):
            return data
        path = Path(data.get("order_id_secret_file") or cls.model_fields["order_id_secret_file"].default)
        try:
            secret = path.read_text().strip() if path.is_file() else None
        except OSError as err:
            raise ValueError(f"PIZZERIA_ORDER_ID_SECRET_FILE: {path}: {err}") from None
        return {**data, "order_id_secret": secret} if secret else data

    @field_validator("encryption_keys")
    @classmethod
    def _keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        parse_keys(value.get_secret_value())
        return value

    @field_validator("codec_cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in (part.strip() for part in value.split(",") if part.strip()):
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
                raise ValueError(f"must be comma-separated origins such as http://localhost:8233, not {origin!r}")
        return value

    @property
    def encryption_key_ring(self) -> dict[str, bytes] | None:
        """The named keys, newest first, or None when payloads are not encrypted."""
        return parse_keys(self.encryption_keys.get_secret_value()) if self.encryption_keys else None

    @property
    def cors_origins(self) -> list[str]:
        return [origin.strip().rstrip("/") for origin in self.codec_cors_origins.split(",") if origin.strip()]

    @field_validator("database_url")
    @classmethod
    def _sqlalchemy_url(cls, value: str) -> str:
        try:
            make_url(value)
        except ArgumentError:
            raise ValueError(f"must be an SQLAlchemy URL such as sqlite:///data/pizzeria.db, not {value!r}") from None
        return value

    @model_validator(mode="after")
    def _providers_complete(self) -> "Settings":
        if self.environment == "production":
            if self.order_id_secret is None:
                raise ValueError("PIZZERIA_ORDER_ID_SECRET is required when PIZZERIA_ENVIRONMENT=production")
            if self.jwt_secret == DEV_JWT_SECRET:
                raise ValueError("PIZZERIA_JWT_SECRET must be set when PIZZERIA_ENVIRONMENT=production")
        if self.payments == "stripe" and not self.stripe_api_key:
            raise ValueError("STRIPE_API_KEY is required when PIZZERIA_PAYMENTS=stripe")
        if self.notifier == "twilio":
            for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"):
                if not getattr(self, name.lower()):
                    raise ValueError(f"{name} is required when PIZZERIA_NOTIFIER=twilio")
        return self


def _variable(field: str) -> str:
    if field not in Settings.model_fields:
        return field  # an aliased field is reported under its variable's name
    alias = Settings.model_fields[field].validation_alias
    return str(alias.choices[0]) if isinstance(alias, AliasChoices) else f"PIZZERIA_{field.upper()}"


def load_settings() -> Settings:
    """The settings from the environment, or exit with one line naming what is wrong."""
    try:
        return Settings()
    except ValidationError as err:
        first = err.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if first["loc"]:
            message = f"{_variable(str(first['loc'][0]))}: {message}"
        sys.exit(f"configuration error: {message}")


# --- tracing: the standard OTEL_* variables, off unless an exporter is named ------------------

OTEL_EXPORTERS = ("otlp", "console")


def tracer_provider(service: str) -> TracerProvider | None:
    """A tracer provider when OTEL_TRACES_EXPORTER (or an OTLP endpoint) asks for traces, else None.

    OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_BSP_* and OTEL_EXPORTER_OTLP_*
    are read by OpenTelemetry itself. OTLP goes over HTTP (http/protobuf).
    """
    env = os.environ
    named = [part.strip() for part in env.get("OTEL_TRACES_EXPORTER", "").split(",") if part.strip()]
    if not named and (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        named = ["otlp"]
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true" or not named or named == ["none"]:
        return None
    for exporter in named:
        if exporter not in OTEL_EXPORTERS:
            sys.exit(f"configuration error: OTEL_TRACES_EXPORTER: {exporter!r} is not one of otlp, console, none")
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    )
    if "otlp" in named and protocol != "http/protobuf":
        sys.exit(f"configuration error: OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is supported, not {protocol!r}")
    # Imported here: the OTLP exporter costs a process ~0.2 s to import, paid only when tracing.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    resource = Resource.create({} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service})
    provider = TracerProvider(resource=resource)
    for exporter in named:
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter() if exporter == "otlp" else ConsoleSpanExporter())
        )
    return provider


# --- logs: one line per event, JSON when PIZZERIA_LOG_FORMAT=json, with the order each is about ------

ORDER_PREFIX = "order-"
# The API's current request's order, for its log lines (the workflow's and activities' are known to Temporal).
current_order: ContextVar[str | None] = ContextVar("current_order", default=None)


class OrderContext(logging.Filter):
    """Adds `order_id` and `workflow_id` to a line about an order, and `trace_id` to one inside a trace."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)  # uvicorn's coloured copy of the message
        workflow_id = None
        for key in ("temporal_workflow", "temporal_activity"):  # what the SDK's loggers attach
            info = record.__dict__.pop(key, None)
            if isinstance(info, dict):
                workflow_id = info.get("workflow_id")
        if workflow_id is None and activity.in_activity():
            workflow_id = activity.info().workflow_id  # adapters log with their own loggers
        order_id = getattr(record, "order_id", None) or current_order.get()
        if workflow_id is None and order_id:
            workflow_id = ORDER_PREFIX + order_id
        if workflow_id and workflow_id.startswith(ORDER_PREFIX):
            record.order_id, record.workflow_id = workflow_id.removeprefix(ORDER_PREFIX), workflow_id
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            record.trace_id, record.span_id = f"{span.trace_id:032x}", f"{span.span_id:016x}"
        return True


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        order = getattr(record, "order_id", None)
        return f"{line} [order {order}]" if order else line


def configure_logging(settings: Settings) -> None:
    """Send every log line of the process, the SDK's and uvicorn's too, to stderr in the configured format."""
    if settings.log_format == "json":
        formatter: logging.Formatter = JsonFormatter(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",  # ISO 8601, UTC
            json_ensure_ascii=False,
        )
    else:
        formatter = _TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    handler.addFilter(OrderContext())
    handler.set_name("pizzeria")
    logging.captureWarnings(True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "pizzeria"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # uvicorn's lines go through the same handler; its access lines give way to the API's own, which name
    # the route and the order.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # The ids go into fields of their own rather than onto the end of each message.
    # (The SDK core's own lines come through the logger "temporalio.core": see sdk_runtime.)
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False


@functools.cache  # one per process and address: a runtime owns threads of its own
def sdk_runtime(metrics_address: str | None = None) -> Runtime:
    """The Temporal SDK's runtime: its core's log lines go through Python logging (so they are JSON too),
    and with an address it serves Prometheus metrics there. ValueError when the address cannot be bound.
    """
    forward = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )
    prometheus = (
        PrometheusConfig(
            bind_address=metrics_address,
            counters_total_suffix=True,
            durations_as_seconds=True,
            histogram_bucket_overrides={READY_SECONDS: READY_BUCKETS},
        )
        if metrics_address
        else None
    )
    return Runtime(telemetry=TelemetryConfig(logging=forward, metrics=prometheus))
