"""The kitchen's moves and the health check, as the routers answer them."""

import uuid

import pytest

from tests.api.conftest import assert_problem, kitchen_headers
from tests.conftest import order_body, staff_headers


async def placed(shop) -> str:
    response = await shop.http.post("/api/orders", json=order_body())
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def move(shop, order_id: str, status: str, headers: dict[str, str] | None = None):
    path = f"/api/kitchen/orders/{order_id}/status"
    return await shop.http.put(path, json={"status": status}, headers=kitchen_headers() if headers is None else headers)


async def test_the_kitchen_moves_an_order_on_and_the_answer_is_the_order_in_its_new_status(shop):
    order_id = await placed(shop)

    response = await move(shop, order_id, "Preparing")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "preparing"
    assert response.json()["history"][-1]["by"] == "luigi"


async def test_a_step_the_status_machine_refuses_is_a_409_saying_why(shop):
    order_id = await placed(shop)

    problem = assert_problem(await move(shop, order_id, "ready"), 409)

    assert problem["detail"] == "an order that is confirmed cannot become ready"
    assert problem["order_id"] == order_id


async def test_a_step_for_a_finished_order_is_a_409_naming_its_status(shop):
    order_id = await placed(shop)
    for status in ("preparing", "ready", "completed"):
        assert (await move(shop, order_id, status)).status_code == 200

    problem = assert_problem(await move(shop, order_id, "preparing"), 409)

    assert problem["detail"] == "an order that is completed cannot become preparing"


@pytest.mark.parametrize("order_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_a_step_for_an_unknown_order_is_a_404(shop, order_id):
    assert_problem(await move(shop, order_id, "preparing"), 404)


async def test_without_a_token_it_is_a_401_and_without_the_kitchen_role_a_403(shop):
    order_id = await placed(shop)

    missing = await move(shop, order_id, "preparing", headers={})
    driver = await move(shop, order_id, "preparing", headers=staff_headers("driver"))

    assert assert_problem(missing, 401)
    assert missing.headers["www-authenticate"] == "Bearer"
    assert assert_problem(driver, 403)
    assert shop.gateway.calls == ["order_id", "place"]  # neither reached the order


async def test_while_temporal_is_down_a_step_is_a_503_with_retry_after(shop):
    order_id = await placed(shop)
    shop.gateway.down = True

    response = await move(shop, order_id, "preparing")

    assert assert_problem(response, 503)["order_id"] == order_id
    assert response.headers["retry-after"].isdigit()


async def test_health_is_200_naming_temporal_and_503_while_it_is_down(shop):
    up = await shop.http.get("/healthz")
    shop.gateway.down = True
    down = await shop.http.get("/healthz")

    assert up.status_code == 200 and up.json() == {"status": "ok", "temporal": "fake-temporal:7233"}
    assert_problem(down, 503)
    assert down.headers["retry-after"].isdigit()
