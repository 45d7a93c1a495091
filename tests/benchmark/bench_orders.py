"""Benchmark: whole pizza orders through the API against a bare Temporal workflow on the same server.

    .venv/bin/python -m tests.benchmark.bench_orders --orders 1000 --rate 20 [--out bench.json]
    .venv/bin/python -m tests.benchmark.bench_orders --quick            # 60 orders at 20/s, concurrency 10

It starts its own Temporal dev server (the Makefile's tuning flags, a fresh SQLite file), one
`python worker.py` and one `uvicorn api.app:app`, all on 127.0.0.1, and then measures:

A. the pizzeria: an open loop of orders at --rate per second (POST /api/orders, then the kitchen's
   PUTs preparing, ready, completed), then a closed loop of --concurrency drivers doing whole
   lifecycles back to back;
B. a bare Temporal workflow with the saga's shape (9 no-op activities, 3 signals in the same places),
   hosted by a worker in this process: the same closed loop, and the same open loop for reference;

plus the history events of a few finished workflows of each. It prints a table, writes the figures as
JSON with --out, and exits 0 whether or not the targets hold: it reports, it does not judge (1 only when
the harness itself fails). Every process it starts is stopped on the way out, also on Ctrl-C, SIGTERM or
an error; on Linux they also get SIGTERM should this process be killed outright.

Fairness notes. The machine has 2 CPUs shared by everything, so the load generator is a few lines of
HTTP/1.1 on asyncio streams rather than httpx (~0.25 ms of CPU per request instead of ~2 ms). The bare
workflow runs in the SDK's sandbox like OrderWorkflow, but its module (this file) is passed through
instead of being executed again for every workflow, as a small module of its own would cost next to
nothing. Per-process CPU seconds (from /proc) are reported per phase, with what the rest of the machine
used meanwhile ("others"), to tell a slow system from a busy machine.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from tests.conftest import (
    DEV_SERVER_TUNING,
    SEARCH_ATTRIBUTE_FLAGS,
    order_body,
)  # the Makefile's TEMPORAL_TUNING, flag for flag
from workflows.payload_codec import new_key_entry

JWT_SECRET = "a-benchmark-secret-that-is-long-enough-for-hs256"
ORDER_BODY = order_body()
KITCHEN_STEPS = ("preparing", "ready", "completed")
POST = "POST /api/orders"
START = "start_workflow"
TARGET_POST_P99_MS = 250.0
TARGET_RATIO = 1.0
TARGET_EVENTS = 45
HISTORY_SAMPLES = 5
STARTUP_SECONDS = 60.0
REQUEST_SECONDS = 30.0
LIFECYCLE_SECONDS = 60.0
ERROR_SAMPLES = 20


# --- B. the bare workflow: the saga's shape with nothing in it ------------------------------------------


@activity.defn(name="bare_validate")
async def bare_validate() -> None:
    return None


@activity.defn(name="bare_charge")
async def bare_charge() -> None:
    return None


@activity.defn(name="bare_save")
async def bare_save() -> None:
    return None


@activity.defn(name="bare_queue")
async def bare_queue() -> None:
    return None


@activity.defn(name="bare_notify")
async def bare_notify() -> None:
    return None


@activity.defn(name="bare_record")
async def bare_record() -> None:
    return None


BARE_ACTIVITIES = [bare_validate, bare_charge, bare_save, bare_queue, bare_notify, bare_record]


@workflow.defn(name="BareOrderWorkflow")
class BareOrderWorkflow:
    """9 no-op activities and 3 signals where the saga has its steps and the kitchen's updates."""

    def __init__(self) -> None:
        self._signals = 0

    @workflow.signal(name="kitchen_step")
    def kitchen_step(self) -> None:
        self._signals += 1

    @workflow.run
    async def run(self) -> int:
        for step in (bare_validate, bare_charge, bare_save, bare_queue, bare_notify):
            await self._noop(step)
        await workflow.wait_condition(lambda: self._signals >= 1)  # preparing
        await self._noop(bare_save)
        await workflow.wait_condition(lambda: self._signals >= 2)  # ready
        await self._noop(bare_save)
        await self._noop(bare_notify)
        await workflow.wait_condition(lambda: self._signals >= 3)  # completed
        await self._noop(bare_record)
        return self._signals

    async def _noop(self, step: Callable[[], Awaitable[None]]) -> None:
        await workflow.execute_activity(step, start_to_close_timeout=timedelta(seconds=10))


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
        self.first_ms: list[float] = []  # POST /api/orders, or start_workflow
        self.lifecycle_ms: list[float] = []
        self.send_lag_ms: list[float] = []  # open loop: actual send minus planned send
        self.answers: Counter[str] = Counter()
        self.errors = 0
        self.error_samples: list[dict[str, object]] = []
        self.completed: list[str] = []
        self.last_done = 0.0

    def error(self, what: str, status: int | None, detail: str) -> None:
        self.errors += 1
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append({"what": what, "status": status, "detail": detail[:300]})

    def answer(self, what: str, response: "Answer", expected: int) -> bool:
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


