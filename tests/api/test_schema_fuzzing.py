"""The API against its own OpenAPI document: requests generated from it, valid and not, sent without a token and
with kitchen, driver and manager tokens to a real server, Temporal and worker. No answer may be a 5xx, and every
answer must be one the document describes: its status, content type, headers and body."""

import asyncio
import importlib
import threading
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
import uvicorn
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from temporalio.testing import WorkflowEnvironment

from activities.payments.fake import FakePayments
from api.app import create_app
from bootstrap import temporal_client, temporal_runtime
from domain.menu import SEED_PIZZAS, SEED_TOPPINGS
from settings import Settings
from tests.conftest import RecordingNotifier, free_port, stack_settings, staff_headers
from worker import build_worker

# Derandomized: every run sends the same requests. Besides the fuzzing phase's 40 examples per operation and
# identity, Schemathesis sends the document's examples and its coverage cases: about 3,000 requests in all,
# 25 s on this 2-core machine.
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261127,
        "generation": {"max-examples": 40, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    }
)
# Hypothesis and Schemathesis are pytest plugins, so pytest compiles their modules itself as they are first
# imported, and these are imported only mid-run. There, with the API's thread running beside, Python 3.11.7 can
# fail the compilation ("AST constructor recursion depth mismatch", CPython gh-106905): import them now.
for _lazy in (
    "hypothesis.internal.conjecture.optimiser",
    "hypothesis.strategies._internal.random",
    "schemathesis.generation.body_overrides",
    "schemathesis.wfc.escalation",
):
    importlib.import_module(_lazy)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# The document `uvicorn api.app:app` serves at /openapi.json (the same whatever the settings).
schema = schemathesis.openapi.from_dict(create_app().openapi(), config=CONFIG)


def _takeable(text: object, least: int, most: int) -> object:
    """The text without the control characters the API refuses (Hypothesis draws many), not blank, long enough."""
    if not isinstance(text, str):
        return text
    kept = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cs"))
    kept = kept if kept.strip() else f"{kept}x"
    return kept.ljust(least, "·")[-most:]


@schema.hook("flatmap_body")
def _some_orders_can_be_made(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy:
    """Mostly orders made orderable (pizzas from the menu, a phone number, a test card, no control characters)
    and otherwise as generated: they run the whole saga with whatever names and addresses came. The schema
    alone cannot say what the menu offers, nor what a phone number looks like."""
    if context.operation is None or context.operation.label != "POST /api/orders" or not isinstance(body, dict):
        return st.just(body)
    pizzas = body.get("pizzas")
    if not isinstance(pizzas, list) or not all(isinstance(p, dict) for p in pizzas):
        return st.just(body)
    orderable = {
        **body,
        "customer_name": _takeable(body.get("customer_name"), 2, 100),
        "customer_address": _takeable(body.get("customer_address"), 10, 200),
        "customer_phone": "+15551234567",
        "pizzas": [
            {
                **pizza,
                "name": SEED_PIZZAS[n % len(SEED_PIZZAS)].name,
                "toppings": [t.name for t in SEED_TOPPINGS[: len(pizza.get("toppings") or ()) % 4]],
            }
            for n, pizza in enumerate(pizzas)
        ],
        **({"payment_token": "pm_card_visa"} if body.get("payment_method") == "card" else {}),
        **({"fulfilment": "pickup"} if body.get("customer_address") is None else {}),
    }
    return st.sampled_from([orderable, body])


def _serve(settings: Settings, port: int, started: threading.Event, stop: threading.Event) -> None:
    async def serve() -> None:
        client = await temporal_client(settings, temporal_runtime(settings))
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None))
        async with build_worker(client, settings, FakePayments(), RecordingNotifier()):
            serving = asyncio.create_task(server.serve())
            while not server.started and not serving.done():
                await asyncio.sleep(0.02)
            started.set()
            while not stop.is_set() and not serving.done():
                await asyncio.sleep(0.05)
            server.should_exit = True
            await serving

    try:
        asyncio.run(serve())
    finally:
        started.set()


@pytest.fixture(scope="module")
def api_url(temporal_env: WorkflowEnvironment, new_database: Callable[[], str]) -> Iterator[str]:
    """A worker and the API behind uvicorn on loopback, with a database of their own (the manager's requests
    change the menu), on an event loop of their own: these tests are not async, Hypothesis drives them."""
    settings = stack_settings(temporal_env, new_database())
    port, started, stop = free_port(), threading.Event(), threading.Event()
    thread = threading.Thread(target=_serve, args=(settings, port, started, stop), name="fuzzed-api")
    thread.start()
    try:
        assert started.wait(60) and thread.is_alive(), "the API did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        thread.join(60)


@schema.parametrize()
@pytest.mark.parametrize("identity", ["anonymous", "kitchen", "driver", "manager"])
def test_every_answer_is_documented_and_none_is_a_server_error(case, identity, api_url):
    headers = staff_headers(identity) if identity != "anonymous" else None
    case.call_and_validate(base_url=api_url, headers=headers, checks=CHECKS)


def test_the_fuzzed_document_is_the_one_the_api_serves(api_url):
    served = schemathesis.openapi.from_url(f"{api_url}/openapi.json", config=CONFIG)

    assert served.raw_schema == schema.raw_schema
