"""Real processes, traced through the standard OTEL_* variables, send one trace per order over OTLP/HTTP."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.conftest import SAME_ON_ANY_DATABASE, order_body
from tests.e2e.conftest import Processes

pytestmark = SAME_ON_ANY_DATABASE


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver on loopback: keeps (service, span name, trace id, parent id, span id)."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receive)
        self.spans: list[tuple[str, str, bytes, bytes, bytes]] = []
        self.paths: set[str] = set()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Receive(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.paths.add(self.path)
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            service = next(a.value.string_value for a in resource.resource.attributes if a.key == "service.name")
            for scope in resource.scope_spans:
                for span in scope.spans:
                    self.server.spans.append((service, span.name, span.trace_id, span.parent_span_id, span.span_id))
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture
def traced_processes(request: pytest.FixtureRequest, collector: Collector, monkeypatch) -> Processes:
    """Worker and API with tracing on through OTEL_* alone, exporting to the collector (set before the API starts)."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # milliseconds: send spans promptly
    return request.getfixturevalue("processes")


def test_an_order_placed_through_real_processes_is_one_trace_across_api_and_worker(traced_processes, collector):
    traced_processes.start_worker()
    placed = httpx.post(f"{traced_processes.base_url}/api/orders", json=order_body(), timeout=30)
    assert placed.status_code == 201, placed.text

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        roots = [s for s in collector.spans if s[1] == "POST /api/orders"]
        trace = [s for s in collector.spans if roots and s[2] == roots[-1][2]]
        if any(s[1] == "RunActivity:notify_customer" for s in trace):
            break
        time.sleep(0.1)
    services = {(service, name) for service, name, *_ in trace}
    assert ("pizzeria-api", "POST /api/orders") in services
    assert ("pizzeria-api", "StartUpdateWithStartWorkflow:OrderWorkflow") in services
    assert ("pizzeria-worker", "RunWorkflow:OrderWorkflow") in services
    for activity in ("validate_order", "charge_payment", "save_order", "queue_in_kitchen", "notify_customer"):
        assert ("pizzeria-worker", f"RunActivity:{activity}") in services, sorted(services)
    assert collector.paths == {"/v1/traces"}
