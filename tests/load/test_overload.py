"""A hundred orders at once against a bound of eight: every POST is answered within the bounded wait, those over
the bound at once with 503 and Retry-After, and customers who repeat them with their keys get every order placed
exactly once."""

import asyncio
import logging
import random
import re
import time
from collections import Counter

import pytest

from tests.api.conftest import new_key
from tests.conftest import Stack, order_id_for, running_stack

ORDERS, BOUND = 100, 8
AT_ONCE = 1.0  # seconds within which a placement turned away is answered
PATIENCE = 25.0  # seconds a customer keeps repeating


async def customer(stack: Stack, key: str, answers: list[tuple[int, str, float]]) -> dict:
    """Place an order with its key, repeating it after each 503 once Retry-After has passed; the order placed."""
    deadline = time.monotonic() + PATIENCE
    while True:
        started = time.monotonic()
        response = await stack.place(key=key)
        kind = response.json().get("type", "order") if response.status_code == 503 else "order"
        answers.append((response.status_code, kind, time.monotonic() - started))
        if response.status_code != 503:
            assert response.status_code in (200, 201), response.text
            return response.json()
        assert time.monotonic() < deadline, f"still 503 after {PATIENCE} s: {response.text}"
        # As a client should: after Retry-After, plus a random part, so that the repeats do not come back together.
        await asyncio.sleep(int(response.headers["retry-after"]) + random.uniform(0, 1))


@pytest.mark.timeout(120)
async def test_a_hundred_orders_at_once_are_answered_in_time_and_each_placed_and_charged_exactly_once(
    temporal_env, database_url, caplog
):
    caplog.set_level(logging.WARNING, logger="pizzeria.api")
    keys = [new_key() for _ in range(ORDERS)]
    answers: list[tuple[int, str, float]] = []
    async with running_stack(temporal_env, database_url, max_placements_in_flight=BOUND) as shop:
        started = time.monotonic()
        orders = await asyncio.gather(*(customer(shop, key, answers) for key in keys))
        took = time.monotonic() - started

        bound = shop.settings.confirm_timeout_seconds
        turned_away = [seconds for status, kind, seconds in answers if kind.endswith("/overloaded")]
        print(f"{ORDERS} orders in {took:.1f} s ({ORDERS / took:.1f}/s); answers {Counter(a[:2] for a in answers)}")
        assert len(turned_away) >= ORDERS - BOUND  # the first round alone is over the bound by that many
        assert max(turned_away) < AT_ONCE, f"a placement was turned away only after {max(turned_away):.2f} s"
        assert max(seconds for _, _, seconds in answers) < bound + 1, "a POST waited past the bounded wait"
        assert [order["id"] for order in orders] == [order_id_for(key) for key in keys]
        assert {order["status"] for order in orders} == {"confirmed"}
        # One charge per order: none lost, none twice, none for a placement turned away.
        charged = Counter(order_id for order_id, _ in shop.payments.charges)
        assert charged == Counter({order_id_for(key): 1 for key in keys})
        # Ops read of it in a few lines, not one per placement turned away: at most one a second.
        lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("the shop is busy")]
        counted = [int(re.findall(r"turned away (\d+) placement", line)[0]) for line in lines]
        assert 1 <= len(lines) <= took + 1, lines
        assert sum(counted) <= len(turned_away) and counted[0] >= 1
