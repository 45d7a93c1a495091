"""What the API and OrderWorkflow agree on: names, the order request, and the answers."""

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json
from temporalio.common import SearchAttributeKey

from domain.menu import LineRequest, Size
from domain.order import Customer, Order, OrderStatus, PaymentMethod
from domain.pricing import Fulfilment
from workflows.text_types import KeptNote, KeptWho

WORKFLOW_TYPE = "OrderWorkflow"
QUERY_ORDER = "order"
SIGNAL_MARK_PREPARING = "mark_preparing"
SIGNAL_MARK_READY = "mark_ready"
SIGNAL_MARK_COMPLETED = "mark_completed"
SIGNAL_CANCEL = "cancel"
# Ops' delivery signals on the order, passed on to its DeliveryWorkflow (payload: StaffNote).
SIGNAL_MARK_PICKED_UP = "mark_picked_up"
SIGNAL_MARK_DELIVERED = "mark_delivered"
SIGNAL_MARK_DELIVERY_FAILED = "mark_delivery_failed"
UPDATE_AWAIT_CONFIRMATION = "await_confirmation"
UPDATE_CHANGE_STATUS = "change_status"
UPDATE_CANCEL_ORDER = "cancel_order"
# A driver's steps (the API's /api/deliveries): answered with the order once the step is applied.
UPDATE_PICK_UP = "pick_up"
UPDATE_FINISH_DELIVERY = "finish_delivery"
DELIVERY_WORKFLOW_TYPE = "DeliveryWorkflow"

# ApplicationError types raised by update validators.
IDEMPOTENCY_CONFLICT = "IdempotencyConflict"
ILLEGAL_TRANSITION = "IllegalTransition"
NOT_CANCELLABLE = "NotCancellable"
NOT_YOUR_DELIVERY = "NotYourDelivery"  # another driver has it: the API's 403
REASON_REQUIRED = "ReasonRequired"  # a failed delivery without a reason: the API's 422

# Search attributes: what ops filter orders by in the Temporal UI and CLI.
ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
ORDER_TOTAL = SearchAttributeKey.for_float("OrderTotal")
FULFILMENT = SearchAttributeKey.for_keyword("Fulfilment")
PAYMENT_METHOD = SearchAttributeKey.for_keyword("PaymentMethod")
# On the delivery (and, once it ends, on its order too): delivered, failed or handed_over (the kitchen completed it).
DELIVERY_OUTCOME = SearchAttributeKey.for_keyword("DeliveryOutcome")
# On the delivery: true once it waited for a driver past the pickup promise.
DISPATCH_LATE = SearchAttributeKey.for_bool("DispatchLate")
SEARCH_ATTRIBUTES = (ORDER_STATUS, ORDER_TOTAL, FULFILMENT, PAYMENT_METHOD, DELIVERY_OUTCOME, DISPATCH_LATE)


def workflow_id(order_id: str) -> str:
    """The workflow ID of an order: `order-{id}`."""
    return f"order-{order_id}"


def delivery_workflow_id(order_id: str) -> str:
    """The workflow ID of an order's delivery, a child of its order's: `delivery-{id}`."""
    return f"delivery-{order_id}"


