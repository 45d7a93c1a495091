"""Load test with reconciliation: many orders through the API at once, then the books must balance.

    .venv/bin/python -m tests.load.reconcile --orders 300 --concurrency 30 [--out load.json]

It starts its own Temporal dev server, one `python worker.py` and one `uvicorn api.app:app` (as the
benchmark does, through tools/stack.py), with card payments going through the Stripe
adapter to localstripe (the peer of tests/peers). Every order follows a plan: completed by the
kitchen; cancelled while being placed, once confirmed or while preparing; declined; paid by card or
in cash. Once all have ended, the plan is held against what the outside world keeps: each workflow in
Temporal, the charges and refunds at the payment provider, the rows in the database and the revenue
the API reports. It prints a table (expected, found, OK or MISMATCH) with throughput and latency,
writes it as JSON with --out, and exits 0 when everything reconciles, 1 on any mismatch, 2 when the
harness itself fails.

A cancel lands while the order is being placed, every time: the provider holds the order's charge
request (tests/load/held_stripe_peer.py) until the workflow's history shows the cancel accepted. The
charge then goes through and is refunded.
"""

import argparse
import asyncio
import contextlib
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from sqlmodel import Session, select
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.store.tables import OrderRow, make_engine
from api.auth import mint_token
from tests.conftest import ORDER_ID_SECRET, order_body, order_id_for
from tests.peers import STRIPE_KEY
from tools.loadgen import Answer, CpuMeter, Http, closed_loop, summary
from tools.stack import start_stack
from tools.supervisor import Children, answers, free_port, publish, run_then_leave, say, supervised, wait_until
from workflows.order_contract import ORDER_STATUS, UPDATE_CANCEL_ORDER, workflow_id
from workflows.payload_codec import new_key_entry

JWT_SECRET = "a-load-test-secret-that-is-long-enough-for-hs256"
PAYING_CARD = "pm_card_visa"
DECLINING_CARD = "pm_card_chargeCustomerFail"  # localstripe's one declining card (NOTES.md)
CENT = Decimal("0.01")
TAX_RATE = Decimal("0.0875")
DELIVERY_FEE = Decimal("2.99")
ORDER_SECONDS = 120.0  # one order's whole script, 503s repeated included
CLOSE_SECONDS = 180.0  # for every workflow to close once the last answer came
SAMPLES = 15
PLACE, CANCEL, MOVE, HELD = "POST /api/orders", "POST cancel", "PUT status", ", charge held"


@dataclass(frozen=True)
class Scenario:
    name: str
    payment: str  # card or cash
    kitchen: tuple[str, ...] = ()  # the kitchen's steps, in order
    cancel_in: str | None = None  # the status the customer cancels in
    declined: bool = False

    @property
    def final(self) -> str:
        if self.declined:
            return "rejected"
        return "cancelled" if self.cancel_in else self.kitchen[-1]

    @property
    def history(self) -> list[str]:
        """The statuses the order passes through."""
        if self.declined:
            return ["received", "rejected"]
        placed = [] if self.cancel_in == "received" else ["confirmed"]
        return ["received", *placed, *self.kitchen, *(["cancelled"] if self.cancel_in else [])]

    @property
    def charged(self) -> bool:
        return self.payment == "card" and not self.declined

    @property
    def refunded(self) -> bool:
        return self.charged and self.cancel_in is not None


COOKED = ("preparing", "ready", "completed")
# Twenty orders; a run repeats them, shuffled.
MIX = (
    (8, Scenario("card, completed", "card", COOKED)),
    (3, Scenario("cash, completed", "cash", COOKED)),
    (1, Scenario("card, cancelled while being placed", "card", cancel_in="received")),
    (2, Scenario("card, cancelled once confirmed", "card", cancel_in="confirmed")),
    (2, Scenario("card, cancelled while preparing", "card", ("preparing",), cancel_in="preparing")),
    (1, Scenario("cash, cancelled once confirmed", "cash", cancel_in="confirmed")),
    (1, Scenario("cash, cancelled while preparing", "cash", ("preparing",), cancel_in="preparing")),
    (2, Scenario("card, declined", "card", declined=True)),
)
CYCLE = [scenario for count, scenario in MIX for _ in range(count)]


