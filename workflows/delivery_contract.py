"""What an order's workflow and its DeliveryWorkflow agree on: the child's input, the news it is sent, its result."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.order import Order
from workflows.text_types import KeptNote, KeptWho


class DeliveryNews(StrEnum):
    """The signals an order sends its delivery, named for what happened to the order."""

    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    FAILED = "delivery_failed"
    # The kitchen completed the order straight from ready: no driver will come.
    HANDED_OVER = "handed_over"


class DeliveryOutcome(StrEnum):
    """How a delivery ended (the DeliveryOutcome search attribute)."""

    DELIVERED = "delivered"
    FAILED = "failed"
    HANDED_OVER = "handed_over"


ENDS = {
    DeliveryNews.DELIVERED: DeliveryOutcome.DELIVERED,
    DeliveryNews.FAILED: DeliveryOutcome.FAILED,
    DeliveryNews.HANDED_OVER: DeliveryOutcome.HANDED_OVER,
}


class DeliveryStart(BaseModel):
    """The delivery's input: the order as it stood when ready (its id and the customer's phone for the texts)."""

    model_config = ConfigDict(frozen=True)

    order: Order
    pickup_sla_seconds: int = Field(gt=0)


class DeliveryNote(BaseModel):
    """Who made the step, and their note (a failed delivery's reason)."""

    model_config = ConfigDict(frozen=True)

    by: KeptWho
    notes: KeptNote | None = None


class DeliveryReport(BaseModel):
    """The delivery's result: how it ended, by whom, and whether it waited past the pickup promise."""

    model_config = ConfigDict(frozen=True)

    outcome: DeliveryOutcome
    dispatch_late: bool
    driver: str | None = None
