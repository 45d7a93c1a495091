"""Many orders at once against tight stock, through the API with a real worker and Temporal; then the counts
must balance.

Each order follows a plan (seeded: every run the same): completed by the kitchen, cancelled once confirmed or
while preparing, declined by the card, or paid in cash. Stock is counted so that far from every order fits,
and cancels and declines give portions back for later orders. While they run, the stock is read again and
again: never below zero. Once every order has ended:
- nothing is left reserved, and for each tracked ingredient on hand = stocked - consumed, where consumed is
  the sum of what the orders that reached `preparing` needed (taken from the recipes, not from the store);
- every order refused for stock named a tracked ingredient and was never charged; every placed card order
  was charged once;
- some orders were refused for stock and some were placed (the stock really was tight).

60 orders here (`make test`); `make soak-stock` runs 300 (PIZZERIA_STOCK_LOAD_ORDERS).
"""

import asyncio
import os
import random
import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.menu import OrderLine, Size
from domain.stock import SEED_RECIPES, portions_needed
from tests.api.conftest import eventually, kitchen_headers, manager_headers, new_key
from tests.conftest import Stack, order_id_for, running_stack, unique_phone

ORDERS = int(os.environ.get("PIZZERIA_STOCK_LOAD_ORDERS", "60"))
CONCURRENCY = 20
SEED = 20261130
# What the shop counts, per order planned: about 1.7 portions of mozzarella an order are asked for.
STOCK_PER_ORDER = {"mozzarella": 1.0, "basil": 0.8, "tomato_sauce": 1.2, "pepperoni": 0.5}
MENU_CHOICES = [
    {"name": "margherita", "size": "small", "toppings": [], "quantity": 1},
    {"name": "margherita", "size": "large", "toppings": ["basil"], "quantity": 1},
    {"name": "pepperoni", "size": "medium", "toppings": [], "quantity": 1},
    {"name": "diavola", "size": "small", "toppings": ["basil"], "quantity": 2},
]
PLANS = ["completed", "completed", "cancel confirmed", "cancel preparing", "declined", "cash"]
SHORT = re.compile(r"^not enough (\w+) in stock: (\d+) portion\(s\) needed, (\d+) left$")


@dataclass
class Outcome:
    key: str
    plan: str
    lines: list[dict]
    status: int = 0
    detail: str = ""
    prepared: bool = False  # reached preparing: its portions were consumed


@dataclass
class Watch:
    lowest: dict[str, int] = field(default_factory=dict)
    reads: int = 0


@pytest.fixture(scope="module")
async def shop(temporal_env: WorkflowEnvironment, new_database) -> AsyncIterator[Stack]:
    async with running_stack(temporal_env, new_database()) as running:
        yield running


def needs(lines: list[dict]) -> Counter[str]:
    """What the lines take of each ingredient, from the recipes (prices play no part)."""
    free = Decimal(0)
    priced = [OrderLine(x["name"], Size(x["size"]), tuple(x["toppings"]), x["quantity"], free, free) for x in lines]
    return Counter(portions_needed(priced, SEED_RECIPES))


async def levels(shop: Stack) -> dict[str, dict]:
    response = await shop.http.get("/api/stock", headers=kitchen_headers())
    assert response.status_code == 200, response.text
    return {row["ingredient"]: row for row in response.json() if row["tracked"]}


async def run_order(shop: Stack, outcome: Outcome, gate: asyncio.Semaphore) -> None:
    async with gate:
        changes: dict = {"customer_phone": unique_phone(), "pizzas": outcome.lines}
        if outcome.plan == "declined":
            changes["payment_token"] = "pm_card_chargeDeclined"
        if outcome.plan == "cash":
            changes |= {"payment_method": "cash", "payment_token": None, "fulfilment": "pickup"}
        placed = await shop.place(outcome.key, **changes)
        outcome.status = placed.status_code
        if placed.status_code != 201:
            outcome.detail = placed.json()["detail"]
            return
        order_id = placed.json()["id"]
        if outcome.plan == "cancel confirmed":
            cancelled = await shop.http.post(f"/api/orders/{order_id}/cancel", json={})
            assert cancelled.status_code == 200, cancelled.text
            return
        moved = await shop.move(order_id, "preparing")
        assert moved.status_code == 200, moved.text
        outcome.prepared = True
        if outcome.plan == "cancel preparing":
            cancelled = await shop.http.post(f"/api/orders/{order_id}/cancel", json={})
            assert cancelled.status_code == 200, cancelled.text
            return
        for status in ("ready", "completed"):
            assert (await shop.move(order_id, status)).status_code == 200


async def watch(shop: Stack, seen: Watch, stop: asyncio.Event) -> None:
    while not stop.is_set():
        for name, row in (await levels(shop)).items():
            seen.lowest[name] = min(seen.lowest.get(name, row["available"]), row["available"], row["on_hand"])
        seen.reads += 1
        await asyncio.sleep(0.01)


@pytest.mark.timeout(600)
async def test_orders_against_tight_stock_never_oversell_and_the_counts_reconcile(shop: Stack) -> None:
    chance = random.Random(SEED)
    stocked = {name: round(share * ORDERS) for name, share in STOCK_PER_ORDER.items()}
    for name, on_hand in stocked.items():
        response = await shop.http.put(f"/api/stock/{name}", json={"on_hand": on_hand}, headers=manager_headers())
        assert response.status_code == 200, response.text
    outcomes = [
        Outcome(new_key(), chance.choice(PLANS), [chance.choice(MENU_CHOICES) for _ in range(chance.randint(1, 2))])
        for _ in range(ORDERS)
    ]
    charges_before = Counter(order_id for order_id, _ in shop.payments.charges)

    seen, stop, gate = Watch(), asyncio.Event(), asyncio.Semaphore(CONCURRENCY)
    watcher = asyncio.create_task(watch(shop, seen, stop))
    await asyncio.gather(*(run_order(shop, outcome, gate) for outcome in outcomes))

    async def nothing_reserved() -> dict[str, dict] | None:
        now = await levels(shop)
        return now if all(row["reserved"] == 0 for row in now.values()) else None

    final = await eventually(nothing_reserved, timeout=60)  # consumes and releases run after the answers
    stop.set()
    await watcher

    refused = [o for o in outcomes if o.status == 422]
    placed = [o for o in outcomes if o.status == 201]
    assert sorted({o.status for o in outcomes}) == ([201, 402, 422]), Counter(o.status for o in outcomes)
    assert all(o.plan == "declined" for o in outcomes if o.status == 402)
    assert refused and placed, "the stock was not tight: every order fitted, or none"

    # Nothing oversold, at any moment the stock was read, nor at the end.
    assert seen.reads > 5 and min(seen.lowest.values()) >= 0, seen.lowest
    consumed = sum((needs(o.lines) for o in outcomes if o.prepared), Counter())
    for name, on_hand in stocked.items():
        assert final[name]["on_hand"] == on_hand - consumed[name], (name, final[name], consumed[name])
        assert final[name]["available"] == final[name]["on_hand"] >= 0

    charges = Counter(order_id for order_id, _ in shop.payments.charges) - charges_before
    for outcome in refused:
        short = SHORT.match(outcome.detail)
        assert short is not None and short.group(1) in stocked, outcome.detail
        assert int(short.group(2)) == needs(outcome.lines)[short.group(1)]
        assert charges[order_id_for(outcome.key)] == 0, f"refused for stock, yet charged: {outcome}"
    for outcome in placed:
        assert charges[order_id_for(outcome.key)] == (0 if outcome.plan == "cash" else 1), outcome