async def open_loop(count: int, rate: float, one: Callable[[int, float], Awaitable[None]], limit: float) -> float:
    """Start `one(i, planned)` at its planned time, not waiting for earlier ones; seconds until all ended."""
    started = time.perf_counter() + 0.05
    tasks = []
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


# --- a small HTTP/1.1 client --------------------------------------------------------------------------


class Answer:
    def __init__(self, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> dict:
        return json.loads(self.body)


class TinyHttp:
    """HTTP/1.1 with keep-alive on asyncio streams, JSON in and out.

    The load generator shares the 2 CPUs with the system it measures: a few lines of parsing per
    request leave them to the API, the worker and Temporal (httpx spends ~2 ms of CPU per request
    here, and much more with hundreds of requests in flight).
    """

    def __init__(self, base_url: str, timeout: float = REQUEST_SECONDS) -> None:
        host, _, port = base_url.removeprefix("http://").rstrip("/").rpartition(":")
        self.host, self.port, self.timeout = host, int(port), timeout
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> Answer:
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(payload)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
        async with asyncio.timeout(self.timeout):
            while True:
                reused = bool(self._idle)
                conn = self._idle.pop() if reused else await asyncio.open_connection(self.host, self.port)
                try:
                    return await self._exchange(conn, data)
                except (ConnectionError, asyncio.IncompleteReadError):
                    conn[1].close()
                    if not reused:
                        raise
                    # A kept-alive connection the server had just closed: once more on another one.
                except BaseException:
                    conn[1].close()
                    raise

    async def _exchange(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], data: bytes) -> Answer:
        reader, writer = conn
        writer.write(data)
        status = int((await reader.readuntil(b"\r\n")).split()[1])
        headers = {}
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        keep = headers.get("connection") != "close"
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            parts = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append(await reader.readexactly(size + 2))
            await reader.readuntil(b"\r\n")
            body = b"".join(part[:-2] for part in parts)
        else:
            body, keep = await reader.read(), False
        if keep:
            self._idle.append(conn)
        else:
            writer.close()
        return Answer(status, body)

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return await self.request("GET", path, None, headers)

    async def post(self, path: str, json: object, headers: dict[str, str] | None = None) -> Answer:
        return await self.request("POST", path, json, headers)

    async def put(self, path: str, json: object, headers: dict[str, str] | None = None) -> Answer:
        return await self.request("PUT", path, json, headers)

    def close(self) -> None:
        while self._idle:
            self._idle.pop()[1].close()


# --- A. the pizzeria's side -----------------------------------------------------------------------------


class Pizzeria:
    def __init__(self, http: TinyHttp, kitchen_token: str) -> None:
        self.http = http
        self.kitchen = {"Authorization": f"Bearer {kitchen_token}"}

    async def lifecycle(self, rec: Recorder, key: str, planned: float | None = None) -> str | None:
        """Place an order and move it through the kitchen; its id once completed, None on any error."""
        started = time.perf_counter()
        if planned is not None:
            rec.send_lag_ms.append((started - planned) * 1000)
        try:
            async with asyncio.timeout(LIFECYCLE_SECONDS):
                placed = await self.http.post("/api/orders", json=ORDER_BODY, headers={"Idempotency-Key": key})
                rec.first_ms.append((time.perf_counter() - started) * 1000)
                if not rec.answer("POST /api/orders", placed, 201):
                    return None
                order_id = placed.json()["id"]
                for status in KITCHEN_STEPS:
                    moved = await self.http.put(
                        f"/api/kitchen/orders/{order_id}/status", json={"status": status}, headers=self.kitchen
                    )
                    if not rec.answer(f"PUT status {status}", moved, 200):
                        return None
        except (OSError, EOFError, asyncio.LimitOverrunError, TimeoutError, KeyError, ValueError, IndexError) as err:
            rec.error("lifecycle", None, f"{type(err).__name__}: {err}")
            return None
        rec.done(order_id, started)
        return order_id


