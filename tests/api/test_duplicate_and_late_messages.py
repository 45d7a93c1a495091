"""Messages that come twice, too late, or at the same moment as another: each order still tells one story.

Kitchen steps and cancels arrive over HTTP (updates) and as raw Temporal signals (ops, the CLI).
"""

import asyncio
import time
from collections import Counter

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.service import RPCError, RPCStatusCode

from activities.payments.fake import FakePayments
from tests.api.conftest import (
    assert_problem,
    completed_order,
    eventually,
    get_order,
    move_ok,
    workflow_finished,
)
from tests.conftest import RecordingNotifier, Stack, running_stack
from worker import build_worker
from workflows.order_contract import SIGNAL_CANCEL, SIGNAL_MARK_PREPARING, SIGNAL_MARK_READY, workflow_id

RACES = 10
WAIT_SECONDS = 1.5  # how long the API waits for an order's answer in the test without a worker
STAGGER_SECONDS = 0.002


def statuses(order: dict) -> list[str]:
    return [h["status"] for h in order["history"]]


def refunds_for(stack: Stack, order_id: str) -> list:
    return [refund for refund in stack.payments.refunds if refund[0] == order_id]


async def events(stack: Stack, order_id: str, kind: int) -> int:
    """How many events of this kind the order's Temporal history holds."""
    handle = stack.client.get_workflow_handle(workflow_id(order_id))
    return len([event async for event in handle.fetch_history_events() if event.event_type == kind])


async def cancel(stack: Stack, order_id: str):  # type: ignore[no-untyped-def]
    return await stack.http.post(f"/api/orders/{order_id}/cancel", json={"reason": "changed my mind"})


