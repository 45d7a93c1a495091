"""What clients send and get back, and how a body becomes the workflow's input.

The bodies here are the HTTP API's own: a field may be added to them freely. What Temporal keeps is
workflows.order_contract.OrderRequest, built from a body by `order_request` alone.
"""

import dataclasses
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

from domain.menu import Size
from domain.order import Order, PaymentMethod
from domain.pricing import Fulfilment
from domain.text import NOTE
from workflows.order_contract import OrderRequest, PizzaChoice
from workflows.text_types import Address, CustomerName, MenuName, Note, PaymentToken, Phone


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class PizzaLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: MenuName = Field(description="Pizza name from the menu, any case", examples=["margherita"])
    size: Annotated[Size, BeforeValidator(_lower)] = Field(description="small, medium or large, any case")
    toppings: tuple[MenuName, ...] = Field(default=(), max_length=10, description="Topping names from the menu")
    quantity: StrictInt = Field(default=1, ge=1, le=10)  # a number: "2" or true is a wrong type, refused


class PlaceOrder(BaseModel):
    """The body of POST /api/orders.

    Text is kept exactly as sent, spaces at either end included; lengths count Unicode code points. Control
    characters (NUL among them) and lone surrogates are refused, except line breaks and tabs in the address;
    a blank name or address is refused.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_name: CustomerName
    customer_phone: Phone
    customer_address: Address | None = None
    fulfilment: Fulfilment = Fulfilment.DELIVERY
    pizzas: tuple[PizzaLine, ...] = Field(min_length=1, max_length=20)
    payment_method: PaymentMethod
    payment_token: PaymentToken | None = None

    @model_validator(mode="after")
    def _complete(self) -> "PlaceOrder":
        if self.fulfilment is Fulfilment.DELIVERY and not self.customer_address:
            raise ValueError("customer_address is required for delivery")
        if self.payment_method is PaymentMethod.CARD and not self.payment_token:
            raise ValueError("payment_token is required for card payments")
        return self


def order_request(body: PlaceOrder) -> OrderRequest:
    """The workflow's input for a placed order: field by field, so an API field never reaches a history unasked."""
    return OrderRequest(
        customer_name=body.customer_name,
        customer_phone=body.customer_phone,
        customer_address=body.customer_address,
        fulfilment=body.fulfilment,
        pizzas=tuple(
            PizzaChoice(name=line.name, size=line.size, toppings=line.toppings, quantity=line.quantity)
            for line in body.pizzas
        ),
        payment_method=body.payment_method,
        payment_token=body.payment_token,
    )


class CancelBody(BaseModel):
    """The body of POST /api/orders/{id}/cancel."""

    model_config = ConfigDict(extra="forbid")

    reason: Note | None = None


class StatusChange(BaseModel):
    """The body of PUT /api/kitchen/orders/{id}/status."""

    model_config = ConfigDict(extra="forbid")

    status: Annotated[Literal["preparing", "ready", "completed"], BeforeValidator(_lower)]
    notes: Note | None = None


# A driver's reason is a note that must say something.
REASON = dataclasses.replace(NOTE, min_length=1, blank=False)


def _reason(value: str) -> str:
    if problem := REASON.problem(value):
        raise ValueError(problem)
    return value


class NoBody(BaseModel):
    """The body of a driver's pickup or delivered: none, or an empty object."""

    model_config = ConfigDict(extra="forbid")


class FailedDelivery(BaseModel):
    """The body of POST /api/deliveries/{id}/failed."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[
        str, StringConstraints(min_length=REASON.min_length, max_length=REASON.max_length), AfterValidator(_reason)
    ] = Field(
        description="Why it could not be delivered: 1-500 characters, not blank, line breaks and tabs allowed",
        examples=["nobody answered the door"],
    )


class OrderPage(BaseModel):
    """A page of stored orders, newest first."""

    orders: list[Order]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")
