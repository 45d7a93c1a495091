"""What the API and OrderWorkflow agree on: names, the order request, and the answers."""

import hashlib
import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, field_validator, model_validator
from temporalio.common import SearchAttributeKey

from domain.menu import LineRequest, Size
from domain.order import Customer, Order, OrderStatus, PaymentMethod
from domain.pricing import Fulfilment

WORKFLOW_TYPE = "OrderWorkflow"
QUERY_ORDER = "order"
SIGNAL_MARK_PREPARING = "mark_preparing"
SIGNAL_MARK_READY = "mark_ready"
SIGNAL_MARK_COMPLETED = "mark_completed"
SIGNAL_CANCEL = "cancel"
UPDATE_AWAIT_CONFIRMATION = "await_confirmation"
UPDATE_CHANGE_STATUS = "change_status"
UPDATE_CANCEL_ORDER = "cancel_order"

# ApplicationError types raised by update validators.
IDEMPOTENCY_CONFLICT = "IdempotencyConflict"
ILLEGAL_TRANSITION = "IllegalTransition"
NOT_CANCELLABLE = "NotCancellable"

# Search attributes: what ops filter orders by in the Temporal UI and CLI.
ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
ORDER_TOTAL = SearchAttributeKey.for_float("OrderTotal")
FULFILMENT = SearchAttributeKey.for_keyword("Fulfilment")
PAYMENT_METHOD = SearchAttributeKey.for_keyword("PaymentMethod")
SEARCH_ATTRIBUTES = (ORDER_STATUS, ORDER_TOTAL, FULFILMENT, PAYMENT_METHOD)

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
Name = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Note = Annotated[str, StringConstraints(max_length=500)]
Who = Annotated[str, StringConstraints(min_length=1, max_length=100)]


def workflow_id(order_id: str) -> str:
    """The workflow ID of an order: `order-{id}`."""
    return f"order-{order_id}"


class PizzaChoice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name = Field(description="Pizza name from the menu, any case", examples=["margherita"])
    size: Size = Field(description="small, medium or large, any case")
    toppings: tuple[Name, ...] = Field(default=(), max_length=10, description="Topping names from the menu")
    quantity: StrictInt = Field(default=1, ge=1, le=10)  # a number: "2" or true is a wrong type, refused

    @field_validator("size", mode="before")
    @classmethod
    def _size_any_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


class PlaceOrder(BaseModel):
    """A customer's order as it arrives: the body of POST /api/orders and the workflow's input."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_name: str = Field(min_length=2, max_length=100)
    customer_phone: str = Field(description="E.164, e.g. +15551234567", examples=["+15551234567"])
    customer_address: str | None = Field(default=None, min_length=10, max_length=200)
    fulfilment: Fulfilment = Fulfilment.DELIVERY
    pizzas: tuple[PizzaChoice, ...] = Field(min_length=1, max_length=20)
    payment_method: PaymentMethod
    payment_token: str | None = Field(
        default=None, min_length=1, max_length=255, description="Stripe PaymentMethod id, e.g. pm_card_visa"
    )

    @field_validator("customer_phone")
    @classmethod
    def _e164(cls, value: str) -> str:
        if not E164.match(value):
            raise ValueError("must be an E.164 number such as +15551234567")
        return value

    @model_validator(mode="after")
    def _complete(self) -> "PlaceOrder":
        if self.fulfilment is Fulfilment.DELIVERY and not self.customer_address:
            raise ValueError("customer_address is required for delivery")
        if self.payment_method is PaymentMethod.CARD and not self.payment_token:
            raise ValueError("payment_token is required for card payments")
        return self

    def fingerprint(self) -> str:
        """A digest of the request, to tell a repeat from a different order under one key."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

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


# An order waiting for the kitchen starts a fresh run once its history is this long (or Temporal suggests it).
CONTINUE_AFTER_EVENTS = 2000


class OrderStart(BaseModel):
    """The workflow's input: the request plus what the API decided for it."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    request: PlaceOrder
    kitchen_sla_seconds: int = Field(gt=0)
    # Low enough to stay far from Temporal's limits; high enough that a fresh run never continues at once.
    continue_after_events: int = Field(default=CONTINUE_AFTER_EVENTS, ge=100)
    # Set on every run after the first: the order as the previous run left it.
    carried_over: CarriedOver | None = None


class StaffNote(BaseModel):
    """Payload of the kitchen and cancel signals: who, and why. Both optional; anything else refuses the signal."""

    # Extra fields are kept only to be refused: a signal holding them changes nothing (see OrderWorkflow).
    model_config = ConfigDict(frozen=True, extra="allow")

    by: Who | None = None
    notes: Note | None = None


class KitchenStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: OrderStatus
    by: Who
    notes: Note | None = None


class CancelRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    by: Who
    notes: Note | None = None


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

    @property
    def status(self) -> OrderStatus | None:
        return self.order.status if self.order else None
