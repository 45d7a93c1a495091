"""The API's Prometheus metrics: requests counted and timed by route and status."""

from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import kitchen_headers, new_key
from tests.conftest import Stack


async def scrape(stack: Stack) -> dict[tuple[str, frozenset], float]:
    response = await stack.http.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_requests_are_counted_by_route_template_and_status(stack):
    before = await scrape(stack)
    order = await stack.placed()
    await stack.http.get(f"/api/orders/{order['id']}")
    await stack.http.get("/api/orders/00000000-0000-0000-0000-000000000000")
    await stack.place(key=new_key(), pizzas=[{"name": "calzone", "size": "large"}])
    after = await scrape(stack)

    def more(route: str, status: str, method: str = "GET") -> float:
        labels = {"method": method, "route": route, "status": status}
        return value(after, "pizzeria_http_requests_total", **labels) - value(
            before, "pizzeria_http_requests_total", **labels
        )

    assert more("/api/orders", "201", "POST") == 1
    assert more("/api/orders", "422", "POST") == 1
    assert more("/api/orders/{order_id}", "200") == 1
    assert more("/api/orders/{order_id}", "404") == 1


async def test_a_path_no_route_serves_is_counted_under_one_label(stack):
    before = await scrape(stack)
    for n in range(3):
        await stack.http.get(f"/no/such/path/{n}")
    after = await scrape(stack)
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    assert (
        value(after, "pizzeria_http_requests_total", **labels) - value(before, "pizzeria_http_requests_total", **labels)
        == 3
    )
    assert not any("/no/such/path" in str(key) for key in after)


async def test_request_latencies_are_a_histogram_per_route(stack):
    before = await scrape(stack)
    await stack.http.get("/api/kitchen/queue", headers=kitchen_headers())
    after = await scrape(stack)
    labels = {"method": "GET", "route": "/api/kitchen/queue"}
    count = "pizzeria_http_request_duration_seconds_count"
    assert value(after, count, **labels) - value(before, count, **labels) == 1
    assert value(after, "pizzeria_http_request_duration_seconds_bucket", **labels, le="15.0") == value(
        after, count, **labels
    )
    assert value(after, "pizzeria_http_request_duration_seconds_sum", **labels) > 0


async def test_the_process_itself_is_described_too(stack):
    samples = await scrape(stack)
    assert value(samples, "process_resident_memory_bytes") > 0
