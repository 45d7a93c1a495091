"""The drivers' routes, as the routers answer them: who may call them, what bodies they take, their problems."""

import uuid

import pytest

from api.auth import DRIVER, KITCHEN, MANAGER
from tests.api.conftest import assert_problem
from tests.conftest import order_body, staff_headers

TOAD, YOSHI = staff_headers(DRIVER, sub="toad"), staff_headers(DRIVER, sub="yoshi")


async def ready(shop, **changes: object) -> str:
    """A placed order the kitchen made ready."""
    response = await shop.http.post("/api/orders", json=order_body(**changes))
    assert response.status_code == 201, response.text
    order_id = response.json()["id"]
    for status in ("preparing", "ready"):
        moved = await shop.http.put(
            f"/api/kitchen/orders/{order_id}/status", json={"status": status}, headers=staff_headers(KITCHEN)
        )
        assert moved.status_code == 200, moved.text
    return order_id


async def out_with_toad(shop) -> str:
    order_id = await ready(shop)
    response = await shop.http.post(f"/api/deliveries/{order_id}/pickup", headers=TOAD)
    assert response.status_code == 200, response.text
    return order_id


# --- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "step", "body"),
    [("GET", "", None), ("POST", "/pickup", None), ("POST", "/delivered", None), ("POST", "/failed", {"reason": "x"})],
)
async def test_without_a_token_it_is_a_401_and_a_kitchen_token_is_a_403(shop, method, step, body):
    path = "/api/deliveries" if not step else f"/api/deliveries/{await ready(shop)}{step}"
    calls_before = list(shop.gateway.calls)

    missing = await shop.http.request(method, path, json=body)
    kitchen = await shop.http.request(method, path, json=body, headers=staff_headers(KITCHEN))

    assert assert_problem(missing, 401)["type"] == "/problems/unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert assert_problem(kitchen, 403)["detail"] == "this needs the driver role"
    assert shop.gateway.calls == calls_before  # neither reached the order
    assert shop.orders.drivers_asking == []


async def test_a_driver_sees_the_list_for_their_own_name(shop):
    order_id = await out_with_toad(shop)
    shop.orders.saved[order_id] = await shop.gateway.current(order_id)

    toads = await shop.http.get("/api/deliveries", headers=TOAD)
    yoshis = await shop.http.get("/api/deliveries", headers=YOSHI)

    assert toads.status_code == 200, toads.text
    assert [order["id"] for order in toads.json()] == [order_id]
    assert toads.json()[0]["delivery"]["driver"] == "toad"
    assert yoshis.json() == []
    assert shop.orders.drivers_asking == ["toad", "yoshi"]


async def test_a_manager_may_do_a_drivers_work(shop):
    order_id = await ready(shop)
    mario = staff_headers(MANAGER, sub="mario")

    listed = await shop.http.get("/api/deliveries", headers=mario)
    picked = await shop.http.post(f"/api/deliveries/{order_id}/pickup", headers=mario)
    delivered = await shop.http.post(f"/api/deliveries/{order_id}/delivered", headers=mario)

    assert listed.status_code == 200, listed.text
    assert picked.status_code == 200, picked.text
    assert picked.json()["delivery"]["driver"] == "mario"
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["status"] == "completed"


# --- the steps ----------------------------------------------------------------------------


async def test_a_pickup_answers_the_order_out_for_delivery_with_the_tokens_driver(shop):
    order_id = await ready(shop)

    response = await shop.http.post(f"/api/deliveries/{order_id}/pickup", headers=TOAD)

    assert response.status_code == 200, response.text
    order = response.json()
    assert order["status"] == "out_for_delivery"
    assert order["delivery"] == {
        "driver": "toad", "picked_up_at": order["history"][-1]["at"], "delivered_at": None, "failure": None
    }  # fmt: skip
    assert order["history"][-1]["by"] == "toad"


async def test_an_order_another_driver_has_is_a_403_naming_them_and_stays_theirs(shop):
    order_id = await out_with_toad(shop)

    delivered = assert_problem(await shop.http.post(f"/api/deliveries/{order_id}/delivered", headers=YOSHI), 403)
    failed = await shop.http.post(f"/api/deliveries/{order_id}/failed", json={"reason": "lost"}, headers=YOSHI)

    assert delivered["type"] == "/problems/another-drivers-delivery"
    assert delivered["detail"] == "driver toad has this delivery"
    assert delivered["order_id"] == order_id
    assert assert_problem(failed, 403)["type"] == "/problems/another-drivers-delivery"
    assert (await shop.gateway.current(order_id)).status == "out_for_delivery"


async def test_a_failed_delivery_answers_the_order_cancelled_with_the_reason_and_the_refund(shop):
    order_id = await out_with_toad(shop)

    response = await shop.http.post(
        f"/api/deliveries/{order_id}/failed", json={"reason": "nobody at the door"}, headers=TOAD
    )

    assert response.status_code == 200, response.text
    order = response.json()
    assert order["status"] == "cancelled"
    assert order["delivery"]["failure"] == "nobody at the door"
    assert order["payment"]["refund_id"] == "re_fake"


async def test_a_pickup_of_an_order_that_is_not_ready_is_a_409_saying_why(shop):
    response = await shop.http.post("/api/orders", json=order_body())
    order_id = response.json()["id"]

    problem = assert_problem(await shop.http.post(f"/api/deliveries/{order_id}/pickup", headers=TOAD), 409)

    assert problem["detail"] == "an order that is confirmed cannot become out_for_delivery"
    assert problem["order_id"] == order_id


