"""What the tools and the end-to-end tests run: a Temporal dev server, workers and the API, on loopback.

Each is started through the one supervisor (tools/supervisor.py) on free 127.0.0.1 ports, as `make run`
starts it, but with files of its own: a SQLite file for Temporal, a database, a task queue.
"""

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping
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


def local_temporal_env(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` for a process that talks to a local, unsecured dev server: without Temporal's client configuration
    of the developer's shell (TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE, ...) and with an empty config file
    in place of ~/.config/temporalio/temporal.toml, so that none of it reaches the dev server."""
    kept = {name: value for name, value in environ.items() if not name.startswith("TEMPORAL_")}
    return {**kept, "TEMPORAL_CONFIG_FILE": os.devnull}


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
            local_temporal_env(os.environ),
        )  # fmt: skip
        return self.serving

    def serving(self) -> bool:
        self.children.check(self.name)
        health = [str(BIN / "temporal"), "operator", "cluster", "health", "--address", self.address]
        done = subprocess.run(health, capture_output=True, timeout=10, env=local_temporal_env(os.environ))
        return done.returncode == 0

    def start(self) -> None:
        """Start it and wait until it serves."""
        wait_for(self.launch(), f"the Temporal dev server on {self.address}")

    def stop(self) -> None:
        """SIGTERM, as a restart by ops does."""
        self.children.stop(self.name)


def pizzeria_env(
    temporal_address: str | None,
    database_url: str,
    jwt_secret: str,
    encryption_keys: str,
    queue: str,
    **variables: str,
) -> dict[str, str]:
    """This process's environment for a worker and an API of their own on the dev server at `temporal_address`: a
    task queue `queue-<uuid>` that nobody else polls, payloads encrypted as in production; `variables` added last.

    The shell's TEMPORAL_* are left out. With `temporal_address` None, the TEMPORAL_* among `variables` say where
    Temporal is and how to reach it (TLS, a client certificate, an API key, a profile).
    """
    env = local_temporal_env(os.environ)
    if temporal_address:
        env["PIZZERIA_TEMPORAL_ADDRESS"] = temporal_address
    else:  # nor the overrides of the shell (or the Makefile): Temporal's own variables alone say where to go
        env.pop("PIZZERIA_TEMPORAL_ADDRESS", None)
        env.pop("PIZZERIA_TEMPORAL_NAMESPACE", None)
    return {
        **env,
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

    Several Pizzerias given one `env` are several workers and APIs on one task queue and database, as a
    shop scaled out runs them; each names its children apart by `suffix` ("worker-2", "api-2").

    Its database (PIZZERIA_DATABASE_URL) is migrated first, as `make run` does: the processes make no tables.
    """

    def __init__(self, children: Children, env: dict[str, str], suffix: str = "") -> None:
        migrate(env["PIZZERIA_DATABASE_URL"])
        self.children, self.env = children, env
        self.worker_name, self.api_name = f"worker{suffix}", f"api{suffix}"
        self.base_url = f"http://127.0.0.1:{free_port()}"
        self.temporal: DevServer | None = None  # the dev server start_stack started for it, if it did

    @property
    def logs(self) -> Path:
        return self.children.logs

    @property
    def worker(self) -> subprocess.Popen | None:
        return self.children.latest(self.worker_name)

    @property
    def api(self) -> subprocess.Popen | None:
        return self.children.latest(self.api_name)

    def launch_worker(self, module: str | None = None) -> Callable[[], bool]:
        """Start `python worker.py` (or `python -m module`); a probe for whether it has polled since."""
        log = self.children.log(self.worker_name)
        polled_before = log.read_text(errors="replace").count("worker polling") if log.exists() else 0
        self.children.start(
            self.worker_name, [sys.executable, *(["-m", module] if module else ["worker.py"])], self.env
        )

        def polling() -> bool:
            self.children.check(self.worker_name)
            return log.read_text(errors="replace").count("worker polling") > polled_before

        return polling

    def start_worker(self, module: str | None = None) -> None:
        """Start a worker and wait until it polls."""
        wait_for(self.launch_worker(module), "the worker to poll")

    def launch_api(self, *uvicorn_flags: str) -> Callable[[], bool]:
        """Start the API; a probe for whether its /healthz answers 200."""
        port = self.base_url.rpartition(":")[2]
        self.children.start(
            self.api_name,
            [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", port, *uvicorn_flags],
            self.env,
        )

        def answering() -> bool:
            self.children.check(self.api_name)
            return answers(f"{self.base_url}/healthz")

        return answering

    def start_api(self, *uvicorn_flags: str) -> None:
        wait_for(self.launch_api(*uvicorn_flags), "the API to answer")

    def kill_worker(self) -> None:
        self.children.kill(self.worker_name)

    def kill_api(self) -> None:
        self.children.kill(self.api_name)

    def stop_worker(self) -> None:
        """SIGTERM to the worker, as a deploy stops it: it finishes the tasks in hand first."""
        self.children.stop(self.worker_name)

    def stop(self) -> None:
        self.children.stop(self.api_name, self.worker_name)


async def start_stack(
    children: Children, queue: str, jwt_secret: str, keys: str, database: str | None = None, **variables: str
) -> Pizzeria:
    """A dev server, then a worker, then the API (quiet but for warnings), files in the children's folder; the
    shop's database is a SQLite file there unless `database` names another. The shop knows its dev server."""
    server = DevServer(children, children.logs / "temporal.db")
    await wait_until(server.launch(), f"the Temporal dev server at {server.address}")
    database = database or f"sqlite:///{children.logs / 'pizzeria.db'}"
    shop = Pizzeria(children, pizzeria_env(server.address, database, jwt_secret, keys, queue, **variables))
    shop.temporal = server  # its --metrics-port, for the benchmark's count of actions
    await wait_until(shop.launch_worker(), "the worker to poll")
    await wait_until(shop.launch_api("--log-level", "warning"), "the API's /healthz")
    return shop