async def test_the_same_kitchen_step_twice_is_applied_once_whether_it_comes_over_http_or_as_a_signal(stack):
    order = await stack.placed()
    await move_ok(stack, order["id"], "preparing")

    again = await stack.move(order["id"], "preparing")
    problem = assert_problem(again, 409)
    assert "preparing cannot become preparing" in problem["detail"]

    handle = stack.client.get_workflow_handle(workflow_id(order["id"]))
    for name in (SIGNAL_MARK_PREPARING, SIGNAL_MARK_READY, SIGNAL_MARK_READY):
        await handle.signal(name, {"by": "marco"})

    async def ready() -> dict | None:
        current = await get_order(stack, order["id"])
        return current if current["status"] == "ready" else None

    await eventually(ready)
    await move_ok(stack, order["id"], "completed")
    await workflow_finished(stack, order["id"])

    final = await get_order(stack, order["id"])
    assert statuses(final) == ["received", "confirmed", "preparing", "ready", "completed"]
    assert [h["by"] for h in final["history"]][2:] == ["luigi", "marco", "luigi"]
    assert await events(stack, order["id"], EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 3  # all arrived
    assert sum("out of the oven" in text for text in stack.texts.texts_for(order["id"])) == 1  # one ready text


@pytest.mark.parametrize("ending", ["completed", "cancelled"])
async def test_a_message_to_a_finished_order_is_refused_and_changes_nothing(stack, ending):
    if ending == "completed":
        order = await completed_order(stack)
    else:
        order = await stack.placed()
        assert (await cancel(stack, order["id"])).status_code == 200
        await workflow_finished(stack, order["id"])
    before = await get_order(stack, order["id"])
    events_before = await events(stack, order["id"], EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    handle = stack.client.get_workflow_handle(workflow_id(order["id"]))

    for name in (SIGNAL_MARK_PREPARING, SIGNAL_MARK_READY, SIGNAL_CANCEL):
        with pytest.raises(RPCError) as refused:
            await handle.signal(name, {"by": "late"})
        assert refused.value.status is RPCStatusCode.NOT_FOUND and "completed" in refused.value.message
    late_step = assert_problem(await stack.move(order["id"], "ready"), 409)
    late_cancel = assert_problem(await cancel(stack, order["id"]), 409)

    assert late_step["detail"] == f"an order that is {ending} cannot become ready"
    assert late_cancel["detail"] == f"an order that is {ending} cannot be cancelled"
    assert await get_order(stack, order["id"]) == before
    assert await events(stack, order["id"], EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == events_before
    assert len(refunds_for(stack, order["id"])) == (1 if ending == "cancelled" else 0)


async def test_a_cancel_racing_ready_ends_each_order_one_way_or_the_other_never_both(stack):
    orders = await asyncio.gather(*(stack.placed() for _ in range(RACES)))
    await asyncio.gather(*(move_ok(stack, order["id"], "preparing") for order in orders))

    async def cancel_after(order_id: str, seconds: float):  # type: ignore[no-untyped-def]
        await asyncio.sleep(seconds)
        return await cancel(stack, order_id)

    # The cancel leaves a little later for each order in turn, so that either may reach the order first.
    answers = await asyncio.gather(
        *(
            asyncio.gather(stack.move(order["id"], "ready"), cancel_after(order["id"], i * STAGGER_SECONDS))
            for i, order in enumerate(orders)
        )
    )

    outcomes: Counter[str] = Counter()
    for order, (ready, cancelled) in zip(orders, answers, strict=True):
        assert {ready.status_code, cancelled.status_code} == {200, 409}, (ready.text, cancelled.text)
        final = await get_order(stack, order["id"])
        if cancelled.status_code == 200:
            assert_problem(ready, 409)
            assert final["status"] == "cancelled" and "ready" not in statuses(final)
            assert final["payment"]["refund_id"] and len(refunds_for(stack, order["id"])) == 1
        else:
            assert_problem(cancelled, 409)
            assert final["status"] == "ready" and "cancelled" not in statuses(final)
            assert final["payment"]["refund_id"] is None and refunds_for(stack, order["id"]) == []
        outcomes[final["status"]] += 1
    assert sum(outcomes.values()) == RACES
    refunded = sum(len(refunds_for(stack, order["id"])) for order in orders)
    assert refunded == outcomes["cancelled"], outcomes


async def test_cancels_racing_each_other_refund_the_order_once(stack):
    orders = await asyncio.gather(*(stack.placed() for _ in range(RACES // 2)))

    async def three_cancels(order_id: str):  # type: ignore[no-untyped-def]
        handle = stack.client.get_workflow_handle(workflow_id(order_id))
        return await asyncio.gather(
            cancel(stack, order_id),
            cancel(stack, order_id),
            handle.signal(SIGNAL_CANCEL, {"by": "ops"}),
            return_exceptions=True,
        )

    answers = await asyncio.gather(*(three_cancels(order["id"]) for order in orders))

    for order, (first, second, signalled) in zip(orders, answers, strict=True):
        codes = sorted([first.status_code, second.status_code])
        assert codes in ([200, 200], [200, 409]), (first.text, second.text)
        if signalled is not None:  # a signal that came after the workflow had finished
            assert isinstance(signalled, RPCError) and signalled.status is RPCStatusCode.NOT_FOUND, signalled
        await workflow_finished(stack, order["id"])
        final = await get_order(stack, order["id"])
        assert final["status"] == "cancelled" and statuses(final).count("cancelled") == 1
        assert len(refunds_for(stack, order["id"])) == 1


async def test_a_step_and_a_cancel_sent_while_no_worker_runs_answer_503_and_the_order_ends_cancelled_and_refunded_once(
    temporal_env, database_url
):
    async with running_stack(temporal_env, database_url, worker=False, confirm_timeout_seconds=WAIT_SECONDS) as alone:
        payments = FakePayments()
        async with build_worker(alone.client, alone.settings, payments, RecordingNotifier()):
            order = await alone.placed()

        for send in (lambda: alone.move(order["id"], "preparing"), lambda: cancel(alone, order["id"])):
            started = time.monotonic()
            response = await send()
            waited = time.monotonic() - started
            problem = assert_problem(response, 503)
            assert WAIT_SECONDS <= waited < WAIT_SECONDS + 3, f"answered after {waited:.1f} s"
            assert int(response.headers["retry-after"]) > 0 and order["id"] in problem["detail"]

        async with build_worker(alone.client, alone.settings, payments, RecordingNotifier()):
            # Temporal kept both messages for the worker, which applies them on its own; a repeat then says so.
            await workflow_finished(alone, order["id"])
            repeated = assert_problem(await cancel(alone, order["id"]), 409)
            assert repeated["detail"] == "an order that is cancelled cannot be cancelled"
            final = await get_order(alone, order["id"])

    assert final["status"] == "cancelled" and statuses(final).count("cancelled") == 1
    assert statuses(final).count("preparing") <= 1
    assert [refund[0] for refund in payments.refunds] == [order["id"]]
