"""Stripe and Twilio failing under a running pizzeria: each order is still charged once, refunded once,
and completed, and the failures show where ops look.

Stripe's faults are injected by the Stripe peer in front of localstripe (tests/peers/stripe_peer.py),
on the first try of an order's charge and of its refund. localstripe ignores idempotency keys, so an
order charged twice there would show as two PaymentIntents: exactly what a Stripe that has forgotten
a key would do.
"""

import asyncio
import json
import time
import uuid
from decimal import Decimal

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from activities.payments.stripe import StripePayments
from activities.texts.port import masked_phone
from domain.money import to_minor_units
from tests.conftest import order_body, order_id_for, running_stack, unique_phone
from tests.e2e.test_order_lifecycle import http_client, kitchen_moves
from tests.e2e.test_real_providers import use_real_providers
from tests.peers import STRIPE_KEY, StripePeer
from workflows.order_contract import workflow_id

INTENTS, REFUNDS = "/v1/payment_intents", "/v1/refunds"
# Short, so a Stripe that never answers costs the test a second per try.
STRIPE_TIMEOUT_SECONDS = 1.0


async def last_attempts(client: Client, order_id: str) -> dict[str, int]:
    """The attempt that settled each regular activity of the order, as its Temporal history shows it."""
    scheduled: dict[int, str] = {}
    attempts: dict[str, int] = {}
    async for event in client.get_workflow_handle(workflow_id(order_id)).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            attempts[scheduled[started.scheduled_event_id]] = started.attempt
    return attempts


def creates(stripe_peer: StripePeer, order_id: str, path: str) -> list[int | str]:
    """The answers the order's create requests to this path got, in turn ("timeout": none in time)."""
    return [r["status"] for r in stripe_peer.requests(order_id) if r["method"] == "POST" and r["path"] == path]


# What the order's create requests got, per fault on the first try: where Stripe had acted, the second
# attempt found the PaymentIntent or refund instead of asking again.
CREATE_REQUESTS = {
    500: [500, 200],
    429: [429, 200],
    "lost": [500],
    "timeout": ["timeout", 200],
    "lost-timeout": ["timeout"],
}


