"""The API's only door to Temporal: start, update and query order workflows (one round trip each)."""

import asyncio
import contextlib
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WithStartWorkflowOperation,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.order_ids import OrderIds, legacy_order_id
from api.problems import ProblemError, unavailable
from domain.menu import OrderLine
from domain.order import Order, OrderStatus
from domain.pricing import total_order
from settings import Settings
from workflows.order_contract import (
    FULFILMENT,
    IDEMPOTENCY_CONFLICT,
    ORDER_STATUS,
    ORDER_TOTAL,
    PAYMENT_METHOD,
    CancelRequest,
    KitchenStep,
    OrderRequest,
    OrderResult,
    OrderStart,
    workflow_id,
)
from workflows.order_story import order_lines, order_summary
from workflows.order_workflow import OrderWorkflow

QUERY_TIMEOUT = timedelta(seconds=5)
# A call still unanswered after this long asks whether Temporal is there at all: while it is down, the
# SDK's own retries would otherwise hold every request for up to 10 s before it fails.
REACHABILITY_CHECK_AFTER_SECONDS = 1.0
HEALTH_CHECK_TIMEOUT = timedelta(seconds=3)  # generous: a busy server that is there must not look down
T = TypeVar("T")


class OrderNotFound(Exception):
    """No workflow with that id: the order was never placed."""


class OrderClosed(Exception):
    """The workflow has finished: the order can no longer change."""


@dataclass(frozen=True)
class Placement:
    result: OrderResult
    # False when the answer comes from a workflow that had already finished.
    fresh: bool


def _error_type(err: WorkflowUpdateFailedError | WorkflowQueryFailedError) -> str | None:
    cause = err.cause if isinstance(err, WorkflowUpdateFailedError) else None
    return cause.type if isinstance(cause, ApplicationError) else None


def _update_refusal(err: WorkflowUpdateFailedError) -> str:
    cause = err.cause
    return cause.message if isinstance(cause, ApplicationError) else str(cause or err)


