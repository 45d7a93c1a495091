"""Customers place, track and cancel orders."""

import asyncio
import time
import uuid
from decimal import Decimal

import pytest

from activities.payments.fake import FakePayments
from tests.api.conftest import (
    assert_problem,
    completed_order,
    eventually,
    get_order,
    manager_headers,
    money,
    move_ok,
    new_key,
    workflow_finished,
)
from tests.conftest import RecordingNotifier, order_body, running_stack
from worker import build_worker

MONEY_FIELDS = ("subtotal", "tax", "delivery_fee", "total")


def charges_for(stack, order_id: str) -> list:
    return [charge for charge in stack.payments.charges if charge[0] == order_id]


def refunds_for(stack, order_id: str) -> list:
    return [refund for refund in stack.payments.refunds if refund[0] == order_id]


# --- placing an order -----------------------------------------------------------------------


async def test_a_card_order_is_confirmed_with_its_totals_worked_out_as_the_contract_says(stack):
    response = await stack.place(key=new_key())

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "confirmed"
    assert response.headers["location"] == f"/api/orders/{order['id']}"
    assert uuid.UUID(order["id"])
    # 2 x large margherita (15.99) with basil (0.75), delivered.
    [line] = order["items"]
    assert (line["pizza"], line["size"], line["toppings"], line["quantity"]) == ("margherita", "large", ["basil"], 2)
    assert money(line["unit_price"]) == Decimal("16.74")
    assert money(line["line_total"]) == Decimal("33.48")
    assert money(order["subtotal"]) == Decimal("33.48")
    assert money(order["tax"]) == Decimal("2.93")  # 33.48 x 0.0875 = 2.9295, half-up
    assert money(order["delivery_fee"]) == Decimal("2.99")
    assert money(order["total"]) == Decimal("39.40")
    assert order["fulfilment"] == "delivery"
    assert order["customer"] == {
        "name": "Ann Example",
        "phone": "+15551234567",
        "address": "1 Main Street, Springfield",
    }
    assert [step["status"] for step in order["history"]] == ["received", "confirmed"]
    assert order["payment"]["method"] == "card"
    assert order["payment"]["transaction_id"]
    assert order["payment"]["refund_id"] is None
    assert order["placed_at"]
    assert charges_for(stack, order["id"]) == [(order["id"], Decimal("39.40"))]


async def test_every_money_amount_of_an_order_is_a_string_with_two_places(stack):
    order = await stack.placed(
        pizzas=[
            {"name": "pepperoni", "size": "small", "toppings": ["olives", "jalapenos"], "quantity": 3},
            {"name": "diavola", "size": "medium"},
        ]
    )

    for name in MONEY_FIELDS:
        money(order[name])
    for line in order["items"]:
        money(line["unit_price"])
        money(line["line_total"])
    # 3 x (11.99 + 1.00 + 1.00) = 41.97; + 15.49 = 57.46; tax 5.03 (5.027750); + 2.99 = 65.48
    assert [money(line["line_total"]) for line in order["items"]] == [Decimal("41.97"), Decimal("15.49")]
    assert money(order["total"]) == Decimal("65.48")


async def test_a_pickup_order_pays_no_delivery_fee_and_needs_no_address(stack):
    body = order_body(fulfilment="pickup")
    del body["customer_address"]

    response = await stack.http.post("/api/orders", json=body)

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["fulfilment"] == "pickup"
    assert order["delivery_fee"] == "0.00"
    assert order["total"] == "36.41"  # 33.48 + 2.93
    assert order["customer"]["address"] is None


async def test_a_cash_order_is_confirmed_without_a_charge(stack):
    order = await stack.placed(payment_method="cash", payment_token=None)

    assert order["status"] == "confirmed"
    assert order["payment"] == {"method": "cash", "transaction_id": None, "refund_id": None}
    assert charges_for(stack, order["id"]) == []


async def test_an_order_may_be_posted_to_the_path_with_a_trailing_slash(stack):
    response = await stack.http.post("/api/orders/", json=order_body())

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "confirmed"
    assert response.headers["location"] == f"/api/orders/{order['id']}"


async def test_pizza_topping_and_size_names_are_matched_in_any_case(stack):
    pizzas = [{"name": "Margherita", "size": "LARGE", "toppings": ["Basil"], "quantity": 2}]

    order = await stack.placed(pizzas=pizzas)

    [line] = order["items"]
    assert (line["pizza"], line["size"], line["toppings"]) == ("margherita", "large", ["basil"])
    assert order["total"] == "39.40"


