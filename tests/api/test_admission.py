"""When the shop is busy: past PIZZERIA_MAX_PLACEMENTS_IN_FLIGHT, a placement is turned away at once with 503 and
Retry-After, before anything is started or charged, and the same request later places the order once."""

import asyncio
import logging
import time

import pytest
from temporalio.service import RPCError, RPCStatusCode

from activities.payments.fake import FakePayments
from tests.api.conftest import assert_problem, eventually, kitchen_headers, new_key
from tests.api.test_metrics import scrape, value
from tests.conftest import RecordingNotifier, Stack, order_id_for, running_stack
from worker import build_worker

IN_FLIGHT, SHED = "pizzeria_placements_in_flight", "pizzeria_placements_shed_total"
AT_ONCE = 1.0  # seconds: a placement turned away is answered within this


async def in_flight(stack: Stack, count: int) -> None:
    """Wait until the API holds `count` placements in flight, as its gauge says."""

    async def holding() -> bool:
        return value(await scrape(stack), IN_FLIGHT) == count

    await eventually(holding)


async def never_started(stack: Stack, key: str) -> None:
    """Temporal has no workflow for the order this key stands for."""
    handle = stack.client.get_workflow_handle(f"order-{order_id_for(key)}")
    with pytest.raises(RPCError) as unknown:
        await handle.describe()
    assert unknown.value.status == RPCStatusCode.NOT_FOUND


def assert_busy(response, waited: float) -> dict:
    problem = assert_problem(response, 503)
    assert waited < AT_ONCE, f"turned away only after {waited:.2f} s"
    assert problem["type"].endswith("/overloaded")
    assert response.headers["retry-after"] == "1"
    assert "busy" in problem["detail"] and "nothing was placed or charged" in problem["detail"]
    return problem


def busy_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "turned away" in r.getMessage()]


async def timed_place(stack: Stack, key: str | None, **changes: object):
    started = time.monotonic()
    response = await stack.place(key=key, **changes)
    return response, time.monotonic() - started


async def test_over_the_bound_a_placement_is_turned_away_at_once_and_its_repeat_later_places_it_once(
    temporal_env, database_url, caplog
):
    held_key, busy_key = new_key(), new_key()
    caplog.set_level(logging.WARNING, logger="pizzeria.api")
    # No worker: the first placement cannot be confirmed, so it holds the only place until its 3 s wait ends.
    async with running_stack(
        temporal_env, database_url, worker=False, confirm_timeout_seconds=3, max_placements_in_flight=1
    ) as alone:
        held = asyncio.create_task(alone.place(key=held_key))
        await in_flight(alone, 1)

        busy, waited = await timed_place(alone, busy_key)
        problem = assert_busy(busy, waited)
        assert "same Idempotency-Key" in problem["detail"] and "after 1 s" in problem["detail"]
        assert "order_id" not in problem  # no order was made for it
        await never_started(alone, busy_key)
        # A repeat of the placement in hand is turned away too (it is answered once repeated later).
        repeat, waited = await timed_place(alone, held_key)
        assert_busy(repeat, waited)
        # Neither a read nor the kitchen's work is ever turned away.
        assert (await alone.http.get("/api/menu")).status_code == 200
        queue = await alone.http.get("/api/kitchen/queue", headers=kitchen_headers())
        assert queue.status_code == 200, queue.text

        samples = await scrape(alone)
        assert (value(samples, SHED), value(samples, IN_FLIGHT)) == (2, 1)
        # One line when shedding starts, not one per placement turned away.
        assert busy_lines(caplog) == [
            "the shop is busy: turned away 1 placement(s) with 503 since the last such line; 1 of at most 1 in flight"
        ]

        not_in_time = await held
        assert assert_problem(not_in_time, 503)["type"].endswith("/unavailable")  # the bounded wait, as before
        assert int(not_in_time.headers["retry-after"]) >= 1
        await in_flight(alone, 0)
        # Once the place is free, the line says how many were turned away since the last one.
        assert busy_lines(caplog)[1:] == [
            "the shop is busy: turned away 1 placement(s) with 503 since the last such line; 0 of at most 1 in flight"
        ]

        payments = FakePayments()
        async with build_worker(alone.client, alone.settings, payments, RecordingNotifier()):
            placed = await alone.place(key=busy_key)
            assert placed.status_code == 201, placed.text
            order = placed.json()
            assert order["id"] == order_id_for(busy_key) and order["status"] == "confirmed"
            again = await alone.place(key=busy_key)
            assert again.status_code == 200, again.text
            assert again.json()["id"] == order["id"]
            assert [charge[0] for charge in payments.charges].count(order["id"]) == 1
            # The held order goes on once a worker takes it up; its repeat answers it.
            held_order = await eventually(lambda: _placed_or_none(alone, held_key), timeout=15)
            assert held_order.status_code == 200 and held_order.json()["id"] == order_id_for(held_key)
            for placed_id in (order["id"], order_id_for(held_key)):
                cancelled = await alone.http.post(f"/api/orders/{placed_id}/cancel")
                assert cancelled.status_code == 200, cancelled.text


async def _placed_or_none(stack: Stack, key: str):
    response = await stack.place(key=key)
    return None if response.status_code == 503 else response


async def test_a_placement_that_ends_in_an_error_or_whose_client_goes_away_frees_its_place(temporal_env, database_url):
    async with running_stack(
        temporal_env, database_url, worker=False, confirm_timeout_seconds=1, max_placements_in_flight=1
    ) as alone:
        # Not confirmed in time: the placement ends in an error (503), and its place is free again.
        ended = await alone.place(key=new_key())
        assert assert_problem(ended, 503)["type"].endswith("/unavailable")
        assert value(await scrape(alone), IN_FLIGHT) == 0

        # The client goes away while its placement waits: the request is cancelled, its place freed.
        gone = asyncio.create_task(alone.place(key=new_key()))
        await in_flight(alone, 1)
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        await in_flight(alone, 0)

        # Neither left a place taken: the next placement is admitted (and waits its full second), not turned away.
        admitted, waited = await timed_place(alone, new_key())
        assert assert_problem(admitted, 503)["type"].endswith("/unavailable")
        assert waited >= 1.0
        assert value(await scrape(alone), SHED) == 0


async def test_a_malformed_placement_takes_no_place_and_is_answered_422_even_when_the_shop_is_busy(
    temporal_env, database_url
):
    async with running_stack(
        temporal_env, database_url, worker=False, confirm_timeout_seconds=2, max_placements_in_flight=1
    ) as alone:
        held = asyncio.create_task(alone.place(key=new_key()))
        await in_flight(alone, 1)

        malformed = await alone.place(key=new_key(), pizzas=[])
        busy, waited = await timed_place(alone, new_key())

        assert_problem(malformed, 422)
        assert_busy(busy, waited)  # the shop was busy all along: the well-formed one was turned away
        assert value(await scrape(alone), SHED) == 1
        await held


async def test_the_openapi_document_says_a_placement_may_be_answered_503_with_retry_after_in_both_cases(stack):
    document = (await stack.http.get("/openapi.json")).json()

    busy = document["paths"]["/api/orders"]["post"]["responses"]["503"]

    assert "Retry-After" in busy["headers"]
    assert "/problems/overloaded" in busy["description"] and "/problems/unavailable" in busy["description"]
    assert "application/problem+json" in busy["content"]
