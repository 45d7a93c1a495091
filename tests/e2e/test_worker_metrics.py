"""A worker process exports the SDK's Prometheus metrics and the orders' counters and timings."""

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import SAME_ON_ANY_DATABASE, free_port, order_body, staff_headers
from tests.e2e.conftest import Processes

pytestmark = SAME_ON_ANY_DATABASE

CARD = {"fulfilment": "delivery", "payment_method": "card"}


def samples(url: str) -> list:
    response = httpx.get(url)
    assert response.status_code == 200
    return [sample for family in text_string_to_metric_families(response.text) for sample in family.samples]


def total(found: list, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include these."""
    return sum(s.value for s in found if s.name == name and labels.items() <= s.labels.items())


def test_the_worker_counts_orders_placed_confirmed_rejected_cancelled_completed_and_times_them_to_ready(
    processes: Processes,
):
    address = f"127.0.0.1:{free_port()}"
    processes.env["PIZZERIA_WORKER_METRICS_ADDRESS"] = address
    processes.start_worker()
    assert f"metrics: http://{address}/metrics" in (processes.logs / "worker.log").read_text()
    api, kitchen = processes.base_url, staff_headers("kitchen", secret=processes.env["PIZZERIA_JWT_SECRET"])

    done = httpx.post(f"{api}/api/orders", json=order_body(), timeout=30).json()
    for status in ("preparing", "ready", "completed"):
        moved = httpx.put(f"{api}/api/kitchen/orders/{done['id']}/status", json={"status": status}, headers=kitchen)
        assert moved.status_code == 200, moved.text
    undone = httpx.post(f"{api}/api/orders", json=order_body(), timeout=30).json()
    assert httpx.post(f"{api}/api/orders/{undone['id']}/cancel", timeout=30).status_code == 200
    declined = httpx.post(f"{api}/api/orders", json=order_body(payment_token="pm_card_chargeDeclined"), timeout=30)
    assert declined.status_code == 402

    found = samples(f"http://{address}/metrics")
    assert total(found, "pizzeria_orders_placed_total", **CARD) == 3
    assert total(found, "pizzeria_orders_confirmed_total", **CARD) == 2
    assert total(found, "pizzeria_orders_completed_total", **CARD) == 1
    assert total(found, "pizzeria_orders_cancelled_total", **CARD, stage="confirmed") == 1
    assert total(found, "pizzeria_orders_rejected_total", **CARD, reason="declined") == 1
    assert total(found, "pizzeria_order_ready_seconds_count", **CARD) == 1
    assert 0 < total(found, "pizzeria_order_ready_seconds_sum", **CARD) < 60
    assert total(found, "pizzeria_order_ready_seconds_bucket", **CARD, le="300") == 1
    # The SDK's own: workflows finished, activities run, and how long tasks waited in the queue.
    assert total(found, "temporal_workflow_completed_total", workflow_type="OrderWorkflow") == 3
    assert total(found, "temporal_activity_execution_latency_count", activity_type="charge_payment") >= 3
    assert total(found, "temporal_workflow_task_schedule_to_start_latency_count") > 0
