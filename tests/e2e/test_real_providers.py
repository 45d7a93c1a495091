"""The worker and the API as processes, configured only by the environment to use Stripe and Twilio:
localstripe and a Twilio-speaking server on loopback stand in for the two companies."""

import uuid
from decimal import Decimal

from activities.texts.port import masked_phone
from domain.money import to_minor_units
from tests.api.conftest import texts_to
from tests.conftest import order_body, unique_phone
from tests.e2e.test_order_lifecycle import http_client, kitchen_moves, kitchen_token, story
from tests.peers import STRIPE_KEY, TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN


def use_real_providers(processes, stripe_peer, twilio_peer) -> None:
    processes.env.update(
        {
            "PIZZERIA_PAYMENTS": "stripe",
            "STRIPE_API_KEY": STRIPE_KEY,
            "PIZZERIA_STRIPE_API_BASE": stripe_peer.base_url,
            "PIZZERIA_NOTIFIER": "twilio",
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_FROM_NUMBER": TWILIO_FROM,
            "PIZZERIA_TWILIO_API_BASE": twilio_peer.base_url,
        }
    )
    processes.start_worker()


async def test_the_whole_lifecycle_charges_refunds_declines_and_texts_through_the_providers(
    processes, temporal_env, stripe_peer, twilio_peer
):
    use_real_providers(processes, stripe_peer, twilio_peer)
    completed_phone, cancelled_phone, declined_phone = unique_phone(), unique_phone(), unique_phone()

    async with http_client(processes) as http:
        # Placed, charged, cooked, collected.
        placed = await http.post("/api/orders", json=order_body(customer_phone=completed_phone))
        assert placed.status_code == 201, placed.text
        order = placed.json()
        [intent] = stripe_peer.intents(order["id"])
        assert order["payment"]["transaction_id"] == intent["id"]
        assert intent["amount"] == to_minor_units(Decimal(order["total"])) and intent["status"] == "succeeded"
        await kitchen_moves(http, order["id"], "preparing", "ready", "completed")
        confirmation, ready = await texts_to(twilio_peer, completed_phone, 2)
        assert "confirmed" in confirmation and order["total"] in confirmation and order["id"][:8] in ready

        # Placed, then cancelled from the kitchen's queue: refunded in full.
        doomed = (await http.post("/api/orders", json=order_body(customer_phone=cancelled_phone))).json()
        queue = (await http.get("/api/kitchen/queue", headers=kitchen_token(http))).json()
        assert doomed["id"] in [o["id"] for o in queue]
        cancelled = await http.post(f"/api/orders/{doomed['id']}/cancel", json={"reason": "no one home"})
        assert cancelled.status_code == 200, cancelled.text
        [refund] = stripe_peer.refunds(doomed["id"])
        assert cancelled.json()["payment"]["refund_id"] == refund["id"]
        assert refund["amount"] == to_minor_units(Decimal(doomed["total"]))
        assert "refunded" in (await texts_to(twilio_peer, cancelled_phone, 2))[1]

        # Declined: 402 with Stripe's code, rejected, no text.
        key = str(uuid.uuid4())
        declined = await http.post(
            "/api/orders",
            json=order_body(customer_phone=declined_phone, payment_token="pm_card_chargeCustomerFail"),
            headers={"Idempotency-Key": key},
        )
        assert declined.status_code == 402 and declined.json()["decline_code"] == "card_declined"
        again = await http.post(
            "/api/orders",
            json=order_body(customer_phone=declined_phone, payment_token="pm_card_chargeCustomerFail"),
            headers={"Idempotency-Key": key},
        )
        assert again.status_code == 402 and again.json()["order_id"] == declined.json()["order_id"]
        assert twilio_peer.messages(declined_phone) == []

    assert (await story(temporal_env.client, order["id"])).count("charge_payment") == 1
    worker_log = (processes.logs / "worker.log").read_text()
    assert "payments: stripe, texts: twilio" in worker_log
    for phone in (completed_phone, cancelled_phone):
        assert phone not in worker_log and masked_phone(phone) in worker_log
    assert "Buon appetito" not in worker_log  # no text bodies in the log
