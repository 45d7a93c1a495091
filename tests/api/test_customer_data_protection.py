"""Customers' personal data is sealed before it reaches Temporal; the codec endpoint opens it for staff."""

import base64
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.workflowservice.v1 import QueryWorkflowRequest
from temporalio.testing import WorkflowEnvironment

from tests.api.conftest import assert_problem, eventually, kitchen_headers, move_ok, new_key
from tests.conftest import Stack, running_stack, staff_headers
from workflows.order_contract import workflow_id
from workflows.payload_codec import new_key_entry

CUSTOMER = {
    "customer_name": "Zelda Quintero",
    "customer_phone": "+15557654321",
    "customer_address": "77 Secret Lane, Nowhere",
}
PRIVATE = [value.encode() for value in CUSTOMER.values()] + [b"7654321"]
UI = "http://127.0.0.1:8233"


async def raw_history(env: WorkflowEnvironment, order_id: str) -> bytes:
    """The order's history as Temporal stores it, read with no codec."""
    history = await env.client.get_workflow_handle(workflow_id(order_id)).fetch_history()
    return b"".join(event.SerializeToString() for event in history.events)


async def raw_query(env: WorkflowEnvironment, order_id: str) -> bytes:
    """The answer to the `order` query as it leaves the worker, read with no codec."""
    response = await env.client.workflow_service.query_workflow(
        QueryWorkflowRequest(
            namespace=env.client.namespace,
            execution=WorkflowExecution(workflow_id=workflow_id(order_id)),
            query=WorkflowQuery(query_type="order"),
        )
    )
    return response.query_result.SerializeToString()


def leaked(raw: bytes) -> list[bytes]:
    return [value for value in PRIVATE if value in raw]


async def a_whole_order(stack: Stack) -> dict:
    """An order with signals, updates, a cancel and a refund: every kind of payload the saga writes."""
    order = await stack.placed(**CUSTOMER)
    await stack.client.get_workflow_handle(workflow_id(order["id"])).signal("mark_preparing", {"by": "luigi"})
    await eventually(lambda: _status_is(stack, order["id"], "preparing"))
    cancelled = await stack.http.post(f"/api/orders/{order['id']}/cancel", json={"reason": "changed my mind"})
    assert cancelled.status_code == 200, cancelled.text
    return order


async def _status_is(stack: Stack, order_id: str, status: str) -> bool:
    return (await stack.http.get(f"/api/orders/{order_id}")).json()["status"] == status


async def test_the_raw_history_and_query_answers_hold_none_of_the_customers_data(stack, temporal_env):
    order = await a_whole_order(stack)
    assert leaked(await raw_history(temporal_env, order["id"])) == []
    placed = await stack.placed(**CUSTOMER)  # a running one, to query
    assert leaked(await raw_query(temporal_env, placed["id"])) == []


async def test_without_keys_the_same_check_finds_the_customers_data(temporal_env, database_url):
    async with running_stack(temporal_env, database_url, encryption_keys=None) as plain:
        order = await plain.placed(**CUSTOMER)
        assert leaked(await raw_history(temporal_env, order["id"]))
        assert leaked(await raw_query(temporal_env, order["id"]))
        await plain.http.post(f"/api/orders/{order['id']}/cancel")


async def started_payloads(env: WorkflowEnvironment, order_id: str) -> list[dict]:
    """The workflow input as Temporal's JSON form of Payloads, as the UI sends it to a codec server."""
    history = await env.client.get_workflow_handle(workflow_id(order_id)).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes.input.payloads
    return [{"metadata": {k: _b64(v) for k, v in p.metadata.items()}, "data": _b64(p.data)} for p in started]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def test_the_codec_endpoint_opens_the_raw_history_to_the_order(stack, temporal_env):
    order = await stack.placed(**CUSTOMER)
    sealed = await started_payloads(temporal_env, order["id"])
    response = await stack.http.post("/codec/decode", json={"payloads": sealed}, headers=kitchen_headers())
    assert response.status_code == 200, response.text
    [opened] = response.json()["payloads"]
    assert base64.b64decode(opened["metadata"]["encoding"]) == b"json/plain"
    start = json.loads(base64.b64decode(opened["data"]))
    assert start["order_id"] == order["id"]
    assert {key: start["request"][key] for key in CUSTOMER} == CUSTOMER


async def test_no_payloads_may_come_as_an_empty_object_as_protobufs_json_writes_them(stack):
    for path in ("/codec/decode", "/codec/encode"):
        response = await stack.http.post(path, json={}, headers=kitchen_headers())
        assert response.status_code == 200 and response.json() == {"payloads": []}, response.text


async def test_what_the_codec_endpoint_encodes_it_decodes(stack):
    plain = {"metadata": {"encoding": _b64(b"json/plain")}, "data": _b64(b'"hi"')}
    sealed = await stack.http.post("/codec/encode", json={"payloads": [plain]}, headers=kitchen_headers())
    assert sealed.status_code == 200, sealed.text
    assert sealed.json()["payloads"][0]["data"] != plain["data"]
    opened = await stack.http.post("/codec/decode", json=sealed.json(), headers=kitchen_headers())
    assert opened.json() == {"payloads": [plain]}


@pytest.fixture(scope="module")
async def other_keys(temporal_env, new_database) -> AsyncIterator[Stack]:
    """An API holding keys other than the ones the orders were sealed with (no worker)."""
    keys = new_key_entry("someone-elses")
    async with running_stack(temporal_env, new_database(), worker=False, encryption_keys=keys) as s:
        yield s


