"""Record OrderWorkflow's histories for the replay test: `.venv/bin/python -m tests.histories.record [name ...]`.

Starts a Temporal dev server of its own (from the venv, offline), and a worker that runs the workflow as
production does (unsandboxed, payloads sealed by production's converter, here with the test-only key of
`histories.keys`) with stand-in activities under the real names. Then it walks one order down each path
and writes that order's history to `tests/histories/<name>.json` (one file per run of an order that
continued as new: `<name>.run-N.json`). With names, only those paths are recorded. With `--tag v2`, the
files are `<name>.v2.json` and those already there stay: keep the histories of a version for as long as
orders of that version may still be running.

`before_patches` runs the workflow as it was before its first patches (taken from git), to show that
orders started then still replay: see README.md beside this file.
"""

import argparse
import asyncio
import re
import subprocess
import sys
import types
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any
from unittest.mock import patch

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateStage
from temporalio.common import RawValue
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner

from domain.order import OrderStatus, PaymentMethod
from tests.workflows.conftest import Pizzeria, open_pizzeria, place_order
from workflows.delivery_workflow import DeliveryWorkflow
from workflows.order_contract import (
    SEARCH_ATTRIBUTES,
    CancelRequest,
    DeliveryEnd,
    DriverStep,
    KitchenStep,
    OrderStart,
    delivery_workflow_id,
)
from workflows.order_workflow import OrderWorkflow
from workflows.payload_codec import ENCODING, KEY_ID, data_converter, parse_keys

HERE = Path(__file__).parent
KEYS = (HERE / "histories.keys").read_text().strip()
# The last version of the workflow before `workflow.patched` guarded its changes.
BEFORE_PATCHES_COMMIT = "e247daa"
LOW_THRESHOLD = 100
PATIENCE = 15.0

OrderPath = Callable[[Pizzeria], Awaitable[WorkflowHandle[Any, Any]]]


def order_id(name: str) -> str:
    """The same order id for a path at each recording, so that re-recording changes little."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"pizzeria-history:{name}"))


def start_for(name: str, payment: PaymentMethod = PaymentMethod.CARD, **changes: Any) -> OrderStart:
    """The order of the tests (two lines, delivery by card or pickup in cash) under this path's id."""
    values = {"order_id": order_id(name), "request": place_order(payment), "kitchen_sla_seconds": 2700}
    return OrderStart(**(values | changes))


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll until `check` says yes; TimeoutError naming `what` after PATIENCE seconds."""
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"never happened: {what}")
        await asyncio.sleep(0.05)


async def idle(shop: Pizzeria, handle: WorkflowHandle[Any, Any]) -> None:
    """Until every signal so far is handled: the last workflow task has completed and none waits."""
    task_events = {
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    }

    async def done() -> bool:
        events = await shop.history(shop.client.get_workflow_handle(handle.id))
        last = next((e for e in reversed(events) if e.event_type in task_events), None)
        return last is not None and last.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED

    await until(done, "every signal handled")


async def kitchen(handle: WorkflowHandle[Any, Any], *statuses: OrderStatus) -> None:
    """The kitchen's steps as the API sends them: updates."""
    for status in statuses:
        await handle.execute_update(OrderWorkflow.change_status, KitchenStep(status=status, by="luigi"))