class Bare:
    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    async def lifecycle(self, rec: Recorder, workflow_id: str, planned: float | None = None) -> str | None:
        """start_workflow, 3 signals, the result."""
        started = time.perf_counter()
        if planned is not None:
            rec.send_lag_ms.append((started - planned) * 1000)
        try:
            async with asyncio.timeout(LIFECYCLE_SECONDS):
                handle = await self.client.start_workflow(
                    BareOrderWorkflow.run, id=workflow_id, task_queue=self.task_queue
                )
                rec.first_ms.append((time.perf_counter() - started) * 1000)
                rec.answers["start_workflow ok"] += 1
                for _ in range(3):
                    await handle.signal(BareOrderWorkflow.kitchen_step)
                await handle.result()
        except Exception as err:  # any failure of the call counts; the run goes on
            rec.error("bare lifecycle", None, f"{type(err).__name__}: {err}")
            return None
        rec.done(workflow_id, started)
        return workflow_id


def phase_report(
    rec: Recorder, first_call: str, count: int, wall: float, cpu: dict[str, float], **extra: object
) -> dict:
    return {
        "first_call": first_call,
        "orders": count,
        "completed": len(rec.completed),
        "incomplete": count - len(rec.completed),
        "errors": rec.errors,
        "error_samples": rec.error_samples,
        "answers": dict(sorted(rec.answers.items())),
        "first_call_ms": summary(rec.first_ms),
        "lifecycle_ms": summary(rec.lifecycle_ms),
        "wall_s": round(wall, 2),
        "per_s": round(len(rec.completed) / wall, 2) if wall > 0 else 0.0,
        "cpu_s": cpu,
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        **extra,
    }


async def history_events(client: Client, workflow_ids: list[str]) -> list[int]:
    """Events in the history of each (finished) workflow; waits for each to close first."""
    counts = []
    for wid in workflow_ids:
        handle = client.get_workflow_handle(wid)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(30):
                await handle.result()
        async with asyncio.timeout(30):
            counts.append(len((await handle.fetch_history()).events))
    return counts


def spread(items: list[str], n: int) -> list[str]:
    """Up to n items spread over the list."""
    if len(items) <= n:
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


