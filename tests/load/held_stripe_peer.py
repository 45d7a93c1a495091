"""The Stripe peer of tests/peers/stripe_peer.py, which can also hold an order's charge at the door.

    python -m tests.load.held_stripe_peer --port N

A held charge keeps its order `received` for as long as a test needs (to cancel it there), without
failing an attempt: no retried charge, and so no retried attempt's search through the PaymentIntents.

- `POST /_peer/hold` `{"order_id"}`: the order's charge requests wait here until released.
- `GET /_peer/held?order_id=...`: `{"waiting": n}`, how many of its charge requests are waiting.
- `POST /_peer/release` `{"order_id"}`: they go on to localstripe, and later ones pass at once.
"""

import asyncio
from urllib.parse import parse_qsl

from aiohttp import web

from tests.peers import stripe_peer

CHARGES = "/v1/payment_intents"
gates: dict[str, asyncio.Event] = {}
waiting: dict[str, int] = {}


@web.middleware
async def hold(request: web.Request, handler):  # type: ignore[no-untyped-def]
    if request.path in ("/_peer/hold", "/_peer/release"):
        order_id = (await request.json())["order_id"]
        gate = gates.setdefault(order_id, asyncio.Event())
        if request.path == "/_peer/release":
            gate.set()
        return web.json_response({"order_id": order_id, "held": not gate.is_set()})
    if request.path == "/_peer/held":
        return web.json_response({"waiting": waiting.get(request.query.get("order_id", ""), 0)})
    if request.method == "POST" and request.path == CHARGES:
        order_id = dict(parse_qsl(await request.text())).get("metadata[order_id]", "")
        if (gate := gates.get(order_id)) is not None and not gate.is_set():
            waiting[order_id] = waiting.get(order_id, 0) + 1
            try:
                await gate.wait()
            finally:
                waiting[order_id] -= 1
    return await handler(request)


if __name__ == "__main__":
    stripe_peer.app.middlewares.insert(0, hold)  # behind the recorder, which stripe_peer.main puts first
    stripe_peer.main()
