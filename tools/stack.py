"""What the tools and the end-to-end tests run: a Temporal dev server, workers and the API, on loopback.

Each is started through the one supervisor (tools/supervisor.py) on free 127.0.0.1 ports, as `make run`
starts it, but with files of its own: a SQLite file for Temporal, a database, a task queue.
"""

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from activities.store.schema import migrate
from tools.supervisor import Children, answers, free_port, wait_for, wait_until
from workflows.order_contract import SEARCH_ATTRIBUTES

BIN = Path(sys.prefix) / "bin"

# The Makefile's TEMPORAL_TUNING, flag for flag: the dev server's defaults poll its queues 20 times a
# second; these make it answer in milliseconds.
DEV_SERVER_TUNING = [
    "--sqlite-pragma", "journal_mode=wal",
    "--sqlite-pragma", "synchronous=normal",
    "--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000",
    "--dynamic-config-value", "history.timerProcessorMaxPollRPS=1000",
    "--dynamic-config-value", "history.visibilityProcessorMaxPollRPS=1000",
    "--dynamic-config-value", "system.enableActivityEagerExecution=true",
]  # fmt: skip
# `--search-attribute` flags of the dev server for every attribute the workflow sets, as `make run` passes them.
SEARCH_ATTRIBUTE_FLAGS = [
    flag
    for key in SEARCH_ATTRIBUTES
    for flag in (
        "--search-attribute",
        f"{key.name}={key.indexed_value_type.name.title()}",
    )
]


class DevServer:
    """A Temporal dev server as `make run` starts it (tuning, search attributes, a SQLite file), on ports
    of its own: stopped, it starts again on the same file and ports, as after a restart by ops."""

    def __init__(self, children: Children, db_file: Path, name: str = "temporal") -> None:
        self.children, self.db_file, self.name = children, db_file, name
        self.port, self.http_port, self.metrics_port = free_port(), free_port(), free_port()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def launch(self) -> Callable[[], bool]:
        """Start it; a probe for whether it serves."""
        self.children.start(
            self.name,
            [
                str(BIN / "temporal"), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.port),
                "--headless", "--http-port", str(self.http_port), "--metrics-port", str(self.metrics_port),
                "--db-filename", str(self.db_file), *SEARCH_ATTRIBUTE_FLAGS, *DEV_SERVER_TUNING,
                "--log-level", "warn",
            ],
        )  # fmt: skip
        return self.serving

    def serving(self) -> bool:
        self.children.check(self.name)
        health = [str(BIN / "temporal"), "operator", "cluster", "health", "--address", self.address]
        return subprocess.run(health, capture_output=True, timeout=10).returncode == 0

    def start(self) -> None:
        """Start it and wait until it serves."""
        wait_for(self.launch(), f"the Temporal dev server on {self.address}")

    def stop(self) -> None:
        """SIGTERM, as a restart by ops does."""
        self.children.stop(self.name)


def pizzeria_env(
    temporal_address: str, database_url: str, jwt_secret: str, encryption_keys: str, queue: str, **variables: str
) -> dict[str, str]:
    """This process's environment for a worker and an API of their own: a task queue `queue-<uuid>` that
    nobody else polls, payloads encrypted as in production; `variables` added last."""
    return {
        **os.environ,
        "PIZZERIA_TEMPORAL_ADDRESS": temporal_address,
        "PIZZERIA_TASK_QUEUE": f"{queue}-{uuid.uuid4()}",
        "PIZZERIA_DATABASE_URL": database_url,
        "PIZZERIA_JWT_SECRET": jwt_secret,
        "PIZZERIA_ENCRYPTION_KEYS": encryption_keys,
        "PIZZERIA_ORDER_ID_SECRET": secrets.token_urlsafe(32),  # never a developer's data/order-id.secret
        "PYTHONUNBUFFERED": "1",
        **variables,
    }


class Pizzeria:
    """`python worker.py` and `uvicorn api.app:app` as children, configured only through `env`; the worker
    can be killed and started again (also as another module built like worker.py).

    Its database (PIZZERIA_DATABASE_URL) is migrated first, as `make run` does: the processes make no tables.
    """

    def __init__(self, children: Children, env: dict[str, str]) -> None:
        migrate(env["PIZZERIA_DATABASE_URL"])
        self.children, self.env = children, env
        self.base_url = f"http://127.0.0.1:{free_port()}"

    @property
    def logs(self) -> Path:
        return self.children.logs

    @property
    def worker(self) -> subprocess.Popen | None:
        return self.children.latest("worker")

    @property
    def api(self) -> subprocess.Popen | None:
        return self.children.latest("api")

    def launch_worker(self, module: str | None = None) -> Callable[[], bool]:
        """Start `python worker.py` (or `python -m module`); a probe for whether it has polled since."""
        log = self.children.log("worker")
        polled_before = log.read_text(errors="replace").count("worker polling") if log.exists() else 0
        self.children.start("worker", [sys.executable, *(["-m", module] if module else ["worker.py"])], self.env)

        def polling() -> bool:
            self.children.check("worker")
            return log.read_text(errors="replace").count("worker polling") > polled_before

        return polling

    def start_worker(self, module: str | None = None) -> None:
        """Start a worker and wait until it polls."""
        wait_for(self.launch_worker(module), "the worker to poll")

    def launch_api(self, *uvicorn_flags: str) -> Callable[[], bool]:
        """Start the API; a probe for whether its /healthz answers 200."""
        port = self.base_url.rpartition(":")[2]
        self.children.start(
            "api",
            [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", port, *uvicorn_flags],
            self.env,
        )

        def answering() -> bool:
            self.children.check("api")
            return answers(f"{self.base_url}/healthz")

        return answering

    def start_api(self, *uvicorn_flags: str) -> None:
        wait_for(self.launch_api(*uvicorn_flags), "the API to answer")

    def kill_worker(self) -> None:
        self.children.kill("worker")

    def stop(self) -> None:
        self.children.stop("api", "worker")


async def start_stack(
    children: Children, queue: str, jwt_secret: str, keys: str, database: str | None = None, **variables: str
) -> Pizzeria:
    """A dev server, then a worker, then the API (quiet but for warnings), files in the children's folder; the
    shop's database is a SQLite file there unless `database` names another."""
    server = DevServer(children, children.logs / "temporal.db")
    await wait_until(server.launch(), f"the Temporal dev server at {server.address}")
    database = database or f"sqlite:///{children.logs / 'pizzeria.db'}"
    shop = Pizzeria(children, pizzeria_env(server.address, database, jwt_secret, keys, queue, **variables))
    await wait_until(shop.launch_worker(), "the worker to poll")
    await wait_until(shop.launch_api("--log-level", "warning"), "the API's /healthz")
    return shop
