"""The Stripe adapter, with the real SDK, against localstripe on loopback."""

import uuid
from decimal import Decimal

import pytest

from activities.payments.port import PaymentsMisconfigured
from activities.payments.stripe import StripePayments
from domain.errors import PaymentDeclined
from tests.peers import STRIPE_KEY, StripePeer

INTENTS = "/v1/payment_intents"


@pytest.fixture
async def stripe(stripe_peer: StripePeer):
    payments = StripePayments(STRIPE_KEY, stripe_peer.base_url, currency="eur")
    yield payments
    await payments.aclose()


def new_order() -> str:
    return str(uuid.uuid4())


async def test_a_charge_is_one_confirmed_payment_intent_of_the_exact_total_in_cents(stripe, stripe_peer):
    order_id = new_order()
    transaction_id = await stripe.charge(order_id, Decimal("41.31"), "pm_card_visa")
    [intent] = stripe_peer.intents(order_id)
    assert intent["id"] == transaction_id and transaction_id.startswith("pi_")
    assert (intent["amount"], intent["currency"], intent["status"]) == (4131, "eur", "succeeded")
    assert intent["metadata"] == {"order_id": order_id}
    [create] = stripe_peer.requests(order_id)
    assert create["form"]["payment_method"] == "pm_card_visa" and create["form"]["confirm"] == "true"
    # Cards only, in the parameter the SDK's API version takes (it refuses payment_method_types with a 400).
    assert create["form"]["allowed_payment_method_types[0]"] == "card"
    assert not any(name.startswith("payment_method_types") for name in create["form"])
    assert create["idempotency_key"] == f"order-{order_id}-charge"


async def test_a_refund_gives_back_the_whole_payment_intent_under_the_orders_refund_key(stripe, stripe_peer):
    order_id = new_order()
    transaction_id = await stripe.charge(order_id, Decimal("23.50"), "pm_card_visa")
    refund_id = await stripe.refund(order_id, Decimal("23.50"), transaction_id)
    [refund] = stripe_peer.refunds(order_id)
    assert refund["id"] == refund_id and refund_id.startswith("re_")
    assert (refund["amount"], refund["payment_intent"]) == (2350, transaction_id)
    refunds = [r for r in stripe_peer.requests(order_id) if r["path"] == "/v1/refunds"]
    assert [r["idempotency_key"] for r in refunds] == [f"order-{order_id}-refund"]


async def test_a_refund_finds_a_charge_whose_answer_was_lost(stripe, stripe_peer):
    order_id = new_order()
    stripe_peer.fail("POST", INTENTS, order_id, "lost")
    with pytest.raises(Exception) as lost:
        await stripe.charge(order_id, Decimal("12.00"), "pm_card_visa")
    assert not isinstance(lost.value, PaymentDeclined | PaymentsMisconfigured)  # an error to retry
    [intent] = stripe_peer.intents(order_id)  # it went through all the same
    refund_id = await stripe.refund(order_id, Decimal("12.00"), None)
    [refund] = stripe_peer.refunds(order_id)
    assert (refund["id"], refund["payment_intent"], refund["amount"]) == (refund_id, intent["id"], 1200)


async def test_nothing_to_refund_when_nothing_was_charged(stripe, stripe_peer):
    order_id = new_order()
    assert await stripe.refund(order_id, Decimal("12.00"), None) is None
    assert stripe_peer.refunds(order_id) == []


async def test_a_declined_card_is_a_decline_with_stripes_code(stripe, stripe_peer):
    order_id = new_order()
    with pytest.raises(PaymentDeclined) as declined:
        await stripe.charge(order_id, Decimal("10.00"), "pm_card_chargeCustomerFail")
    assert declined.value.decline_code == "card_declined"
    assert str(declined.value) == "Your card was declined."


async def test_an_unknown_payment_method_is_a_decline_not_a_retry(stripe):
    with pytest.raises(PaymentDeclined) as declined:
        await stripe.charge(new_order(), Decimal("10.00"), "pm_no_such_card")
    assert declined.value.decline_code == "invalid_payment_method"
    assert "pm_no_such_card" in str(declined.value)


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_a_server_error_or_rate_limit_is_raised_for_the_activity_to_retry(stripe, stripe_peer, status):
    order_id = new_order()
    stripe_peer.fail("POST", INTENTS, order_id, status)
    with pytest.raises(Exception) as failed:
        await stripe.charge(order_id, Decimal("10.00"), "pm_card_visa")
    assert not isinstance(failed.value, PaymentDeclined | PaymentsMisconfigured)
    assert stripe_peer.intents(order_id) == []
    # The retried attempt goes through, under the same key.
    await stripe.charge(order_id, Decimal("10.00"), "pm_card_visa")
    assert len(stripe_peer.intents(order_id)) == 1
    assert {r["idempotency_key"] for r in stripe_peer.requests(order_id)} == {f"order-{order_id}-charge"}


async def test_stripe_down_is_raised_for_the_activity_to_retry():
    down = StripePayments(STRIPE_KEY, "http://127.0.0.1:9", timeout_seconds=2)
    try:
        with pytest.raises(Exception) as failed:
            await down.charge(new_order(), Decimal("10.00"), "pm_card_visa")
        assert not isinstance(failed.value, PaymentDeclined | PaymentsMisconfigured)
    finally:
        await down.aclose()


async def test_a_key_stripe_refuses_fails_fast_and_says_so(stripe_peer):
    # localstripe accepts only sk_ keys; a restricted key stands in for a revoked one.
    refused = StripePayments("rk_test_revoked_key", stripe_peer.base_url)
    try:
        with pytest.raises(PaymentsMisconfigured, match=r"Stripe refused the charge request \(AuthenticationError\)"):
            await refused.charge(new_order(), Decimal("10.00"), "pm_card_visa")
    finally:
        await refused.aclose()


async def test_a_payment_refunded_by_hand_in_stripe_gives_that_refund_instead_of_failing_forever(stripe, stripe_peer):
    order_id = new_order()
    transaction_id = await stripe.charge(order_id, Decimal("18.00"), "pm_card_visa")
    by_hand = stripe_peer.http.post(
        "/v1/refunds", data={"payment_intent": transaction_id}, auth=(STRIPE_KEY, "")
    ).json()  # as ops would in the dashboard; localstripe would refund twice, so the next refund is refused
    stripe_peer.fail("POST", "/v1/refunds", order_id, {"status": 400, "code": "charge_already_refunded"})

    assert await stripe.refund(order_id, Decimal("18.00"), transaction_id) == by_hand["id"]
