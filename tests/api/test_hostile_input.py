"""Hostile input: text kept verbatim through the whole saga on SQLite and PostgreSQL, text no store can hold
refused up front, and malformed JSON, parameters and headers answered with a 422 or 401 naming what is wrong."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import jwt
import pytest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from tests.api.conftest import (
    assert_problem,
    get_order,
    kitchen_headers,
    manager_headers,
    new_key,
    workflow_finished,
)
from tests.conftest import (
    SECRET,
    TEST_DATABASE,
    Stack,
    database_of_kind,
    order_body,
    order_id_for,
    running_stack,
    staff_headers,
    unique_phone,
)

# name, address and a note: each stored and returned exactly as sent
VERBATIM = {
    "quotes-and-backslashes": ('Ann "The Oven" O\'Brien \\ Jr.', 'Flat 2\\3, "Old" Mill\'s Lane', 'say "ciao" \\o/'),
    "sql": ("Robert'); DROP TABLE orders;--", "1 Main St'; DELETE FROM orders WHERE '1'='1", "'; --"),
    "emoji": ("Ann 👩‍👩‍👧‍👦 🍕", "🏠 1 Main Street 🇮🇹", "👨🏽‍🍳 extra 🔥"),
    "right-to-left": ("مريم حداد", "شارع الملك فيصل ١٢، الرياض", "\u202ereversed\u202c בלי בצל"),
    "combining-marks": ("Zoe\u0308 Ame\u0301lie", "Cafe\u0301 Stra\u00dfe 5, Ko\u0308ln", "n\u0303 not ñ"),
    "spaces-at-the-ends": ("  Ann Example  ", " 1 Main Street, Springfield ", "  well done  "),
    "line-breaks-in-free-text": ("Ann Example", "Flat 2\n1 Main Street\tSpringfield", "no basil\r\nextra oil"),
}


@pytest.fixture(scope="module")
async def on_the_other_database(
    request: pytest.FixtureRequest, temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """A worker and the API on the kind of database the shared stack is not on: PostgreSQL (which cannot store
    NUL in text), or SQLite when the suite runs on PostgreSQL."""
    other = "postgresql" if TEST_DATABASE == "sqlite" else "sqlite"
    url = database_of_kind(other, request, tmp_path_factory.mktemp("other"))
    async with running_stack(temporal_env, url) as running:
        yield running


@pytest.fixture(params=["sqlite", "postgresql"])
def shop(request: pytest.FixtureRequest) -> Stack:
    """The API and a worker on SQLite, and on PostgreSQL."""
    return request.getfixturevalue("stack" if request.param == TEST_DATABASE else "on_the_other_database")


async def _move(shop: Stack, order_id: str, status: str, notes: str) -> dict:
    response = await shop.http.put(
        f"/api/kitchen/orders/{order_id}/status", json={"status": status, "notes": notes}, headers=kitchen_headers()
    )
    assert response.status_code == 200, response.text
    return response.json()


def _as_sent(order: dict, name: str, address: str, note: str, family: str) -> None:
    assert order["customer"]["name"] == name, family
    assert order["customer"]["address"] == address, family
    notes = [change["notes"] for change in order["history"] if change["status"] in ("preparing", "ready", "completed")]
    assert notes == [note] * len(notes), family


async def _lifecycle(shop: Stack, family: str) -> None:
    name, address, note = VERBATIM[family]
    phone = unique_phone()
    placed = await shop.placed(customer_name=name, customer_address=address, customer_phone=phone)
    order_id = placed["id"]
    _as_sent(placed, name, address, note, family)
    _as_sent(await get_order(shop, order_id), name, address, note, family)

    queue = await shop.http.get("/api/kitchen/queue", headers=kitchen_headers())
    _as_sent(next(o for o in queue.json() if o["id"] == order_id), name, address, note, family)

    for status in ("preparing", "ready", "completed"):
        _as_sent(await _move(shop, order_id, status, note), name, address, note, family)
    await workflow_finished(shop, order_id)

    stored = await get_order(shop, order_id)  # read from the database once the workflow has finished
    _as_sent(stored, name, address, note, family)
    assert len(stored["history"]) == 5, family
    listed = await shop.http.get("/api/orders", params={"status": "completed", "limit": 100}, headers=kitchen_headers())
    _as_sent(next(o for o in listed.json()["orders"] if o["id"] == order_id), name, address, note, family)

    texts = [text for number, text in shop.texts.sent if number == phone]
    assert len(texts) == 2 and all(f"order {order_id[:8]}" in text for text in texts), (family, texts)


async def test_text_is_stored_and_returned_verbatim_through_the_whole_saga(shop):
    await asyncio.gather(*(_lifecycle(shop, family) for family in VERBATIM))


async def test_a_cancel_reason_is_kept_verbatim(shop):
    order = await shop.placed()
    reason = "Robert'); DROP TABLE orders;-- 👩‍👩‍👧 \u202e\u05e9\u05dc\u05d5\u05dd "

    response = await shop.http.post(f"/api/orders/{order['id']}/cancel", json={"reason": reason})

    assert response.status_code == 200, response.text
    assert response.json()["history"][-1]["notes"] == reason
    await workflow_finished(shop, order["id"])
    assert (await get_order(shop, order["id"]))["history"][-1]["notes"] == reason


async def test_lengths_count_code_points_as_sent(stack):
    family = "👨‍👩‍👧‍👦"  # one emoji drawn, seven code points
    assert len(family) == 7

    fits = await stack.place(customer_name=family * 14)  # 98 code points
    too_long = await stack.place(customer_name=family * 15)  # 105 code points

    assert fits.status_code == 201, fits.text
    assert fits.json()["customer"]["name"] == family * 14
    assert "customer_name" in assert_problem(too_long, 422)["detail"]


# --- text no store can hold ------------------------------------------------------------------


def _with_pizza(**changes: object) -> dict:
    return {"pizzas": [{"name": "margherita", "size": "large", "toppings": ["basil"], **changes}]}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"customer_name": "Ann\x00Example"}, "customer_name", id="nul-in-name"),
        pytest.param({"customer_address": "1 Main St\x00, Springfield"}, "customer_address", id="nul-in-address"),
        pytest.param({"payment_token": "pm_card_visa\x00"}, "payment_token", id="nul-in-payment-token"),
        pytest.param(_with_pizza(name="marg\x00herita"), "pizzas[0].name", id="nul-in-pizza"),
        pytest.param(_with_pizza(toppings=["basil", "\x00"]), "pizzas[0].toppings[1]", id="nul-in-topping"),
        pytest.param({"customer_name": "Ann \x1b[31mRed"}, "customer_name", id="terminal-escape-in-name"),
        pytest.param({"customer_name": "Ann\u0085Example"}, "customer_name", id="c1-control-in-name"),
        pytest.param({"customer_name": "Ann\nExample"}, "customer_name", id="line-break-in-name"),
        pytest.param({"customer_address": "1 Main Street\x07"}, "customer_address", id="bell-in-address"),
        pytest.param({"customer_name": "   "}, "customer_name", id="blank-name"),
        pytest.param({"customer_address": " \t\n  \n      "}, "customer_address", id="blank-address"),
    ],
)
async def test_text_a_store_or_a_text_message_cannot_hold_is_refused_naming_the_field(stack, changes, field):
    key = new_key()

    response = await stack.place(key=key, **changes)

    problem = assert_problem(response, 422)
    assert [error["field"] for error in problem["errors"]] == [field]
    assert field in problem["detail"]
    with pytest.raises(RPCError) as no_workflow:
        await stack.client.get_workflow_handle(f"order-{order_id_for(key)}").describe()
    assert no_workflow.value.status == RPCStatusCode.NOT_FOUND


async def test_a_lone_surrogate_is_refused_as_text_that_is_not_unicode(stack):
    body = json.dumps(order_body()).replace("Ann Example", "Ann \\ud800 Example")

    response = await stack.http.post("/api/orders", content=body, headers={"Content-Type": "application/json"})

    problem = assert_problem(response, 422)
    assert problem["errors"][0]["field"] == "customer_name"
    assert "unicode" in problem["detail"].lower()


async def test_notes_and_reasons_a_store_cannot_hold_are_refused_and_the_order_goes_on(shop):
    order = await shop.placed()
    path = f"/api/orders/{order['id']}"

    notes = await shop.http.put(
        f"/api/kitchen/orders/{order['id']}/status",
        json={"status": "preparing", "notes": "no\x00basil"},
        headers=kitchen_headers(),
    )
    reason = await shop.http.post(f"{path}/cancel", json={"reason": "changed my mind\x00"})

    assert assert_problem(notes, 422)["errors"][0]["field"] == "notes"
    assert assert_problem(reason, 422)["errors"][0]["field"] == "reason"
    assert (await get_order(shop, order["id"]))["status"] == "confirmed"
    await _move(shop, order["id"], "preparing", "no basil")
    cancelled = await shop.http.post(f"{path}/cancel", json={"reason": "changed my mind"})
    assert cancelled.status_code == 200, cancelled.text
    await workflow_finished(shop, order["id"])
    assert (await get_order(shop, order["id"]))["status"] == "cancelled"


async def test_a_menu_item_named_with_a_nul_is_refused_not_looked_up(shop):
    response = await shop.http.put(
        "/api/menu/pizzas/marg%00herita", json={"available": True}, headers=manager_headers()
    )

    assert assert_problem(response, 422)["errors"][0]["field"] == "name"


# --- malformed JSON on every body -----------------------------------------------------------

ORDER = json.dumps(order_body())
ORDERS, CANCEL = "/api/orders", f"/api/orders/{uuid.uuid4()}/cancel"
MOVE = f"/api/kitchen/orders/{uuid.uuid4()}/status"
PIZZA, TOPPING, DECODE = "/api/menu/pizzas/margherita", "/api/menu/toppings/basil", "/codec/decode"


def _order(old: str, new: str) -> str:
    """The valid order's JSON text with one piece of it replaced."""
    assert old in ORDER
    return ORDER.replace(old, new, 1)


