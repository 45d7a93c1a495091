"""The one composition root: the Temporal client and the database, built the same way for the worker and the API.

Settings say what to connect to; here they become live objects. Nothing is built at import.
"""

import logging
import sys
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.envconfig import ClientConnectConfig
from temporalio.runtime import Runtime

from activities.store.schema import revisions
from activities.store.tables import ConnectionLimits, make_engine
from observability import sdk_runtime
from settings import Settings
from temporal_access import refusal
from workflows.payload_codec import data_converter

log = logging.getLogger("pizzeria.bootstrap")


def temporal_runtime(settings: Settings, serve_metrics: bool = False) -> Runtime:
    """The SDK's runtime; with `serve_metrics` (the worker) it serves Prometheus at PIZZERIA_WORKER_METRICS_ADDRESS.

    An address that cannot be bound stops the process with one line naming the variable.
    """
    try:
        return sdk_runtime(settings.worker_metrics_address if serve_metrics else None)
    except ValueError as err:  # the address is taken or malformed
        sys.exit(f"configuration error: PIZZERIA_WORKER_METRICS_ADDRESS: {err}")


def client_options(
    settings: Settings, tracing: TracerProvider | None = None, tracer: str = "pizzeria"
) -> dict[str, Any]:
    """How a client talks to Temporal: its namespace, payloads encrypted with the configured keys, tracing.

    Traced, a workflow and each of its activities continue the trace of the request that started them.
    """
    return dict(
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings.encryption_key_ring),
        interceptors=[TracingInterceptor(tracing.get_tracer(tracer))] if tracing else [],
    )


def temporal_connection(settings: Settings) -> ClientConnectConfig:
    """Where and how to connect, as the `temporal` CLI would: Temporal's standard client configuration (TLS, a
    client certificate, an API key, gRPC metadata), with the address and namespace the settings resolved."""
    return {
        **settings.temporal_profile.to_client_connect_config(),
        "target_host": settings.temporal_address,
        "namespace": settings.temporal_namespace,
    }


def temporal_refusal(settings: Settings, error: BaseException) -> str | None:
    """Why Temporal refused this process's credentials, when `error` says it did; None for any other failure."""
    connection = temporal_connection(settings)
    return refusal(error, settings.temporal_address, connection.get("api_key"), connection.get("tls"))


async def temporal_client(
    settings: Settings,
    runtime: Runtime,
    tracing: TracerProvider | None = None,
    tracer: str = "pizzeria",
    lazy: bool = False,
) -> Client:
    """A client of the Temporal the configuration names; lazy, it first connects when first used.

    Not lazy, it raises RuntimeError while Temporal cannot be reached or refuses the credentials
    (temporal_refusal tells which).
    """
    return await Client.connect(
        **{**temporal_connection(settings), **client_options(settings, tracing, tracer)}, runtime=runtime, lazy=lazy
    )


def open_database(settings: Settings) -> Engine:
    """The database at PIZZERIA_DATABASE_URL, pooled as the settings say, once its schema is the code's.

    A database the code's migrations have not reached (or never touched) stops the process with one line saying
    what to run; one a newer release migrated runs on, with a warning. An unreachable one raises SQLAlchemy's
    OperationalError.
    """
    engine = make_engine(
        settings.database_url,
        ConnectionLimits(
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_timeout_seconds=settings.database_pool_timeout_seconds,
            statement_timeout_seconds=settings.database_statement_timeout_seconds,
            connect_timeout_seconds=settings.database_connect_timeout_seconds,
        ),
    )
    try:
        schema = revisions(engine)
    except BaseException:
        engine.dispose()
        raise
    if schema.behind:
        engine.dispose()
        sys.exit(
            f"database error: PIZZERIA_DATABASE_URL is at revision {schema.database or '<none>'}; "
            f"this code needs {schema.head}: run alembic upgrade head"
        )
    if schema.ahead:
        log.warning(
            "the database is at revision %s, newer than this code knows (its newest is %s): running on it, "
            "as during a rolling upgrade",
            schema.database,
            schema.head,
        )
    return engine