async def test_a_pizza_line_has_no_toppings_and_a_quantity_of_one_unless_told(stack):
    order = await stack.placed(pizzas=[{"name": "margherita", "size": "small"}])

    [line] = order["items"]
    assert line["toppings"] == []
    assert line["quantity"] == 1
    assert line["unit_price"] == line["line_total"] == "9.99"


# --- declined cards -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeCustomerFail", "generic_decline"),
    ],
)
async def test_a_declined_card_answers_402_charges_nothing_and_leaves_the_order_rejected(stack, token, decline_code):
    response = await stack.place(key=new_key(), payment_token=token)

    problem = assert_problem(response, 402)
    assert problem["decline_code"] == decline_code
    order_id = problem["order_id"]
    assert charges_for(stack, order_id) == []
    assert (await get_order(stack, order_id))["status"] == "rejected"
    assert charges_for(stack, order_id) == []


# --- refused requests -----------------------------------------------------------------------


async def test_an_unknown_pizza_is_refused_naming_it(stack):
    response = await stack.place(pizzas=[{"name": "calzone_supreme", "size": "large"}])

    assert "calzone_supreme" in assert_problem(response, 422)["detail"]


async def test_an_unknown_topping_is_refused_naming_it(stack):
    response = await stack.place(pizzas=[{"name": "margherita", "size": "large", "toppings": ["pineapple_chunks"]}])

    assert "pineapple_chunks" in assert_problem(response, 422)["detail"]


async def test_an_unknown_size_is_refused_naming_the_size(stack):
    response = await stack.place(pizzas=[{"name": "margherita", "size": "family"}])

    assert "size" in assert_problem(response, 422)["detail"]


async def test_a_pizza_the_manager_made_unavailable_is_refused_naming_it(stack):
    made_unavailable = await stack.http.put(
        "/api/menu/pizzas/hawaiian", json={"available": False}, headers=manager_headers()
    )
    assert made_unavailable.status_code == 200, made_unavailable.text
    try:
        response = await stack.place(pizzas=[{"name": "hawaiian", "size": "medium"}])

        problem = assert_problem(response, 422)
        assert "hawaiian" in problem["detail"]
        assert "available" in problem["detail"]
    finally:
        restored = await stack.http.put(
            "/api/menu/pizzas/hawaiian", json={"available": True}, headers=manager_headers()
        )
        assert restored.status_code == 200, restored.text


async def test_a_body_that_is_not_json_is_refused_with_422(stack):
    response = await stack.http.post(
        "/api/orders", content=b'{"customer_name": "Ann", ', headers={"Content-Type": "application/json"}
    )

    assert "JSON" in assert_problem(response, 422)["detail"]