def _case(method: str, path: str, body: object, field: str, id: str):  # type: ignore[no-untyped-def]
    raw = body if isinstance(body, str) else json.dumps(body)
    return pytest.param(method, path, raw, field, id=id)


QTY = '"quantity": 2'
MALFORMED = [
    _case("POST", ORDERS, order_body(pizzas=None), "pizzas", "order-pizzas-null"),
    _case("POST", ORDERS, order_body(customer_name=5), "customer_name", "order-name-a-number"),
    _case("POST", ORDERS, order_body(customer_name=None), "customer_name", "order-name-null"),
    _case("POST", ORDERS, order_body(customer_name=[[["Ann"]]]), "customer_name", "order-name-nested"),
    _case("POST", ORDERS, _order(QTY, '"quantity": "two"'), "pizzas[0].quantity", "quantity-a-word"),
    _case("POST", ORDERS, _order(QTY, '"quantity": 2.5'), "pizzas[0].quantity", "quantity-2.5"),
    _case("POST", ORDERS, _order(QTY, '"quantity": 1e400'), "pizzas[0].quantity", "quantity-1e400"),
    _case("POST", ORDERS, _order(QTY, '"quantity": null'), "pizzas[0].quantity", "quantity-null"),
    _case("POST", ORDERS, _order(QTY, '"quantity": NaN'), "body", "quantity-NaN"),
    _case("POST", ORDERS, _order(QTY, f'"quantity": 2{"0" * 5000}'), "body", "quantity-of-5001-digits"),
    _case("POST", ORDERS, _order('"toppings": ["basil"]', '"toppings": null'), "pizzas[0].toppings", "toppings-null"),
    _case("POST", ORDERS, _order('"size": "large"', '"size": "huge"'), "pizzas[0].size", "size-unknown"),
    _case("POST", ORDERS, order_body(tip="5.00"), "tip", "order-unknown-field"),
    _case("POST", ORDERS, _order(QTY, f'{QTY}, "crust": "thin"'), "pizzas[0].crust", "pizza-unknown-field"),
    _case("POST", ORDERS, [order_body()], "body", "order-an-array"),
    _case("POST", ORDERS, '"margherita please"', "body", "order-a-string"),
    _case("POST", ORDERS, "margherita please", "body", "order-not-json"),
    _case("POST", ORDERS, "[" * 30_000 + "]" * 30_000, "body", "order-nested-too-deep"),
    _case("POST", ORDERS, _order('"customer_name": ', '"customer_name": "Bob", "customer_name": '), "body", "dup-key"),
    _case("POST", CANCEL, {"reason": 5}, "reason", "cancel-reason-a-number"),
    _case("POST", CANCEL, {"reason": "late", "refund": False}, "refund", "cancel-unknown-field"),
    _case("POST", CANCEL, [], "body", "cancel-an-array"),
    _case("POST", CANCEL, '{"reason": "a", "reason": "b"}', "body", "cancel-duplicate-key"),
    _case("PUT", MOVE, {"status": 5}, "status", "status-a-number"),
    _case("PUT", MOVE, {"status": None}, "status", "status-null"),
    _case("PUT", MOVE, {"notes": "hot"}, "status", "status-missing"),
    _case("PUT", MOVE, {"status": "ready", "by": "mallory"}, "by", "status-unknown-field"),
    _case("PUT", MOVE, "ready", "body", "status-not-json"),
    _case("PUT", PIZZA, {"available": "maybe"}, "available", "pizza-available-maybe"),
    _case("PUT", PIZZA, {"prices": {"small": "cheap"}}, "prices.small", "pizza-price-a-word"),
    _case("PUT", PIZZA, '{"prices": {"small": 1e400}}', "prices.small", "pizza-price-1e400"),
    _case("PUT", PIZZA, {"prices": {"small": "9.999"}}, "prices.small", "pizza-price-of-three-places"),
    _case("PUT", PIZZA, {"prices": {"tiny": "1.00"}}, "prices.tiny", "pizza-size-unknown"),
    _case("PUT", PIZZA, {"prices": None}, "body", "pizza-nothing-to-change"),
    _case("PUT", TOPPING, {"price": -1}, "price", "topping-price-negative"),
    _case("PUT", TOPPING, {"price": "NaN"}, "price", "topping-price-NaN"),
    _case("PUT", TOPPING, {"price": "1.00", "price_cents": 100}, "price_cents", "topping-unknown-field"),
    _case("POST", DECODE, {"payloads": None}, "payloads", "codec-payloads-null"),
    _case("POST", DECODE, {"payloads": [{"data": "ünïcödé"}]}, "payloads[0].data", "codec-data-not-ascii"),
    _case("POST", DECODE, {"payloads": [{"metadata": {"e": 5}}]}, "payloads[0].metadata.e", "codec-metadata-a-number"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), MALFORMED)
