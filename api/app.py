"""The FastAPI app: `uvicorn api.app:app`. It starts, updates and queries workflows; it never runs the saga."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.database import create_schema, make_engine
from activities.menu_store import MenuStore
from activities.order_store import OrderStore
from api import analytics, health, kitchen, menu, orders
from api.order_workflows import OrderWorkflows
from api.problems import install_problem_handlers, problem_response
from settings import Settings, load_settings

MAX_BODY_BYTES = 64 * 1024


class EdgeMiddleware:
    """Paths answer with or without a trailing slash; oversized bodies are refused before any work."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                scope = {**scope, "path": path.rstrip("/") or "/", "raw_path": None}
            length = dict(scope["headers"]).get(b"content-length", b"0")
            if not length.isdigit() or int(length) > MAX_BODY_BYTES:
                detail = f"the body must be at most {MAX_BODY_BYTES} bytes with a valid Content-Length"
                await problem_response(413, detail, "body-too-large")(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API, wired to Temporal and the database named by the settings."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        await run_in_threadpool(create_schema, engine)
        # Lazy: the API starts (and /healthz says 503) while Temporal is still coming up.
        client = await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=pydantic_data_converter,
            lazy=True,
        )
        app.state.client = client
        app.state.workflows = OrderWorkflows(client, settings)
        app.state.orders = OrderStore(engine)
        app.state.menu = MenuStore(engine)
        yield
        engine.dispose()

    app = FastAPI(
        title="Mario's Pizzeria",
        version="0.1.0",
        description="Every pizza order is a durable Temporal workflow. Staff routes need a Bearer JWT.",
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    for module in (menu, orders, kitchen, analytics, health):
        app.include_router(module.router)
    app.add_middleware(EdgeMiddleware)
    return app


app = create_app()
