"""Placing, reading and cancelling orders, as the routers answer them: status codes, problems, headers."""

import inspect
import uuid

import pytest

from api.gateway import OrderGateway
from tests.api.conftest import assert_problem
from tests.api.routers.fake_gateway import FakeGateway
from tests.conftest import order_body
from workflows.order_contract import Rejection


async def place(shop, key: str | None = None, **changes: object):
    headers = {"Idempotency-Key": key} if key else {}
    return await shop.http.post("/api/orders", json=order_body(**changes), headers=headers)


def test_the_fake_gateway_offers_what_the_routers_use_of_the_real_one():
    public = {name for name, _ in inspect.getmembers(OrderGateway, inspect.iscoroutinefunction) if name[0] != "_"}
    for name in public:
        real = inspect.signature(getattr(OrderGateway, name))
        assert inspect.signature(getattr(FakeGateway, name)).parameters.keys() == real.parameters.keys(), name


async def test_the_request_that_places_an_order_gets_201_and_where_it_lives(shop):
    response = await place(shop, "k-1")

    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/api/orders/{response.json()['id']}"
    assert response.json()["status"] == "confirmed"


async def test_a_repeat_with_the_same_key_gets_the_same_order_with_200(shop):
    first = await place(shop, "k-2")

    again = await place(shop, "k-2")

    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]


async def test_the_same_key_with_another_body_is_a_409_conflict(shop):
    await place(shop, "k-3")

    problem = assert_problem(await place(shop, "k-3", customer_name="Bob Other"), 409)

    assert problem["type"] == "/problems/idempotency-conflict"


async def test_a_declined_card_is_a_402_naming_the_order_and_the_same_402_when_repeated(shop):
    shop.gateway.next_rejection = Rejection(kind="declined", detail="Your card was declined.", decline_code="x")

    first = assert_problem(await place(shop, "k-4"), 402)
    again = assert_problem(await place(shop, "k-4"), 402)

    assert first == again
    assert first["decline_code"] == "x" and first["order_id"] == shop.gateway.ids.new("k-4")
    assert "nothing was charged" in first["detail"]


async def test_an_order_the_menu_does_not_offer_is_a_422_with_the_workflows_reason(shop):
    shop.gateway.next_rejection = Rejection(kind="invalid", detail="unknown pizza 'calzone'")

    problem = assert_problem(await place(shop), 422)

    assert problem["detail"] == "unknown pizza 'calzone'"
    assert problem["type"] == "/problems/invalid-order"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"pizzas": [{"name": "margherita", "size": "large", "toppings": ["basil", "\x00"]}]}, "pizzas[0].toppings[1]"),
        ({"customer_name": "   "}, "customer_name"),
        ({"customer_phone": "+15551234567\n"}, "customer_phone"),
        ({"customer_address": None}, "body"),
        ({"payment_token": None}, "body"),
    ],
    ids=["nul-in-topping", "blank-name", "phone-with-a-line-break", "delivery-without-address", "card-without-token"],
)
async def test_a_malformed_body_is_a_422_naming_its_field_and_never_reaches_temporal(shop, changes, field):
    problem = assert_problem(await place(shop, "k-5", **changes), 422)

    assert [error["field"] for error in problem["errors"]] == [field]
    assert shop.gateway.calls == []


async def test_while_temporal_is_down_a_placement_is_a_503_naming_its_order_and_when_to_come_back(shop):
    shop.gateway.down = True

    response = await place(shop, "k-6")

    problem = assert_problem(response, 503)
    assert response.headers["retry-after"].isdigit()
    assert problem["order_id"] == shop.gateway.ids.new("k-6")


async def test_an_order_is_read_from_its_workflow(shop):
    order = (await place(shop)).json()

    response = await shop.http.get(f"/api/orders/{order['id']}")

    assert response.status_code == 200 and response.json() == order


@pytest.mark.parametrize("order_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_reading_an_unknown_order_is_a_404(shop, order_id):
    problem = assert_problem(await shop.http.get(f"/api/orders/{order_id}"), 404)

    assert problem["type"] == "/problems/unknown-order"


async def test_while_temporal_is_down_a_stored_order_is_read_from_the_store_and_another_is_a_503(shop):
    order = (await place(shop)).json()
    shop.orders.saved[order["id"]] = shop.gateway.results[order["id"]].order
    shop.gateway.down = True

    stored = await shop.http.get(f"/api/orders/{order['id']}")
    unknown = await shop.http.get(f"/api/orders/{uuid.uuid4()}")

    assert stored.status_code == 200 and stored.json()["status"] == "confirmed"
    assert assert_problem(unknown, 503)["type"] == "/problems/unavailable"
    assert unknown.headers["retry-after"].isdigit()


async def test_cancelling_answers_the_cancelled_order_and_a_second_cancel_is_a_409(shop):
    order = (await place(shop)).json()

    cancelled = await shop.http.post(f"/api/orders/{order['id']}/cancel", json={"reason": "changed my mind"})
    again = await shop.http.post(f"/api/orders/{order['id']}/cancel")

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["payment"]["refund_id"] == "re_fake"
    problem = assert_problem(again, 409)
    assert problem["detail"] == "an order that is cancelled cannot be cancelled"
    assert problem["order_id"] == order["id"]


async def test_cancelling_a_rejected_order_is_a_409(shop):
    shop.gateway.next_rejection = Rejection(kind="declined", detail="Your card was declined.")
    rejected = assert_problem(await place(shop), 402)

    problem = assert_problem(await shop.http.post(f"/api/orders/{rejected['order_id']}/cancel"), 409)

    assert problem["detail"] == "an order that is rejected cannot be cancelled"


async def test_cancelling_an_order_temporal_no_longer_keeps_is_a_409_from_its_stored_status(shop):
    order = (await place(shop)).json()
    kept = shop.gateway.results.pop(order["id"]).order  # past Temporal's retention; the database keeps it
    assert kept is not None
    kept.cancel(kept.placed_at, "customer", None, None)  # type: ignore[arg-type]
    shop.orders.saved[order["id"]] = kept

    problem = assert_problem(await shop.http.post(f"/api/orders/{order['id']}/cancel"), 409)

    assert problem["detail"] == "an order that is cancelled cannot be cancelled"


@pytest.mark.parametrize("order_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_cancelling_an_unknown_order_is_a_404(shop, order_id):
    assert_problem(await shop.http.post(f"/api/orders/{order_id}/cancel"), 404)


async def test_the_openapi_document_says_201_for_a_placement_and_200_for_a_repeat(shop):
    document = (await shop.http.get("/openapi.json")).json()

    responses = document["paths"]["/api/orders"]["post"]["responses"]

    assert responses["201"]["description"] == "The order this request placed"
    assert "repeat" in responses["200"]["description"]
    for status in ("201", "200"):
        assert responses[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Order"}
    assert {"402", "409", "422", "503"} <= responses.keys()