async def test_a_malformed_body_is_a_422_naming_the_field(stack, method, path, body, field):
    headers = {"Content-Type": "application/json", **manager_headers()}

    response = await stack.http.request(method, path, content=body, headers=headers)

    problem = assert_problem(response, 422)
    fields = [error["field"] for error in problem.get("errors", [{"field": field}])]
    assert field in fields, problem
    assert problem["detail"].startswith(f"{field}: ") or f"; {field}: " in problem["detail"], problem


async def test_a_wrong_pizza_is_named_alone_not_also_as_a_missing_one(stack):
    response = await stack.place(pizzas=[{"name": "margherita", "size": "huge"}])

    assert [error["field"] for error in assert_problem(response, 422)["errors"]] == ["pizzas[0].size"]


async def test_a_key_given_twice_is_named(stack):
    body = _order('"customer_name": ', '"customer_name": "Bob", "customer_name": ')

    response = await stack.http.post("/api/orders", content=body, headers={"Content-Type": "application/json"})

    assert "'customer_name' appears more than once" in assert_problem(response, 422)["detail"]


@pytest.mark.parametrize("quantity", ['"2"', "true", "2.0"])
async def test_a_quantity_that_is_not_a_json_integer_is_a_wrong_type_named(stack, quantity):
    response = await stack.http.post(
        "/api/orders",
        content=_order(QTY, f'"quantity": {quantity}'),
        headers={"Idempotency-Key": new_key(), "Content-Type": "application/json"},
    )

    assert [error["field"] for error in assert_problem(response, 422)["errors"]] == ["pizzas[0].quantity"]


