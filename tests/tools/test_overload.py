"""The overload run's clients behave as the issue asks of a polite client: a 503 is waited out for its Retry-After
and the same request (the same Idempotency-Key) sent again until placed; one that cannot be placed in time is given
up and counted lost. Against a small HTTP server that sheds each key's first attempt, as admission control does."""

import json
import sqlite3
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from tools.bench import ORDER_BODY
from tools.loadgen import Http
from tools.overload import Overload, charges
from tools.supervisor import free_port

SHED_SECONDS = 1  # the Retry-After the server sends


@asynccontextmanager
async def shedding_server(shed_first: int, always_shed: set[str] | None = None) -> AsyncIterator[tuple[str, dict]]:
    """An HTTP server for POST /api/orders: 503 with Retry-After to each key's first `shed_first` attempts (and to
    every attempt of `always_shed`), then 201 with an order id of that key's own; what it saw per key."""
    seen: dict[str, list[float]] = defaultdict(list)
    orders: dict[str, str] = {}

    async def place(request: web.Request) -> web.Response:
        key = request.headers["Idempotency-Key"]
        seen[key].append(time.monotonic())
        assert await request.json() == ORDER_BODY
        if len(seen[key]) <= shed_first or key in (always_shed or set()):
            return web.json_response({"title": "busy"}, status=503, headers={"Retry-After": str(SHED_SECONDS)})
        orders.setdefault(key, str(uuid.uuid4()))
        return web.json_response({"id": orders[key]}, status=201)

    app = web.Application()
    app.router.add_post("/api/orders", place)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_a_shed_order_is_sent_again_with_its_key_after_retry_after_and_placed_once(tmp_path: Path) -> None:
    async with shedding_server(shed_first=1) as (url, seen):
        http = Http(url)
        try:
            report = await Overload(http, ORDER_BODY, "k", 20).run({}, "postgresql://elsewhere/db")
        finally:
            await http.close()

    assert sorted(seen) == sorted(f"k-{i}" for i in range(20))
    for key, times in seen.items():
        assert len(times) == 2, key  # shed once, then placed: never a third attempt
        assert times[1] - times[0] >= SHED_SECONDS * 0.95, key  # waited for Retry-After
    assert report["answers"] == {"201": 20, "503": 20}
    assert report["keys_placed"] == report["distinct_orders"] == 20
    assert report["lost"] == 0
    assert report["shed_503_ms"]["n"] == 20
    assert report["answered_within_bound"] == report["attempts"] == 40
    assert report["placed_all_s"] >= SHED_SECONDS * 0.95
    assert report["charges"] == {"checked": False, "why": "not a SQLite database"}
    assert len(report["timeline"]) == 40


async def test_an_order_never_admitted_is_given_up_and_counted_lost() -> None:
    async with shedding_server(shed_first=0, always_shed={"k-1"}) as (url, seen):
        http = Http(url)
        try:
            report = await Overload(http, ORDER_BODY, "k", 2, give_up=2.5).run({}, "postgresql://elsewhere/db")
        finally:
            await http.close()

    assert len(seen["k-0"]) == 1
    assert 2 <= len(seen["k-1"]) <= 3  # sent again after each 1 s Retry-After until 2.5 s had gone
    assert report["keys_placed"] == 1
    assert report["lost"] == 1
    assert report["placed_all_s"] is None  # not all were placed
    assert any("k-1: given up" in sample for sample in report["error_samples"])


def test_charges_are_read_from_the_shops_sqlite_database(tmp_path: Path) -> None:
    database = tmp_path / "pizzeria.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, snapshot TEXT)")
        rows = {"a": "tx-1", "b": "tx-2", "c": "tx-2", "d": None, "other": "tx-9"}
        for order_id, transaction in rows.items():
            snapshot = {"id": order_id, "payment": {"method": "card", "transaction_id": transaction}}
            db.execute("INSERT INTO orders VALUES (?, ?)", (order_id, json.dumps(snapshot)))

    found = charges(f"sqlite:///{database}", ["a", "b", "c", "d", "missing"])

    # Four of the five stored; three with a payment, one of them shared: not every order charged once.
    assert found == {"checked": True, "stored": 4, "with_payment": 3, "distinct_payments": 2}
