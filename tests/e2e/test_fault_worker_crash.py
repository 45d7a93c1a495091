"""A worker process killed with SIGKILL at every stage of an order: a plain `python worker.py` finishes each one.

The orders are parked at their stages by tests/e2e/pausing_worker.py, so the kill lands where it is meant to.
Only local activities are parked: they come back after the workflow task timeout (10 s), all at once.
"""

import asyncio
import uuid

from temporalio.client import WorkflowExecutionStatus

from tests.conftest import order_body, order_id_for
from tests.e2e.faults import Store, assert_finished_whole, assert_unavailable, eventually, pay_through_stripe, reaches
from tests.e2e.test_order_lifecycle import http_client, kitchen_moves, kitchen_token
from tests.workflows.conftest import sealing_client
from workflows.order_contract import DELIVERY_OUTCOME, delivery_workflow_id, workflow_id

COMPLETED = ["received", "confirmed", "preparing", "ready", "completed"]
CANCELLED = ["received", "confirmed", "cancelled"]
DELIVERED = ["received", "confirmed", "preparing", "ready", "out_for_delivery", "completed"]


async def test_a_worker_killed_at_any_stage_leaves_every_order_finished_with_one_charge_and_one_refund(
    processes, temporal_env, stripe_peer
):
    pay_through_stripe(processes, stripe_peer)
    parking = processes.start_pausing_worker()
    charged_key, queued_key = str(uuid.uuid4()), str(uuid.uuid4())
    charged, queued = order_id_for(charged_key), order_id_for(queued_key)
    async with http_client(processes) as http:
        cooking, waiting, cancelled_off_queue, cancelled_after_refund = [
            (await http.post("/api/orders", json=order_body())).json()["id"] for _ in range(4)
        ]
        await kitchen_moves(http, cooking, "preparing")

        parking.park(charged, "save_order")  # charged, not stored yet
        parking.park(queued, "queue_in_kitchen", "after")  # stored and queued, the step not recorded yet
        parking.park(cooking, "save_order")  # the kitchen said ready, not stored yet
        parking.park(cancelled_off_queue, "remove_from_kitchen", "after")  # off the queue, not refunded yet
        parking.park(cancelled_after_refund, "record_cancellation")  # refunded, not recorded yet
        in_flight = asyncio.gather(
            http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": charged_key}),
            http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": queued_key}),
            http.put(f"/api/kitchen/orders/{cooking}/status", json={"status": "ready"}, headers=kitchen_token(http)),
            http.post(f"/api/orders/{cancelled_off_queue}/cancel", json={"reason": "too late"}),
            http.post(f"/api/orders/{cancelled_after_refund}/cancel", json={"reason": "wrong pizza"}),
        )

        async def all_parked() -> bool:
            return len(parking.arrivals()) == 5

        await eventually(all_parked, "every order to reach its stage", seconds=30)
        processes.kill_worker()
        # With no worker alive, a kitchen step for an order that waits on the kitchen is kept, not lost.
        idle_step = await http.put(
            f"/api/kitchen/orders/{waiting}/status", json={"status": "preparing"}, headers=kitchen_token(http)
        )
        for answer in [*await in_flight, idle_step]:
            assert_unavailable(answer)

        processes.start_worker()
        for key, order_id in ((charged_key, charged), (queued_key, queued)):
            await reaches(http, order_id, "confirmed")
            again = await http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": key})
            assert again.status_code == 200, again.text  # placed by the attempt the crash cut off
            assert again.json()["id"] == order_id and again.json()["status"] == "confirmed"
        await reaches(http, cooking, "ready")
        await reaches(http, waiting, "preparing")
        for order_id in (cancelled_off_queue, cancelled_after_refund):
            await reaches(http, order_id, "cancelled")
        queue = (await http.get("/api/kitchen/queue", headers=kitchen_token(http))).json()
        assert {order["id"] for order in queue} == {charged, queued, waiting}

        for order_id in (charged, queued):
            await kitchen_moves(http, order_id, "preparing", "ready", "completed")
        await kitchen_moves(http, waiting, "ready", "completed")
        await kitchen_moves(http, cooking, "completed")

    store = Store(processes.env["PIZZERIA_DATABASE_URL"])
    for order_id in (charged, queued, cooking, waiting):
        await assert_finished_whole(temporal_env.client, store, stripe_peer, order_id, COMPLETED)
    for order_id in (cancelled_off_queue, cancelled_after_refund):
        await assert_finished_whole(temporal_env.client, store, stripe_peer, order_id, CANCELLED)


async def test_a_worker_killed_while_an_order_is_out_for_delivery_leaves_it_delivered_by_the_next_one(
    processes, temporal_env, stripe_peer
):
    pay_through_stripe(processes, stripe_peer)
    processes.start_worker()
    # Ops' signals, sealed as the API and the worker seal payloads.
    ops = sealing_client(temporal_env)
    async with http_client(processes) as http:
        order_id = (await http.post("/api/orders", json=order_body())).json()["id"]
        await kitchen_moves(http, order_id, "preparing", "ready")
        order = ops.get_workflow_handle(workflow_id(order_id))
        await order.signal("mark_picked_up", {"by": "gino"})
        await reaches(http, order_id, "out_for_delivery")
        running_when_killed = (await order.describe()).status

        processes.kill_worker()
        await order.signal("mark_delivered", {"by": "gino"})  # kept by Temporal while no worker runs
        processes.start_worker()
        done = await reaches(http, order_id, "completed")

    assert running_when_killed is WorkflowExecutionStatus.RUNNING
    assert (done["delivery"]["driver"], done["history"][-1]["by"]) == ("gino", "gino")
    store = Store(processes.env["PIZZERIA_DATABASE_URL"])
    await assert_finished_whole(temporal_env.client, store, stripe_peer, order_id, DELIVERED)
    delivery = await temporal_env.client.get_workflow_handle(delivery_workflow_id(order_id)).describe()
    assert delivery.status is WorkflowExecutionStatus.COMPLETED
    assert delivery.typed_search_attributes.get(DELIVERY_OUTCOME) == "delivered"
