"""The API's only door to Temporal: start, update and query order workflows (one round trip each).

It speaks in its own errors (below); api/problems.py alone turns them into HTTP answers.
"""

import contextlib
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.common import WorkflowIDReusePolicy as ReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.order_ids import LegacyLookup, OrderIds, legacy_order_id
from api.reachability import Reachability, TemporalDown
from domain.menu import OrderLine
from domain.order import Order, OrderStatus
from domain.pricing import total_order
from settings import Settings
from temporal_access import refusal
from workflows.order_contract import (
    FULFILMENT,
    IDEMPOTENCY_CONFLICT,
    NOT_YOUR_DELIVERY,
    ORDER_STATUS,
    ORDER_TOTAL,
    PAYMENT_METHOD,
    UPDATE_FINISH_DELIVERY,
    UPDATE_PICK_UP,
    CancelRequest,
    DeliveryEnd,
    DriverStep,
    KitchenStep,
    OrderRequest,
    OrderResult,
    OrderStart,
    workflow_id,
)
from workflows.order_story import order_lines, order_summary
from workflows.order_workflow import OrderWorkflow

QUERY_TIMEOUT = timedelta(seconds=5)
T = TypeVar("T")


class GatewayError(Exception):
    """Why the order system could not do what was asked."""


class OrderNotFound(GatewayError):
    """No workflow with that id: the order was never placed, or Temporal no longer keeps it."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"there is no order {order_id}")
        self.order_id = order_id


class OrderClosed(GatewayError):
    """The order has finished (`status`, where known), so it cannot make the `change` asked of it."""

    def __init__(self, order_id: str, status: str | None, change: str) -> None:
        super().__init__(f"an order that is {status or 'finished'} cannot {change}")
        self.order_id, self.status, self.change = order_id, status, change


class StepRefused(GatewayError):
    """The order refused the change in its current status."""

    def __init__(self, order_id: str, reason: str) -> None:
        super().__init__(reason)
        self.order_id, self.reason = order_id, reason


class AnotherDriversDelivery(GatewayError):
    """Another driver has this delivery: only they may end it."""

    def __init__(self, order_id: str, reason: str) -> None:
        super().__init__(reason)
        self.order_id, self.reason = order_id, reason


class IdempotencyConflict(GatewayError):
    """The Idempotency-Key already stands for a different order."""

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was already used for a different order")


class Unavailable(GatewayError):
    """Temporal is unreachable, or the order did not answer in time; the order it concerns, where known."""

    def __init__(self, detail: str, order_id: str | None = None) -> None:
        super().__init__(detail)
        self.detail, self.order_id = detail, order_id


@dataclass(frozen=True)
class Placement:
    result: OrderResult
    # True only for the request that started the order: its answer is 201, a repeat's is 200.
    created: bool


def _never_connected(err: RuntimeError) -> bool:
    """Whether the lazy client failed to connect at all: the SDK says so only in the message of a RuntimeError."""
    return str(err).startswith("Failed client connect")


def _update_refusal(err: WorkflowUpdateFailedError) -> tuple[str | None, str]:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return cause.type, cause.message
    return None, str(cause or err)


class OrderGateway:
    def __init__(self, client: Client, settings: Settings, ids: OrderIds, legacy: LegacyLookup) -> None:
        self._client = client
        self._ids = ids
        self._legacy = legacy
        self._task_queue = settings.task_queue
        self._sla = settings.kitchen_sla_seconds
        self._pickup_sla = settings.delivery_pickup_sla_seconds
        self._wait = settings.confirm_timeout_seconds
        self._reachability = Reachability(client.service_client)

    async def order_id(self, idempotency_key: str | None) -> str:
        """The id of the order a request places: new, or the one its Idempotency-Key stands for.

        A key used before ids were keyed keeps answering its own order while Temporal keeps that workflow.
        """
        order_id = self._ids.new(idempotency_key)
        if idempotency_key is None or not await self._legacy.needed():
            return order_id
        legacy = legacy_order_id(idempotency_key)
        handle = self._client.get_workflow_handle(workflow_id(legacy))
        try:
            async with self._outage("the order system did not answer in time", order_id):
                await self._reachability.answer(handle.describe(rpc_timeout=QUERY_TIMEOUT), self._wait)
        except OrderNotFound:
            return order_id
        return legacy

    async def place(self, order_id: str, request: OrderRequest, priced: tuple[OrderLine, ...] | None) -> Placement:
        """Start the order's workflow and wait, in the same call, until it is confirmed or refused.

        `priced` is the API's own reading of the menu, for what ops see in Temporal; the workflow prices
        the order again and its price is the one charged.
        """
        fingerprint = request.fingerprint()
        start = self._start(order_id, request, priced)

        async def placement() -> Placement:
            try:
                result = await self._client.execute_update_with_start_workflow(
                    OrderWorkflow.await_confirmation, fingerprint, start_workflow_operation=start
                )
                return Placement(result, created=result.creator)
            except WorkflowAlreadyStartedError:
                # The start operation holds the same error: take it, or asyncio logs it as never retrieved.
                with contextlib.suppress(WorkflowAlreadyStartedError):
                    await start.workflow_handle()
                finished = self._handle(order_id)
                return Placement(await finished.result(), created=False)

        accepted = (
            f"order {order_id} is accepted but not confirmed yet; repeat the request with the same "
            "Idempotency-Key to get its outcome"
        )
        try:
            # The start may have reached Temporal before it went away: the order may go on, so the outage says so.
            async with self._outage(accepted, order_id, maybe_accepted=True):
                placed = await self._reachability.answer(placement(), self._wait)
        except WorkflowUpdateFailedError as err:
            kind, reason = _update_refusal(err)
            if kind == IDEMPOTENCY_CONFLICT:
                raise IdempotencyConflict() from None
            raise StepRefused(order_id, reason) from None
        if placed.result.fingerprint != fingerprint:
            raise IdempotencyConflict()
        return placed

    def _start(
        self, order_id: str, request: OrderRequest, priced: tuple[OrderLine, ...] | None
    ) -> WithStartWorkflowOperation:
        # Keywords and a number: pairs of more than one value type.
        attributes: list[SearchAttributePair[Any]] = [
            SearchAttributePair(ORDER_STATUS, OrderStatus.RECEIVED.value),
            SearchAttributePair(FULFILMENT, request.fulfilment.value),
            SearchAttributePair(PAYMENT_METHOD, request.payment_method.value),
        ]
        total = total_order(priced, request.fulfilment).total if priced else None
        if total is not None:
            attributes.append(SearchAttributePair(ORDER_TOTAL, float(total)))
        pizzas = sum(choice.quantity for choice in request.pizzas)
        return WithStartWorkflowOperation(
            OrderWorkflow.run,
            OrderStart(
                order_id=order_id,
                request=request,
                kitchen_sla_seconds=self._sla,
                delivery_pickup_sla_seconds=self._pickup_sla,
            ),
            id=workflow_id(order_id),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # A finished order is answered from its result, never started again (no second charge).
            id_reuse_policy=ReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(attributes),
            static_summary=order_summary(order_id, pizzas, total, request.fulfilment),
            static_details=order_lines(priced, request.fulfilment, request.payment_method) if priced else None,
        )

    async def current(self, order_id: str) -> Order:
        """The running order as its workflow holds it."""
        handle = self._handle(order_id)
        try:
            async with self._outage(f"order {order_id} did not answer in time", order_id):
                return await self._reachability.answer(handle.query(OrderWorkflow.order, rpc_timeout=QUERY_TIMEOUT))
        except WorkflowQueryFailedError:
            raise OrderNotFound(order_id) from None  # refused before it was placed

    async def change_status(self, order_id: str, step: KitchenStep) -> Order:
        """Move the order on, as the kitchen asks."""
        handle = self._handle(order_id)
        call = handle.execute_update(OrderWorkflow.change_status, step)
        return await self._update(order_id, call, f"become {step.status}")

    async def cancel(self, order_id: str, request: CancelRequest) -> OrderResult:
        """Cancel and wait until compensation has run."""
        handle = self._handle(order_id)
        return await self._update(order_id, handle.execute_update(OrderWorkflow.cancel_order, request), "be cancelled")

    async def pick_up(self, order_id: str, step: DriverStep) -> Order:
        """A driver takes the ready delivery order out."""
        call = self._handle(order_id).execute_update(UPDATE_PICK_UP, step, result_type=Order)
        return await self._update(order_id, call, "be picked up")

    async def finish_delivery(self, order_id: str, end: DeliveryEnd) -> Order:
        """The driver delivered it (completed) or could not (cancelled: answered once compensation has run)."""
        call = self._handle(order_id).execute_update(UPDATE_FINISH_DELIVERY, end, result_type=Order)
        return await self._update(order_id, call, "be delivered" if end.delivered else "fail its delivery")

    def _handle(self, order_id: str) -> WorkflowHandle[OrderWorkflow, OrderResult]:
        # By id, with its result type: the same handle as get_workflow_handle_for(OrderWorkflow.run, ...), whose
        # type mypy cannot always settle when it checks tools/ in the same run.
        return self._client.get_workflow_handle(workflow_id(order_id), result_type=OrderResult)

    async def health(self) -> str:
        """Where Temporal answers; Unavailable when it does not."""
        try:
            return await self._reachability.check(timeout=timedelta(seconds=2))
        except TemporalDown as down:
            raise Unavailable(str(down)) from None

    async def _update(self, order_id: str, call: Awaitable[T], change: str) -> T:
        # Temporal keeps a request it timed out on: it may still be carried out when a worker takes the order up.
        late = (
            f"order {order_id} did not answer in time; the change may still be made once a worker takes "
            "the order up: read the order before repeating it"
        )
        try:
            async with self._outage(late, order_id):
                return await self._reachability.answer(call, self._wait)
        except WorkflowUpdateFailedError as err:
            kind, reason = _update_refusal(err)
            if kind == NOT_YOUR_DELIVERY:
                raise AnotherDriversDelivery(order_id, reason) from None
            raise StepRefused(order_id, reason) from None
        except OrderNotFound:
            raise await self._closed_or_unknown(order_id, change) from None

    async def _closed_or_unknown(self, order_id: str, change: str) -> GatewayError:
        """Why an update found no running workflow: it has finished (with the order's last status), or never was."""
        handle = self._client.get_workflow_handle(workflow_id(order_id))
        try:
            async with self._outage(f"order {order_id} did not answer in time", order_id):
                described = await self._reachability.answer(handle.describe(rpc_timeout=QUERY_TIMEOUT))
        except OrderNotFound as unknown:
            return unknown
        return OrderClosed(order_id, described.typed_search_attributes.get(ORDER_STATUS), change)

    @contextlib.asynccontextmanager
    async def _outage(self, late: str, order_id: str, maybe_accepted: bool = False) -> AsyncIterator[None]:
        """Temporal's failures as this gateway's errors about `order_id`: `late` when the call ran out of time."""
        try:
            yield
        # The SDK turns the cancellation by our own deadline into its RPCTimeoutOrCancelledError.
        except (TimeoutError, RPCTimeoutOrCancelledError):
            raise Unavailable(late, order_id) from None
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise OrderNotFound(order_id) from None
            reason = self._refused(err) or err.message
            raise Unavailable(_unreachable(reason, order_id, maybe_accepted), order_id) from None
        except TemporalDown as down:
            raise Unavailable(_unreachable(str(down), order_id, maybe_accepted), order_id) from None
        except RuntimeError as err:
            if not _never_connected(err):
                raise
            reason = self._refused(err) or str(err)
            raise Unavailable(_unreachable(reason, order_id, maybe_accepted), order_id) from None

    def _refused(self, err: Exception) -> str | None:
        """Why Temporal turned the API's credentials away, when it did: no outage, and waiting will not mend it."""
        config = self._client.service_client.config
        return refusal(err, config.target_host, config.api_key, config.tls)


def _unreachable(reason: str, order_id: str, maybe_accepted: bool) -> str:
    detail = f"the order system is unreachable ({reason})"
    if maybe_accepted:
        detail += f"; order {order_id} may have been accepted: repeat the request with the same Idempotency-Key"
        detail += " to get its outcome"
    return detail
