"""What the fault tests share: card payments through the Stripe peer, waiting on real processes, and the
check that an order came through a fault whole: finished, stored, charged once and refunded once."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
from temporalio.client import Client, WorkflowExecutionStatus

from activities.store.orders import ORDER_JSON, OrderStore
from activities.store.tables import make_engine
from tests.e2e.conftest import Processes
from tests.e2e.test_order_lifecycle import story
from tests.peers import STRIPE_KEY, StripePeer
from workflows.order_contract import workflow_id

T = TypeVar("T")

# The activities an order's history holds for each status it went through: each step once.
STEPS = {
    "received": ["validate_order", "reserve_stock", "charge_payment"],
    "confirmed": ["save_order", "queue_in_kitchen", "notify_customer"],
    "preparing": ["save_order"],
    "ready": ["save_order", "notify_customer"],
    "out_for_delivery": ["save_order"],  # the texts of the way are its delivery's
    "completed": ["record_completion"],
    "cancelled": ["remove_from_kitchen", "refund_payment", "record_cancellation", "notify_customer"],
}


def pay_through_stripe(processes: Processes, stripe_peer: StripePeer) -> None:
    """Card payments through the real Stripe SDK against the Stripe peer, for the workers started after this."""
    processes.env.update(
        {"PIZZERIA_PAYMENTS": "stripe", "STRIPE_API_KEY": STRIPE_KEY, "PIZZERIA_STRIPE_API_BASE": stripe_peer.base_url}
    )


def assert_unavailable(response: httpx.Response) -> None:
    """A 503 as problem+json that says when to come back."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"].isdigit()


async def eventually(check: Callable[[], Awaitable[T | None]], what: str, seconds: float = 60) -> T:
    """The first truthy answer of `check`, asked again until it gives one."""
    deadline = time.monotonic() + seconds
    while True:
        answer = await check()
        if answer:
            return answer
        assert time.monotonic() < deadline, f"timed out after {seconds:.0f} s waiting for {what}"
        await asyncio.sleep(0.2)


async def reaches(http: httpx.AsyncClient, order_id: str, status: str, seconds: float = 60) -> dict:
    """The order once GET /api/orders/{id} shows it in this status."""

    async def there() -> dict | None:
        response = await http.get(f"/api/orders/{order_id}")
        return response.json() if response.status_code == 200 and response.json()["status"] == status else None

    return await eventually(there, f"order {order_id} to be {status}", seconds)


class Store:
    """The shop's database, read directly: what outlives the workflows."""

    def __init__(self, database_url: str) -> None:
        self._orders = OrderStore(make_engine(database_url))

    def order(self, order_id: str) -> dict | None:
        """The order as last saved, as JSON like the API gives it; None when it was never saved."""
        order = self._orders.get(order_id)
        return None if order is None else ORDER_JSON.dump_python(order, mode="json")

    async def holds(self, order_id: str, status: str) -> dict:
        """The saved order, once it is saved in this status."""

        async def saved() -> dict | None:
            order = self.order(order_id)
            return order if order and order["status"] == status else None

        return await eventually(saved, f"order {order_id} to be saved as {status}")


async def assert_finished_whole(
    client: Client, store: Store, stripe_peer: StripePeer, order_id: str, statuses: list[str]
) -> None:
    """The order's workflow has ended, the database holds it in its last status, the history tells each step
    once, the card was charged once at Stripe, and a cancelled order was refunded once."""

    async def closed() -> WorkflowExecutionStatus | None:
        status = (await client.get_workflow_handle(workflow_id(order_id)).describe()).status
        return None if status == WorkflowExecutionStatus.RUNNING else status

    assert await eventually(closed, f"order {order_id}'s workflow to end") == WorkflowExecutionStatus.COMPLETED
    order = await store.holds(order_id, statuses[-1])
    assert [entry["status"] for entry in order["history"]] == statuses
    assert await story(client, order_id) == [step for status in statuses for step in STEPS[status]]
    [intent] = stripe_peer.intents(order_id)
    assert intent["status"] == "succeeded" and order["payment"]["transaction_id"] == intent["id"]
    if statuses[-1] == "cancelled":
        [refund] = stripe_peer.refunds(order_id)
        assert order["payment"]["refund_id"] == refund["id"]
        assert refund["payment_intent"] == intent["id"] and refund["amount"] == intent["amount"]
    else:
        assert stripe_peer.refunds(order_id) == []
