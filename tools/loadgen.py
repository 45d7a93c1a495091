"""Load over HTTP, and what it measured: the benchmark's and the load test's load generator.

- `Http`: JSON over HTTP/1.1 with keep-alive, on aiohttp. The load generator shares the machine with
  the system it measures, so it must be cheap: measured alone here, aiohttp spends ~0.1 ms of CPU per
  request, httpx ~2 ms. In a whole run this process used ~0.8 ms per request (~0.4 ms with the
  hand-written client it replaced), about 1% of the CPU an order costs the server, worker and API;
  interleaved on one stack, the two gave the same POST latencies.
- `open_loop` starts work at planned times whether or not earlier work has ended; `closed_loop` keeps
  a number of drivers busy back to back.
- `Recorder` keeps what a phase saw; `summary` gives its nearest-rank percentiles; `CpuMeter` the CPU
  seconds of each process and of the rest of the machine (Linux /proc), to tell a slow system from a
  busy machine.
"""

import asyncio
import contextlib
import itertools
import json
import math
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

import aiohttp

REQUEST_SECONDS = 30.0
ERROR_SAMPLES = 20


class Answer:
    def __init__(self, status_code: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.status_code = status_code
        self.body = body
        self.headers: Mapping[str, str] = headers or {}

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> dict:
        return json.loads(self.body)


class Http:
    """JSON in and out over kept-alive connections to one server, as many at once as there are requests
    in flight (aiohttp's default of 100 would queue the load generator's own requests).

    A failure to exchange is a ConnectionError (or a TimeoutError) naming the request.
    """

    def __init__(self, base_url: str, timeout: float = REQUEST_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def request(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> Answer:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=0)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout, trust_env=False)
        for attempt in (1, 2):
            try:
                async with self._session.request(method, self.base_url + path, json=body, headers=headers) as got:
                    return Answer(got.status, await got.read(), got.headers)
            except aiohttp.ServerDisconnectedError as err:
                # Most likely a kept-alive connection the server had just closed: once more, on another one.
                if attempt == 2:
                    raise ConnectionError(f"{method} {path}: the server disconnected") from err
            except aiohttp.ClientError as err:
                raise ConnectionError(f"{method} {path}: {type(err).__name__}: {err}") from err
        raise AssertionError("unreachable")

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return await self.request("GET", path, None, headers)

    async def post(self, path: str, json: object, headers: dict[str, str] | None = None) -> Answer:
        return await self.request("POST", path, json, headers)

    async def put(self, path: str, json: object, headers: dict[str, str] | None = None) -> Answer:
        return await self.request("PUT", path, json, headers)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# --- measuring ------------------------------------------------------------------------------------------


def summary(values: list[float]) -> dict[str, float] | None:
    """Nearest-rank percentiles (and the mean) of values in ms, rounded to 0.1."""
    if not values:
        return None
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    figures = {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "max": ordered[-1]}
    figures["mean"] = sum(ordered) / len(ordered)
    return {"n": len(ordered), **{k: round(v, 1) for k, v in figures.items()}}


class Recorder:
    """What one phase saw: latencies in ms, answers by status, errors, lifecycles completed."""

    def __init__(self, phase: str) -> None:
        self.phase = phase
        self.t0 = time.perf_counter()
        self.first_ms: list[float] = []  # the first call of a lifecycle (POST /api/orders, or update-with-start)
        self.timeline: list[tuple[float, float, str]] = []  # each first call: sent (s after t0), latency ms, answer
        self.lifecycle_ms: list[float] = []
        self.send_lag_ms: list[float] = []  # open loop: actual send minus planned send
        self.answers: Counter[str] = Counter()
        self.errors = 0
        self.error_samples: list[dict[str, object]] = []
        self.completed: list[str] = []
        self.last_done = 0.0

    def started(self, planned: float | None) -> float:
        """The start of a lifecycle (perf_counter); in an open loop, how late it is on its plan is noted."""
        started = time.perf_counter()
        if planned is not None:
            self.send_lag_ms.append((started - planned) * 1000)
        return started

    def first_answered(self, started: float, answer: str) -> None:
        """The lifecycle's first call (sent at `started`) has been answered now."""
        ms = (time.perf_counter() - started) * 1000
        self.first_ms.append(ms)
        self.timeline.append((started - self.t0, ms, answer))

    def timeline_rows(self) -> list[list[float | str]]:
        """The first calls in the order they were sent: [s after the phase began, latency ms, answer]."""
        return [[round(t, 3), round(ms, 1), answer] for t, ms, answer in sorted(self.timeline)]

    def error(self, what: str, status: int | None, detail: str) -> None:
        self.errors += 1
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append({"what": what, "status": status, "detail": detail[:300]})

    def answer(self, what: str, response: Answer, expected: int) -> bool:
        self.answers[f"{what} {response.status_code}"] += 1
        if response.status_code == expected:
            return True
        self.error(what, response.status_code, response.text)
        return False

    def done(self, ident: str, started: float) -> None:
        self.last_done = time.perf_counter()
        self.lifecycle_ms.append((self.last_done - started) * 1000)
        self.completed.append(ident)


class CpuMeter:
    """CPU seconds used by each of our processes and by the whole machine (Linux /proc), between two reads."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._start = self._read()
        self._wall = time.perf_counter()

    def _read(self) -> dict[str, float]:
        seconds: dict[str, float] = {}
        for name, pid in self.pids.items():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                seconds[name] = (int(fields[11]) + int(fields[12])) / self.tick
        with contextlib.suppress(OSError, IndexError, ValueError):
            cpu = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
            seconds["machine_busy"] = (sum(cpu) - cpu[3] - cpu[4]) / self.tick
        return seconds

    def read(self) -> dict[str, float]:
        now, wall = self._read(), time.perf_counter() - self._wall
        used = {name: round(now[name] - self._start[name], 2) for name in now if name in self._start}
        if "machine_busy" in used:
            ours = sum(v for k, v in used.items() if k != "machine_busy")
            used["others"] = round(max(0.0, used["machine_busy"] - ours), 2)
            used["machine_capacity"] = round(wall * (os.cpu_count() or 1), 2)
        return used


# --- driving --------------------------------------------------------------------------------------------


async def open_loop(
    count: int, rate: float, one: Callable[[int, float], Coroutine[Any, Any, None]], limit: float
) -> float:
    """Start `one(i, planned)` at its planned time, not waiting for earlier ones; seconds until all ended."""
    started = time.perf_counter() + 0.05
    tasks: list[asyncio.Task[None]] = []
    for i in range(count):
        planned = started + i / rate
        if (delay := planned - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, planned)))
    _, pending = await asyncio.wait(tasks, timeout=max(1.0, started + limit - time.perf_counter()))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return time.perf_counter() - started


async def closed_loop(count: int, concurrency: int, one: Callable[[int], Awaitable[None]], limit: float) -> float:
    """`concurrency` drivers doing `one(i)` back to back until `count` are done; seconds taken."""
    numbers = itertools.count()

    async def driver() -> None:
        while (i := next(numbers)) < count:
            await one(i)

    started = time.perf_counter()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(limit):
            await asyncio.gather(*(driver() for _ in range(concurrency)))
    return time.perf_counter() - started