async def charged_and_refunded_once_despite(
    faults: list[int | str], http: httpx.AsyncClient, client: Client, stripe_peer: StripePeer
) -> None:
    """Orders whose charge and refund each fail once with these faults are charged once and refunded once."""
    keys = [str(uuid.uuid4()) for _ in faults]
    for key, fault in zip(keys, faults, strict=True):
        stripe_peer.fail("POST", INTENTS, order_id_for(key), fault)
        stripe_peer.fail("POST", REFUNDS, order_id_for(key), fault)

    placed = await asyncio.gather(
        *(http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": key}) for key in keys)
    )
    for fault, response in zip(faults, placed, strict=True):
        assert response.status_code == 201, (fault, response.text)
        order = response.json()
        [intent] = stripe_peer.intents(order["id"])
        assert (intent["id"], intent["status"]) == (order["payment"]["transaction_id"], "succeeded"), fault
        assert intent["amount"] == to_minor_units(Decimal(order["total"]))

    cancelled = await asyncio.gather(*(http.post(f"/api/orders/{r.json()['id']}/cancel") for r in placed))
    for fault, response in zip(faults, cancelled, strict=True):
        assert response.status_code == 200, (fault, response.text)
        order = response.json()
        [refund] = stripe_peer.refunds(order["id"])
        assert (refund["id"], refund["payment_intent"]) == (
            order["payment"]["refund_id"], order["payment"]["transaction_id"]
        ), fault  # fmt: skip
        assert refund["amount"] == to_minor_units(Decimal(order["total"]))
        attempts = await last_attempts(client, order["id"])
        assert (attempts["charge_payment"], attempts["refund_payment"]) == (2, 2), fault  # Temporal's retries
        assert creates(stripe_peer, order["id"], INTENTS) == CREATE_REQUESTS[fault], fault
        assert creates(stripe_peer, order["id"], REFUNDS) == CREATE_REQUESTS[fault], fault


async def test_stripe_failing_the_first_try_with_500_429_or_a_lost_answer_still_charges_and_refunds_once(
    processes, temporal_env, stripe_peer, twilio_peer
):
    use_real_providers(processes, stripe_peer, twilio_peer)
    async with http_client(processes) as http:
        await charged_and_refunded_once_despite([500, 429, "lost"], http, temporal_env.client, stripe_peer)


async def test_stripe_not_answering_in_time_still_charges_and_refunds_once(temporal_env, stripe_peer, database_url):
    # Unanswered, a request to Stripe waits out the adapter's own timeout, then Temporal tries again:
    # "timeout" never reached Stripe, "lost-timeout" did and its answer never came.
    payments = StripePayments(STRIPE_KEY, stripe_peer.base_url, timeout_seconds=STRIPE_TIMEOUT_SECONDS)
    try:
        async with running_stack(temporal_env, database_url, payments=payments) as stack:
            await charged_and_refunded_once_despite(["timeout", "lost-timeout"], stack.http, stack.client, stripe_peer)
    finally:
        await payments.aclose()


async def finished(client: Client, order_id: str) -> None:
    """Wait until the order's workflow has run to its end, its last text tried."""
    handle = client.get_workflow_handle(workflow_id(order_id))
    deadline = time.monotonic() + 20
    while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
        assert time.monotonic() < deadline, "the order's workflow did not finish"
        await asyncio.sleep(0.1)


async def notify_failures(client: Client, order_id: str) -> list[str]:
    """The failures of the order's texts, as the markers of its Temporal history record them."""
    failures = []
    async for event in client.get_workflow_handle(workflow_id(order_id)).fetch_history_events():
        if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
            continue
        marker = event.marker_recorded_event_attributes
        if "data" not in marker.details:  # a patch's marker, not a step's
            continue
        details = json.loads(marker.details["data"].payloads[0].data)
        if details["activity_type"] == "notify_customer" and marker.HasField("failure"):
            failures.append(marker.failure.message)
    return failures


async def test_an_order_completes_while_twilio_answers_500_and_the_log_the_order_and_temporal_say_so(
    processes, temporal_env, stripe_peer, twilio_peer
):
    use_real_providers(processes, stripe_peer, twilio_peer)
    phone = unique_phone()
    twilio_peer.answer(phone, 500)  # Twilio down, for this customer, for the whole order
    async with http_client(processes) as http:
        placed = await http.post("/api/orders", json=order_body(customer_phone=phone))
        assert placed.status_code == 201, placed.text
        order = placed.json()
        await kitchen_moves(http, order["id"], "preparing", "ready", "completed")
        await finished(temporal_env.client, order["id"])
        final = (await http.get(f"/api/orders/{order['id']}")).json()

    assert final["status"] == "completed" and [intent["id"] for intent in stripe_peer.intents(order["id"])] == [
        final["payment"]["transaction_id"]
    ]
    notes = [h["notes"] for h in final["history"] if h["by"] == "notifier"]
    assert [note.split(":")[0] for note in notes] == ["confirmation text not sent", "ready text not sent"]
    assert all("Twilio answered 500" in note and phone not in note for note in notes)
    assert len(twilio_peer.messages(phone)) == 6  # three quick tries per text, then given up

    worker_log = (processes.logs / "worker.log").read_text()
    for kind in ("confirmation", "ready"):
        assert f"order {order['id']}: the {kind} text was not sent: Twilio answered 500" in worker_log
    assert phone not in worker_log and masked_phone(phone) in worker_log

    failures = await notify_failures(temporal_env.client, order["id"])
    assert len(failures) == 2 and all("Twilio answered 500" in failure for failure in failures)
