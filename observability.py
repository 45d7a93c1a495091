"""How a process shows what it does: its log lines, its traces and the Temporal SDK's metrics.

Nothing happens at import: a process calls `configure_logging` once at start, `tracer_provider` for its
traces and `sdk_runtime` for the SDK's runtime.
"""

import functools
import logging
import os
import sys
from contextvars import ContextVar

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from pythonjsonlogger.json import JsonFormatter
from temporalio import activity, workflow
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from settings import Settings
from workflows.order_metrics import READY_BUCKETS, READY_SECONDS

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
