"""The whole saga with the real Stripe and Twilio SDKs, against localstripe and a Twilio-speaking peer."""

import logging
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.payments.stripe import StripePayments
from activities.texts.port import masked_phone
from activities.texts.twilio import TwilioNotifier
from domain.money import to_minor_units
from tests.api.conftest import assert_problem, eventually, get_order, money, move_ok, new_key, texts_to
from tests.conftest import Stack, order_id_for, running_stack, staff_headers, unique_phone
from tests.peers import STRIPE_KEY, TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN, StripePeer, TwilioPeer
from workflows.order_contract import OrderResult, workflow_id

INTENTS = "/v1/payment_intents"


@pytest.fixture(scope="module")
async def providers(
    temporal_env: WorkflowEnvironment, stripe_peer: StripePeer, twilio_peer: TwilioPeer, new_database
) -> AsyncIterator[Stack]:
    """A worker whose payments go to Stripe and whose texts go to Twilio (both on loopback), and the API."""
    payments = StripePayments(STRIPE_KEY, stripe_peer.base_url)
    texts = TwilioNotifier(TWILIO_SID, TWILIO_TOKEN, TWILIO_FROM, twilio_peer.base_url)
    async with running_stack(temporal_env, new_database(), payments=payments, texts=texts) as stack:
        yield stack
    await payments.aclose()
    await texts.aclose()


async def finished(stack: Stack, order_id: str) -> None:
    """The order's workflow has run to its end (its last text tried), completed."""
    handle = stack.client.get_workflow_handle(workflow_id(order_id), result_type=OrderResult)
    result = await handle.result()
    assert result.order is not None and result.order.status == "completed"


async def charge_attempts(stack: Stack, order_id: str) -> list[int]:
    handle = stack.client.get_workflow_handle(workflow_id(order_id))
    attempts = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attempts.append(event.activity_task_started_event_attributes.attempt)
    return attempts


async def test_a_card_order_is_charged_in_stripe_and_texted_through_twilio_to_the_end(
    providers, stripe_peer, twilio_peer
):
    phone = unique_phone()
    order = await providers.placed(customer_phone=phone)
    [intent] = stripe_peer.intents(order["id"])
    assert order["payment"]["transaction_id"] == intent["id"]
    assert (intent["amount"], intent["currency"], intent["status"]) == (
        to_minor_units(money(order["total"])), "usd", "succeeded"
    )  # fmt: skip
    [confirmation] = await texts_to(twilio_peer, phone, 1)
    assert order["id"][:8] in confirmation and f"${order['total']}" in confirmation and "Ready about" in confirmation
    assert len(confirmation) <= 160

    await move_ok(providers, order["id"], "preparing")
    await move_ok(providers, order["id"], "ready")
    ready = (await texts_to(twilio_peer, phone, 2))[1]
    assert order["id"][:8] in ready and "out of the oven" in ready
    await move_ok(providers, order["id"], "completed")
    assert [m["From"] for m in twilio_peer.messages(phone)] == [TWILIO_FROM, TWILIO_FROM]
    assert all(m["authorized"] for m in twilio_peer.messages(phone))
    assert stripe_peer.refunds(order["id"]) == []


async def test_a_cancelled_card_order_is_refunded_in_full_and_the_customer_told(providers, stripe_peer, twilio_peer):
    phone = unique_phone()
    order = await providers.placed(customer_phone=phone)
    cancelled = await providers.http.post(f"/api/orders/{order['id']}/cancel", json={"reason": "changed my mind"})
    assert cancelled.status_code == 200, cancelled.text
    [refund] = stripe_peer.refunds(order["id"])
    assert cancelled.json()["payment"]["refund_id"] == refund["id"]
    assert (refund["payment_intent"], refund["amount"]) == (
        order["payment"]["transaction_id"], to_minor_units(money(order["total"]))
    )  # fmt: skip
    told = (await texts_to(twilio_peer, phone, 2))[1]
    assert order["id"][:8] in told and "cancelled" in told and "refunded" in told


async def test_a_declined_card_answers_402_with_stripes_code_and_the_order_is_rejected(providers, twilio_peer):
    key, phone = new_key(), unique_phone()
    response = await providers.place(key, customer_phone=phone, payment_token="pm_card_chargeCustomerFail")
    problem = assert_problem(response, 402)
    assert "card_declined" in problem["detail"] and problem["decline_code"] == "card_declined"
    order = await get_order(providers, order_id_for(key))
    assert order["status"] == "rejected" and order["payment"]["transaction_id"] is None
    assert twilio_peer.messages(phone) == []


async def test_a_retried_charge_sends_the_same_idempotency_key_and_charges_once(providers, stripe_peer):
    key = new_key()
    order_id = order_id_for(key)
    stripe_peer.fail("POST", INTENTS, order_id, 500)
    response = await providers.place(key)
    assert response.status_code == 201, response.text
    creates = [r for r in stripe_peer.requests(order_id) if r["path"] == INTENTS]
    assert [r["status"] for r in creates] == [500, 200]
    assert [r["idempotency_key"] for r in creates] == [f"order-{order_id}-charge"] * 2
    assert len(stripe_peer.intents(order_id)) == 1
    assert 2 in await charge_attempts(providers, order_id)  # Temporal's retry, not the SDK's


