"""The workflow's input: what every history holds, so its fingerprint and shape never move."""

import json

import pytest

from domain.order import PaymentMethod
from domain.pricing import Fulfilment
from workflows.order_contract import OrderRequest, OrderResult, OrderStart, PizzaChoice

ANN = OrderRequest(
    customer_name="Ann Example",
    customer_phone="+15551234567",
    customer_address="1 Main Street, Springfield",
    pizzas=(
        PizzaChoice(name="Margherita", size="large", toppings=("basil", "olives"), quantity=2),
        PizzaChoice(name="diavola", size="small"),
    ),
    payment_method=PaymentMethod.CARD,
    payment_token="pm_card_visa",
)
ZOE = OrderRequest(
    customer_name='Zoë 👨‍👩‍👧‍👦 "Q" \\ / ünï',
    customer_phone="+4915112345678",
    fulfilment=Fulfilment.PICKUP,
    pizzas=(PizzaChoice(name="quattro_formaggi", size="medium"),),
    payment_method=PaymentMethod.CASH,
)
BOB = OrderRequest(
    customer_name="  Bob  ",
    customer_phone="+15550001111",
    customer_address="Line 1\nLine 2\tTabbed \u2028 sep",
    pizzas=(PizzaChoice(name="x", size="small", quantity=10),),
    payment_method=PaymentMethod.CARD,
    payment_token="pm_card_mastercard",
)


# Digests computed by the release before the API's body and the workflow's input were parted (sha256 of the
# input's own JSON then): a repeat of an order placed before must still be recognised, never a 409.
@pytest.mark.parametrize(
    ("request_", "fingerprint"),
    [
        (ANN, "07351f7503564438dde1515091c110b85ddb8def8810dc96a42f3c040ad0c561"),
        (ZOE, "2e56091141594a18b9d1634c8d5d2fcfebe59f5b8ae7a3e3309bf3b71693708a"),
        (BOB, "0919245dccf4c4c6594f50e7e91b4e26ef942e5907aaa55470f9afa293190323"),
    ],
    ids=["delivery-card", "pickup-cash-unicode", "spaces-and-line-breaks"],
)
def test_the_fingerprint_of_a_request_is_the_one_orders_placed_before_keep(request_, fingerprint):
    assert request_.fingerprint() == fingerprint


def test_a_field_the_input_gains_later_leaves_the_fingerprint_alone():
    class Grown(OrderRequest):
        # A field the saga might gain one day: not one of the canonical fields.
        note_for_the_driver: str | None = None

    grown = Grown(**ANN.model_dump(), note_for_the_driver="ring twice")

    assert grown.fingerprint() == ANN.fingerprint()


def test_different_orders_have_different_fingerprints():
    assert len({ANN.fingerprint(), ZOE.fingerprint(), BOB.fingerprint()}) == 3
    assert ANN.model_copy(update={"customer_name": "Bob Other"}).fingerprint() != ANN.fingerprint()


def test_an_input_recorded_in_a_history_decodes_to_the_same_request():
    recorded = json.dumps(
        {
            "order_id": "0b5d2d5e-8f0c-4f9a-9c66-4c3a2b1d0e9f",
            "request": json.loads(ANN.model_dump_json()),
            "kitchen_sla_seconds": 2700,
        }
    )

    start = OrderStart.model_validate_json(recorded)

    assert start.request == ANN
    assert json.loads(start.request.model_dump_json()) == json.loads(recorded)["request"]


def test_a_result_recorded_before_creators_were_told_decodes_as_no_creator():
    assert OrderResult.model_validate({"fingerprint": "f"}).creator is False
