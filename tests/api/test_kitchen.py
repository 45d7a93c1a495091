"""The kitchen's queue and its steps, and staff auth on every staff route."""

import time
import uuid
import warnings

import jwt
import pytest

from tests.api.conftest import (
    assert_problem,
    completed_order,
    eventually,
    get_order,
    kitchen_headers,
    manager_headers,
    move_ok,
    workflow_finished,
)
from tests.conftest import SECRET, staff_headers


async def queue_ids(stack) -> list[str]:
    response = await stack.http.get("/api/kitchen/queue", headers=kitchen_headers())
    assert response.status_code == 200, response.text
    return [order["id"] for order in response.json()]


async def put_status(stack, order_id: str, body: dict, headers: dict | None = None):
    return await stack.http.put(
        f"/api/kitchen/orders/{order_id}/status", json=body, headers=headers or kitchen_headers()
    )


# --- the queue ------------------------------------------------------------------------------


async def test_the_queue_lists_confirmed_and_preparing_orders_oldest_first(stack):
    oldest = await stack.placed()
    middle = await stack.placed()
    newest = await stack.placed()
    await move_ok(stack, middle["id"], "preparing")

    async def in_queue():
        ids = await queue_ids(stack)
        return ids if all(o["id"] in ids for o in (oldest, middle, newest)) else None

    ids = await eventually(in_queue)

    assert ids.index(oldest["id"]) < ids.index(middle["id"]) < ids.index(newest["id"])


async def test_the_queue_shows_each_order_in_its_current_status(stack):
    order = await stack.placed()
    await move_ok(stack, order["id"], "preparing")

    async def shown_preparing():
        response = await stack.http.get("/api/kitchen/queue", headers=kitchen_headers())
        [shown] = [o for o in response.json() if o["id"] == order["id"]]
        return shown if shown["status"] == "preparing" else None

    shown = await eventually(shown_preparing)

    assert shown["total"] == order["total"]
    assert shown["items"] == order["items"]


async def test_ready_completed_cancelled_and_rejected_orders_leave_the_queue(stack):
    ready = await stack.placed()
    await move_ok(stack, ready["id"], "preparing")
    await move_ok(stack, ready["id"], "ready")
    completed = await completed_order(stack)
    cancelled = await stack.placed()
    assert (await stack.http.post(f"/api/orders/{cancelled['id']}/cancel")).status_code == 200
    rejected = assert_problem(await stack.place(payment_token="pm_card_chargeDeclined"), 402)
    gone = {ready["id"], completed["id"], cancelled["id"], rejected["order_id"]}

    async def none_of_them():
        return not gone & set(await queue_ids(stack))

    assert await eventually(none_of_them)


# --- moving an order on ---------------------------------------------------------------------


async def test_the_kitchen_moves_an_order_from_preparing_to_ready_to_completed_signed_by_its_staff(stack):
    order = await stack.placed()
    headers = staff_headers("kitchen", sub="giulia")

    for status in ("preparing", "ready", "completed"):
        response = await put_status(stack, order["id"], {"status": status, "notes": f"now {status}"}, headers)

        assert response.status_code == 200, response.text
        moved = response.json()
        assert moved["status"] == status
        assert moved["history"][-1]["status"] == status
        assert moved["history"][-1]["by"] == "giulia"
        assert moved["history"][-1]["notes"] == f"now {status}"
        assert moved["history"][-1]["at"]
    await workflow_finished(stack, order["id"])
    assert (await get_order(stack, order["id"]))["status"] == "completed"


async def test_a_status_may_be_given_in_any_case(stack):
    order = await stack.placed()

    response = await put_status(stack, order["id"], {"status": "Preparing"})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "preparing"


async def test_a_manager_may_do_the_kitchens_work(stack):
    order = await stack.placed()

    queue = await stack.http.get("/api/kitchen/queue", headers=manager_headers(sub="mario"))
    response = await put_status(stack, order["id"], {"status": "preparing"}, manager_headers(sub="mario"))

    assert queue.status_code == 200, queue.text
    assert response.status_code == 200, response.text
    assert response.json()["history"][-1]["by"] == "mario"


async def test_a_confirmed_order_cannot_skip_to_ready(stack):
    order = await stack.placed()

    response = await stack.move(order["id"], "ready")

    assert_problem(response, 409)
    assert (await get_order(stack, order["id"]))["status"] == "confirmed"


async def test_a_confirmed_order_cannot_skip_to_completed(stack):
    order = await stack.placed()

    response = await stack.move(order["id"], "completed")

    assert_problem(response, 409)
    assert (await get_order(stack, order["id"]))["status"] == "confirmed"


async def test_an_order_in_preparation_cannot_be_prepared_again(stack):
    order = await stack.placed()
    await move_ok(stack, order["id"], "preparing")

    assert_problem(await stack.move(order["id"], "preparing"), 409)


@pytest.mark.parametrize("status", ["preparing", "ready", "completed"])
async def test_a_completed_order_cannot_change_any_more(stack, status):
    order = await completed_order(stack)

    response = await stack.move(order["id"], status)

    assert_problem(response, 409)
    assert (await get_order(stack, order["id"]))["status"] == "completed"


async def test_a_completed_order_refuses_a_step_also_before_its_workflow_has_finished(stack):
    order = await stack.placed()
    for status in ("preparing", "ready", "completed"):
        await move_ok(stack, order["id"], status)

    assert_problem(await stack.move(order["id"], "ready"), 409)


