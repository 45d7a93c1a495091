"""The store's PostgreSQL server away for ten seconds under a running API and worker, with orders in flight."""

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import order_body, order_id_for
from tests.e2e.conftest import PostgresServer, Processes, launch_api
from tests.e2e.faults import Store, assert_finished_whole, assert_unavailable, eventually, pay_through_stripe, reaches
from tests.e2e.test_order_lifecycle import http_client, kitchen_moves, kitchen_token

OUTAGE_SECONDS = 10


@pytest.fixture
def processes_on_own_database(
    temporal_env: WorkflowEnvironment, own_postgres: PostgresServer, tmp_path: Path
) -> Iterator[Processes]:
    """The API on a PostgreSQL server of the test's own (it waits 3 s for a confirmation, as in every e2e test)."""
    running = launch_api(temporal_env.client.service_client.config.target_host, own_postgres.url, tmp_path)
    yield running
    running.stop()


async def test_while_the_database_is_down_orders_wait_for_it_and_once_back_every_order_is_stored_in_its_end(
    processes_on_own_database: Processes, own_postgres: PostgresServer, temporal_env: WorkflowEnvironment, stripe_peer
):
    processes = processes_on_own_database
    pay_through_stripe(processes, stripe_peer)
    parking = processes.start_pausing_worker()
    store = Store(own_postgres.url)
    placing_key, outage_key = str(uuid.uuid4()), str(uuid.uuid4())
    placing, placed_in_outage = order_id_for(placing_key), order_id_for(outage_key)
    async with http_client(processes) as http:
        confirmed, preparing = [(await http.post("/api/orders", json=order_body())).json()["id"] for _ in range(2)]
        await kitchen_moves(http, preparing, "preparing")
        parking.park(placing, "save_order")  # charged; to be stored while the database is away
        in_flight = asyncio.create_task(
            http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": placing_key})
        )

        async def parked() -> bool:
            return len(parking.arrivals()) == 1

        await eventually(parked, "the order being placed to park")
        own_postgres.stop()
        down_at = time.monotonic()
        parking.release(placing, "save_order")

        kitchen = kitchen_token(http)
        placed, new, step, other_step = await asyncio.gather(
            in_flight,
            http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": outage_key}),
            http.put(f"/api/kitchen/orders/{confirmed}/status", json={"status": "preparing"}, headers=kitchen),
            http.put(f"/api/kitchen/orders/{preparing}/status", json={"status": "ready"}, headers=kitchen),
        )
        # Nothing can be stored: a new order is not confirmed within the wait, and says which order it is.
        for response, order_id in ((placed, placing), (new, placed_in_outage)):
            assert_unavailable(response)
            assert response.json()["order_id"] == order_id
        # A kitchen step is taken by the order at once, but its answer goes out with the workflow task that
        # stores it: not within 3 s (the default wait of 10 s sees a 200 after about 8 s, the task's heartbeat).
        for response in (step, other_step):
            assert_unavailable(response)
        # Reads of what only the database holds are 503s, never 500s.
        reads = ("/api/menu", "/api/kitchen/queue", "/api/orders?status=confirmed", f"/api/orders/{uuid.uuid4()}")
        for path in reads:
            assert_unavailable(await http.get(path, headers=kitchen))
        # A running order answers from its workflow, which answers between its tries of the database (a workflow
        # task's heartbeat, about every 8 s): a read that gives up first (it waits 5 s) is a 503, and the
        # customer who asks again is answered while the database is still away.
        answered = None
        while answered is None and time.monotonic() - down_at < 2 * OUTAGE_SECONDS:
            running = await http.get(f"/api/orders/{preparing}")
            if running.status_code == 200:
                answered = running.json()
            else:
                assert_unavailable(running)
        assert answered is not None, "a running order never answered while the database was away"
        assert answered["status"] == "ready"
        while time.monotonic() - down_at < OUTAGE_SECONDS:  # the outage lasts its time, however quick the answers
            await asyncio.sleep(0.2)

        own_postgres.start()
        for order_id in (placing, placed_in_outage):
            await reaches(http, order_id, "confirmed")
        for key, order_id in ((placing_key, placing), (outage_key, placed_in_outage)):
            again = await http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": key})
            assert again.status_code == 200, again.text  # placed by the attempt that met the outage
            assert again.json()["id"] == order_id and again.json()["status"] == "confirmed"
        # The kitchen's steps were kept through the outage, and are stored now.
        await store.holds(confirmed, "preparing")
        await store.holds(preparing, "ready")

        cancelled = await http.post(f"/api/orders/{placing}/cancel", json={"reason": "took too long"})
        assert cancelled.status_code == 200, cancelled.text
        await kitchen_moves(http, confirmed, "ready", "completed")
        await kitchen_moves(http, preparing, "completed")
        await kitchen_moves(http, placed_in_outage, "preparing", "ready", "completed")

    completed = ["received", "confirmed", "preparing", "ready", "completed"]
    for order_id in (confirmed, preparing, placed_in_outage):
        await assert_finished_whole(temporal_env.client, store, stripe_peer, order_id, completed)
    await assert_finished_whole(
        temporal_env.client, store, stripe_peer, placing, ["received", "confirmed", "cancelled"]
    )