@pytest.mark.parametrize("available", ['"yes"', '"true"', "1"])
async def test_availability_that_is_not_a_json_boolean_is_a_wrong_type_named(stack, available):
    response = await stack.http.put(
        "/api/menu/toppings/basil",
        content=f'{{"available": {available}}}',
        headers={**manager_headers(), "Content-Type": "application/json"},
    )

    assert [error["field"] for error in assert_problem(response, 422)["errors"]] == ["available"]


# --- query parameters and headers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/orders", {"limit": "1e400"}, "limit"),
        ("/api/orders", {"limit": "9" * 5000}, "limit"),
        ("/api/orders", {"status": "confirmed\x00"}, "status[0]"),
        ("/api/orders", {"cursor": "\x00"}, "cursor"),
        ("/api/analytics/revenue", {"date": "2026-02-30"}, "date"),
        ("/api/analytics/revenue", {"date": "1e400"}, "date"),
    ],
)
async def test_a_malformed_query_parameter_is_a_422_naming_it(stack, path, params, field):
    response = await stack.http.get(path, params=params, headers=manager_headers())

    assert field in assert_problem(response, 422)["detail"]


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("key\x01with-a-control", id="control-character"),
        pytest.param("key with spaces", id="spaces"),
        pytest.param("k" * 256, id="256-characters"),
        pytest.param("clé".encode(), id="not-ascii"),
    ],
)
async def test_an_idempotency_key_that_is_not_printable_ascii_is_a_422_and_places_nothing(stack, key):
    response = await stack.http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": key})

    assert "header idempotency-key" in assert_problem(response, 422)["detail"]
    as_read = key.decode("latin-1") if isinstance(key, bytes) else key
    with pytest.raises(RPCError):
        await stack.client.get_workflow_handle(f"order-{order_id_for(as_read)}").describe()