async def test_delivering_an_order_no_driver_has_is_a_409(shop):
    order_id = await ready(shop)

    problem = assert_problem(await shop.http.post(f"/api/deliveries/{order_id}/delivered", headers=TOAD), 409)

    assert "not out for delivery" in problem["detail"]


@pytest.mark.parametrize("step", ["pickup", "delivered", "failed"])
@pytest.mark.parametrize("order_id", [str(uuid.uuid4()), "not-a-uuid", "x" * 300])
async def test_a_step_for_an_unknown_order_is_a_404(shop, step, order_id):
    body = {"reason": "lost"} if step == "failed" else None

    problem = assert_problem(await shop.http.post(f"/api/deliveries/{order_id}/{step}", json=body, headers=TOAD), 404)

    assert problem["type"] == "/problems/unknown-order"


async def test_a_step_for_an_order_that_finished_long_ago_is_a_409_naming_its_status(shop):
    order_id = await out_with_toad(shop)
    delivered = await shop.http.post(f"/api/deliveries/{order_id}/delivered", headers=TOAD)
    shop.orders.saved[order_id] = await shop.gateway.current(order_id)
    del shop.gateway.results[order_id]  # Temporal no longer keeps it; the database does

    problem = assert_problem(await shop.http.post(f"/api/deliveries/{order_id}/delivered", headers=TOAD), 409)

    assert delivered.status_code == 200
    assert problem["detail"] == "an order that is completed cannot be delivered"


async def test_while_temporal_is_down_a_step_is_a_503_with_retry_after(shop):
    order_id = await ready(shop)
    shop.gateway.down = True

    response = await shop.http.post(f"/api/deliveries/{order_id}/pickup", headers=TOAD)

    assert assert_problem(response, 503)["order_id"] == order_id
    assert response.headers["retry-after"].isdigit()


# --- bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize("step", ["pickup", "delivered"])
@pytest.mark.parametrize("body", [None, b"", b"{}"])
async def test_pickup_and_delivered_take_no_body_or_an_empty_one(shop, step, body):
    order_id = await out_with_toad(shop) if step == "delivered" else await ready(shop)
    headers = {**TOAD, "Content-Type": "application/json"} if body is not None else TOAD

    response = await shop.http.post(f"/api/deliveries/{order_id}/{step}", content=body, headers=headers)

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("step", ["pickup", "delivered"])
@pytest.mark.parametrize(("body", "field"), [({"notes": "hi"}, "notes"), ({"driver": "yoshi"}, "driver")])
async def test_pickup_and_delivered_refuse_any_field_with_a_422(shop, step, body, field):
    order_id = await out_with_toad(shop)
    calls_before = list(shop.gateway.calls)

    problem = assert_problem(await shop.http.post(f"/api/deliveries/{order_id}/{step}", json=body, headers=TOAD), 422)

    assert [error["field"] for error in problem["errors"]] == [field]
    assert shop.gateway.calls == calls_before


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "reason", "Field required"),
        (None, "body", "Field required"),
        ({"reason": ""}, "reason", "String should have at least 1 character"),
        ({"reason": "  \n "}, "reason", "must not be blank"),
        ({"reason": "x" * 501}, "reason", "String should have at most 500 characters"),
        ({"reason": "lost\x00"}, "reason", "must not hold control characters (it holds U+0000)"),
        ({"reason": 42}, "reason", "Input should be a valid string"),
        ({"reason": "lost", "refund": False}, "refund", "Extra inputs are not permitted"),
    ],
)
async def test_a_failed_delivery_needs_a_reason_of_1_to_500_characters_and_nothing_else(shop, body, field, message):
    order_id = await out_with_toad(shop)
    calls_before = list(shop.gateway.calls)

    problem = assert_problem(await shop.http.post(f"/api/deliveries/{order_id}/failed", json=body, headers=TOAD), 422)

    assert problem["errors"] == [{"field": field, "message": message}]
    assert shop.gateway.calls == calls_before  # refused before it reached the order


async def test_a_reason_of_500_characters_over_lines_is_kept_as_sent(shop):
    order_id = await out_with_toad(shop)
    reason = ("Nobody answered.\n\tThe gate was locked. " * 20)[:500]

    response = await shop.http.post(f"/api/deliveries/{order_id}/failed", json={"reason": reason}, headers=TOAD)

    assert response.status_code == 200, response.text
    assert response.json()["delivery"]["failure"] == reason


# --- the document -------------------------------------------------------------------------


async def test_the_openapi_document_describes_each_drivers_route_and_its_problems(shop):
    document = (await shop.http.get("/openapi.json")).json()
    paths = document["paths"]
    order = {"$ref": "#/components/schemas/Order"}

    listing = paths["/api/deliveries"]["get"]["responses"]
    listed = listing["200"]["content"]["application/json"]["schema"]
    assert (listed["type"], listed["items"]) == ("array", order)
    assert {"401", "403"} <= listing.keys()
    for step in ("pickup", "delivered", "failed"):
        operation = paths[f"/api/deliveries/{{order_id}}/{step}"]["post"]
        responses = operation["responses"]
        assert responses["200"]["content"]["application/json"]["schema"] == order, step
        assert {"401", "403", "404", "409", "422", "503"} <= responses.keys(), step
        assert "application/problem+json" in responses["409"]["content"], step
        assert operation["security"] == [{"OAuth2PasswordBearer": []}], step
    failed_body = paths["/api/deliveries/{order_id}/failed"]["post"]["requestBody"]
    assert failed_body["required"] is True
    reason = document["components"]["schemas"]["FailedDelivery"]["properties"]["reason"]
    assert (reason["minLength"], reason["maxLength"]) == (1, 500)
    assert "Another driver" in paths["/api/deliveries/{order_id}/delivered"]["post"]["responses"]["403"]["description"]
