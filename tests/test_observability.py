"""Traces come from the standard OTEL_* variables, off unless an exporter is named; one this build cannot honour
stops the process with one line naming it."""

import os

import pytest

from observability import tracer_provider


@pytest.fixture
def otel_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_tracing_is_off_unless_an_exporter_is_named(otel_env):
    assert tracer_provider("pizzeria-api") is None
    otel_env.setenv("OTEL_TRACES_EXPORTER", "none")
    assert tracer_provider("pizzeria-api") is None


def test_naming_an_exporter_or_an_otlp_endpoint_turns_tracing_on_under_the_services_name(otel_env):
    otel_env.setenv("OTEL_TRACES_EXPORTER", "console")
    assert tracer_provider("pizzeria-api").resource.attributes["service.name"] == "pizzeria-api"
    otel_env.setenv("OTEL_SERVICE_NAME", "pizzeria-eu-west")
    assert tracer_provider("pizzeria-api").resource.attributes["service.name"] == "pizzeria-eu-west"
    otel_env.delenv("OTEL_TRACES_EXPORTER")
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert tracer_provider("pizzeria-worker") is not None
    otel_env.setenv("OTEL_SDK_DISABLED", "true")
    assert tracer_provider("pizzeria-worker") is None


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({"OTEL_TRACES_EXPORTER": "jaeger"}, "OTEL_TRACES_EXPORTER: 'jaeger' is not one of otlp, console, none"),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is supported, not 'grpc'",
        ),
    ],
)
def test_a_tracing_variable_this_build_cannot_honour_stops_the_process_naming_it(otel_env, variables, says):
    for name, value in variables.items():
        otel_env.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        tracer_provider("pizzeria-worker")
    assert str(stopped.value) == f"configuration error: {says}"
