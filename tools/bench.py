"""Benchmark: whole pizza orders through the API against a bare Temporal workflow on the same server.

    .venv/bin/python -m tools.bench --orders 1000 --rate 20 [--out bench.json] [--plot bench.png]
    .venv/bin/python -m tools.bench --quick            # 60 orders at 20/s, concurrency 10, 60 at once

It starts its own Temporal dev server (the Makefile's tuning flags, a fresh SQLite file), one
`python worker.py` and one `uvicorn api.app:app`, all on 127.0.0.1 (tools/stack.py), and then
measures:

A. the pizzeria: an open loop of pickup orders at --rate per second (POST /api/orders, then the
   kitchen's PUTs preparing, ready, completed), then a closed loop of --concurrency clients doing whole
   lifecycles back to back;
C. delivery orders through a driver: the same closed loop, where the kitchen stops at ready and a
   driver picks each order up and delivers it (POST /api/deliveries/{id}/pickup, .../delivered), so
   each order also runs its DeliveryWorkflow;
D. the pizzeria's closed loop again with the shop's screens open: ten kitchen displays and, for each
   order, its customer's tracking page, asking for their live parts every second as browsers do
   (tools/screens_load.py); the tracking pages' lag behind the kitchen's last move at full load (§6:
   within 2 s) and what the screens cost per order beside phase A's closed loop;
B. a bare Temporal workflow with the saga's shape (tools/bare_workflow.py: update-with-start, the same
   local and regular no-op activities in the same workflow tasks, the SLA timer, three updates), hosted
   by a worker in this process and driven as the API drives an order: the same closed loop, and the
   same open loop for reference;
E. overload, last: --overload orders (500) POSTed at once, each with its own Idempotency-Key, a 503
   waited out for its Retry-After and sent again until placed (tools/overload.py): every attempt's
   latency, the 503s, placed orders per second, nothing lost, each order charged once (the shop's
   database). The orders are left confirmed: the stack is discarded after it;

plus the history events of a few finished workflows of each, and Temporal's actions per order (the dev
server's `action` counter, tools/actions.py) for A's and C's closed loops, B's, and a GET of a running
order. It prints a table, writes the figures as JSON with --out and a latency plot as PNG next to it
(--plot; tools/bench_plot.py), and exits 0 whether or not the targets hold: it reports, it does not judge (1 only when
the harness itself fails). Every process it starts is stopped on the way out, also on Ctrl-C, SIGTERM or
an error; on Linux they also get SIGTERM should this process be killed outright.

Fairness notes. The machine has 2 CPUs shared by everything, so the load generator must be cheap per
request: aiohttp (its cost is measured in tools/loadgen.py's notes). The bare workflow runs in the
SDK's sandbox like OrderWorkflow, with its module passed through. Per-process CPU seconds (from /proc)
are reported per phase, with what the rest of the machine used meanwhile ("others"), to tell a slow
system from a busy machine.
"""

import argparse
import asyncio
import contextlib
import os
import platform
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio.client import Client

from api.auth import SESSION_COOKIE, mint_token
from tools.actions import Actions, per_order
from tools.bare_workflow import KITCHEN, LIFECYCLE_SECONDS, PLACEMENT, Bare, bare_worker, event_kinds
from tools.bench_plot import plot
from tools.bench_report import compare, phase_report, table
from tools.loadgen import Answer, CpuMeter, Http, Recorder, closed_loop, open_loop, summary
from tools.overload import Overload, retry_after
from tools.screens_load import Screens
from tools.stack import DEV_SERVER_TUNING, SEARCH_ATTRIBUTE_FLAGS, start_stack
from tools.supervisor import Children, publish, run_then_leave, say, supervised
from workflows.payload_codec import new_key_entry

