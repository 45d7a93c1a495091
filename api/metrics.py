"""What the API says about its requests: Prometheus metrics at `GET /metrics`, and one log line each."""

import logging
import time

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability import current_order

router = APIRouter(tags=["operations"])
access_log = logging.getLogger("pizzeria.api.access")
UNMATCHED = "unmatched"  # paths no route serves share one label, so a scan cannot blow up the series
# POST /api/orders waits up to ~10 s for the saga; the rest answer in milliseconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)


class ApiMetrics:
    """One registry per app, so every app (and every test's app) counts its own requests."""

    def __init__(self) -> None:
        # The *_created series only double what a scrape shows. A switch of the whole process: thrown here,
        # when an app is made, rather than on import.
        disable_created_metrics()
        self.registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self.requests = Counter(
            "pizzeria_http_requests",
            "HTTP requests answered, by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "pizzeria_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )


class AccessMiddleware:
    """Counts, times and logs every request by its route's template (`/api/orders/{order_id}`), never its raw
    path, and names the order it was about. Neither headers nor bodies are logged: they hold tokens and
    customers' data."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500
        # One connection may carry many requests: each starts with no order of its own.
        order_token = current_order.set(None)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", UNMATCHED)
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.duration.labels(method, route).observe(seconds)
            order_id = scope.get("path_params", {}).get("order_id") or current_order.get()
            current_order.reset(order_token)
            fields = {"route": route, "status": status, "duration_ms": round(seconds * 1000, 1)}
            if order_id:
                fields["order_id"] = order_id
            access_log.info("%s %s %d %.0f ms", method, scope["path"], status, seconds * 1000, extra=fields)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this API process."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