class PizzaChoice(BaseModel):
    """One line of an order as the saga keeps it (names as the customer wrote them, matched any case)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    size: Size
    toppings: tuple[str, ...] = ()
    quantity: int = 1


class OrderRequest(BaseModel):
    """What the saga needs to place an order: its input, kept in every history of every order.

    Its fields and their JSON shape never change for the sake of the HTTP API (api/schemas.py is what clients
    send, mapped onto this). Rules on the texts live with the API: an input Temporal already holds must
    always decode.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_name: str
    customer_phone: str
    customer_address: str | None = None
    fulfilment: Fulfilment = Fulfilment.DELIVERY
    pizzas: tuple[PizzaChoice, ...]
    payment_method: PaymentMethod
    payment_token: str | None = None

    def fingerprint(self) -> str:
        """A digest of the request, to tell a repeat from a different order under one key.

        The canonical fields in a fixed order, as compact JSON: the same bytes the first orders were hashed
        from, whatever fields this model gains later (a finished order keeps its fingerprint in its result).
        """
        canonical = {
            "customer_name": self.customer_name,
            "customer_phone": self.customer_phone,
            "customer_address": self.customer_address,
            "fulfilment": self.fulfilment.value,
            "pizzas": [
                {"name": p.name, "size": p.size.value, "toppings": list(p.toppings), "quantity": p.quantity}
                for p in self.pizzas
            ],
            "payment_method": self.payment_method.value,
            "payment_token": self.payment_token,
        }
        return hashlib.sha256(to_json(canonical)).hexdigest()

    def customer(self) -> Customer:
        return Customer(self.customer_name, self.customer_phone, self.customer_address)

    def lines(self) -> tuple[LineRequest, ...]:
        return tuple(LineRequest(p.name, p.size.value, p.toppings, p.quantity) for p in self.pizzas)


class CarriedOver(BaseModel):
    """What a run of an order waiting for the kitchen hands the next when it continues as new."""

    model_config = ConfigDict(frozen=True)

    order: Order
    ready_told: bool = False
    # When the kitchen's promise runs out, while it is still being watched.
    sla_due: datetime | None = None
    # The order's DeliveryWorkflow runs on (started by an earlier run): the new run tells it the steps by its ID.
    delivery_started: bool = False


# An order waiting for the kitchen starts a fresh run once its history is this long (or Temporal suggests it).
CONTINUE_AFTER_EVENTS = 2000


class OrderStart(BaseModel):
    """The workflow's input: the request plus what the API decided for it."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    request: OrderRequest
    kitchen_sla_seconds: int = Field(gt=0)
    # A delivery order ready this long without a driver is flagged late (orders started before it: the default).
    delivery_pickup_sla_seconds: int = Field(default=900, gt=0)
    # Low enough to stay far from Temporal's limits; high enough that a fresh run never continues at once.
    continue_after_events: int = Field(default=CONTINUE_AFTER_EVENTS, ge=100)
    # Set on every run after the first: the order as the previous run left it.
    carried_over: CarriedOver | None = None


class StaffNote(BaseModel):
    """Payload of the kitchen and cancel signals: who, and why. Both optional; anything else refuses the signal."""

    # Extra fields are kept only to be refused: a signal holding them changes nothing (see OrderWorkflow).
    model_config = ConfigDict(frozen=True, extra="allow")

    by: KeptWho | None = None
    notes: KeptNote | None = None


class KitchenStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: OrderStatus
    by: KeptWho
    notes: KeptNote | None = None


class DriverStep(BaseModel):
    """A driver picks a ready delivery order up (update `pick_up`)."""

    model_config = ConfigDict(frozen=True)

    driver: KeptWho
    notes: KeptNote | None = None


class DeliveryEnd(BaseModel):
    """A delivery ends (update `finish_delivery`): delivered, or failed with the driver's reason.

    `driver` is who asks; only the driver who has the order may end it (None: ops, who may end any).
    """

    model_config = ConfigDict(frozen=True)

    driver: KeptWho | None
    delivered: bool
    reason: KeptNote | None = None


class CancelRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    by: KeptWho
    notes: KeptNote | None = None


class Rejection(BaseModel):
    """Why an order was refused: an invalid order (422) or a declined card (402)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["invalid", "declined"]
    detail: str
    decline_code: str | None = None


class OrderResult(BaseModel):
    """How placing an order ended, and the workflow's result."""

    model_config = ConfigDict(frozen=True)

    fingerprint: str
    order: Order | None = None
    rejection: Rejection | None = None
    # Set when a step after payment failed for good and the order was compensated.
    failure: str | None = None
    # True only in the answer to the placement that started the order (the first to await its confirmation):
    # the API's 201, where every repeat gets 200. Results recorded before it read False.
    creator: bool = False

    @property
    def status(self) -> OrderStatus | None:
        return self.order.status if self.order else None
