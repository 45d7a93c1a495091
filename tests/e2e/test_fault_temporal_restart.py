"""The Temporal server stopped and started again under a running API and worker, with orders in flight."""

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from tests.conftest import order_body, order_id_for
from tests.e2e.conftest import DevServer, Processes, launch_api
from tests.e2e.faults import Store, assert_finished_whole, assert_unavailable, eventually, pay_through_stripe, reaches
from tests.e2e.test_order_lifecycle import http_client, kitchen_moves, kitchen_token

# While Temporal is down, every answer comes within this (the API finds the outage out in about a second).
ANSWER_WITHIN_SECONDS = 3.0


@pytest.fixture
def processes_on_own_server(dev_server: DevServer, database_url: str, tmp_path: Path) -> Iterator[Processes]:
    """The API on a Temporal server of the test's own, waiting for confirmations as long as by default."""
    running = launch_api(dev_server.address, database_url, tmp_path, PIZZERIA_CONFIRM_TIMEOUT_SECONDS="10")
    yield running
    running.stop()


async def timed(call) -> tuple[httpx.Response, float]:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


async def test_while_temporal_is_down_the_api_answers_503_at_once_and_once_back_every_order_goes_on_by_itself(
    processes_on_own_server: Processes, dev_server: DevServer, stripe_peer
):
    processes = processes_on_own_server
    pay_through_stripe(processes, stripe_peer)
    parking = processes.start_pausing_worker()
    store = Store(processes.env["PIZZERIA_DATABASE_URL"])
    placing_key, outage_key = str(uuid.uuid4()), str(uuid.uuid4())
    placing, placed_in_outage = order_id_for(placing_key), order_id_for(outage_key)
    async with http_client(processes) as http:
        confirmed, preparing = [(await http.post("/api/orders", json=order_body())).json()["id"] for _ in range(2)]
        await kitchen_moves(http, preparing, "preparing")
        parking.park(placing, "save_order")  # charged; stored once Temporal is away
        in_flight = asyncio.create_task(
            http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": placing_key})
        )

        async def parked() -> bool:
            return len(parking.arrivals()) == 1

        await eventually(parked, "the order being placed to park")
        dev_server.stop()
        parking.release(placing, "save_order")

        answer = await in_flight
        assert_unavailable(answer)
        assert answer.json()["order_id"] == placing  # also without a key the client learns which order it was
        # The worker goes on with the steps that need no Temporal.
        await store.holds(placing, "confirmed")

        kitchen = kitchen_token(http)
        answers = await asyncio.gather(
            timed(http.get("/healthz")),
            timed(http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": outage_key})),
            timed(http.get(f"/api/orders/{uuid.uuid4()}")),
            timed(http.put(f"/api/kitchen/orders/{confirmed}/status", json={"status": "preparing"}, headers=kitchen)),
            timed(http.post(f"/api/orders/{preparing}/cancel", json={"reason": "the oven is cold"})),
            timed(http.get(f"/api/orders/{confirmed}")),
        )
        for response, seconds in answers:
            assert seconds < ANSWER_WITHIN_SECONDS, f"{response.request.method} {response.request.url.path}"
        (health, _), (post, _), (get_unknown, _), (put, _), (cancel, _), (get_stored, _) = answers
        for response in (health, post, get_unknown, put, cancel):
            assert_unavailable(response)
        assert post.json()["order_id"] == placed_in_outage
        # An order the database holds is answered from it, as last saved.
        assert get_stored.status_code == 200 and get_stored.json()["status"] == "confirmed"

        dev_server.start()

        async def healthy() -> bool:
            return (await http.get("/healthz")).status_code == 200

        await eventually(healthy, "/healthz to say 200 again", seconds=10)
        await reaches(http, placing, "confirmed")
        # The order in flight was placed before the outage (a repeat: 200); the one asked for while Temporal
        # was down never reached it, so this request places it (201).
        for key, order_id, status in ((placing_key, placing, 200), (outage_key, placed_in_outage, 201)):
            again = await http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": key})
            assert again.status_code == status, again.text
            assert again.json()["id"] == order_id and again.json()["status"] == "confirmed"
        # The cancel and the kitchen step that met the outage never reached Temporal: they are asked again.
        assert (await http.get(f"/api/orders/{preparing}")).json()["status"] == "preparing"
        cancelled = await http.post(f"/api/orders/{preparing}/cancel", json={"reason": "the oven is cold"})
        assert cancelled.status_code == 200, cancelled.text
        for order_id in (confirmed, placing, placed_in_outage):
            await kitchen_moves(http, order_id, "preparing", "ready", "completed")

    assert processes.worker is not None and processes.worker.poll() is None, "the worker was never restarted"
    assert processes.api is not None and processes.api.poll() is None, "the API was never restarted"
    client = await Client.connect(dev_server.address)  # histories name their activities in clear
    for order_id in (confirmed, placing, placed_in_outage):
        await assert_finished_whole(
            client, store, stripe_peer, order_id, ["received", "confirmed", "preparing", "ready", "completed"]
        )
    await assert_finished_whole(
        client, store, stripe_peer, preparing, ["received", "confirmed", "preparing", "cancelled"]
    )
