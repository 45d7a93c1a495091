"""Helpers for the API tests: waiting for what the saga does after it answers, and moving orders on."""

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TypeVar

import httpx

from tests.conftest import Stack, staff_headers
from tests.peers import TwilioPeer

T = TypeVar("T")
PROBLEM_JSON = "application/problem+json"
MONEY = re.compile(r"^\d+\.\d{2}$")
PATIENCE = 10.0  # seconds a test waits for something the workflow does after the API has answered


def new_key() -> str:
    """An Idempotency-Key no other test uses."""
    return f"test-{uuid.uuid4()}"


def kitchen_headers(sub: str = "luigi") -> dict[str, str]:
    return staff_headers("kitchen", sub=sub)


def manager_headers(sub: str = "mario") -> dict[str, str]:
    return staff_headers("manager", sub=sub)


def money(value: str) -> Decimal:
    """A money string of the API, checked to have exactly two places."""
    assert isinstance(value, str) and MONEY.match(value), f"{value!r} is not money with two places"
    return Decimal(value)


def assert_problem(response: httpx.Response, status: int) -> dict:
    """The response is a problem+json of this status; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers["content-type"]
    body = response.json()
    for member in ("type", "title", "status", "detail"):
        assert member in body, f"problem without {member}: {body}"
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    return body


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = PATIENCE) -> T:
    """Poll until `check` returns something truthy (it may also assert); its last value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = await check()
            if value:
                return value
            failure: Exception | None = None
        except AssertionError as err:
            failure = err
        if time.monotonic() > deadline:
            if failure:
                raise failure
            raise AssertionError(f"still not so after {timeout} s: {value!r}")
        await asyncio.sleep(0.05)


async def texts_to(twilio_peer: TwilioPeer, phone: str, count: int) -> list[str]:
    """The bodies of the texts the Twilio peer was sent for this number, once there are `count` of them."""

    async def arrived() -> list[str] | None:
        bodies = [m["Body"] for m in twilio_peer.messages(phone)]
        return bodies if len(bodies) >= count else None

    return await eventually(arrived)


async def get_order(stack: Stack, order_id: str) -> dict:
    response = await stack.http.get(f"/api/orders/{order_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def move_ok(stack: Stack, order_id: str, status: str) -> dict:
    response = await stack.move(order_id, status)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == status
    return response.json()


async def workflow_finished(stack: Stack, order_id: str) -> None:
    """Wait until the order's workflow has run to its end."""
    handle = stack.client.get_workflow_handle(f"order-{order_id}")
    await asyncio.wait_for(handle.result(), PATIENCE)


async def completed_order(stack: Stack, **changes: object) -> dict:
    """A placed order taken by the kitchen all the way to completed, its workflow finished."""
    order = await stack.placed(**changes)
    for status in ("preparing", "ready", "completed"):
        await move_ok(stack, order["id"], status)
    await workflow_finished(stack, order["id"])
    return order


async def revenue(stack: Stack, day: str) -> dict:
    response = await stack.http.get("/api/analytics/revenue", params={"date": day}, headers=manager_headers())
    assert response.status_code == 200, response.text
    return response.json()