async def test_a_payload_sealed_with_a_key_the_api_does_not_hold_is_a_clear_422_naming_the_key(
    stack, temporal_env, other_keys
):
    order = await stack.placed(**CUSTOMER)
    sealed = await started_payloads(temporal_env, order["id"])
    response = await other_keys.http.post("/codec/decode", json={"payloads": sealed}, headers=kitchen_headers())
    detail = assert_problem(response, 422)["detail"]
    assert "sealed with key 'tests-newest'" in detail and "someone-elses" in detail


async def test_a_worker_without_the_orders_key_fails_its_task_naming_the_key_and_one_with_it_goes_on(
    temporal_env, database_url
):
    old, new = new_key_entry("old"), new_key_entry("new")
    async with running_stack(
        temporal_env, database_url, worker=False, encryption_keys=old, confirm_timeout_seconds=1
    ) as api:
        response = await api.place(key=new_key(), **CUSTOMER)
        order_id = assert_problem(response, 503)["order_id"]
        handle = api.client.get_workflow_handle(workflow_id(order_id))
        async with running_stack(temporal_env, database_url, encryption_keys=new, task_queue=api.settings.task_queue):

            async def task_failed() -> str | None:
                async for event in handle.fetch_history_events():
                    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                        return event.workflow_task_failed_event_attributes.failure.message
                return None

            message = await eventually(task_failed, timeout=15)
        assert "sealed with key 'old', which PIZZERIA_ENCRYPTION_KEYS does not list (it has: new)" in message
        rotated = f"{new},{old}"
        async with running_stack(
            temporal_env, database_url, encryption_keys=rotated, task_queue=api.settings.task_queue
        ) as fixed:
            started = time.monotonic()
            await eventually(lambda: _status_is(fixed, order_id, "confirmed"), timeout=30)
            print(f"a worker holding the key picked the order up after {time.monotonic() - started:.1f} s")
            await move_ok(fixed, order_id, "preparing")
            assert (await fixed.http.post(f"/api/orders/{order_id}/cancel")).status_code == 200


# --- who may use the codec endpoint -------------------------------------------------------


def _codec_client(app, host: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(host, 50000)), base_url="http://pizzeria.test"
    )


EMPTY = {"payloads": []}


@pytest.fixture(scope="module")
async def dev_codec(temporal_env, new_database) -> AsyncIterator[Stack]:
    """The API as `make run` starts it: loopback callers need no token for the codec endpoint."""
    async with running_stack(temporal_env, new_database(), worker=False, codec_loopback_without_token=True) as s:
        yield s


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_under_make_run_a_caller_on_loopback_needs_no_token(dev_codec, host):
    async with _codec_client(dev_codec.http._transport.app, host) as http:
        assert (await http.post("/codec/decode", json=EMPTY)).status_code == 200


async def test_under_make_run_a_caller_elsewhere_still_needs_a_token(dev_codec):
    async with _codec_client(dev_codec.http._transport.app, "203.0.113.7") as http:
        assert_problem(await http.post("/codec/decode", json=EMPTY), 401)
        assert (await http.post("/codec/decode", json=EMPTY, headers=kitchen_headers())).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        staff_headers("kitchen", secret="x" * 40)["Authorization"],  # signed with another secret
        staff_headers("kitchen", ttl=-60)["Authorization"],  # expired
        "Bearer not-a-jwt",
        "Basic bHVpZ2k6cGl6emE=",
    ],
)
async def test_a_token_that_is_present_but_invalid_is_refused_even_on_loopback_under_make_run(dev_codec, authorization):
    response = await dev_codec.http.post("/codec/decode", json=EMPTY, headers={"Authorization": authorization})
    assert_problem(response, 401)


async def test_in_production_the_codec_endpoint_needs_a_staff_token_also_on_loopback(stack):
    assert_problem(await stack.http.post("/codec/decode", json=EMPTY), 401)
    assert_problem(await stack.http.post("/codec/decode", json=EMPTY, headers=staff_headers("customer")), 403)
    for role in ("kitchen", "manager"):
        assert (await stack.http.post("/codec/decode", json=EMPTY, headers=staff_headers(role))).status_code == 200


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"payloads": [{"data": "%%%"}]}, "payloads[0].data"),
        ({"payloads": [{"metadata": {"encoding": "???"}}]}, "payloads[0].metadata.encoding"),
        ({"payloads": {"data": ""}}, "payloads"),
        ({"payloads": [{"data": 5}]}, "data"),
    ],
)
async def test_a_malformed_codec_request_is_a_422_naming_what_is_wrong(stack, body, named):
    response = await stack.http.post("/codec/decode", json=body, headers=kitchen_headers())
    assert named in assert_problem(response, 422)["detail"]


async def test_the_temporal_ui_origin_may_call_the_codec_endpoint_from_the_browser(stack):
    preflight = await stack.http.options(
        "/codec/decode",
        headers={
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == UI
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert {"authorization", "content-type", "x-namespace"} <= set(
        preflight.headers["access-control-allow-headers"].lower().replace(" ", "").split(",")
    )
    response = await stack.http.post("/codec/decode", json=EMPTY, headers={**kitchen_headers(), "Origin": UI})
    assert response.headers["access-control-allow-origin"] == UI


async def test_no_other_origin_and_no_other_path_gets_cors(stack):
    other = await stack.http.options(
        "/codec/decode", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    menu = await stack.http.get("/api/menu", headers={"Origin": UI})
    assert "access-control-allow-origin" not in menu.headers
