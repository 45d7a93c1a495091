"""Operations: health, errors as problem+json, body limits and the OpenAPI document."""

import re
import time
import uuid

import pytest

from tests.api.conftest import assert_problem, kitchen_headers, manager_headers
from tests.conftest import order_body, running_stack

# Every path the API promises, with its methods.
CONTRACT_PATHS = {
    "/api/menu": {"get"},
    "/api/menu/pizzas": {"get"},
    "/api/orders": {"post"},
    "/api/orders/{}": {"get"},
    "/api/orders/{}/cancel": {"post"},
    "/api/kitchen/queue": {"get"},
    "/api/kitchen/orders/{}/status": {"put"},
    "/api/menu/pizzas/{}": {"put"},
    "/api/menu/toppings/{}": {"put"},
    "/api/analytics/revenue": {"get"},
    "/healthz": {"get"},
}


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


async def test_health_is_ok_when_temporal_answers(stack):
    response = await stack.http.get("/healthz")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


async def test_health_says_503_quickly_and_orders_answer_503_when_temporal_is_unreachable(temporal_env, tmp_path):
    async with running_stack(temporal_env, tmp_path / "away.db", worker=False, temporal_address="127.0.0.1:1") as away:
        started = time.monotonic()
        health = await away.http.get("/healthz")
        health_took = time.monotonic() - started

        assert_problem(health, 503)
        assert health_took < 5, f"/healthz took {health_took:.1f} s"
        assert health.headers.get("retry-after")

        started = time.monotonic()
        order = await away.http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": str(uuid.uuid4())})
        order_took = time.monotonic() - started
        assert_problem(order, 503)
        assert order_took < 5, f"POST /api/orders took {order_took:.1f} s"
        assert order.headers.get("retry-after")

        read = await away.http.get(f"/api/orders/{uuid.uuid4()}")
        assert_problem(read, 503)

        cancel = await away.http.post(f"/api/orders/{uuid.uuid4()}/cancel")
        assert_problem(cancel, 503)

        move = await away.http.put(
            f"/api/kitchen/orders/{uuid.uuid4()}/status", json={"status": "preparing"}, headers=kitchen_headers()
        )
        assert_problem(move, 503)

        menu = await away.http.get("/api/menu")
        assert menu.status_code == 200, "the menu is read from the database, not from Temporal"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/nothing-here"), ("GET", "/"), ("POST", "/api/kitchen"), ("GET", "/api/orders/x/y/z")],
)
async def test_an_unknown_route_is_a_404_problem(stack, method, path):
    response = await stack.http.request(method, path)

    assert_problem(response, 404)


async def test_a_known_route_with_the_wrong_method_is_a_405_problem(stack):
    response = await stack.http.delete("/api/menu")

    assert_problem(response, 405)


async def test_a_body_over_64_kib_is_refused_with_413(stack):
    body = order_body(customer_name="x" * (64 * 1024))

    response = await stack.http.post("/api/orders", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})

    assert_problem(response, 413)


async def test_a_body_just_under_64_kib_is_read(stack):
    padding = 64 * 1024 - len(b'{"customer_name": ""}') - 100
    response = await stack.http.post(
        "/api/orders", content=f'{{"customer_name": "{"x" * padding}"}}', headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 422)  # read and validated, not refused for its size


async def test_an_oversized_body_is_refused_on_staff_routes_too(stack):
    response = await stack.http.put(
        "/api/menu/pizzas/margherita",
        content=b"{" + b" " * (65 * 1024) + b"}",
        headers={**manager_headers(), "Content-Type": "application/json"},
    )

    assert_problem(response, 413)


async def test_the_openapi_document_lists_every_path_of_the_contract(stack):
    response = await stack.http.get("/openapi.json")

    assert response.status_code == 200, response.text
    document = response.json()
    listed = {_shape(path): set(operations) for path, operations in document["paths"].items()}
    for path, methods in CONTRACT_PATHS.items():
        assert path in listed, f"{path} is not in the OpenAPI document"
        assert methods <= listed[path], f"{path} lacks {methods - listed[path]}"


async def test_the_interactive_docs_are_served(stack):
    response = await stack.http.get("/docs")

    assert response.status_code == 200
    assert "openapi.json" in response.text