def _without(field: str) -> dict:
    body = order_body()
    del body[field]
    return body


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param(order_body(customer_name=42), "customer_name", id="name-not-a-string"),
        pytest.param(order_body(pizzas="margherita"), "pizzas", id="pizzas-not-a-list"),
        pytest.param(
            order_body(pizzas=[{"name": "margherita", "size": "large", "quantity": "two"}]),
            "quantity",
            id="quantity-not-a-number",
        ),
        pytest.param(order_body(fulfilment="drone"), "fulfilment", id="unknown-fulfilment"),
        pytest.param(order_body(payment_method="bitcoin"), "payment_method", id="unknown-payment-method"),
        pytest.param(_without("customer_name"), "customer_name", id="missing-name"),
        pytest.param(_without("customer_phone"), "customer_phone", id="missing-phone"),
        pytest.param(_without("pizzas"), "pizzas", id="missing-pizzas"),
        pytest.param(_without("payment_method"), "payment_method", id="missing-payment-method"),
        pytest.param(order_body(pizzas=[{"name": "margherita", "quantity": 1}]), "size", id="missing-size-of-a-pizza"),
        pytest.param(order_body(tip="5.00"), "tip", id="extra-field"),
        pytest.param(
            order_body(pizzas=[{"name": "margherita", "size": "large", "crust": "thin"}]),
            "crust",
            id="extra-field-in-a-pizza",
        ),
        pytest.param(order_body(customer_phone="555-1234"), "customer_phone", id="phone-not-e164"),
        pytest.param(order_body(customer_phone="15551234567"), "customer_phone", id="phone-without-plus"),
        pytest.param(order_body(customer_address=None), "customer_address", id="delivery-without-address"),
        pytest.param(_without("customer_address"), "customer_address", id="delivery-with-address-left-out"),
        pytest.param(order_body(payment_token=None), "payment_token", id="card-without-token"),
        pytest.param(order_body(pizzas=[]), "pizzas", id="no-pizzas"),
        pytest.param(
            order_body(pizzas=[{"name": "margherita", "size": "small"}] * 21), "pizzas", id="twenty-one-pizzas"
        ),
        pytest.param(
            order_body(pizzas=[{"name": "margherita", "size": "small", "quantity": 0}]), "quantity", id="quantity-0"
        ),
        pytest.param(
            order_body(pizzas=[{"name": "margherita", "size": "small", "quantity": 11}]),
            "quantity",
            id="quantity-11",
        ),
        pytest.param(order_body(customer_name="A"), "customer_name", id="name-of-one-char"),
        pytest.param(order_body(customer_name="A" * 101), "customer_name", id="name-of-101-chars"),
        pytest.param(order_body(customer_address="1 Main St"), "customer_address", id="address-of-9-chars"),
    ],
)
async def test_a_malformed_order_is_refused_with_422_naming_what_is_wrong(stack, body, named):
    response = await stack.http.post("/api/orders", json=body)

    assert named in assert_problem(response, 422)["detail"]


async def test_the_limits_themselves_are_accepted(stack):
    order = await stack.placed(
        customer_name="Al",
        customer_address="10 chars!!",
        pizzas=[{"name": "margherita", "size": "small", "quantity": 10}] + [{"name": "diavola", "size": "small"}] * 19,
    )

    assert order["status"] == "confirmed"
    assert len(order["items"]) == 20


async def test_a_refused_order_is_never_charged(stack):
    before = len(stack.payments.charges)

    response = await stack.place(key=new_key(), pizzas=[{"name": "calzone_supreme", "size": "large"}])

    assert_problem(response, 422)
    assert len(stack.payments.charges) == before


# --- idempotency ----------------------------------------------------------------------------


async def test_the_same_key_and_body_twice_give_the_same_order_charged_once(stack):
    key = new_key()

    first = await stack.place(key=key)
    second = await stack.place(key=key)

    assert first.status_code == 201, first.text
    assert second.status_code == 200, second.text  # a repeat: the order was placed by the first
    assert second.headers["location"] == first.headers["location"]
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["total"] == first.json()["total"]
    assert len(charges_for(stack, first.json()["id"])) == 1