@dataclass
class PlannedOrder:
    index: int
    key: str
    scenario: Scenario
    body: dict
    total: Decimal  # priced from the menu by the contract's rules
    repeat: bool  # sent again with the same Idempotency-Key once its script is done
    problems: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    ran: bool = False  # its script came to an end, as planned or not (the run's time may run out first)

    @property
    def id(self) -> str:
        return order_id_for(self.key)

    def off(self, what: str) -> "OffPlan":
        self.problems.append(what)
        return OffPlan(what)


class OffPlan(Exception):
    """An answer the plan did not foresee: the rest of the order's script is moot."""


def price(menu: dict, pizzas: list[dict], delivery: bool) -> Decimal:
    """The total by the contract's rules, from the menu's prices."""
    pizza_prices = {p["name"]: p["prices"] for p in menu["pizzas"]}
    topping_prices = {t["name"]: Decimal(t["price"]) for t in menu["toppings"]}
    subtotal = sum(
        (
            line["quantity"]
            * (Decimal(pizza_prices[line["name"]][line["size"]]) + sum(topping_prices[t] for t in line["toppings"]))
            for line in pizzas
        ),
        Decimal(0),
    )
    tax = (subtotal * TAX_RATE).quantize(CENT, rounding=ROUND_HALF_UP)
    return subtotal + tax + (DELIVERY_FEE if delivery else Decimal(0))


def plan(count: int, menu: dict, run: str, seed: int) -> list[PlannedOrder]:
    """`count` orders of the mix, each with pizzas, toppings and fulfilment of its own."""
    rng = random.Random(seed)
    scenarios = [CYCLE[i % len(CYCLE)] for i in range(count)]
    rng.shuffle(scenarios)
    pizzas = [p["name"] for p in menu["pizzas"] if p["available"]]
    toppings = [t["name"] for t in menu["toppings"] if t["available"]]
    orders = []
    for i, scenario in enumerate(scenarios):
        lines = [
            {
                "name": rng.choice(pizzas),
                "size": rng.choice(("small", "medium", "large")),
                "toppings": rng.sample(toppings, rng.randint(0, 2)),
                "quantity": rng.randint(1, 3),
            }
            for _ in range(rng.randint(1, 3))
        ]
        delivery = rng.random() < 0.5
        body = order_body(
            customer_name=f"Load Customer {i}",
            customer_phone=f"+1555{i:07d}",
            fulfilment="delivery" if delivery else "pickup",
            pizzas=lines,
            payment_method=scenario.payment,
            payment_token=DECLINING_CARD if scenario.declined else PAYING_CARD,
        )
        if scenario.payment == "cash":
            del body["payment_token"]
        orders.append(PlannedOrder(i, f"load-{run}-{i}", scenario, body, price(menu, lines, delivery), i % 5 == 0))
    return orders


def statuses(order: dict) -> list[str]:
    """The statuses in an order's history, each once."""
    seen: list[str] = []
    for change in order["history"]:
        if not seen or seen[-1] != change["status"]:
            seen.append(change["status"])
    return seen


# --- driving the orders ---------------------------------------------------------------------------------


