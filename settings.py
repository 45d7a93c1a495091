"""Configuration: read once from the environment at start; a bad value stops the process with one line.

Only reading and checking: what the values wire up is built in bootstrap.py, logs and traces in observability.py.
"""

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    HttpUrl,
    SecretStr,
    SkipValidation,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_extra_types.currency_code import Currency
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from temporalio.envconfig import ClientConfigProfile

from domain.text import phone_problem
from temporal_access import address_origin, read_profile
from workflows.payload_codec import parse_keys

SENDER_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")  # alphanumeric sender id, where a country allows it
# Prices are kept in cents; currencies without a minor unit would be charged 100 times over.
ZERO_DECIMAL = frozenset(
    ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"]
)
DEV_JWT_SECRET = "dev-only-secret-of-marios-pizzeria-change-me"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


def _host_and_port_problem(value: str) -> str | None:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or any(c.isspace() for c in host):
        return f"must be host:port, e.g. localhost:7233, not {value!r}"
    return None


def _from_file(
    settings: type[BaseSettings], data: Any, field: str, check: Callable[[str], object] | None = None
) -> Any:
    """`data` with `field` read from the file that `{field}_file` names, when it is not given and the file exists."""
    if not isinstance(data, dict) or data.get(field):
        return data
    path = Path(data.get(f"{field}_file") or settings.model_fields[f"{field}_file"].default)
    try:
        value = path.read_text().strip() if path.is_file() else ""
        if value and check:
            check(value)
    except (OSError, ValueError) as err:
        raise ValueError(f"PIZZERIA_{field.upper()}_FILE: {path}: {err}") from None
    return {**data, field: value} if value else data


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PIZZERIA_", extra="ignore", frozen=True)

    # Where Temporal is: PIZZERIA_TEMPORAL_ADDRESS / _NAMESPACE when set, else what Temporal's standard client
    # configuration says (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, a TOML profile), else these defaults.
    temporal_address: str = Field("localhost:7233", min_length=1)
    temporal_namespace: str = Field("default", min_length=1)
    # The rest of that configuration, as temporalio.envconfig read it and temporal_access.py checked it: TLS, the
    # client certificate and key, an API key, gRPC metadata. bootstrap.py connects with it.
    temporal_profile: SkipValidation[ClientConfigProfile] = Field(
        default_factory=ClientConfigProfile, repr=False, exclude=True
    )
    task_queue: str = Field("pizzeria-orders", min_length=1)
    database_url: str = Field("sqlite:///data/pizzeria.db", min_length=1)
    # Each process (a worker, an API) keeps its own pool. A worker runs up to 32 activities at once, and a
    # database step holds a connection for milliseconds: 5 kept open carry a steady flow, 10 more absorb a
    # burst. Every process can hold pool + overflow (15) connections: 6 processes fit PostgreSQL's default of
    # 100 with room for ops; with more, raise max_connections or put PgBouncer in front.
    database_pool_size: int = Field(5, ge=1)
    database_max_overflow: int = Field(10, ge=0)
    # A step waits this long for a free connection before its attempt fails and is retried: the database
    # steps' attempts last at most 10 s (workflows/order_steps.py), so waiting longer helps no one.
    database_pool_timeout_seconds: float = Field(10.0, gt=0)
    # PostgreSQL cancels a statement running longer (SQLite has no such limit; a writer there waits up to 30 s
    # for the file's lock). Above the steps' 10 s, so a slow step's own timeout comes first and this only ends
    # the statements an abandoned attempt left running, which would otherwise hold a connection and its locks.
    database_statement_timeout_seconds: float = Field(15.0, gt=0)
    # A server that does not answer fails the attempt (retried) well within the step's 10 s, with a message
    # saying the database is unreachable rather than a timeout of the whole step.
    database_connect_timeout_seconds: int = Field(5, ge=1)
    api_port: int = Field(8000, ge=1, le=65535)
    # In production every secret must be given; in development the API makes what is missing under data/.
    environment: Literal["development", "production"] = "development"
    # The HMAC key that turns an Idempotency-Key into an order id (api/order_ids.py); unset, it is read from
    # order_id_secret_file (make run writes one there).
    order_id_secret: SecretStr | None = Field(None, min_length=32)
    order_id_secret_file: Path = Path("data/order-id.secret")
    # Also answer a key with the order its id named before ids were keyed (api/order_ids.py, LegacyLookup).
    legacy_order_ids: Literal["auto", "always", "never"] = "auto"
    jwt_secret: str = Field(DEV_JWT_SECRET, min_length=32, repr=False)
    payments: Literal["fake", "stripe"] = "fake"
    stripe_api_key: str | None = Field(None, validation_alias=_env("STRIPE_API_KEY"), repr=False)
    stripe_api_base: HttpUrl | None = None
    # An ISO 4217 code of a currency (not a metal, a bond unit or the test code), lower-cased as Stripe writes it.
    stripe_currency: Currency = Currency("usd")
    # Each request to Stripe gives up after this long: under the charge's and refund's 30 s per attempt, so a
    # Stripe that never answers ends the attempt with an error Temporal retries.
    stripe_timeout_seconds: float = Field(20.0, gt=0, le=25)
    notifier: Literal["console", "twilio"] = "console"
    twilio_account_sid: str | None = Field(None, validation_alias=_env("TWILIO_ACCOUNT_SID"))
    twilio_auth_token: str | None = Field(None, validation_alias=_env("TWILIO_AUTH_TOKEN"), repr=False)
    twilio_from_number: str | None = Field(None, validation_alias=_env("TWILIO_FROM_NUMBER"))
    twilio_api_base: HttpUrl | None = None
    kitchen_sla_seconds: int = Field(2700, gt=0)
    # After a reserve or a consumption, a tracked ingredient with this many portions available or fewer is
    # logged as low (one WARNING line each).
    low_stock_portions: int = Field(10, ge=0)
    # A delivery order ready this long without a driver is flagged late for dispatch (and the customer told once).
    delivery_pickup_sla_seconds: int = Field(900, gt=0)
    # How long POST /api/orders waits for the order to be confirmed before answering 503.
    confirm_timeout_seconds: float = Field(10.0, gt=0, le=60)
    # Admission control (api/admission.py), per API process: past this many placements in flight (admitted, not
    # answered yet), a new POST /api/orders is answered 503 at once, before any workflow starts. About what the
    # shop confirms in two seconds at saturation on two cores: a rush of that many is placed without a 503, and an
    # admitted order is confirmed well within the bounded wait above rather than queueing for it.
    max_placements_in_flight: int = Field(32, ge=1)
    # The Retry-After of that 503, in whole seconds.
    overload_retry_after_seconds: int = Field(1, ge=1, le=3600)
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

    @model_validator(mode="before")
    @classmethod
    def _temporal_profile(cls, data: Any) -> Any:
        # Read here, once, as the other variables are; a profile given outright (a test's) is taken as it is.
        if not isinstance(data, dict) or "temporal_profile" in data:
            return data
        profile = read_profile(os.environ)
        if profile.address and "temporal_address" not in data:
            if problem := _host_and_port_problem(profile.address):
                raise ValueError(f"{address_origin(os.environ)}: {problem}")
            data = {**data, "temporal_address": profile.address}
        if profile.namespace and "temporal_namespace" not in data:
            data = {**data, "temporal_namespace": profile.namespace}
        return {**data, "temporal_profile": profile}

    @field_validator("temporal_address", "worker_metrics_address")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        if value is not None and (problem := _host_and_port_problem(value)):
            raise ValueError(problem)
        return value

    @field_validator("stripe_api_base", "twilio_api_base", mode="wrap")
    @classmethod
    def _base_url(cls, value: object, parse: ValidatorFunctionWrapHandler) -> HttpUrl | None:
        try:
            return parse(value)
        except ValidationError:
            raise ValueError(f"must be an http(s) URL such as http://127.0.0.1:8420, not {value!r}") from None

    @field_validator("stripe_api_key")
    @classmethod
    def _secret_key(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sk_", "rk_")):
            raise ValueError("must be a Stripe secret key (sk_...) or restricted key (rk_...), not a publishable key")
        return value

    @field_validator("stripe_currency", mode="wrap")
    @classmethod
    def _currency(cls, value: object, parse: ValidatorFunctionWrapHandler) -> Currency:
        try:
            code = parse(value)
        except ValidationError:
            raise ValueError(
                f"must be the three-letter ISO 4217 code of a currency such as usd, not {value!r}"
            ) from None
        if code.lower() in ZERO_DECIMAL:
            raise ValueError(f"{value} has no cents; prices are kept in cents, so it cannot be used")
        return Currency(code.lower())

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
    def _secrets_from_files(cls, data: Any) -> Any:
        data = _from_file(cls, data, "encryption_keys", check=parse_keys)
        return _from_file(cls, data, "order_id_secret")

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