# --- processes ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: the child gets SIGTERM if this process dies without cleaning up (e.g. SIGKILL)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Processes:
    """Child processes in their own sessions (Ctrl-C reaches only us), stopped newest first."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                args,
                cwd=repo_root(),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        self.running.append((name, process))
        return process

    def check(self, name: str) -> None:
        for known, process in self.running:
            if known == name and process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join((self.logs / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        while self.running:
            _, process = self.running.pop()
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(5)


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


async def wait_until(ready: Callable[[], Awaitable[bool]], what: str, seconds: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                if await ready():
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"timed out after {seconds:.0f} s waiting for {what}")


async def start_temporal(procs: Processes, workdir: Path) -> str:
    port = free_port()
    procs.start(
        "temporal",
        [
            str(Path(sys.prefix) / "bin" / "temporal"), "server", "start-dev", "--ip", "127.0.0.1",
            "--port", str(port), "--headless", "--http-port", str(free_port()), "--metrics-port", str(free_port()),
            "--db-filename", str(workdir / "temporal.db"), *SEARCH_ATTRIBUTE_FLAGS,
            *DEV_SERVER_TUNING, "--log-level", "warn",
        ],
    )  # fmt: skip
    address = f"127.0.0.1:{port}"

    async def healthy() -> bool:
        procs.check("temporal")
        client = await Client.connect(address)
        return await client.service_client.check_health(timeout=timedelta(seconds=2))

    await wait_until(healthy, f"the Temporal dev server at {address}")
    return address


async def start_pizzeria(procs: Processes, workdir: Path, address: str) -> tuple[str, dict[str, str]]:
    env = {
        **os.environ,
        "PIZZERIA_TEMPORAL_ADDRESS": address,
        "PIZZERIA_TASK_QUEUE": f"bench-orders-{uuid.uuid4()}",
        "PIZZERIA_DATABASE_URL": f"sqlite:///{workdir / 'pizzeria.db'}",
        "PIZZERIA_JWT_SECRET": JWT_SECRET,
        "PIZZERIA_ENCRYPTION_KEYS": new_key_entry("bench"),  # as in production: every payload encrypted
        "PYTHONUNBUFFERED": "1",
    }
    env.setdefault("PIZZERIA_ORDER_ID_SECRET", secrets.token_urlsafe(32))
    procs.start("worker", [sys.executable, "worker.py"], env)

    async def polling() -> bool:
        procs.check("worker")
        return "worker polling" in (workdir / "worker.log").read_text(errors="replace")

    await wait_until(polling, "the worker to poll")
    api_port = free_port()
    procs.start(
        "api",
        [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(api_port),
         "--log-level", "warning"],
        env,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{api_port}"

    async def answering() -> bool:
        procs.check("api")
        http = TinyHttp(base_url, timeout=3)
        try:
            return (await http.get("/healthz")).status_code == 200
        finally:
            http.close()

    await wait_until(answering, "the API's /healthz")
    return base_url, env


# --- the run --------------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, workdir: Path, procs: Processes) -> dict:
    from api.auth import mint_token  # the app's own token minting; imported here, outside the workflow module

    run = uuid.uuid4().hex[:8]
    n, rate, conc = args.orders, args.rate, args.concurrency
    open_limit = n / rate + 120
    closed_limit = 120 + n * 0.5
    result: dict = {
        "config": {
            "orders": n, "rate": rate, "concurrency": conc, "warmup": args.warmup, "quick": args.quick,
            "temporal_flags": [*DEV_SERVER_TUNING, *SEARCH_ATTRIBUTE_FLAGS, "--headless"],
        },
        "machine": {
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "loadavg_before": [round(v, 2) for v in os.getloadavg()],
        },
    }  # fmt: skip
    say(f"[{run}] starting Temporal, the worker and the API in {workdir}")
    setup_started = time.perf_counter()
    address = await start_temporal(procs, workdir)
    base_url, env = await start_pizzeria(procs, workdir, address)
    result["machine"]["setup_s"] = round(time.perf_counter() - setup_started, 1)
    pids = {name: p.pid for name, p in procs.running} | {"bench": os.getpid()}
    client = await Client.connect(address)
    token = mint_token(env["PIZZERIA_JWT_SECRET"], "luigi", ["kitchen"], 6 * 3600)
    http = TinyHttp(base_url)
    try:
        shop = Pizzeria(http, token)
        warm = Recorder("pizzeria warm-up")
        for i in range(args.warmup):
            await shop.lifecycle(warm, f"bench-{run}-warm-{i}")
        if warm.errors:
            say(f"warm-up errors: {warm.error_samples[:3]}")

        say(f"A. pizzeria, open loop: {n} orders at {rate:g}/s")
        rec, cpu = Recorder("pizzeria open loop"), CpuMeter(pids)

        async def open_one(i: int, planned: float) -> None:
            await shop.lifecycle(rec, f"bench-{run}-open-{i}", planned)

        wall = await open_loop(n, rate, open_one, open_limit)
        pizzeria_open = phase_report(rec, POST, n, wall, cpu.read(), send_lag_ms=summary(rec.send_lag_ms))
        open_ids = list(rec.completed)

        say(f"A. pizzeria, closed loop: {n} lifecycles, {conc} at a time")
        rec, cpu = Recorder("pizzeria closed loop"), CpuMeter(pids)

        async def closed_one(i: int) -> None:
            await shop.lifecycle(rec, f"bench-{run}-closed-{i}")

        started = time.perf_counter()
        answered = await closed_loop(n, conc, closed_one, closed_limit)
        # The last PUT answers before the workflow records the sale and closes: count until the last ones closed.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(30):
                await asyncio.gather(
                    *(client.get_workflow_handle(f"order-{o}").result() for o in rec.completed[-conc:])
                )
        closed = time.perf_counter() - started
        pizzeria_closed = phase_report(
            rec, POST, n, closed, cpu.read(), concurrency=conc, wall_until_last_answer_s=round(answered, 2)
        )
    finally:
        http.close()

    say("B. bare Temporal workflow (worker in this process)")
    bare_queue_name = f"bench-bare-{uuid.uuid4()}"
    bare = Bare(client, bare_queue_name)
    # In the sandbox, but with its module (this whole harness) passed through: see the module's docstring.
    restrictions = SandboxRestrictions.default.with_passthrough_modules(BareOrderWorkflow.__module__)
    async with Worker(
        client,
        task_queue=bare_queue_name,
        workflows=[BareOrderWorkflow],
        activities=BARE_ACTIVITIES,
        workflow_runner=SandboxedWorkflowRunner(restrictions=restrictions),
    ):
        warm = Recorder("bare warm-up")
        for i in range(args.warmup):
            await bare.lifecycle(warm, f"bare-{run}-warm-{i}")

        say(f"B. bare workflow, closed loop: {n} workflows, {conc} at a time")
        rec, cpu = Recorder("bare closed loop"), CpuMeter(pids)

        async def bare_closed(i: int) -> None:
            await bare.lifecycle(rec, f"bare-{run}-closed-{i}")

        wall = await closed_loop(n, conc, bare_closed, closed_limit)
        bare_closed_report = phase_report(rec, START, n, wall, cpu.read(), concurrency=conc)
        bare_ids = list(rec.completed)

        say(f"B. bare workflow, open loop: {n} workflows at {rate:g}/s")
        rec, cpu = Recorder("bare open loop"), CpuMeter(pids)

        async def bare_open(i: int, planned: float) -> None:
            await bare.lifecycle(rec, f"bare-{run}-open-{i}", planned)

        wall = await open_loop(n, rate, bare_open, open_limit)
        bare_open_report = phase_report(rec, START, n, wall, cpu.read(), send_lag_ms=summary(rec.send_lag_ms))

    say("history events of a few finished workflows")
    pizzeria_events = await history_events(client, [f"order-{oid}" for oid in spread(open_ids, HISTORY_SAMPLES)])
    bare_events = await history_events(client, spread(bare_ids, HISTORY_SAMPLES))

    result["pizzeria"] = {"open_loop": pizzeria_open, "closed_loop": pizzeria_closed, "history_events": pizzeria_events}
    result["baseline"] = {
        "closed_loop": bare_closed_report,
        "open_loop": bare_open_report,
        "history_events": bare_events,
    }
    result["machine"]["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]
    result["comparison"] = compare(result)
    return result


def compare(result: dict) -> dict:
    pizzeria, baseline = result["pizzeria"], result["baseline"]
    p99 = (pizzeria["open_loop"]["first_call_ms"] or {}).get("p99")
    ours, bare = pizzeria["closed_loop"]["per_s"], baseline["closed_loop"]["per_s"]
    ratio = round(ours / bare, 3) if bare else None
    events = max(pizzeria["history_events"], default=None)
    return {
        "lifecycles_per_s": ours,
        "baseline_workflows_per_s": bare,
        "ratio": ratio,
        "events_per_order": events,
        "baseline_events": max(baseline["history_events"], default=None),
        "targets": {
            "post_p99_ms": {"value": p99, "limit": TARGET_POST_P99_MS, "holds": p99 is not None and p99 <= 250},
            "ratio": {"value": ratio, "limit": TARGET_RATIO, "holds": ratio is not None and ratio >= TARGET_RATIO},
            "events": {"value": events, "limit": TARGET_EVENTS, "holds": events is not None and events <= 45},
        },
    }


# --- output ---------------------------------------------------------------------------------------------


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _ms(figures: dict | None) -> str:
    if not figures:
        return "-"
    return " / ".join(
        f"{figures[k]:.0f}" if figures[k] >= 10 else f"{figures[k]:.1f}" for k in ("p50", "p95", "p99", "max")
    )


def table(result: dict) -> str:
    cfg, pz, bl, cmp = result["config"], result["pizzeria"], result["baseline"], result["comparison"]
    po, pc, bo, bc = pz["open_loop"], pz["closed_loop"], bl["open_loop"], bl["closed_loop"]
    rows = [
        (f"open loop, {cfg['orders']} at {cfg['rate']:g}/s", "pizzeria", "bare Temporal"),
        ("  first call ms p50/p95/p99/max", f"POST {_ms(po['first_call_ms'])}", f"start {_ms(bo['first_call_ms'])}"),
        ("  lifecycle ms p50/p95/p99/max", _ms(po["lifecycle_ms"]), _ms(bo["lifecycle_ms"])),
        ("  send lag ms p50/p95/p99/max", _ms(po["send_lag_ms"]), _ms(bo["send_lag_ms"])),
        ("  errors / incomplete", f"{po['errors']} / {po['incomplete']}", f"{bo['errors']} / {bo['incomplete']}"),
        ("  wall s, all lifecycles done", f"{po['wall_s']:.1f}", f"{bo['wall_s']:.1f}"),
        (f"closed loop, {cfg['concurrency']} at a time", "", ""),
        ("  lifecycles/s", f"{pc['per_s']:.1f}", f"{bc['per_s']:.1f}"),
        ("  lifecycle ms p50/p95/p99/max", _ms(pc["lifecycle_ms"]), _ms(bc["lifecycle_ms"])),
        ("  errors / incomplete", f"{pc['errors']} / {pc['incomplete']}", f"{bc['errors']} / {bc['incomplete']}"),
        ("  CPU s temporal/worker/api/this process/others", _cpu(pc["cpu_s"]), _cpu(bc["cpu_s"])),
        ("history events (sampled)", _events(pz["history_events"]), _events(bl["history_events"])),
    ]
    width = max(len(r[0]) for r in rows) + 2
    lines = [f"{r[0]:<{width}}{r[1]:<34}{r[2]}" for r in rows]
    lines.append(f"{'ratio pizzeria/bare (closed loop)':<{width}}{cmp['ratio']}")
    lines.append("(send lag: how late the load generator sent, a check on itself; 'this process' runs the load")
    lines.append(" generator and, for the bare workflow, its worker too; first calls are timed from the actual send)")
    lines.append("")
    lines.append("targets")
    labels = {
        "post_p99_ms": f"POST /api/orders p99 <= {TARGET_POST_P99_MS:g} ms at {cfg['rate']:g}/s",
        "ratio": f"lifecycles/s >= {TARGET_RATIO:g} x bare workflows/s",
        "events": f"history events per order <= {TARGET_EVENTS}",
    }
    for key, target in cmp["targets"].items():
        lines.append(f"  {labels[key]:<{width + 8}}{target['value']!s:<12}{'holds' if target['holds'] else 'MISSED'}")
    machine = result["machine"]
    lines.append("")
    lines.append(f"machine: {machine['cpus']} CPUs, load average before {machine['loadavg_before']}, "
                 f"after {machine.get('loadavg_after')}")  # fmt: skip
    return "\n".join(lines)


def _cpu(cpu: dict[str, float]) -> str:
    return "/".join(f"{cpu.get(k, 0):.1f}" for k in ("temporal", "worker", "api", "bench", "others"))


def _events(counts: list[int]) -> str:
    return f"{max(counts)} ({', '.join(map(str, counts))})" if counts else "-"


# --- entry point ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, help="order lifecycles per phase (default 1000; --quick 60)")
    parser.add_argument("--rate", type=float, help="open-loop arrivals per second (default 20)")
    parser.add_argument("--concurrency", type=int, help="closed-loop drivers (default 20; --quick 10)")
    parser.add_argument("--warmup", type=int, help="unmeasured lifecycles before each side (default 10; --quick 3)")
    parser.add_argument("--quick", action="store_true", help="a fast smoke form: 60 orders at 20/s, concurrency 10")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (databases and logs)")
    args = parser.parse_args(argv)
    defaults = {"orders": 60, "rate": 20.0, "concurrency": 10, "warmup": 3} if args.quick else {
        "orders": 1000, "rate": 20.0, "concurrency": 20, "warmup": 10}  # fmt: skip
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.orders < 1 or args.rate <= 0 or args.concurrency < 1 or args.warmup < 0:
        parser.error("--orders, --rate and --concurrency must be positive, --warmup not negative")
    return args


async def amain(args: argparse.Namespace) -> int:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    workdir = Path(tempfile.mkdtemp(prefix="pizzeria-bench-"))
    procs = Processes(workdir)
    try:
        result = await bench(args, workdir, procs)
    except asyncio.CancelledError:
        say("interrupted; stopping everything")
        return 130
    except Exception:
        say("the benchmark harness failed:\n" + traceback.format_exc())
        for name, _ in procs.running:
            say(f"--- last lines of {name}.log ---\n{procs.tail(name)}")
        return 1
    finally:
        procs.stop()
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(table(result), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        say(f"wrote {args.out}")
    return 0


def run_then_leave(run: Awaitable[int], interrupted: Callable[[], None] = lambda: None) -> None:
    """Run a harness's main coroutine, then leave the process with its exit code (130 when interrupted)."""
    try:
        code = asyncio.run(run)  # type: ignore[arg-type]
    except (KeyboardInterrupt, asyncio.CancelledError):
        interrupted()
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave at once: a process that exits right after its last Temporal call can abort in the SDK's
    # teardown (temporalio/sdk-python#300); every child process is already stopped.
    os._exit(code)


def main(argv: list[str] | None = None) -> None:
    run_then_leave(amain(parse_args(argv)))


if __name__ == "__main__":
    # Run from the module under its package name, so that the bare workflow's class lives in
    # `tests.benchmark.bench_orders` (which the sandbox can pass through), not in `__main__`.
    from tests.benchmark.bench_orders import main as package_main

    package_main()