class Customers:
    """Places, cancels and moves the planned orders through the API, as customers and the kitchen would."""

    def __init__(self, http: Http, peer: Http, temporal: Client, jwt_secret: str) -> None:
        self.http, self.peer, self.temporal = http, peer, temporal
        self.kitchen = {"Authorization": f"Bearer {mint_token(jwt_secret, 'luigi', ['kitchen'], 6 * 3600)}"}
        # The orders whose charge is held at the provider are timed apart: they wait for it.
        self.ms: dict[str, list[float]] = {what: [] for what in (PLACE, CANCEL, MOVE, PLACE + HELD, CANCEL + HELD)}
        self.answers: Counter[str] = Counter()

    async def run(self, order: PlannedOrder) -> None:
        """The order's script; what differs from the plan is kept in `order.problems`."""
        scenario = order.scenario
        try:
            async with asyncio.timeout(ORDER_SECONDS):
                if scenario.cancel_in == "received":
                    final = await self._cancel_while_placed(order)
                else:
                    final = await self._place(order)
                    for step in scenario.kitchen:
                        final = await self._move(order, step)
                    if scenario.cancel_in:
                        final = await self._cancel(order)
                order.history = statuses(final)
                if order.repeat:
                    await self._repeat(order)
        except OffPlan:
            pass
        except (OSError, EOFError, TimeoutError, ValueError, KeyError, TypeError) as err:
            order.problems.append(f"{type(err).__name__}: {err}")
        order.ran = True

    async def _post(self, what: str, path: str, body: object, key: str) -> tuple[Answer, bool]:
        """POST with an Idempotency-Key, repeated while the API answers 503 (the contract says it is safe)."""
        repeated = False
        while True:
            started = time.perf_counter()
            answer = await self.http.post(path, json=body, headers={"Idempotency-Key": key})
            self.ms[what].append((time.perf_counter() - started) * 1000)
            self.answers[f"{what} {answer.status_code}"] += 1
            if answer.status_code != 503:
                return answer, repeated
            repeated = True
            await asyncio.sleep(0.5)

    def _expect(self, order: PlannedOrder, what: str, answer: Answer, codes: tuple[int, ...], status: str) -> dict:
        """The answer's body when its code and the order's status are as planned; else off plan."""
        body = answer.json() if answer.body else {}
        found = body.get("status") if answer.status_code < 300 else body.get("type")
        if answer.status_code not in codes or (answer.status_code < 300 and found != status):
            raise order.off(f"{what}: {answer.status_code} {answer.text[:300]} (planned {codes} {status})")
        if body.get("id", body.get("order_id")) != order.id:
            raise order.off(f"{what}: answered about order {body.get('id', body.get('order_id'))}, not {order.id}")
        return body

    async def _place(self, order: PlannedOrder) -> dict:
        answer, repeated = await self._post(PLACE, "/api/orders", order.body, order.key)
        if order.scenario.declined:
            problem = self._expect(order, PLACE, answer, (402,), "")
            if problem.get("decline_code") != "card_declined":
                raise order.off(f"declined with {problem.get('decline_code')!r}, not 'card_declined'")
            stored = await self.http.get(f"/api/orders/{order.id}")
            return self._expect(order, "GET the declined order", stored, (200,), "rejected")
        # Repeated after a 503, the answer is 200 if the attempt that met it had reached Temporal, else 201.
        placed = self._expect(order, PLACE, answer, (200, 201) if repeated else (201,), "confirmed")
        if Decimal(placed["total"]) != order.total:
            order.problems.append(f"total {placed['total']}, the menu's prices make {order.total}")
        return placed

    async def _move(self, order: PlannedOrder, step: str) -> dict:
        started = time.perf_counter()
        answer = await self.http.put(f"/api/kitchen/orders/{order.id}/status", {"status": step}, self.kitchen)
        self.ms[MOVE].append((time.perf_counter() - started) * 1000)
        self.answers[f"{MOVE} {answer.status_code}"] += 1
        return self._expect(order, f"PUT {step}", answer, (200,), step)

    async def _cancel(self, order: PlannedOrder) -> dict:
        path = f"/api/orders/{order.id}/cancel"
        what = CANCEL + (HELD if order.scenario.cancel_in == "received" else "")
        answer, repeated = await self._post(what, path, {"reason": "load test"}, f"{order.key}-cancel")
        if repeated and answer.status_code == 409:
            # Repeated after a 503, the cancel finds its order cancelled and closed ("cannot be cancelled"): look.
            answer = await self.http.get(f"/api/orders/{order.id}")
        cancelled = self._expect(order, CANCEL, answer, (200,), "cancelled")
        if bool(cancelled["payment"]["refund_id"]) != order.scenario.charged:
            raise order.off(f"cancelled with refund_id {cancelled['payment']['refund_id']!r}")
        return cancelled

    async def _cancel_while_placed(self, order: PlannedOrder) -> dict:
        """Hold the order's charge at the provider, cancel, let the charge go once the workflow took the cancel."""
        await self._peer_control(order, "/_peer/hold")
        placing = asyncio.create_task(self._place_while_cancelled(order))
        cancelling: asyncio.Task[dict] | None = None
        try:
            while (await self.peer.get(f"/_peer/held?order_id={order.id}")).json()["waiting"] == 0:
                if placing.done():
                    raise order.off("the placement answered before its charge reached the provider")
                await asyncio.sleep(0.05)
            cancelling = asyncio.create_task(self._cancel(order))
            await self._cancel_taken(order, cancelling)
        finally:
            await self._peer_control(order, "/_peer/release")
            await placing
            if cancelling is not None:
                await asyncio.wait([cancelling])
        assert cancelling is not None
        return cancelling.result()

    async def _peer_control(self, order: PlannedOrder, path: str) -> None:
        if (answer := await self.peer.post(path, {"order_id": order.id})).status_code != 200:
            raise order.off(f"the Stripe peer: {path} answered {answer.status_code}")

    async def _cancel_taken(self, order: PlannedOrder, cancelling: asyncio.Task[dict]) -> None:
        """Until the order's workflow has accepted the customer's cancel (its history says so)."""
        handle = self.temporal.get_workflow_handle(workflow_id(order.id))
        while not cancelling.done():
            async for event in handle.fetch_history_events():
                accepted = event.workflow_execution_update_accepted_event_attributes.accepted_request.input
                if accepted.name == UPDATE_CANCEL_ORDER:
                    return
            await asyncio.sleep(0.05)

    async def _place_while_cancelled(self, order: PlannedOrder) -> dict | None:
        """The placement of an order cancelled meanwhile: it answers with the order cancelled."""
        with contextlib.suppress(OffPlan):
            answer, repeated = await self._post(PLACE + HELD, "/api/orders", order.body, order.key)
            return self._expect(order, PLACE, answer, (200, 201) if repeated else (201,), "cancelled")
        return None

    async def _repeat(self, order: PlannedOrder) -> None:
        answer, _ = await self._post(PLACE, "/api/orders", order.body, order.key)
        if order.scenario.declined:
            self._expect(order, "POST again", answer, (402,), "")
        else:
            self._expect(order, "POST again", answer, (200,), order.history[-1])