JWT_SECRET = "a-benchmark-secret-that-is-long-enough-for-hs256"
DELIVERY_BODY = {  # a delivery of two large margheritas with basil, paid by card (the tests' order too)
    "customer_name": "Ann Example",
    "customer_phone": "+15551234567",
    "customer_address": "1 Main Street, Springfield",
    "fulfilment": "delivery",
    "pizzas": [{"name": "margherita", "size": "large", "toppings": ["basil"], "quantity": 2}],
    "payment_method": "card",
    "payment_token": "pm_card_visa",
}
ORDER_BODY = DELIVERY_BODY | {"fulfilment": "pickup"}  # the same order, collected at the counter
KITCHEN_STEPS = ("preparing", "ready", "completed")
DRIVER_STEPS = ("pickup", "delivered")
POST = "POST /api/orders"
START = "update-with-start"
GETS = 5  # GETs of one running order, for the actions a GET costs
HISTORY_SAMPLES = 5
KITCHEN_SCREENS = 10  # kitchen displays open during phase D


class Orders:
    """Drives whole orders through the API, as a customer and the kitchen would."""

    def __init__(self, http: Http, staff_token: str, by_driver: bool = False, screens: Screens | None = None) -> None:
        self.http = http
        self.staff = {"Authorization": f"Bearer {staff_token}"}
        self.by_driver = by_driver
        self.screens = screens  # each order followed by its tracking page, when given

    async def lifecycle(self, rec: Recorder, key: str, planned: float | None = None) -> str | None:
        """Place an order and move it through the kitchen (and a driver); its id once completed, None on any error."""
        started = rec.started(planned)
        body = DELIVERY_BODY if self.by_driver else ORDER_BODY
        kitchen_steps = KITCHEN_STEPS[:-1] if self.by_driver else KITCHEN_STEPS
        try:
            async with asyncio.timeout(LIFECYCLE_SECONDS):
                placed = await self._place(rec, body, key)
                rec.first_answered(started, str(placed.status_code))
                if not rec.answer(POST, placed, 201):
                    return None
                order_id = placed.json()["id"]
                if self.screens is not None:
                    self.screens.follow(order_id)
                for status in kitchen_steps:
                    moved = await self.http.put(
                        f"/api/kitchen/orders/{order_id}/status", json={"status": status}, headers=self.staff
                    )
                    if not rec.answer(f"PUT status {status}", moved, 200):
                        return None
                for step in DRIVER_STEPS if self.by_driver else ():
                    moved = await self.http.post(f"/api/deliveries/{order_id}/{step}", None, self.staff)
                    if not rec.answer(f"POST {step}", moved, 200):
                        return None
        except (OSError, EOFError, TimeoutError, KeyError, ValueError, IndexError) as err:
            rec.error("lifecycle", None, f"{type(err).__name__}: {err}")
            return None
        if self.screens is not None:
            self.screens.completed(order_id)
        rec.done(order_id, started)
        return order_id

    async def _place(self, rec: Recorder, body: dict, key: str) -> Answer:
        """POST the order as a client does: turned away while the shop is busy (503 at once, nothing placed), it
        repeats the request with its key after Retry-After (and a little jitter, so that clients spread out).
        The latency recorded is the customer's: from the first try until the order is placed."""
        while True:
            placed = await self.http.post("/api/orders", json=body, headers={"Idempotency-Key": key})
            if placed.status_code != 503 or "overloaded" not in placed.text:
                return placed
            rec.answers[f"{POST} 503 busy, repeated"] += 1
            await asyncio.sleep(retry_after(placed.headers) + random.uniform(0, 0.5))


async def history_events(client: Client, workflow_ids: list[str]) -> tuple[list[int], dict[str, int]]:
    """Events in the history of each (finished) workflow, waiting for each to close first; and the longest one's
    events by type."""
    counts: list[int] = []
    shape: dict[str, int] = {}
    for wid in workflow_ids:
        handle = client.get_workflow_handle(wid)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(30):
                await handle.result()
        async with asyncio.timeout(30):
            events = (await handle.fetch_history()).events
        if not counts or len(events) > max(counts):
            shape = event_kinds(events)
        counts.append(len(events))
    return counts, shape