class OrderWorkflows:
    def __init__(self, client: Client, settings: Settings, ids: OrderIds) -> None:
        self._client = client
        self._ids = ids
        self._legacy_ids = settings.legacy_order_ids
        self._task_queue = settings.task_queue
        self._sla = settings.kitchen_sla_seconds
        self._wait = settings.confirm_timeout_seconds
        # One health check at a time, shared by every slow call: under load many calls are slow at once.
        self._reachability: asyncio.Future[None] | None = None

    async def order_id(self, idempotency_key: str | None) -> str:
        """The id of the order a request places: new, or the one its Idempotency-Key stands for.

        A key used before ids were keyed keeps answering its own order while Temporal keeps that workflow.
        """
        order_id = self._ids.new(idempotency_key)
        if idempotency_key is None or not self._legacy_ids:
            return order_id
        legacy = legacy_order_id(idempotency_key)
        handle = self._client.get_workflow_handle(workflow_id(legacy))
        try:
            await self._answer(handle.describe(rpc_timeout=QUERY_TIMEOUT), self._wait)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return order_id
            raise unavailable(f"the order system is unreachable ({err.message})", order_id=order_id) from None
        except (TimeoutError, RPCTimeoutOrCancelledError):
            raise unavailable("the order system did not answer in time", order_id=order_id) from None
        return legacy

    async def place(self, order_id: str, request: OrderRequest, priced: tuple[OrderLine, ...] | None) -> Placement:
        """Start the order's workflow and wait, in the same call, until it is confirmed or refused.

        `priced` is the API's own reading of the menu, for what ops see in Temporal; the workflow prices
        the order again and its price is the one charged.
        """
        pizzas = sum(choice.quantity for choice in request.pizzas)
        attributes = [
            SearchAttributePair(ORDER_STATUS, OrderStatus.RECEIVED.value),
            SearchAttributePair(FULFILMENT, request.fulfilment.value),
            SearchAttributePair(PAYMENT_METHOD, request.payment_method.value),
        ]
        total = total_order(priced, request.fulfilment).total if priced else None
        if total is not None:
            attributes.append(SearchAttributePair(ORDER_TOTAL, float(total)))
        start = WithStartWorkflowOperation(
            OrderWorkflow.run,
            OrderStart(order_id=order_id, request=request, kitchen_sla_seconds=self._sla),
            id=workflow_id(order_id),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # A finished order is answered from its result, never started again (no second charge).
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(attributes),
            static_summary=order_summary(order_id, pizzas, total, request.fulfilment),
            static_details=order_lines(priced, request.fulfilment, request.payment_method) if priced else None,
        )
        fingerprint = request.fingerprint()

        async def placement() -> Placement:
            try:
                result = await self._client.execute_update_with_start_workflow(
                    OrderWorkflow.await_confirmation, fingerprint, start_workflow_operation=start
                )
                return Placement(result, fresh=True)
            except WorkflowAlreadyStartedError:
                # The start operation holds the same error: take it, or asyncio logs it as never retrieved.
                with contextlib.suppress(WorkflowAlreadyStartedError):
                    await start.workflow_handle()
                finished = self._client.get_workflow_handle_for(OrderWorkflow.run, workflow_id(order_id))
                return Placement(await finished.result(), fresh=False)

        try:
            placed = await self._answer(placement(), self._wait)
        # The SDK turns the cancellation by our own deadline into its RPCTimeoutOrCancelledError.
        except (TimeoutError, RPCTimeoutOrCancelledError):
            raise unavailable(
                f"order {order_id} is accepted but not confirmed yet; repeat the request with the same "
                "Idempotency-Key to get its outcome",
                order_id=order_id,
            ) from None
        except RPCError as err:
            # The start may have reached Temporal before it went away: the order may go on, so name it.
            raise unavailable(
                f"the order system is unreachable ({err.message}); order {order_id} may have been accepted: "
                "repeat the request with the same Idempotency-Key to get its outcome",
                order_id=order_id,
            ) from None
        except WorkflowUpdateFailedError as err:
            if _error_type(err) == IDEMPOTENCY_CONFLICT:
                raise _conflicting_key() from None
            raise
        if not placed.fresh and placed.result.fingerprint != fingerprint:
            raise _conflicting_key()
        return placed

    async def current(self, order_id: str) -> Order:
        """The running order as its workflow holds it."""
        handle = self._client.get_workflow_handle_for(OrderWorkflow.run, workflow_id(order_id))
        try:
            return await self._answer(handle.query(OrderWorkflow.order, rpc_timeout=QUERY_TIMEOUT))
        except WorkflowQueryFailedError:
            raise OrderNotFound(order_id) from None  # refused before it was placed
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise OrderNotFound(order_id) from None
            raise

    async def change_status(self, order_id: str, step: KitchenStep) -> Order:
        """Move the order on; a step the status machine refuses is a 409."""
        handle = self._client.get_workflow_handle_for(OrderWorkflow.run, workflow_id(order_id))
        return await self._update(order_id, handle.execute_update(OrderWorkflow.change_status, step))

    async def cancel(self, order_id: str, request: CancelRequest) -> OrderResult:
        """Cancel and wait until compensation has run."""
        handle = self._client.get_workflow_handle_for(OrderWorkflow.run, workflow_id(order_id))
        return await self._update(order_id, handle.execute_update(OrderWorkflow.cancel_order, request))

    async def _update(self, order_id: str, call: Awaitable[T]) -> T:
        try:
            return await self._answer(call, self._wait)
        # The SDK turns the cancellation by our own deadline into its RPCTimeoutOrCancelledError.
        except (TimeoutError, RPCTimeoutOrCancelledError):
            # Temporal keeps the request: it may still be carried out when a worker takes the order up.
            raise unavailable(
                f"order {order_id} did not answer in time; the change may still be made once a worker takes "
                "the order up: read the order before repeating it"
            ) from None
        except WorkflowUpdateFailedError as err:
            raise ProblemError(409, _update_refusal(err), "not-allowed", order_id=order_id) from None
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise (OrderClosed(order_id) if "completed" in err.message else OrderNotFound(order_id)) from None
            raise

    async def _answer(self, call: Awaitable[T], seconds: float | None = None) -> T:
        """The call's answer, TimeoutError after `seconds`, and an RPCError as soon as Temporal is found down."""
        answer = asyncio.ensure_future(call)
        try:
            async with asyncio.timeout(seconds):
                await asyncio.wait([answer], timeout=REACHABILITY_CHECK_AFTER_SECONDS)
                if not answer.done():
                    await self._check_reachable()
                return await answer
        finally:
            if not answer.done():
                answer.cancel()  # given up on: the SDK stops waiting for it
                answer.add_done_callback(_consume)

    async def _check_reachable(self) -> None:
        if self._reachability is None or self._reachability.done():
            self._reachability = asyncio.ensure_future(self._ask_health())
            self._reachability.add_done_callback(_consume)
        # Shielded: a caller that gives up must not cut the check short for the others.
        await asyncio.shield(self._reachability)

    async def _ask_health(self) -> None:
        service = self._client.service_client
        where = f"Temporal at {service.config.target_host}"
        try:
            serving = await service.check_health(timeout=HEALTH_CHECK_TIMEOUT)
        except Exception as err:  # the lazy client's RuntimeError too, when it never connected
            raise RPCError(f"{where} is unreachable: {err}", RPCStatusCode.UNAVAILABLE, b"") from None
        if not serving:
            raise RPCError(f"{where} is not serving", RPCStatusCode.UNAVAILABLE, b"")


def _consume(abandoned: asyncio.Future) -> None:  # type: ignore[type-arg]
    """Take the outcome of a call given up on, so that it is not logged as never retrieved."""
    if not abandoned.cancelled():
        abandoned.exception()


def _conflicting_key() -> ProblemError:
    return ProblemError(409, "this Idempotency-Key was already used for a different order", "idempotency-conflict")