# --- what the world holds afterwards --------------------------------------------------------------------


async def close_of_workflows(client: Client, orders: list[PlannedOrder]) -> dict[str, tuple[str, str | None]]:
    """Each order's workflow once closed: its execution status and its OrderStatus search attribute.

    An order that went off plan may rightly still be running (waiting for the kitchen): it is not waited for.
    """
    found: dict[str, tuple[str, str | None]] = {}
    gate = asyncio.Semaphore(20)
    patience = time.monotonic() + CLOSE_SECONDS

    async def one(order: PlannedOrder) -> None:
        order_id, deadline = order.id, 0.0 if order.problems or not order.ran else patience
        handle = client.get_workflow_handle(workflow_id(order_id))
        async with gate:
            while True:
                try:
                    described = await handle.describe()
                except RPCError as err:
                    if err.status != RPCStatusCode.NOT_FOUND:
                        raise
                    found[order_id] = ("MISSING", None)
                    return
                status = described.status or WorkflowExecutionStatus.RUNNING
                if status is not WorkflowExecutionStatus.RUNNING or time.monotonic() > deadline:
                    found[order_id] = (status.name, described.typed_search_attributes.get(ORDER_STATUS))
                    return
                await asyncio.sleep(0.2)

    await asyncio.gather(*(one(order) for order in orders))
    return found


async def provider_list(peer: Http, resource: str) -> list[dict]:
    """Every object of a kind at the payment provider, page by page as Stripe serves them."""
    objects: list[dict] = []
    after = ""
    while True:
        answer = await peer.get(f"/v1/{resource}?limit=100{after}", headers={"Authorization": f"Bearer {STRIPE_KEY}"})
        if answer.status_code != 200:
            raise RuntimeError(f"listing {resource} at the Stripe peer: {answer.status_code} {answer.text[:300]}")
        page = answer.json()
        objects += page["data"]
        if not page["has_more"]:
            return objects
        after = f"&starting_after={page['data'][-1]['id']}"