async def test_a_key_stripe_refuses_fails_the_order_fast_without_retrying_or_refunding(providers, stripe_peer):
    key = new_key()
    order_id = order_id_for(key)
    stripe_peer.fail("POST", INTENTS, order_id, 401)
    response = await providers.place(key)
    problem = assert_problem(response, 503)
    assert "Stripe refused the charge request (AuthenticationError)" in problem["detail"]
    assert [r["path"] for r in stripe_peer.requests(order_id)] == [INTENTS]  # one try, no refund
    assert (await get_order(providers, order_id))["status"] == "cancelled"


@pytest.mark.parametrize("status", [500, 400])
async def test_an_order_goes_on_when_twilio_fails_and_its_history_says_so(providers, twilio_peer, caplog, status):
    phone = unique_phone()
    twilio_peer.answer(phone, status)
    with caplog.at_level(logging.WARNING, logger="temporalio.workflow"):
        order = await providers.placed(customer_phone=phone)

        async def noted() -> dict | None:
            current = await get_order(providers, order["id"])
            return current if any(h["by"] == "notifier" for h in current["history"]) else None

        current = await eventually(noted)
    [note] = [h for h in current["history"] if h["by"] == "notifier"]
    assert note["status"] == "confirmed" and note["notes"].startswith("confirmation text not sent")
    assert f"Twilio answered {status}" in note["notes"] and phone not in note["notes"]
    assert len(twilio_peer.messages(phone)) == (3 if status == 500 else 1)  # bounded retries; none for a 400
    assert f"order {order['id']}: the confirmation text was not sent" in caplog.text
    assert phone not in caplog.text and masked_phone(phone) in caplog.text
    for step in ("preparing", "ready", "completed"):
        await move_ok(providers, order["id"], step)
    await finished(providers, order["id"])


async def test_an_order_completes_while_twilio_cannot_be_reached(temporal_env, stripe_peer, database_url):
    payments = StripePayments(STRIPE_KEY, stripe_peer.base_url)
    unreachable = TwilioNotifier(TWILIO_SID, TWILIO_TOKEN, TWILIO_FROM, "http://127.0.0.1:9")
    async with running_stack(temporal_env, database_url, payments=payments, texts=unreachable) as stack:
        order = await stack.placed()
        for status in ("preparing", "ready", "completed"):
            await move_ok(stack, order["id"], status)
        await finished(stack, order["id"])
        final = await get_order(stack, order["id"])
    await payments.aclose()
    await unreachable.aclose()
    notes = [h["notes"] for h in final["history"] if h["by"] == "notifier"]
    assert [n.split(":")[0] for n in notes] == ["confirmation text not sent", "ready text not sent"]
    assert all("Twilio could not be reached" in n for n in notes)
    assert money(final["total"]) > Decimal(0) and final["status"] == "completed"


async def test_a_failed_delivery_is_refunded_in_stripe_and_the_customer_texted_at_pickup_and_at_failure(
    providers, stripe_peer, twilio_peer
):
    phone = unique_phone()
    order = await providers.placed(customer_phone=phone)
    for status in ("preparing", "ready"):
        await move_ok(providers, order["id"], status)
    driver = staff_headers("driver", sub="toad")
    picked = await providers.http.post(f"/api/deliveries/{order['id']}/pickup", headers=driver)
    assert picked.status_code == 200, picked.text
    left = await text_saying(twilio_peer, phone, "left with our driver")
    assert order["id"][:8] in left

    failed = await providers.http.post(
        f"/api/deliveries/{order['id']}/failed", json={"reason": "nobody answered the door"}, headers=driver
    )

    assert failed.status_code == 200, failed.text
    [refund] = stripe_peer.refunds(order["id"])
    assert failed.json()["payment"]["refund_id"] == refund["id"]
    assert (refund["payment_intent"], refund["amount"]) == (
        order["payment"]["transaction_id"], to_minor_units(money(order["total"]))
    )  # fmt: skip
    told = await text_saying(twilio_peer, phone, "could not deliver")
    assert order["id"][:8] in told and "refunded" in told
    assert twilio_peer.messages(phone)[-1]["Body"] == told  # the last word to the customer
    assert all(m["From"] == TWILIO_FROM and m["authorized"] for m in twilio_peer.messages(phone))


async def text_saying(twilio_peer: TwilioPeer, phone: str, words: str) -> str:
    """The one text to this number that says these words, once it has arrived."""

    async def arrived() -> str | None:
        saying = [m["Body"] for m in twilio_peer.messages(phone) if words in m["Body"]]
        assert len(saying) <= 1, saying
        return saying[0] if saying else None

    return await eventually(arrived)
