"""Operations: health, errors as problem+json, body limits and the OpenAPI document."""

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from temporalio.service import RPCError, RPCStatusCode

from api.app import MAX_BODY_BYTES, create_app
from tests.api.conftest import assert_problem, kitchen_headers, manager_headers, new_key
from tests.conftest import Stack, free_port, order_body, order_id_for, running_stack

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
    "/api/deliveries": {"get"},
    "/api/deliveries/{}/pickup": {"post"},
    "/api/deliveries/{}/delivered": {"post"},
    "/api/deliveries/{}/failed": {"post"},
    "/healthz": {"get"},
}


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


async def test_health_is_ok_when_temporal_answers(stack):
    response = await stack.http.get("/healthz")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


async def test_health_says_503_quickly_and_orders_answer_503_when_temporal_is_unreachable(temporal_env, database_url):
    async with running_stack(temporal_env, database_url, worker=False, temporal_address="127.0.0.1:1") as away:
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


@pytest.fixture(scope="module")
async def served(stack: Stack) -> AsyncIterator[str]:
    """The API behind a real HTTP server (uvicorn on loopback), on the stack's Temporal, worker and database."""
    config = uvicorn.Config(create_app(stack.settings), host="127.0.0.1", port=free_port(), log_config=None)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        assert not serving.done() and time.monotonic() < deadline, "uvicorn did not start"
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{config.port}"
    server.should_exit = True
    await serving


async def never_placed(stack: Stack, key: str) -> None:
    with pytest.raises(RPCError) as no_workflow:
        await stack.client.get_workflow_handle(f"order-{order_id_for(key)}").describe()
    assert no_workflow.value.status == RPCStatusCode.NOT_FOUND


def padded_order(size: int) -> bytes:
    """A valid order, made `size` bytes long with the blank space JSON allows after a value."""
    order = json.dumps(order_body()).encode()
    return order + b" " * (size - len(order))


async def in_chunks(body: bytes, size: int = 7_000) -> AsyncIterator[bytes]:
    """A body httpx sends chunked: with no Content-Length to go by."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_chunked_body_over_the_limit_is_refused_with_413_and_never_reaches_temporal(stack, served):
    key = new_key()

    async with httpx.AsyncClient(base_url=served) as client:
        response = await client.post(
            "/api/orders",
            content=in_chunks(padded_order(MAX_BODY_BYTES + 30_000)),  # whole, it would be a valid order
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
        )

    assert response.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)
    assert response.headers["connection"] == "close"
    await never_placed(stack, key)


async def test_an_endless_chunked_body_is_cut_off_soon_after_the_limit(stack, served):
    key, sent = new_key(), 0

    async def endless_order() -> AsyncIterator[bytes]:
        nonlocal sent
        yield padded_order(1024)
        while sent < 256 * 1024 * 1024:  # blank space after a valid order; never sent whole if all is well
            sent += 16_384
            yield b" " * 16_384

    async with httpx.AsyncClient(base_url=served) as client:
        try:
            response = await client.post(
                "/api/orders",
                content=endless_order(),
                headers={"Content-Type": "application/json", "Idempotency-Key": key},
            )
            assert_problem(response, 413)
        except httpx.TransportError:
            pass  # closed while the client was still sending: it never got to read the 413

    assert sent < 8 * 1024 * 1024, f"the server took {sent} bytes"
    await never_placed(stack, key)


async def test_a_chunked_body_under_the_limit_is_read_whole(served):
    async with httpx.AsyncClient(base_url=served, timeout=30) as client:
        response = await client.post(
            "/api/orders",
            content=in_chunks(padded_order(MAX_BODY_BYTES - 10)),
            headers={"Content-Type": "application/json", "Idempotency-Key": new_key()},
        )

    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 201, response.text


async def _raw_answer(served: str, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are; the status and body of the first answer."""
    host, port = served.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
        return int(head.split()[1]), await asyncio.wait_for(reader.readexactly(length), 10)
    finally:
        writer.close()


def _head(key: str, length: int) -> bytes:
    return (
        f"POST /api/orders HTTP/1.1\r\nHost: pizzeria.test\r\nContent-Type: application/json\r\n"
        f"Idempotency-Key: {key}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()


async def test_a_content_length_over_the_limit_is_refused_before_the_body_arrives(stack, served):
    key = new_key()

    status, body = await _raw_answer(served, _head(key, 10**9) + padded_order(1024))  # 1 KiB of the 1 GB promised

    assert status == 413
    assert json.loads(body)["type"] == "/problems/body-too-large"
    await never_placed(stack, key)


async def test_a_content_length_shorter_than_the_body_lets_only_what_it_claims_through(stack, served):
    key = new_key()

    status, body = await _raw_answer(served, _head(key, 100) + padded_order(1000))

    assert status == 422, body  # the first 100 bytes: JSON cut short
    await never_placed(stack, key)


async def test_a_body_longer_than_its_content_length_says_is_counted_and_refused(stack):
    key = new_key()

    response = await stack.http.post(
        "/api/orders",
        content=padded_order(2 * MAX_BODY_BYTES),
        headers={"Content-Type": "application/json", "Content-Length": "100", "Idempotency-Key": key},
    )

    assert_problem(response, 413)
    await never_placed(stack, key)


async def test_huge_headers_over_http_are_answered_with_a_4xx_naming_them(served):
    async with httpx.AsyncClient(base_url=served) as client:
        key = await client.post("/api/orders", json=order_body(), headers={"Idempotency-Key": "k" * 100_000})
        token = await client.get("/api/kitchen/queue", headers={"Authorization": "Bearer " + "t" * 100_000})

    assert "idempotency-key" in assert_problem(key, 422)["detail"]
    assert_problem(token, 401)


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