def stored_rows(database_url: str) -> dict[str, tuple[str, Decimal]]:
    """Every order row in the store's database: its status and total."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return {row.id: (row.status, Decimal(row.total)) for row in session.exec(select(OrderRow)).all()}
    finally:
        engine.dispose()


def by_order(objects: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for thing in objects:
        grouped.setdefault((thing.get("metadata") or {}).get("order_id", ""), []).append(thing)
    return grouped


def dollars(cents: int) -> Decimal:
    return Decimal(cents) / 100


def moved_as_planned(
    found: dict[str, list[dict]], planned: Callable[[PlannedOrder], bool]
) -> Callable[[PlannedOrder], object]:
    """What the provider holds for an order when it is not exactly its total once (planned) or nothing."""

    def miss(order: PlannedOrder) -> object:
        amounts = [dollars(x["amount"]) for x in found.get(order.id, [])]
        if amounts == ([order.total] if planned(order) else []):
            return None
        return [(x["id"], x["amount"]) for x in found.get(order.id, [])] or "nothing"

    return miss


def reconcile(
    orders: list[PlannedOrder],
    workflows: dict[str, tuple[str, str | None]],
    intents: list[dict],
    refunds: list[dict],
    rows: dict[str, tuple[str, Decimal]],
    revenue: list[dict],
) -> list[dict]:
    """The reconciliation's lines: what the plan says against what was found."""
    lines: list[dict] = []

    def line(what: str, expected: object, found: object, misses: list[str] | None = None) -> None:
        lines.append({"what": what, "expected": str(expected), "found": str(found), "ok": expected == found})
        if misses:
            lines[-1]["samples"] = misses[:SAMPLES]

    def per_order(what: str, miss: Callable[[PlannedOrder], object]) -> None:
        """A line counting the orders for which `miss` finds nothing wrong (None)."""
        misses = [f"{o.id} ({o.scenario.name}): {why}" for o in orders if (why := miss(o)) is not None]
        line(what, len(orders), len(orders) - len(misses), misses)

    per_order(
        "answered as planned (orders)",
        lambda o: "; ".join(o.problems) or (None if o.ran else "not driven to its end: the run's time ran out"),
    )
    per_order("went through the planned statuses", lambda o: None if o.history == o.scenario.history else o.history)
    per_order(
        "workflow closed COMPLETED",
        lambda o: None if workflows.get(o.id, ("MISSING",))[0] == "COMPLETED" else workflows.get(o.id),
    )
    per_order(
        "OrderStatus search attribute = final status",
        lambda o: None if workflows.get(o.id, (None, None))[1] == o.scenario.final else workflows.get(o.id),
    )

    money_moved = (
        ("charges at the provider (PaymentIntents succeeded)", "charged", lambda o: o.scenario.charged),
        ("refunds at the provider", "refunded", lambda o: o.scenario.refunded),
    )
    succeeded = [i for i in intents if i["status"] == "succeeded"]
    for (what, verb, planned), found in zip(money_moved, (succeeded, refunds), strict=True):
        owed = [o for o in orders if planned(o)]
        line(what, len(owed), len(found))
        line(
            f"{verb} amount at the provider",
            sum((o.total for o in owed), Decimal(0)),
            sum((dollars(x["amount"]) for x in found), Decimal(0)),
        )
        per_order(f"{verb} once and in full, or not at all", moved_as_planned(by_order(found), planned))
    line("stored orders (rows in the database)", len(orders), len(rows))
    per_order(
        "stored with the planned final status and total",
        lambda o: None if rows.get(o.id) == (o.scenario.final, o.total) else rows.get(o.id, "no row"),
    )
    for final in ("completed", "cancelled", "rejected"):
        expected = sum(1 for o in orders if o.scenario.final == final)
        line(f"  rows {final}", expected, sum(1 for status, _ in rows.values() if status == final))

    completed = [o for o in orders if o.scenario.final == "completed"]
    takings = sum((o.total for o in completed), Decimal(0))
    line("revenue, GET /api/analytics/revenue", takings, sum((Decimal(r["revenue"]) for r in revenue), Decimal(0)))
    line("revenue, the database", takings, sum((t for s, t in rows.values() if s == "completed"), Decimal(0)))
    line("orders completed, GET /api/analytics/revenue", len(completed), sum(r["orders_completed"] for r in revenue))
    line(
        "orders cancelled, GET /api/analytics/revenue",
        sum(1 for o in orders if o.scenario.final == "cancelled"),
        sum(r["orders_cancelled"] for r in revenue),
    )
    return lines


