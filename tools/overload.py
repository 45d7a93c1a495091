"""The benchmark's overload run (phase E): many orders offered at once, each by a client that retries politely.

Every client POSTs its order with an Idempotency-Key of its own; a 503 is waited out for its Retry-After and
the same request sent again, until the order is placed (201, or 200 for a repeat) or two minutes have gone.
What is reported: every attempt's answer and latency, the 503s, how long until all were placed and at what
rate, and whether anything was lost (every key placed, as one order each) or charged twice (the shop's own
database: one payment transaction per order, all distinct).
"""

import asyncio
import contextlib
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from tools.loadgen import CpuMeter, Http, Recorder, summary

GIVE_UP_SECONDS = 120.0
ANSWER_BOUND_MS = 10_000.0  # the goal: every POST answered within 10 s
RETRY_AFTER_DEFAULT = 1.0  # seconds, for a 503 without a usable Retry-After
RETRY_AFTER_CAP = 30.0


def retry_after(headers: Mapping[str, str]) -> float:
    """The seconds a 503's Retry-After asks for (a number of seconds; anything else counts as one second)."""
    try:
        return min(RETRY_AFTER_CAP, max(0.0, float(headers.get("Retry-After", ""))))
    except ValueError:
        return RETRY_AFTER_DEFAULT


def charges(database_url: str, order_ids: list[str]) -> dict:
    """What the shop's SQLite database says of `order_ids`: orders stored, with a payment, distinct payments."""
    path = database_url.removeprefix("sqlite:///")
    if path == database_url:
        return {"checked": False, "why": "not a SQLite database"}
    stored, transactions = 0, []
    with contextlib.closing(sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True, timeout=30)) as db:
        for start in range(0, len(order_ids), 500):
            chunk = order_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for (snapshot,) in db.execute(f"SELECT snapshot FROM orders WHERE id IN ({marks})", chunk):
                stored += 1
                if transaction := (json.loads(snapshot).get("payment") or {}).get("transaction_id"):
                    transactions.append(transaction)
    return {
        "checked": True,
        "stored": stored,
        "with_payment": len(transactions),
        "distinct_payments": len(set(transactions)),
    }


class Overload:
    """`count` clients at once, each placing one order through 503s until placed or given up."""

    def __init__(self, http: Http, body: dict, key: str, count: int, give_up: float = GIVE_UP_SECONDS) -> None:
        self.http, self.body, self.key, self.count, self.give_up = http, body, key, count, give_up
        self.rec = Recorder("E. overload")  # its timeline: every attempt
        self.placed_at: list[float] = []  # s after the start
        self.samples: list[str] = []

    async def _client(self, i: int) -> str | None:
        """This client's order id once placed; None when it gave up or got an answer it cannot go on from."""
        key = f"{self.key}-{i}"
        while True:
            sent = time.perf_counter()
            try:
                got = await self.http.post("/api/orders", json=self.body, headers={"Idempotency-Key": key})
                answer = str(got.status_code)
            except (ConnectionError, TimeoutError) as err:
                got, answer = None, "unreachable"
                self._sample(f"{key}: {type(err).__name__}: {err}")
            self.rec.first_answered(sent, answer)
            if got is not None and got.status_code in (200, 201):
                self.placed_at.append(time.perf_counter() - self.rec.t0)
                return str(got.json()["id"])
            if got is not None and got.status_code != 503:
                self._sample(f"{key}: {got.status_code} {got.text[:200]}")
                return None
            wait = retry_after(got.headers) if got is not None else RETRY_AFTER_DEFAULT
            if time.perf_counter() + wait > self.rec.t0 + self.give_up:
                self._sample(f"{key}: given up after {self.give_up:g} s")
                return None
            await asyncio.sleep(wait)

    def _sample(self, what: str) -> None:
        if len(self.samples) < 20:
            self.samples.append(what)

    async def run(self, pids: dict[str, int], database_url: str) -> dict:
        cpu = CpuMeter(pids)
        self.rec.t0 = time.perf_counter()
        ids = await asyncio.gather(*(self._client(i) for i in range(self.count)))
        wall = time.perf_counter() - self.rec.t0
        placed = [order_id for order_id in ids if order_id is not None]
        attempts = self.rec.timeline
        latencies = [ms for _, ms, _ in attempts]
        shed = [ms for _, ms, answer in attempts if answer == "503"]
        until_all = max(self.placed_at, default=0.0)
        return {
            "offered": self.count,
            "keys_placed": len(placed),
            "distinct_orders": len(set(placed)),
            "lost": self.count - len(set(placed)),
            "attempts": len(attempts),
            "answers": dict(sorted(Counter(answer for _, _, answer in attempts).items())),
            "answer_ms": summary(latencies),
            "answered_within_bound": sum(ms <= ANSWER_BOUND_MS for ms in latencies),
            "answer_bound_ms": ANSWER_BOUND_MS,
            "shed_503_ms": summary(shed),
            "placed_all_s": round(until_all, 2) if len(placed) == self.count else None,
            "placed_per_s": round(len(placed) / until_all, 2) if until_all > 0 else None,
            "wall_s": round(wall, 2),
            "cpu_s": cpu.read(),
            "charges": charges(database_url, placed),
            "error_samples": self.samples,
            "orders_left": "confirmed, not driven through the kitchen: the stack is discarded after this phase",
            "timeline": self.rec.timeline_rows(),  # for the plot
        }
