"""Structured logs of real processes: JSON lines naming the order and its workflow, with no secrets in them."""

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import SAME_ON_ANY_DATABASE, order_body, staff_headers
from tests.e2e.conftest import Processes

pytestmark = SAME_ON_ANY_DATABASE

CUSTOMER = {
    "customer_name": "Loretta Logfree",
    "customer_phone": "+15558675309",
    "customer_address": "9 Hidden Way, Quiet",
}


@pytest.fixture
def json_processes(request: pytest.FixtureRequest, monkeypatch) -> Processes:
    monkeypatch.setenv("PIZZERIA_LOG_FORMAT", "json")
    return request.getfixturevalue("processes")


def json_lines(path: Path) -> list[dict]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"{path.name}: not a JSON line: {line}") from None
    return parsed


def test_every_line_is_json_names_its_order_and_workflow_and_holds_no_secret_or_customer_data(json_processes):
    processes = json_processes
    processes.start_worker()
    api = processes.base_url
    token = staff_headers("kitchen", secret=processes.env["PIZZERIA_JWT_SECRET"])
    order = httpx.post(f"{api}/api/orders", json=order_body(**CUSTOMER), timeout=30).json()
    for status in ("preparing", "ready", "completed"):
        assert (
            httpx.put(
                f"{api}/api/kitchen/orders/{order['id']}/status", json={"status": status}, headers=token
            ).status_code
            == 200
        )
    declined = httpx.post(f"{api}/api/orders", json=order_body(**CUSTOMER, payment_token="pm_card_chargeDeclined"))
    assert declined.status_code == 402
    processes.stop()  # flushes every line

    worker, served = json_lines(processes.logs / "worker.log"), json_lines(processes.logs / "api.log")
    for line in worker + served:
        assert {"time", "level", "logger", "message"} <= line.keys(), line
    about = [line for line in worker if line.get("order_id") == order["id"]]
    assert {line["workflow_id"] for line in about} == {f"order-{order['id']}"}
    loggers = {line["logger"] for line in about}
    assert {"temporalio.workflow", "pizzeria.sms"} <= loggers, loggers  # the workflow's lines and an activity's
    assert any(line["message"] == f"order {order['id']} is completed" for line in about)

    requests = [line for line in served if line["logger"] == "pizzeria.api.access"]
    placed = next(line for line in requests if line["route"] == "/api/orders" and line["status"] == 201)
    assert placed["order_id"] == order["id"] and placed["duration_ms"] > 0
    moved = [line for line in requests if line["route"] == "/api/kitchen/orders/{order_id}/status"]
    assert [line["order_id"] for line in moved] == [order["id"]] * 3
    refused = next(line for line in requests if line["status"] == 402)
    assert refused["order_id"] == declined.json()["order_id"]

    everything = (processes.logs / "worker.log").read_text() + (processes.logs / "api.log").read_text()
    secrets = [processes.env["PIZZERIA_JWT_SECRET"], token["Authorization"].split()[1]]
    secrets += [entry.split(":", 1)[1] for entry in processes.env["PIZZERIA_ENCRYPTION_KEYS"].split(",")]
    for private in [*CUSTOMER.values(), CUSTOMER["customer_phone"][2:], *secrets]:
        assert private not in everything, f"{private!r} is in the logs"