# --- the run --------------------------------------------------------------------------------------------


async def start_stripe_peer(children: Children) -> str:
    """localstripe behind the recorder and fault injector of tests/peers, able to hold a charge; its base URL."""
    base_url = f"http://127.0.0.1:{free_port()}"
    port = base_url.rpartition(":")[2]
    children.start("stripe", [sys.executable, "-m", "tests.load.held_stripe_peer", "--port", port])

    def healthy() -> bool:
        children.check("stripe")
        return answers(f"{base_url}/_peer/health")

    await wait_until(healthy, "the Stripe peer")
    return base_url


async def load(args: argparse.Namespace, children: Children) -> dict:
    """Start everything in the children's folder, drive the planned orders, and reconcile."""
    run = uuid.uuid4().hex[:8]
    say(f"[{run}] starting Temporal, localstripe, the worker and the API in {children.logs}")
    loadavg_before = [round(v, 2) for v in os.getloadavg()]
    setup_started = time.perf_counter()
    peer_url = await start_stripe_peer(children)
    stripe = {"PIZZERIA_PAYMENTS": "stripe", "STRIPE_API_KEY": STRIPE_KEY, "PIZZERIA_STRIPE_API_BASE": peer_url}
    # Order ids of keys are worked out here as the API works them out.
    ids = {"PIZZERIA_ORDER_ID_SECRET": ORDER_ID_SECRET}
    shop = await start_stack(
        children, "load-orders", JWT_SECRET, new_key_entry("load"), args.database_url, **stripe, **ids
    )
    client = await Client.connect(shop.env["PIZZERIA_TEMPORAL_ADDRESS"])
    setup = time.perf_counter() - setup_started
    http, peer = Http(shop.base_url), Http(peer_url)
    manager = {"Authorization": f"Bearer {mint_token(JWT_SECRET, 'mario', ['manager'], 3600)}"}
    try:
        orders = plan(args.orders, (await http.get("/api/menu")).json(), run, args.seed)
        customers = Customers(http, peer, client, JWT_SECRET)
        cpu = CpuMeter(children.pids() | {"load": os.getpid()})
        first_day = datetime.now(UTC).date()
        say(f"driving {len(orders)} orders, {args.concurrency} at a time")
        started = time.perf_counter()
        answered = await closed_loop(
            len(orders), args.concurrency, lambda i: customers.run(orders[i]), 120 + len(orders) * 0.5
        )
        workflows = await close_of_workflows(client, orders)
        wall = time.perf_counter() - started
        cpu_s = cpu.read()
        say("reconciling")
        days = sorted({first_day, datetime.now(UTC).date()})
        revenue = [await revenue_on(http, day, manager) for day in days]
        intents = await provider_list(peer, "payment_intents")
        refunds = await provider_list(peer, "refunds")
        rows = await asyncio.to_thread(stored_rows, shop.env["PIZZERIA_DATABASE_URL"])
    finally:
        await http.close()
        await peer.close()
    lines = reconcile(orders, workflows, intents, refunds, rows, revenue)
    return {
        "config": {"orders": len(orders), "concurrency": args.concurrency, "seed": args.seed},
        "mix": dict(Counter(o.scenario.name for o in orders)),
        "lines": lines,
        "reconciled": all(line["ok"] for line in lines),
        "figures": {
            "setup_s": round(setup, 2),
            "wall_s": round(wall, 2),
            "wall_until_last_answer_s": round(answered, 2),
            "orders_per_s": round(len(orders) / wall, 2),
            "latency_ms": {what: summary(ms) for what, ms in customers.ms.items()},
            "answers": dict(sorted(customers.answers.items())),
            "cpu_s": cpu_s,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_before": loadavg_before,
            "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        },
    }


async def revenue_on(http: Http, day: date, manager: dict[str, str]) -> dict:
    answer = await http.get(f"/api/analytics/revenue?date={day.isoformat()}", manager)
    if answer.status_code != 200:
        raise RuntimeError(f"GET /api/analytics/revenue: {answer.status_code} {answer.text[:300]}")
    return answer.json()


# --- output ---------------------------------------------------------------------------------------------


def table(result: dict) -> str:
    config, figures, machine = result["config"], result["figures"], result["machine"]
    width = max(len(line["what"]) for line in result["lines"]) + 2
    title = f"reconciliation: {config['orders']} orders, {config['concurrency']} at a time"
    out = [f"{title:<{width}}{'expected':>12}  {'found':>12}"]
    for line in result["lines"]:
        verdict = "OK" if line["ok"] else "MISMATCH"
        out.append(f"{line['what']:<{width}}{line['expected']:>12}  {line['found']:>12}  {verdict}")
        out += [f"    {sample}" for sample in line.get("samples", [])]
    out.append("")
    out.append(f"mix: {', '.join(f'{n} {name}' for name, n in sorted(result['mix'].items()))}")
    out.append(
        f"whole run {figures['wall_s']:.1f} s (last answer at {figures['wall_until_last_answer_s']:.1f} s, "
        f"then every workflow closed): {figures['orders_per_s']:.1f} orders/s; start-up {figures['setup_s']:.1f} s"
    )
    for what, ms in figures["latency_ms"].items():
        if ms:
            out.append(f"{what + ' ms':<36} p50 {ms['p50']:>7.1f}  p95 {ms['p95']:>7.1f}  p99 {ms['p99']:>7.1f}  "
                       f"max {ms['max']:>7.1f}  (n={ms['n']})")  # fmt: skip
    out.append(f"answers: {', '.join(f'{k}: {v}' for k, v in figures['answers'].items())}")
    cpu = figures["cpu_s"]
    ours = ", ".join(f"{name} {cpu.get(name, 0):.1f}" for name in ("temporal", "worker", "api", "stripe", "load"))
    others, capacity = cpu.get("others", 0), cpu.get("machine_capacity", 0)
    out.append(f"CPU s: {ours}; the rest of the machine {others:.1f} (of {capacity:.1f} available)")
    out.append(f"machine: {machine['cpus']} CPUs, load average before {machine['loadavg_before']}, "
               f"after {machine['loadavg_after']}")  # fmt: skip
    out.append("RECONCILED" if result["reconciled"] else "NOT RECONCILED")
    return "\n".join(out)


# --- entry point ----------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=300, help=f"orders to place (at least {len(CYCLE)})")
    parser.add_argument("--concurrency", type=int, default=30, help="customers placing orders at once")
    parser.add_argument("--seed", type=int, default=1, help="for the mix's order and the orders' pizzas")
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (databases and logs)")
    parser.add_argument("--database-url", help="the shop's database (default: a SQLite file in the temporary folder)")
    args = parser.parse_args()
    if args.orders < len(CYCLE) or args.concurrency < 1:
        parser.error(f"--orders must be at least {len(CYCLE)} (one of each kind), --concurrency positive")
    return args


async def amain(args: argparse.Namespace) -> int:
    """Run and report: 0 when the books balance, 1 when they do not, 2 when the harness itself failed."""
    result = await supervised("pizzeria-load-", args.keep, "the load test's harness", lambda c: load(args, c))
    if result is None:
        return 2
    publish(table(result), result, args.out)
    return 0 if result["reconciled"] else 1


def main() -> None:
    run_then_leave(amain(parse_args()), lambda: say("interrupted; every process stopped"))


if __name__ == "__main__":
    main()
