"""Whole orders through real processes: the API over HTTP, a worker process, a Temporal dev server."""

import asyncio
import json
import time
import uuid

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from tests.conftest import order_body, staff_headers
from tests.e2e.conftest import Processes
from workflows.order_contract import ORDER_STATUS, workflow_id

KITCHEN = "kitchen"


async def story(client: Client, order_id: str) -> list[str]:
    """The activities of an order's history, in order, as ops read them in the Temporal UI."""
    steps = []
    async for event in client.get_workflow_handle(workflow_id(order_id)).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            steps.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        elif (
            event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and event.marker_recorded_event_attributes.marker_name == "core_local_activity"
        ):  # a patch's marker is no step of the order
            details = event.marker_recorded_event_attributes.details["data"].payloads[0].data
            steps.append(json.loads(details)["activity_type"])
    return steps


async def event_count(client: Client, order_id: str) -> int:
    return len((await client.get_workflow_handle(workflow_id(order_id)).fetch_history()).events)


async def kitchen_moves(http: httpx.AsyncClient, order_id: str, *statuses: str) -> dict:
    order: dict = {}
    for status in statuses:
        response = await http.put(
            f"/api/kitchen/orders/{order_id}/status", json={"status": status}, headers=kitchen_token(http)
        )
        assert response.status_code == 200, response.text
        order = response.json()
        assert order["status"] == status
    return order


def kitchen_token(http: httpx.AsyncClient) -> dict[str, str]:
    return staff_headers(KITCHEN, secret=http.headers["x-test-secret"])


def http_client(processes: Processes) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=processes.base_url, timeout=30, headers={"x-test-secret": processes.env["PIZZERIA_JWT_SECRET"]}
    )


@pytest.mark.parametrize("processes", ["sqlite", "postgresql"], indirect=True)
async def test_an_order_goes_from_placed_to_completed_and_its_history_tells_the_story(processes, temporal_env):
    processes.start_worker()
    async with http_client(processes) as http:
        placed = await http.post("/api/orders/", json=order_body())
        assert placed.status_code == 201, placed.text
        order = placed.json()
        assert order["status"] == "confirmed" and order["total"] == "39.40"
        assert placed.headers["location"] == f"/api/orders/{order['id']}"

        await kitchen_moves(http, order["id"], "preparing", "ready", "completed")

        final = (await http.get(f"/api/orders/{order['id']}")).json()
        assert [h["status"] for h in final["history"]] == [
            "received", "confirmed", "preparing", "ready", "completed",
        ]  # fmt: skip
        assert final["history"][-1]["by"] == "luigi"

    handle = temporal_env.client.get_workflow_handle(workflow_id(order["id"]))
    # Answered completed at once; the workflow ends once its delivery (no driver came) has ended too.
    for _ in range(300):
        description = await handle.describe()
        if description.status != WorkflowExecutionStatus.RUNNING:
            break
        await asyncio.sleep(0.05)
    assert description.status == WorkflowExecutionStatus.COMPLETED
    assert description.typed_search_attributes.get(ORDER_STATUS) == "completed"
    assert await story(temporal_env.client, order["id"]) == [
        "validate_order", "reserve_stock", "charge_payment", "save_order", "queue_in_kitchen", "notify_customer",
        "save_order", "save_order", "notify_customer", "record_completion",
    ]  # fmt: skip
    # 41 before stock and deliveries; the stock reservation adds 2 (its patch's marker, reserve_stock), starting the
    # delivery, telling it and waiting for its end add 17 with their patch's marker.
    assert await event_count(temporal_env.client, order["id"]) <= 60


async def test_a_cancelled_order_is_taken_off_the_queue_refunded_and_recorded(processes, temporal_env):
    processes.start_worker()
    async with http_client(processes) as http:
        order = (await http.post("/api/orders", json=order_body())).json()
        await kitchen_moves(http, order["id"], "preparing")
        cancelled = await http.post(f"/api/orders/{order['id']}/cancel", json={"reason": "wrong address"})
        assert cancelled.status_code == 200, cancelled.text
        body = cancelled.json()
        assert body["status"] == "cancelled"
        assert body["payment"]["refund_id"]
        assert body["history"][-1]["notes"] == "wrong address"
        queue = (await http.get("/api/kitchen/queue", headers=kitchen_token(http))).json()
        assert order["id"] not in [o["id"] for o in queue]
        assert (await http.get(f"/api/orders/{order['id']}")).json()["status"] == "cancelled"

    steps = await story(temporal_env.client, order["id"])
    assert steps[-4:] == ["remove_from_kitchen", "refund_payment", "record_cancellation", "notify_customer"]
    assert steps.count("charge_payment") == 1 and steps.count("refund_payment") == 1


async def test_a_worker_killed_mid_order_loses_nothing_and_kitchen_signals_wait_for_the_next(processes, temporal_env):
    processes.start_worker()
    async with http_client(processes) as http:
        order = (await http.post("/api/orders", json=order_body())).json()
        await kitchen_moves(http, order["id"], "preparing")

        processes.kill_worker()
        # With no worker, the kitchen's signals are kept by Temporal.
        handle = temporal_env.client.get_workflow_handle(workflow_id(order["id"]))
        await handle.signal("mark_ready", {"by": "marco", "notes": "out of the oven"})

        processes.start_worker()
        deadline = time.monotonic() + 20
        while (await http.get(f"/api/orders/{order['id']}")).json()["status"] != "ready":
            assert time.monotonic() < deadline, "the kept signal was not applied by the new worker"
            await asyncio.sleep(0.2)
        final = await kitchen_moves(http, order["id"], "completed")
        assert final["history"][-2]["by"] == "marco"
        # Answered completed at once; the workflow records the sale and ends once its delivery has ended too.
        for _ in range(400):
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                break
            await asyncio.sleep(0.05)
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    steps = await story(temporal_env.client, order["id"])
    assert steps.count("charge_payment") == 1
    assert steps[-1] == "record_completion"


async def test_with_no_worker_placing_answers_503_and_the_same_key_later_gives_the_one_order(processes, temporal_env):
    key = str(uuid.uuid4())
    async with http_client(processes) as http:
        started = time.monotonic()
        waiting = await http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": key})
        assert waiting.status_code == 503
        assert waiting.headers["retry-after"].isdigit()
        assert waiting.headers["content-type"] == "application/problem+json"
        assert time.monotonic() - started < 8

        processes.start_worker()
        again = await http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": key})
        assert again.status_code == 200, again.text  # the attempt that answered 503 placed it
        order_id = again.json()["id"]
        assert order_id == waiting.json()["order_id"]

    assert (await story(temporal_env.client, order_id)).count("charge_payment") == 1
    # The call given up on leaves nothing in the log that looks like a fault.
    assert " ERROR " not in (processes.logs / "api.log").read_text()
