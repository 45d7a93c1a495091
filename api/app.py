"""The FastAPI app: `uvicorn api.app:app`. It starts, updates and queries workflows; it never runs the saga."""

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from activities.store.menu import MenuStore
from activities.store.orders import OrderStore
from activities.store.staff import StaffStore
from activities.store.stock import StockStore
from api import analytics, codec, customers, deliveries, health, kitchen, menu, metrics, orders, sign_in, staff, stock
from api.account_keys import AccountKeys
from api.admission import Admission
from api.codec import CodecCORS
from api.deps import RecentMenu
from api.gateway import OrderGateway
from api.metrics import AccessMiddleware, ApiMetrics
from api.order_ids import LegacyLookup, OrderIds, order_id_secret
from api.pages import router as pages
from api.pages.fresh import Fresh
from api.pages.rendering import STATIC_DIR
from api.passwords import Passwords
from api.problems import install_problem_handlers, problem_response
from bootstrap import open_database, temporal_client, temporal_runtime
from observability import configure_logging, tracer_provider
from settings import Settings, load_settings

log = logging.getLogger("pizzeria.api")
MAX_BODY_BYTES = 64 * 1024
CODEC_MAX_BODY_BYTES = 4 * 1024 * 1024  # a batch of payloads from the Temporal UI; each may be up to 2 MB
# After a refusal, how much more of a body is read and dropped, so that the client gets to read the 413.
LINGER_BYTES, LINGER_SECONDS = 1024 * 1024, 1.0


class EdgeMiddleware:
    """Paths answer with or without a trailing slash; oversized bodies are refused before any work.

    A body is counted as it arrives, whatever its Content-Length says (a chunked body has none), and is refused
    as soon as it is over the limit, before the app sees any of it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/", "raw_path": None}
        limit = CODEC_MAX_BODY_BYTES if path.startswith(codec.PREFIX) else MAX_BODY_BYTES
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await refuse_body(limit, receive, send, more=True)
            return
        received: list[Message] = []
        size = 0
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                break  # the client has gone: the app hears of it as it would have
            size += len(message.get("body", b""))
            if size > limit:
                await refuse_body(limit, receive, send, more=message.get("more_body", False))
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return received.pop(0) if received else await receive()

        await self.app(scope, replay, send)


async def refuse_body(limit: int, receive: Receive, send: Send, more: bool) -> None:
    """413, then close the connection.

    A client reads the answer only once it has sent its whole body, and a connection closed while it is still
    sending loses the answer: so what follows is read and dropped for a little while (as servers' "lingering
    close" does) before the connection is closed. A body much over the limit is cut off all the same.
    """
    detail = f"the body must be at most {limit} bytes, with a valid Content-Length or none"
    response = problem_response(413, detail, "body-too-large", headers={"Connection": "close"})
    await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": True})
    dropped = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(LINGER_SECONDS):
            while more and dropped < LINGER_BYTES:
                message = await receive()
                more = message["type"] == "http.request" and message.get("more_body", False)
                dropped += len(message.get("body", b""))
    await send({"type": "http.response.body", "body": b""})


def _quiet_about_calls_given_up(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # A call to Temporal given up on (its deadline passed, or Temporal or every worker was found away) leaves
    # the SDK's own future holding a CancelledError nobody reads: that is no error worth a log line.
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


def create_app(settings: Settings | None = None, tracing: TracerProvider | None = None) -> FastAPI:
    """The API, wired to Temporal and the database named by the settings.

    Traced when `tracing` is given or the OTEL_* variables ask for it: each request's span is the
    parent of its calls to Temporal, and through them of the workflow and its activities.
    """
    settings = settings or load_settings()
    tracing = tracing or tracer_provider("pizzeria-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.codec_loopback_without_token:
            log.warning("the codec endpoint serves callers on loopback without a token: for development only")
        engine = await run_in_threadpool(open_database, settings)
        # Lazy: the API starts (and /healthz says 503) while Temporal is still coming up.
        client = await temporal_client(settings, temporal_runtime(settings), tracing, tracer="pizzeria.api", lazy=True)
        app.state.payload_codec = client.data_converter.payload_codec
        if app.state.payload_codec is None:
            log.warning("payloads go to Temporal unencrypted: set PIZZERIA_ENCRYPTION_KEYS")
        app.state.client = client
        secret = order_id_secret(settings.order_id_secret, settings.order_id_secret_file)
        app.state.orders = OrderStore(engine)
        legacy = LegacyLookup(settings.legacy_order_ids, app.state.orders.holds_legacy_orders)
        app.state.gateway = OrderGateway(client, settings, OrderIds(secret), legacy)
        app.state.menu = MenuStore(engine)
        app.state.recent_menu = RecentMenu(app.state.menu)
        app.state.stock = StockStore(engine)
        app.state.fresh = Fresh()
        app.state.staff, app.state.passwords = StaffStore(engine), Passwords()
        app.state.account_keys = AccountKeys(app.state.staff)
        await app.state.account_keys.start()
        app.state.sign_in = sign_in.SignIn(
            app.state.staff, app.state.passwords, app.state.account_keys, settings.jwt_secret
        )
        loop = asyncio.get_running_loop()
        before = loop.get_exception_handler()
        loop.set_exception_handler(_quiet_about_calls_given_up)
        try:
            yield
        finally:
            await app.state.account_keys.stop()
            loop.set_exception_handler(before)
            engine.dispose()
        if tracing:
            tracing.shutdown()  # sends the spans still waiting in the batch

    app = FastAPI(
        title="Mario's Pizzeria",
        version="0.1.0",
        description=(
            "Every pizza order is a durable Temporal workflow. Staff routes need a Bearer JWT: sign in at "
            "/api/auth/token (the Authorize button here) or mint one with `python -m api.auth`."
        ),
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.metrics = ApiMetrics()
    app.state.admission = Admission(
        settings.max_placements_in_flight, settings.overload_retry_after_seconds, app.state.metrics
    )
    app.state.metrics.watch_stock(lambda: getattr(app.state, "stock", None))
    install_problem_handlers(app)
    routers = (menu, orders, kitchen, deliveries, stock, analytics, customers, staff, sign_in, health, codec, metrics)
    for module in routers:
        app.include_router(module.router)
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Innermost: it sees the route a request matched (Edge may have rewritten the path first).
    app.add_middleware(AccessMiddleware, metrics=app.state.metrics)
    app.add_middleware(CodecCORS, origins=settings.cors_origins)
    app.add_middleware(EdgeMiddleware)
    if tracing:
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=tracing, excluded_urls="healthz,metrics,codec", exclude_spans=["receive", "send"]
        )
    return app


@functools.cache
def served_app() -> FastAPI:
    """The app of this process, made once: the settings read and the database checked (either may stop the
    process), the logs set up."""
    settings = load_settings()
    configure_logging(settings)
    # Here, not only in the lifespan, so that a database behind the code stops the process with its one line
    # rather than inside the lifespan, whose failures uvicorn logs as tracebacks.
    open_database(settings).dispose()
    return create_app(settings)


def __getattr__(name: str) -> FastAPI:
    # `api.app:app`, what uvicorn serves, is made when uvicorn first asks for it, before it logs a line:
    # importing this module reads no settings and leaves the process's logging alone.
    if name == "app":
        return served_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