async def test_concurrent_requests_with_one_key_place_one_order(stack):
    key = new_key()

    answers = await asyncio.gather(*(stack.place(key=key) for _ in range(3)))

    assert sorted(a.status_code for a in answers) == [200, 200, 201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(charges_for(stack, answers[0].json()["id"])) == 1


async def test_the_same_key_with_a_different_body_is_a_conflict(stack):
    key = new_key()
    first = await stack.place(key=key)
    assert first.status_code == 201, first.text

    response = await stack.place(key=key, customer_name="Bob Other")

    assert_problem(response, 409)
    assert len(charges_for(stack, first.json()["id"])) == 1


async def test_a_key_of_a_completed_order_still_answers_that_order_and_never_charges_again(stack):
    key = new_key()
    first = await stack.place(key=key)
    assert first.status_code == 201, first.text
    order_id = first.json()["id"]
    for status in ("preparing", "ready", "completed"):
        await move_ok(stack, order_id, status)
    await workflow_finished(stack, order_id)

    again = await stack.place(key=key)
    different = await stack.place(key=key, customer_name="Bob Other")

    assert again.status_code == 200, again.text
    assert again.json()["id"] == order_id
    assert_problem(different, 409)
    assert len(charges_for(stack, order_id)) == 1


async def test_a_key_of_a_cancelled_order_still_answers_that_order_and_never_charges_again(stack):
    key = new_key()
    first = await stack.place(key=key)
    assert first.status_code == 201, first.text
    order_id = first.json()["id"]
    cancelled = await stack.http.post(f"/api/orders/{order_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    await workflow_finished(stack, order_id)

    again = await stack.place(key=key)
    different = await stack.place(key=key, pizzas=[{"name": "diavola", "size": "small"}])

    assert again.status_code == 200, again.text
    assert again.json()["id"] == order_id
    assert_problem(different, 409)
    assert len(charges_for(stack, order_id)) == 1
    assert len(refunds_for(stack, order_id)) == 1


async def test_a_declined_attempt_repeated_with_its_key_is_declined_again_and_never_charged(stack):
    key = new_key()

    first = await stack.place(key=key, payment_token="pm_card_chargeDeclined")
    await workflow_finished(stack, assert_problem(first, 402)["order_id"])
    second = await stack.place(key=key, payment_token="pm_card_chargeDeclined")

    problem = assert_problem(second, 402)
    assert problem["order_id"] == assert_problem(first, 402)["order_id"]
    assert problem["decline_code"] == "generic_decline"
    assert charges_for(stack, problem["order_id"]) == []


async def test_an_invalid_attempt_repeated_with_its_key_is_refused_again(stack):
    key = new_key()
    pizzas = [{"name": "calzone_supreme", "size": "large"}]

    first = await stack.place(key=key, pizzas=pizzas)
    second = await stack.place(key=key, pizzas=pizzas)

    assert "calzone_supreme" in assert_problem(first, 422)["detail"]
    assert "calzone_supreme" in assert_problem(second, 422)["detail"]


@pytest.mark.parametrize("key", ["", "k" * 256], ids=["empty", "256-chars"])
async def test_an_idempotency_key_that_is_empty_or_too_long_is_refused(stack, key):
    response = await stack.http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": key})

    assert "Idempotency-Key".lower() in assert_problem(response, 422)["detail"].lower()


async def test_an_idempotency_key_of_255_chars_is_accepted(stack):
    response = await stack.place(key=f"{uuid.uuid4()}".ljust(255, "k"))

    assert response.status_code == 201, response.text


# --- reading an order -----------------------------------------------------------------------


async def test_an_order_reads_back_as_it_moves_through_the_kitchen(stack):
    order = await stack.placed()
    order_id = order["id"]

    assert (await get_order(stack, order_id)) == order
    for status in ("preparing", "ready", "completed"):
        await move_ok(stack, order_id, status)
        read = await get_order(stack, order_id)
        assert read["status"] == status
        assert read["history"][-1]["status"] == status
        assert read["total"] == order["total"]
    await workflow_finished(stack, order_id)
    finished = await get_order(stack, order_id)
    assert finished["status"] == "completed"
    assert [step["status"] for step in finished["history"]] == [
        "received",
        "confirmed",
        "preparing",
        "ready",
        "completed",
    ]


@pytest.mark.parametrize("order_id", [str(uuid.uuid4()), "not-a-uuid", "12345"])
async def test_an_order_that_does_not_exist_is_a_404_problem(stack, order_id):
    response = await stack.http.get(f"/api/orders/{order_id}")

    assert_problem(response, 404)


# --- cancelling -----------------------------------------------------------------------------


async def test_a_confirmed_card_order_is_cancelled_and_refunded_once(stack):
    order = await stack.placed()

    response = await stack.http.post(f"/api/orders/{order['id']}/cancel", json={"reason": "changed my mind"})

    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["payment"]["refund_id"]
    assert cancelled["history"][-1]["status"] == "cancelled"
    assert cancelled["history"][-1]["notes"] == "changed my mind"
    assert refunds_for(stack, order["id"]) == [(order["id"], Decimal(order["total"]))]
    assert (await get_order(stack, order["id"]))["status"] == "cancelled"


async def test_an_order_may_be_cancelled_without_a_body(stack):
    order = await stack.placed()

    response = await stack.http.post(f"/api/orders/{order['id']}/cancel")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert len(refunds_for(stack, order["id"])) == 1


async def test_an_order_in_preparation_may_still_be_cancelled(stack):
    order = await stack.placed()
    await move_ok(stack, order["id"], "preparing")

    response = await stack.http.post(f"/api/orders/{order['id']}/cancel", json={})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["payment"]["refund_id"]
    assert len(refunds_for(stack, order["id"])) == 1


async def test_a_cancelled_cash_order_has_nothing_to_refund(stack):
    order = await stack.placed(payment_method="cash", payment_token=None)

    response = await stack.http.post(f"/api/orders/{order['id']}/cancel")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["payment"]["refund_id"] is None
    assert refunds_for(stack, order["id"]) == []


async def test_a_ready_order_can_no_longer_be_cancelled(stack):
    order = await stack.placed()
    await move_ok(stack, order["id"], "preparing")
    await move_ok(stack, order["id"], "ready")

    response = await stack.http.post(f"/api/orders/{order['id']}/cancel")

    assert_problem(response, 409)
    assert refunds_for(stack, order["id"]) == []
    assert (await get_order(stack, order["id"]))["status"] == "ready"


async def test_a_completed_order_can_no_longer_be_cancelled(stack):
    order = await completed_order(stack)

    response = await stack.http.post(f"/api/orders/{order['id']}/cancel")

    assert_problem(response, 409)
    assert refunds_for(stack, order["id"]) == []


async def test_a_cancelled_order_cannot_be_cancelled_again(stack):
    order = await stack.placed()
    first = await stack.http.post(f"/api/orders/{order['id']}/cancel")
    assert first.status_code == 200, first.text
    await workflow_finished(stack, order["id"])

    again = await stack.http.post(f"/api/orders/{order['id']}/cancel")

    assert_problem(again, 409)
    assert len(refunds_for(stack, order["id"])) == 1


async def test_a_rejected_order_cannot_be_cancelled(stack):
    problem = assert_problem(await stack.place(payment_token="pm_card_chargeDeclined"), 402)

    response = await stack.http.post(f"/api/orders/{problem['order_id']}/cancel")

    problem = assert_problem(response, 409)
    assert problem["detail"] == "an order that is rejected cannot be cancelled"


@pytest.mark.parametrize("order_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_cancelling_an_order_that_does_not_exist_is_a_404(stack, order_id):
    response = await stack.http.post(f"/api/orders/{order_id}/cancel")

    assert_problem(response, 404)


# --- what the customer is told --------------------------------------------------------------


async def test_the_customer_is_texted_when_the_order_is_confirmed_and_when_it_is_ready(stack):
    order = await completed_order(stack)
    short = order["id"][:8]

    texts = await eventually(lambda: _texts(stack, order["id"], 2))

    assert "confirmed" in texts[0]
    assert all(short in text for text in texts)
    assert any(word in texts[1] for word in ("out of the oven", "ready"))


async def test_the_customer_is_texted_when_the_order_is_cancelled(stack):
    order = await stack.placed()
    response = await stack.http.post(f"/api/orders/{order['id']}/cancel")
    assert response.status_code == 200, response.text

    texts = await eventually(lambda: _texts(stack, order["id"], 2))

    assert "confirmed" in texts[0]
    assert "cancelled" in texts[1]
    assert all(order["id"][:8] in text for text in texts)
    assert all(phone == "+15551234567" for phone, text in stack.texts.sent if order["id"][:8] in text)


async def _texts(stack, order_id: str, count: int) -> list[str] | None:
    texts = stack.texts.texts_for(order_id)
    return texts if len(texts) >= count else None


# --- without a worker -----------------------------------------------------------------------


async def test_without_a_worker_an_order_answers_503_and_repeating_it_later_places_it_once(temporal_env, database_url):
    key = new_key()
    async with running_stack(temporal_env, database_url, worker=False, confirm_timeout_seconds=1.5) as alone:
        started = time.monotonic()
        response = await alone.place(key=key)
        waited = time.monotonic() - started

        problem = assert_problem(response, 503)
        assert waited < 5, f"answered after {waited:.1f} s"
        assert int(response.headers["retry-after"]) > 0
        assert problem["order_id"] in problem["detail"]

        payments = FakePayments()
        async with build_worker(alone.client, alone.settings, payments, RecordingNotifier()):
            repeated = await eventually(lambda: _placed_or_none(alone, key), timeout=15)

            assert repeated.status_code == 200, repeated.text  # the first attempt placed it
            order = repeated.json()
            assert order["status"] == "confirmed"
            assert order["id"] == problem["order_id"]
            assert [charge[0] for charge in payments.charges] == [order["id"]]
            cancelled = await alone.http.post(f"/api/orders/{order['id']}/cancel")
            assert cancelled.status_code == 200, cancelled.text


async def _placed_or_none(stack, key: str):
    response = await stack.place(key=key)
    return None if response.status_code == 503 else response
