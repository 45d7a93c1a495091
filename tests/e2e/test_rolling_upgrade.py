"""A rolling upgrade: orders in flight on the old workflow code finish on workers running a changed workflow.

The old code is `python worker.py`; the new is tests/e2e/upgraded_worker.py, the same worker whose
OrderWorkflow prints the kitchen's ticket once the order is queued, a new step behind
`workflow.patched("print-kitchen-ticket")`. As a rolling deploy does, the new worker starts polling
the task queue, then the old one gets SIGTERM. Orders placed before it (waiting in the kitchen,
preparing, ready, one to be cancelled) are replayed by the new worker at their next step and take the
old path: no patch marker, no ticket in their history. Orders placed after it take the new one. Every
order finishes as driven, charged once at the Stripe peer (and refunded once when cancelled).

Without the patch, the same change cannot take over: replayed against an old order's history, it
fails with a non-determinism error, which on a live worker fails that order's workflow task again and
again until a worker with fitting code picks it up.
"""

import json
import uuid

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from tests.conftest import ENCRYPTION_KEYS, order_body
from tests.e2e.conftest import Processes
from tests.e2e.faults import STEPS, Store, assert_finished_whole, eventually, pay_through_stripe
from tests.e2e.test_order_lifecycle import http_client, kitchen_token
from tests.e2e.upgraded_worker import (
    PRINT_TICKET,
    PRINT_TICKET_PATCH,
    TICKET_PRINTED,
    PatchedOrderWorkflow,
    UnpatchedOrderWorkflow,
)
from tests.peers import StripePeer
from tools.stack import Pizzeria
from workflows.order_contract import workflow_id
from workflows.order_workflow import OrderWorkflow
from workflows.payload_codec import data_converter, parse_keys

UPGRADED_WORKER = "tests.e2e.upgraded_worker"
COMPLETED = ["received", "confirmed", "preparing", "ready", "completed"]
CANCELLED = ["received", "confirmed", "cancelled"]
# Temporal records a patch and a local activity as markers of these names.
PATCH_MARKER, LOCAL_ACTIVITY_MARKER = "core_patch", "core_local_activity"


async def place(http: httpx.AsyncClient) -> str:
    placed = await http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": str(uuid.uuid4())})
    assert placed.status_code == 201, placed.text
    return placed.json()["id"]


async def step(http: httpx.AsyncClient, order_id: str, status: str) -> None:
    """A kitchen step or a cancel, sent again while the API answers 503 (the order's next task may wait
    for the stopped worker's to time out) until the order is in that status."""

    async def done() -> bool:
        if status == "cancelled":
            answer = await http.post(f"/api/orders/{order_id}/cancel", json={"reason": "changed my mind"})
        else:
            path = f"/api/kitchen/orders/{order_id}/status"
            answer = await http.put(path, json={"status": status}, headers=kitchen_token(http))
        if answer.status_code == 200:
            return answer.json()["status"] == status
        assert answer.status_code in (409, 503), answer.text  # 409: an earlier attempt went through
        return (await http.get(f"/api/orders/{order_id}")).json()["status"] == status

    await eventually(done, f"order {order_id} to become {status}")


async def history(client: Client, order_id: str) -> WorkflowHistory:
    return await client.get_workflow_handle(workflow_id(order_id)).fetch_history()


def story(events: WorkflowHistory) -> tuple[list[str], list[str]]:
    """The activities (local ones too) of an order's history in order, and whether it recorded this change's patch
    (the workflow's own patches, a delivery's for one, are another story)."""
    steps, patches = [], []
    for event in events.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            steps.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == LOCAL_ACTIVITY_MARKER:
                steps.append(json.loads(marker.details["data"].payloads[0].data)["activity_type"])
            elif marker.marker_name == PATCH_MARKER:
                patch = json.loads(marker.details["patch-data"].payloads[0].data)["id"]
                patches += [patch] if patch == PRINT_TICKET_PATCH else []
    return steps, patches


