"""What the API says about its requests: Prometheus metrics at `GET /metrics`, and one log line each."""

import logging
import time
from collections.abc import Callable, Iterator

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from activities.store.stock import StockStore
from observability import current_order

router = APIRouter(tags=["operations"])
access_log = logging.getLogger("pizzeria.api.access")
log = logging.getLogger("pizzeria.api")
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
        # Admission control of POST /api/orders (api/admission.py).
        self.placements_in_flight = Gauge(
            "pizzeria_placements_in_flight",
            "Placements (POST /api/orders) admitted and not answered yet, in this API process",
            registry=self.registry,
        )
        self.placements_shed = Counter(
            "pizzeria_placements_shed",
            "Placements turned away at once with 503 and Retry-After because as many were in flight as the bound "
            "allows; nothing was placed or charged for them",
            registry=self.registry,
        )

    def watch_stock(self, store: Callable[[], StockStore | None]) -> None:
        """Serve the stock gauge from the store `store` gives at scrape (None before the app has started)."""
        self.registry.register(StockCollector(store))


class StockCollector(Collector):
    """`pizzeria_stock_available{ingredient}`: portions available (on hand less reserved) of each tracked
    ingredient, read from the database at each scrape."""

    def __init__(self, store: Callable[[], StockStore | None]) -> None:
        self._store = store

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "pizzeria_stock_available",
            "Portions of a tracked ingredient available to new orders (on hand less reserved)",
            labels=["ingredient"],
        )

    def describe(self) -> Iterator[Metric]:
        yield self._family()  # what it serves, without reading the database when registered

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        store = self._store()
        try:
            levels = store.levels() if store is not None else []
        except SQLAlchemyError as err:  # the scrape still answers with the API's own metrics
            log.warning("stock levels cannot be read for /metrics: %s", str(err).splitlines()[0])
            levels = []
        for level in levels:
            if level.available is not None:
                family.add_metric([level.ingredient], level.available)
        yield family


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
    # In a thread: the stock gauge reads the database.
    return Response(await run_in_threadpool(generate_latest, registry), media_type=CONTENT_TYPE_LATEST)