def _token(claims: dict) -> str:
    now = int(time.time())
    return jwt.encode({"roles": ["kitchen"], "iat": now, "exp": now + 600, **claims}, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer", id="scheme-alone"),
        pytest.param("Bearer    ", id="scheme-and-spaces"),
        pytest.param("Bearer " + "A" * 100_000, id="huge-token"),
        pytest.param("Bearer \x01\x02\x03", id="control-characters"),
        pytest.param("Bearer é.ü.ö".encode(), id="not-ascii"),
        pytest.param("Token abc", id="unknown-scheme"),
        pytest.param("Bearer " + _token({"sub": ""}), id="empty-sub"),
        pytest.param("Bearer " + _token({"sub": "l" * 101}), id="sub-of-101-characters"),
        pytest.param("Bearer " + _token({"sub": "luigi\x00"}), id="nul-in-sub"),
        pytest.param("Bearer " + _token({"sub": "luigi", "exp": "tomorrow"}), id="exp-a-word"),
    ],
)
async def test_a_malformed_authorization_header_is_a_401(stack, authorization):
    response = await stack.http.put(MOVE, json={"status": "preparing"}, headers={"Authorization": authorization})

    assert_problem(response, 401)


async def test_a_staff_member_named_in_any_script_is_recorded_as_named(stack):
    order = await stack.placed()
    name = "Luigi 🍕 ولي\u0301"

    response = await stack.http.put(
        f"/api/kitchen/orders/{order['id']}/status",
        json={"status": "preparing"},
        headers=staff_headers("kitchen", sub=name),
    )

    assert response.status_code == 200, response.text
    assert response.json()["history"][-1]["by"] == name