def last_worker(events: WorkflowHistory) -> str:
    """The identity (pid@host) of the worker that completed the history's last workflow task."""
    completed = [e for e in events.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
    return completed[-1].workflow_task_completed_event_attributes.identity


async def assert_finished_on_the_new_path(
    client: Client, store: Store, stripe_peer: StripePeer, order_id: str, statuses: list[str]
) -> None:
    """The order's workflow has ended, the database holds it in its last status, the history tells each step
    once with the ticket printed once the order was queued, behind its patch, and the card was charged once
    (and refunded once when cancelled)."""
    handle = client.get_workflow_handle(workflow_id(order_id))

    async def closed() -> bool:
        return (await handle.describe()).status is not WorkflowExecutionStatus.RUNNING

    await eventually(closed, f"order {order_id}'s workflow to end")
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
    order = await store.holds(order_id, statuses[-1])
    assert [entry["status"] for entry in order["history"]] == statuses
    steps = [step for status in statuses for step in STEPS[status]]
    steps.insert(steps.index("queue_in_kitchen") + 1, PRINT_TICKET)
    assert story(await handle.fetch_history()) == (steps, [PRINT_TICKET_PATCH])
    assert [intent["status"] for intent in stripe_peer.intents(order_id)] == ["succeeded"]
    assert len(stripe_peer.refunds(order_id)) == (statuses[-1] == "cancelled")


def replayer(workflow: type) -> Replayer:
    """A replayer of one version of the workflow, run as worker.py runs it, reading the tests' encrypted payloads."""
    return Replayer(
        workflows=[workflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
        data_converter=data_converter(parse_keys(ENCRYPTION_KEYS)),
    )


@pytest.mark.timeout(180)
async def test_orders_in_flight_finish_on_the_upgraded_workers_the_old_ones_on_the_old_path_the_new_ones_on_the_new(
    processes: Processes, temporal_env: WorkflowEnvironment, stripe_peer: StripePeer
) -> None:
    pay_through_stripe(processes, stripe_peer)
    processes.start_worker()
    async with http_client(processes) as http:
        # On the old code: orders waiting in the kitchen, preparing and ready.
        waiting, preparing, ready, to_cancel = [await place(http) for _ in range(4)]
        await step(http, preparing, "preparing")
        for status in ("preparing", "ready"):
            await step(http, ready, status)

        # The deploy: the new worker polls, then the old one is stopped as a deploy stops it.
        upgraded = Pizzeria(processes.children, processes.env, "-upgraded")
        upgraded.start_worker(UPGRADED_WORKER)
        old_worker = processes.worker
        processes.stop_worker()
        assert old_worker is not None and old_worker.returncode == 0, "the old worker did not stop cleanly"
        assert upgraded.worker is not None

        new_completed, new_cancelled = [await place(http) for _ in range(2)]
        for order_id, statuses in ((waiting, COMPLETED[2:]), (preparing, COMPLETED[3:]), (ready, COMPLETED[4:])):
            for status in statuses:
                await step(http, order_id, status)
        await step(http, to_cancel, "cancelled")
        for status in COMPLETED[2:]:
            await step(http, new_completed, status)
        await step(http, new_cancelled, "cancelled")

    client, store = temporal_env.client, Store(processes.env["PIZZERIA_DATABASE_URL"])
    new_worker = f"{upgraded.worker.pid}@"
    old_orders = {waiting: COMPLETED, preparing: COMPLETED, ready: COMPLETED, to_cancel: CANCELLED}
    for order_id, statuses in old_orders.items():
        # Finished whole: each step once, charged once, refunded once when cancelled; no ticket printed.
        await assert_finished_whole(client, store, stripe_peer, order_id, statuses)
        events = await history(client, order_id)
        assert story(events) == ([step for status in statuses for step in STEPS[status]], [])
        assert last_worker(events).startswith(new_worker), "the upgraded worker did not take the order over"
        replayed = await replayer(PatchedOrderWorkflow).replay_workflow(events, raise_on_replay_failure=False)
        assert replayed.replay_failure is None, f"order {order_id}: {replayed.replay_failure!r}"

    for order_id, statuses in ((new_completed, COMPLETED), (new_cancelled, CANCELLED)):
        await assert_finished_on_the_new_path(client, store, stripe_peer, order_id, statuses)

    # The kitchen's printer got the new orders' tickets, and none of the old ones'.
    printed = upgraded.logs.joinpath(f"{upgraded.worker_name}.log").read_text()
    tickets = [f"{TICKET_PRINTED} {order_id}" in printed for order_id in (new_completed, new_cancelled, *old_orders)]
    assert tickets == [True] * 2 + [False] * 4

    # The change without its patch: an order from before the deploy no longer replays.
    with pytest.raises(NondeterminismError, match=PRINT_TICKET):
        await replayer(UnpatchedOrderWorkflow).replay_workflow(await history(client, waiting))
    # Nor does an order placed after it replay on the old code: once it ran, the change cannot be rolled back.
    with pytest.raises(NondeterminismError, match=PRINT_TICKET_PATCH):
        await replayer(OrderWorkflow).replay_workflow(await history(client, new_completed))