async def happy_path(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    handle, _ = await shop.place(start_for("happy_path"))
    await kitchen(handle, OrderStatus.PREPARING, OrderStatus.READY, OrderStatus.COMPLETED)
    return handle


async def cash_order(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    """Pickup, paid in cash; the kitchen moves it on with signals, as ops do from the CLI."""
    handle, _ = await shop.place(start_for("cash_order", PaymentMethod.CASH))
    for signal in ("mark_preparing", "mark_ready", "mark_completed"):
        await handle.signal(signal, {"by": "luigi"})
    return handle


async def cancelled_while_received(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    """Cancelled while its card is being charged: the charge goes through, and is refunded."""
    shop.activities.hold("charge_payment")
    handle = await shop.start(start_for("cancelled_while_received"))
    await shop.activities.until_holding()
    update = await handle.start_update(
        OrderWorkflow.cancel_order,
        CancelRequest(by="ada", notes="changed my mind"),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    shop.activities.let_go()
    await update.result()
    return handle


async def cancelled_while_confirmed(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    handle, _ = await shop.place(start_for("cancelled_while_confirmed"))
    await handle.execute_update(OrderWorkflow.cancel_order, CancelRequest(by="ada", notes="wrong address"))
    return handle


async def cancelled_while_preparing(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    """Cancelled by ops with the `cancel` signal."""
    handle, _ = await shop.place(start_for("cancelled_while_preparing"))
    await kitchen(handle, OrderStatus.PREPARING)
    await handle.signal("cancel", {"by": "ops", "notes": "oven broke"})
    await handle.result()
    return handle


async def cancelled_in_temporal(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    """`temporal workflow cancel` on a confirmed order: compensated like a customer's cancel."""
    handle, _ = await shop.place(start_for("cancelled_in_temporal"))
    await shop.client.get_workflow_handle(handle.id).cancel()
    await handle.result()
    return handle


async def card_declined(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    shop.activities.decline_code = "card_declined"
    handle, _ = await shop.place(start_for("card_declined"))
    await handle.result()
    return handle


async def invalid_order(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    shop.activities.invalid = "unknown pizza 'pineapple_supreme'"
    handle, _ = await shop.place(start_for("invalid_order"))
    await handle.result()
    return handle


async def out_of_stock(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    """Mozzarella is tracked and short: the order is refused before any charge, naming it."""
    shop.activities.stock = {"mozzarella": 4}
    handle, _ = await shop.place(start_for("out_of_stock"))
    await handle.result()
    return handle


async def stock_used(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    """Mozzarella is tracked: reserved before the charge, consumed at preparing, then ready and completed."""
    shop.activities.stock = {"mozzarella": 5}
    handle, _ = await shop.place(start_for("stock_used"))
    await kitchen(handle, OrderStatus.PREPARING, OrderStatus.READY, OrderStatus.COMPLETED)
    return handle


async def failed_after_charge(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    """Storing the order fails for good after the charge: refunded, cancelled by the system."""
    shop.activities.failing_save = "the database is gone"
    handle, _ = await shop.place(start_for("failed_after_charge"))
    await handle.result()
    return handle


async def late_kitchen(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    """The kitchen's promise (one second here) passes while preparing: the customer is told."""
    handle, _ = await shop.place(start_for("late_kitchen", kitchen_sla_seconds=1))
    await kitchen(handle, OrderStatus.PREPARING)

    async def told() -> bool:
        return any("taking longer" in text for text in shop.activities.texts())

    await until(told, "the late text")
    await idle(shop, handle)
    await kitchen(handle, OrderStatus.READY, OrderStatus.COMPLETED)
    return handle


async def _ready_for_a_driver(shop: Pizzeria, name: str, **changes: Any) -> WorkflowHandle[Any, Any]:
    handle, _ = await shop.place(start_for(name, **changes))
    await kitchen(handle, OrderStatus.PREPARING, OrderStatus.READY)
    return handle


async def delivered_by_driver(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    """A driver picks the order up and delivers it (updates, as the API sends them)."""
    handle = await _ready_for_a_driver(shop, "delivered_by_driver")
    await handle.execute_update(OrderWorkflow.pick_up, DriverStep(driver="gino", notes="scooter 2"))
    await handle.execute_update(OrderWorkflow.finish_delivery, DeliveryEnd(driver="gino", delivered=True))
    return handle


async def delivery_failed(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    """The driver cannot deliver: refunded, cancelled by the driver with the reason, the customer told."""
    handle = await _ready_for_a_driver(shop, "delivery_failed")
    await handle.execute_update(OrderWorkflow.pick_up, DriverStep(driver="gino"))
    await handle.execute_update(
        OrderWorkflow.finish_delivery, DeliveryEnd(driver="gino", delivered=False, reason="nobody at the door")
    )
    return handle


async def dispatch_late(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    """No driver within the pickup promise (one second here): flagged late, the customer told; then delivered."""
    handle = await _ready_for_a_driver(shop, "dispatch_late", delivery_pickup_sla_seconds=1)

    async def told() -> bool:
        return any("waiting for a driver" in text for text in shop.activities.texts())

    await until(told, "the dispatch-late text")
    await handle.execute_update(OrderWorkflow.pick_up, DriverStep(driver="gino"))
    await handle.execute_update(OrderWorkflow.finish_delivery, DeliveryEnd(driver="gino", delivered=True))
    return handle


async def delivered_through_signals(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    """Ops do the driver's steps with signals, as from the CLI; one not allowed at the time changes nothing."""
    handle = await _ready_for_a_driver(shop, "delivered_through_signals")
    await handle.signal("mark_delivered", {"by": "ops"})  # not out yet: refused
    await handle.signal("mark_picked_up", {"by": "gino", "notes": "took it by phone"})
    await idle(shop, handle)
    await handle.signal("mark_delivered", {"by": "gino"})
    return handle


async def refused_signals(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    """Signals the order refuses: steps not allowed now, unknown fields, payloads that do not open or parse."""
    handle, _ = await shop.place(start_for("refused_signals"))
    raw = shop.env.client.get_workflow_handle(handle.id)  # no keys: bytes as an outsider might send them
    await handle.signal("mark_completed", {"by": "luigi"})
    await handle.signal("mark_preparing", {"by": "luigi", "station": "oven 2"})
    await handle.signal("mark_preparing", {"by": 42})
    await handle.signal("mark_preparing", {"by": "luigi", "notes": "extra\x00cheese"})
    await raw.signal("mark_preparing", RawValue(_garbage_sealed()))
    await raw.signal("cancel", RawValue(_garbage_sealed()))
    await idle(shop, handle)
    await kitchen(handle, OrderStatus.PREPARING, OrderStatus.READY)
    await handle.signal("cancel", {"by": "ada"})
    await handle.signal("mark_completed", {"by": "luigi"})
    await handle.result()
    return handle


def _garbage_sealed() -> Payload:
    """Looks sealed with the worker's key, but does not open."""
    key_id = next(iter(parse_keys(KEYS)))
    return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=bytes(range(64)))


async def continued_as_new(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    """A flood of refused signals makes the order continue as new twice (low threshold); it is then cancelled."""
    handle, _ = await shop.place(start_for("continued_as_new", continue_after_events=LOW_THRESHOLD))
    await _flood_until_runs(shop, handle, 2)
    await kitchen(handle, OrderStatus.PREPARING)
    await _flood_until_runs(shop, handle, 3)
    await handle.execute_update(OrderWorkflow.cancel_order, CancelRequest(by="ada", notes="too late"))
    return handle


async def _flood_until_runs(shop: Pizzeria, handle: WorkflowHandle[Any, Any], count: int) -> None:
    while len(await shop.runs(handle)) < count:
        for _ in range(20):
            await handle.signal("mark_completed", {"by": "flood"})
        await idle(shop, handle)


async def before_patches(shop: Pizzeria) -> WorkflowHandle[Any, Any]:
    """Run by the workflow before its patches: past the threshold it waits on, and takes a note with extra fields."""
    handle, _ = await shop.place(start_for("before_patches", continue_after_events=LOW_THRESHOLD))
    for _ in range(40):
        await handle.signal("mark_completed", {"by": "flood"})
    await idle(shop, handle)
    await handle.signal("mark_preparing", {"by": "luigi", "station": "oven 2"})
    await idle(shop, handle)
    await kitchen(handle, OrderStatus.READY, OrderStatus.COMPLETED)
    return handle


PATHS: dict[str, OrderPath] = {
    "happy_path": happy_path,
    "cash_order": cash_order,
    "cancelled_while_received": cancelled_while_received,
    "cancelled_while_confirmed": cancelled_while_confirmed,
    "cancelled_while_preparing": cancelled_while_preparing,
    "cancelled_in_temporal": cancelled_in_temporal,
    "card_declined": card_declined,
    "invalid_order": invalid_order,
    "failed_after_charge": failed_after_charge,
    "out_of_stock": out_of_stock,
    "stock_used": stock_used,
    "late_kitchen": late_kitchen,
    "refused_signals": refused_signals,
    "continued_as_new": continued_as_new,
    "before_patches": before_patches,
    "delivered_by_driver": delivered_by_driver,
    "delivery_failed": delivery_failed,
    "dispatch_late": dispatch_late,
    "delivered_through_signals": delivered_through_signals,
}
# Paths whose order has a delivery: its DeliveryWorkflow's history is written beside, as `<name>.delivery.json`.
DELIVERED = {"delivered_by_driver", "delivery_failed", "dispatch_late", "delivered_through_signals"}


def _source_then(path: str) -> str:
    return subprocess.run(
        ["git", "show", f"{BEFORE_PATCHES_COMMIT}:{path}"], capture_output=True, text=True, check=True, cwd=HERE
    ).stdout


def workflow_before_patches() -> type:
    """OrderWorkflow as it was at BEFORE_PATCHES_COMMIT, loaded from git into a module of its own.

    It runs on today's modules but for two things that changed since: the activity contracts it imported
    (loaded from the same commit: the same names and fields) and `Order.place`, which returned an event too.
    """
    source = _source_then("workflows/order_workflow.py")
    then, now = "self._order, _ = Order.place(", "self._order = Order.place("
    assert source.count(then) == 1, "the old workflow no longer reads as expected"
    source = source.replace(then, now)
    contracts = types.ModuleType("activities.contracts")
    exec(compile(_source_then("activities/contracts.py"), "activities/contracts.py", "exec"), contracts.__dict__)
    module = types.ModuleType("order_workflow_before_patches")
    with patch.dict(sys.modules, {"activities.contracts": contracts}):
        exec(compile(source, f"{BEFORE_PATCHES_COMMIT}:workflows/order_workflow.py", "exec"), module.__dict__)
    return module.OrderWorkflow


async def write_histories(client: Client, base: str, handle: WorkflowHandle[Any, Any]) -> list[Path]:
    """One JSON file per run of the order: `<base>.json`, or `<base>.run-N.json` once it continued as new."""
    await client.get_workflow_handle(handle.id).result()
    histories = []
    run_id: str | None = handle.first_execution_run_id or handle.run_id
    while run_id:
        histories.append(await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history())
        last = histories[-1].events[-1]
        continued = last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id if continued else None
    for stale in [HERE / f"{base}.json", *HERE.glob(f"{base}.run-*.json")]:
        stale.unlink(missing_ok=True)
    written = []
    for number, history in enumerate(histories, start=1):
        path = HERE / (f"{base}.json" if len(histories) == 1 else f"{base}.run-{number}.json")
        path.write_text(history.to_json() + "\n")
        written.append(path)
        print(f"tests/histories/{path.name}: {len(history.events)} events")
    return written


async def record(names: list[str], tag: str | None) -> None:
    binary = Path(sys.executable).parent / "temporal"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(binary), search_attributes=SEARCH_ATTRIBUTES, dev_server_log_level="error"
    )
    converter = data_converter(parse_keys(KEYS))
    client = Client(env.client.service_client, namespace=env.client.namespace, data_converter=converter)
    try:
        for name in names:
            workflows = [workflow_before_patches()] if name == "before_patches" else [OrderWorkflow, DeliveryWorkflow]
            async with open_pizzeria(
                env, client, workflows=workflows, workflow_runner=UnsandboxedWorkflowRunner()
            ) as shop:
                base = f"{name}.{tag}" if tag else name
                handle = await PATHS[name](shop)
                await write_histories(client, base, handle)
                if name in DELIVERED:
                    child = delivery_workflow_id(order_id(name))
                    run_id = (await client.get_workflow_handle(child).describe()).run_id
                    await write_histories(client, f"{base}.delivery", client.get_workflow_handle(child, run_id=run_id))
    finally:
        with suppress(Exception):
            await env.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="name", help=f"paths to record (default: all): {', '.join(PATHS)}")
    parser.add_argument("--tag", help="write <name>.<tag>.json beside the histories already there")
    args = parser.parse_args()
    names = args.names or list(PATHS)
    if unknown := [name for name in names if name not in PATHS]:
        parser.error(f"no such path: {', '.join(unknown)}")
    if args.tag is not None and (not re.fullmatch(r"[a-z0-9-]+", args.tag) or args.tag.startswith("run-")):
        parser.error("a tag is lower-case letters, digits and '-', and does not start with 'run-'")
    asyncio.run(record(names, args.tag))


if __name__ == "__main__":
    main()