@pytest.mark.parametrize("status", ["preparing", "ready", "completed"])
async def test_a_cancelled_order_cannot_be_moved_on(stack, status):
    order = await stack.placed()
    assert (await stack.http.post(f"/api/orders/{order['id']}/cancel")).status_code == 200

    response = await stack.move(order["id"], status)

    assert_problem(response, 409)
    assert (await get_order(stack, order["id"]))["status"] == "cancelled"


async def test_a_rejected_order_cannot_be_moved_on(stack):
    rejected = assert_problem(await stack.place(payment_token="pm_card_chargeDeclined"), 402)

    response = await stack.move(rejected["order_id"], "preparing")

    problem = assert_problem(response, 409)
    assert problem["detail"] == "an order that is rejected cannot become preparing"


@pytest.mark.parametrize("order_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_moving_an_order_that_does_not_exist_is_a_404(stack, order_id):
    assert_problem(await stack.move(order_id, "preparing"), 404)


@pytest.mark.parametrize(
    "body",
    [
        {"status": "cancelled"},
        {"status": "bogus"},
        {"status": "confirmed"},
        {},
        {"status": "preparing", "by": "someone-else"},
    ],
    ids=["cancelled", "bogus", "confirmed", "no-status", "extra-field"],
)
async def test_a_status_change_the_kitchen_cannot_ask_for_is_a_422(stack, body):
    order = await stack.placed()

    response = await put_status(stack, order["id"], body)

    assert_problem(response, 422)
    assert (await get_order(stack, order["id"]))["status"] == "confirmed"


# --- staff auth on every staff route --------------------------------------------------------

STAFF_ROUTES = [
    pytest.param("GET", "/api/kitchen/queue", None, "kitchen", id="kitchen-queue"),
    pytest.param(
        "PUT", f"/api/kitchen/orders/{uuid.uuid4()}/status", {"status": "preparing"}, "kitchen", id="kitchen-status"
    ),
    pytest.param("PUT", "/api/menu/pizzas/margherita", {"available": True}, "manager", id="menu-pizza"),
    pytest.param("PUT", "/api/menu/toppings/basil", {"available": True}, "manager", id="menu-topping"),
    pytest.param("GET", "/api/analytics/revenue?date=2024-01-01", None, "manager", id="revenue"),
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signed(claims: dict, secret: str = SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def now() -> int:
    return int(time.time())


def later() -> int:
    return now() + 600


def other_algorithm(role: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the key is short for HS512; the point is that HS512 is refused
        return jwt.encode({"sub": "luigi", "roles": [role], "iat": now(), "exp": later()}, SECRET, algorithm="HS512")


def bad_credentials(role: str) -> list:
    return [
        pytest.param({}, id="no-token"),
        pytest.param({"Authorization": "Basic bHVpZ2k6cGl6emE="}, id="not-bearer"),
        pytest.param(staff_headers(role, ttl=-60), id="expired"),
        pytest.param(staff_headers(role, secret="another-secret-that-is-long-enough-for-hs256"), id="other-secret"),
        pytest.param(bearer("garbage"), id="garbage"),
        pytest.param(bearer("a.b.c"), id="garbage-in-three-parts"),
        pytest.param(
            bearer(signed({"sub": "luigi", "roles": role, "iat": now(), "exp": later()})), id="roles-not-a-list"
        ),
        pytest.param(bearer(signed({"sub": "luigi", "roles": [role], "iat": now()})), id="no-exp"),
        pytest.param(bearer(signed({"roles": [role], "iat": now(), "exp": later()})), id="no-sub"),
        pytest.param(bearer(signed({"sub": "luigi", "roles": [role], "exp": later()})), id="no-iat"),
        pytest.param(
            bearer(signed({"sub": "luigi", "roles": [role], "iat": now(), "exp": now() + 12 * 3600 + 1})),
            id="lives-longer-than-12-hours",
        ),
        pytest.param(
            bearer(signed({"sub": "luigi", "roles": [role], "iat": now() - 60, "exp": now() + 10 * 365 * 86400})),
            id="valid-for-ten-years",
        ),
        pytest.param(bearer(other_algorithm(role)), id="other-algorithm"),
        pytest.param(
            bearer(jwt.encode({"sub": "luigi", "roles": [role], "iat": now(), "exp": later()}, None, algorithm="none")),
            id="unsigned",
        ),
    ]


async def _call(stack, method: str, path: str, body: dict | None, headers: dict):
    return await stack.http.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body", "role"), STAFF_ROUTES)
@pytest.mark.parametrize("headers", bad_credentials("manager"))
async def test_a_staff_route_refuses_a_missing_or_invalid_token_with_401(stack, method, path, body, role, headers):
    response = await _call(stack, method, path, body, headers)

    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "body", "role"), STAFF_ROUTES)
async def test_a_staff_route_refuses_a_valid_token_without_the_role_with_403(stack, method, path, body, role):
    lesser = [] if role == "kitchen" else ["kitchen"]

    response = await _call(
        stack, method, path, body, bearer(signed({"sub": "ann", "roles": lesser, "iat": now(), "exp": later()}))
    )

    assert_problem(response, 403)


@pytest.mark.parametrize(("method", "path", "body", "role"), STAFF_ROUTES)
async def test_a_staff_route_refuses_a_token_whose_only_role_is_unknown_with_403(stack, method, path, body, role):
    response = await _call(stack, method, path, body, staff_headers("customer"))

    assert_problem(response, 403)


@pytest.mark.parametrize(("method", "path", "body", "role"), STAFF_ROUTES)
async def test_a_staff_route_lets_a_token_with_the_role_through(stack, method, path, body, role):
    response = await _call(stack, method, path, body, staff_headers(role))

    assert response.status_code not in (401, 403), response.text