async def actions_per_get(http: Http, staff: dict[str, str], actions: Actions, key: str) -> dict:
    """Temporal's actions per GET /api/orders/{id} of a running order: one placed, asked for GETS times, then
    moved through the kitchen to its end."""
    placed = await http.post("/api/orders", json=ORDER_BODY, headers={"Idempotency-Key": key})
    if placed.status_code != 201:
        return {"count": 0, "total": None, "by_type": {}, "error": f"POST {placed.status_code}: {placed.text[:200]}"}
    order_id = placed.json()["id"]
    before = await actions.read()
    answers: Counter[str] = Counter()
    for _ in range(GETS):
        answers[f"GET {(await http.get(f'/api/orders/{order_id}')).status_code}"] += 1
    figures = per_order(before, await actions.read(), GETS)
    for status in KITCHEN_STEPS:
        moved = await http.put(f"/api/kitchen/orders/{order_id}/status", json={"status": status}, headers=staff)
        answers[f"PUT status {status} {moved.status_code}"] += 1
    return {**figures, "answers": dict(answers)}


def spread(items: list[str], n: int) -> list[str]:
    """Up to n items spread over the list."""
    if len(items) <= n:
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


Lifecycle = Callable[[Recorder, str, float | None], Awaitable[str | None]]


class Phases:
    """The measured phases of one side (the pizzeria or the bare workflow), with its lifecycle."""

    def __init__(self, args: argparse.Namespace, side: str, lifecycle: Lifecycle, key: str, pids: dict) -> None:
        self.n, self.rate, self.conc = args.orders, args.rate, args.concurrency
        self.side, self.lifecycle, self.key, self.pids = side, lifecycle, key, pids
        self.first_call = START if side.startswith("bare") else POST

    async def warm_up(self, count: int) -> None:
        warm = Recorder(f"{self.side} warm-up")
        for i in range(count):
            await self.lifecycle(warm, f"{self.key}-warm-{i}", None)
        if warm.errors:
            say(f"{self.side} warm-up errors: {warm.error_samples[:3]}")

    async def open(self) -> tuple[dict, list[str]]:
        say(f"{self.side}, open loop: {self.n} at {self.rate:g}/s")
        rec, cpu = Recorder(f"{self.side} open loop"), CpuMeter(self.pids)

        async def one(i: int, planned: float) -> None:
            await self.lifecycle(rec, f"{self.key}-open-{i}", planned)

        wall = await open_loop(self.n, self.rate, one, self.n / self.rate + 120)
        report = phase_report(rec, self.first_call, self.n, wall, cpu.read(), send_lag_ms=summary(rec.send_lag_ms),
                              timeline=rec.timeline_rows())  # fmt: skip
        return report, list(rec.completed)

    async def closed(
        self, closing: Callable[[list[str]], Awaitable[None]] | None = None, actions: Actions | None = None
    ) -> tuple[dict, list[str]]:
        """The closed loop; with `closing`, timed until it has seen the last lifecycles' workflows closed; with
        `actions`, Temporal's actions per lifecycle counted from before it to after its workflows closed."""
        counted_before = await actions.read() if actions else None
        say(f"{self.side}, closed loop: {self.n} lifecycles, {self.conc} at a time")
        rec, cpu = Recorder(f"{self.side} closed loop"), CpuMeter(self.pids)

        async def one(i: int) -> None:
            await self.lifecycle(rec, f"{self.key}-closed-{i}", None)

        started = time.perf_counter()
        answered = await closed_loop(self.n, self.conc, one, 120 + self.n * 0.5)
        extra = {}
        if closing is not None:
            await closing(rec.completed[-self.conc :])
            extra["wall_until_last_answer_s"] = round(answered, 2)
        wall = time.perf_counter() - started
        report = phase_report(rec, self.first_call, self.n, wall, cpu.read(), concurrency=self.conc, **extra)
        if actions and counted_before is not None:
            report["actions_per_order"] = per_order(counted_before, await actions.read(), len(rec.completed))
        return report, list(rec.completed)


async def with_screens(
    args: argparse.Namespace, http: Http, run: str, pids: dict, closing: Callable[[list[str]], Awaitable[None]]
) -> dict:
    """D. The pizzeria's closed loop again, with kitchen screens open and each order followed by its tracking page:
    beside phase A's closed loop, what the screens cost per order and how far the pages lag at full load."""
    cookie = f"{SESSION_COOKIE}={mint_token(JWT_SECRET, 'screen', ['kitchen'], 6 * 3600)}"
    with Screens(http, cookie, KITCHEN_SCREENS) as screens:
        watched = Orders(http, mint_token(JWT_SECRET, "luigi", ["kitchen"], 6 * 3600), screens=screens)
        phase = Phases(args, f"D. pizzeria, {KITCHEN_SCREENS} kitchen screens + tracking pages", watched.lifecycle,
                       f"bench-{run}-screens", pids)  # fmt: skip
        report, _ = await phase.closed(closing)
        await screens.close()
    return {"closed_loop": report, **screens.report()}


async def measure(args: argparse.Namespace, children: Children) -> dict:
    run = uuid.uuid4().hex[:8]
    result: dict = {
        "config": {
            "orders": args.orders, "rate": args.rate, "concurrency": args.concurrency, "warmup": args.warmup,
            "overload": args.overload, "quick": args.quick,
            "temporal_flags": [*DEV_SERVER_TUNING, *SEARCH_ATTRIBUTE_FLAGS, "--headless"],
        },
        "machine": {
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "loadavg_before": [round(v, 2) for v in os.getloadavg()],
        },
    }  # fmt: skip
    say(f"[{run}] starting Temporal, the worker and the API in {children.logs}")
    setup_started = time.perf_counter()
    stack = await start_stack(children, "bench-orders", JWT_SECRET, new_key_entry("bench"))
    result["machine"]["setup_s"] = round(time.perf_counter() - setup_started, 1)
    pids = children.pids() | {"bench": os.getpid()}
    client = await Client.connect(stack.env["PIZZERIA_TEMPORAL_ADDRESS"])
    assert stack.temporal is not None
    actions = Actions(stack.temporal.metrics_port)

    async def closing(order_ids: list[str]) -> None:
        # The last PUT answers before the workflow records the sale and closes: count until the last ones closed.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(30):
                await asyncio.gather(*(client.get_workflow_handle(f"order-{o}").result() for o in order_ids))

    http = Http(stack.base_url)
    try:
        shop = Orders(http, mint_token(JWT_SECRET, "luigi", ["kitchen"], 6 * 3600))
        pizzeria = Phases(args, "A. pizzeria", shop.lifecycle, f"bench-{run}", pids)
        await pizzeria.warm_up(args.warmup)
        pizzeria_open, open_ids = await pizzeria.open()
        await closing(open_ids[-args.concurrency :])  # the open loop's last workflows closed, not counted below
        pizzeria_closed, _ = await pizzeria.closed(closing, actions)
        # Right after A's closed loop, on the same server grown as much: the difference is the screens'.
        screens_open = await with_screens(args, http, run, pids, closing)
        driven = Orders(http, mint_token(JWT_SECRET, "toad", ["kitchen", "driver"], 6 * 3600), by_driver=True)
        delivery = Phases(args, "C. delivery by a driver", driven.lifecycle, f"bench-{run}-delivery", pids)
        await delivery.warm_up(args.warmup)
        delivery_closed, delivery_ids = await delivery.closed(closing, actions)
        say(f"actions per GET of a running order ({GETS} GETs)")
        per_get = await actions_per_get(http, shop.staff, actions, f"bench-{run}-gets")
    finally:
        await http.close()

    say("B. bare Temporal workflow (worker in this process)")
    bare_queue_name = f"bench-bare-{uuid.uuid4()}"
    async with bare_worker(client, bare_queue_name):
        bare = Phases(args, "B. bare workflow", Bare(client, bare_queue_name).lifecycle, f"bare-{run}", pids)
        await bare.warm_up(args.warmup)
        bare_closed, bare_ids = await bare.closed(actions=actions)
        bare_open, _ = await bare.open()

    say("history events of a few finished workflows")
    pizzeria_events, pizzeria_shape = await history_events(
        client, [f"order-{oid}" for oid in spread(open_ids, HISTORY_SAMPLES)]
    )
    bare_events, bare_shape = await history_events(client, spread(bare_ids, HISTORY_SAMPLES))
    delivery_events, delivery_shape = await history_events(
        client, [f"order-{o}" for o in spread(delivery_ids, HISTORY_SAMPLES)]
    )
    result["pizzeria"] = {"open_loop": pizzeria_open, "closed_loop": pizzeria_closed, "history_events": pizzeria_events,
                          "history_shape": pizzeria_shape, "actions_per_get": per_get}  # fmt: skip
    shape = {"placement": PLACEMENT, "kitchen": KITCHEN}
    result["baseline"] = {"closed_loop": bare_closed, "open_loop": bare_open, "history_events": bare_events,
                          "history_shape": bare_shape, "shape": shape}  # fmt: skip
    result["delivery"] = {"closed_loop": delivery_closed, "history_events": delivery_events,
                          "history_shape": delivery_shape}  # fmt: skip
    result["screens"] = screens_open
    if args.overload:
        # Last: the orders it leaves confirmed disturb no other phase.
        say(f"E. overload: {args.overload} orders at once, each retried after a 503 as Retry-After says")
        crowd = Http(stack.base_url)
        try:
            overload = Overload(crowd, ORDER_BODY, f"bench-{run}-overload", args.overload)
            result["overload"] = await overload.run(pids, stack.env["PIZZERIA_DATABASE_URL"])
        finally:
            await crowd.close()
    result["machine"]["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    result["comparison"] = compare(result)
    if args.plot:
        plot(result, args.plot)
        result["plot"] = str(args.plot)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, help="order lifecycles per phase (default 1000; --quick 60)")
    parser.add_argument("--rate", type=float, help="open-loop arrivals per second (default 20)")
    parser.add_argument("--concurrency", type=int, help="closed-loop drivers (default 20; --quick 10)")
    parser.add_argument("--warmup", type=int, help="unmeasured lifecycles before each side (default 10; --quick 3)")
    parser.add_argument("--quick", action="store_true", help="a fast smoke form: 60 orders at 20/s, concurrency 10")
    parser.add_argument("--overload", type=int, help="orders at once in phase E (default 500; --quick 60; 0: none)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--plot", type=Path, help="write the latency plot (PNG) here (default: --out's name, .png)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (databases and logs)")
    args = parser.parse_args(argv)
    defaults = {"orders": 60, "rate": 20.0, "concurrency": 10, "warmup": 3, "overload": 60} if args.quick else {
        "orders": 1000, "rate": 20.0, "concurrency": 20, "warmup": 10, "overload": 500}  # fmt: skip
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.plot is None and args.out is not None:
        args.plot = args.out.with_suffix(".png")
    if args.orders < 1 or args.rate <= 0 or args.concurrency < 1 or args.warmup < 0 or args.overload < 0:
        parser.error("--orders, --rate and --concurrency must be positive, --warmup and --overload not negative")
    return args


async def amain(args: argparse.Namespace) -> int:
    """Measure and report: 0 whether or not the targets hold, 1 when the harness itself failed."""
    result = await supervised("pizzeria-bench-", args.keep, "the benchmark harness", lambda c: measure(args, c))
    if result is None:
        return 1
    publish(table(result), result, args.out)
    return 0


def main(argv: list[str] | None = None) -> None:
    run_then_leave(amain(parse_args(argv)), lambda: say("interrupted; every process stopped"))


if __name__ == "__main__":
    main()
