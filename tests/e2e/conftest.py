"""Real processes: `python worker.py` and `uvicorn api.app:app`, on the test's Temporal dev server.

Fault tests also get servers of their own to stop and start again: a Temporal dev server and PostgreSQL.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import ENCRYPTION_KEYS, _postgres_binary, free_port
from tools.stack import BIN, DEV_SERVER_TUNING, SEARCH_ATTRIBUTE_FLAGS

ROOT = Path(__file__).resolve().parents[2]
PAUSING_WORKER = "tests.e2e.pausing_worker"


@dataclass
class Processes:
    env: dict[str, str]
    base_url: str
    logs: Path
    worker: subprocess.Popen | None = None
    api: subprocess.Popen | None = None

    def start_worker(self, module: str | None = None) -> None:
        """Start `python worker.py` (or `python -m module`, a worker built like it) and wait until it polls."""
        path = self.logs / "worker.log"
        polled_before = path.read_text().count("worker polling") if path.exists() else 0
        log = open(path, "a")  # noqa: SIM115 - the process keeps it
        command = ["-m", module] if module else ["worker.py"]
        self.worker = subprocess.Popen([sys.executable, *command], cwd=ROOT, env=self.env, stdout=log, stderr=log)
        _wait_for(lambda: path.read_text().count("worker polling") > polled_before, "the worker to poll")

    def start_pausing_worker(self) -> "Parking":
        """Start the worker of tests/e2e/pausing_worker.py; the places it parks at are set through the answer."""
        parking = Parking(self.logs / "parking.json")
        self.env["PARKING_FILE"] = str(parking.file)
        self.start_worker(PAUSING_WORKER)
        return parking

    def kill_worker(self) -> None:
        """SIGKILL: no goodbye, no cleanup."""
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait(10)

    def stop(self) -> None:
        for process in (self.api, self.worker):
            _stop(process)


@dataclass
class Parking:
    """Where the pausing worker parks activities (tests/e2e/pausing_worker.py)."""

    file: Path

    def park(self, order_id: str, activity: str, when: str = "before") -> None:
        self._write([*self._places(), {"order_id": order_id, "activity": activity, "when": when}])

    def release(self, order_id: str, activity: str, when: str = "before") -> None:
        self._write([p for p in self._places() if p != {"order_id": order_id, "activity": activity, "when": when}])

    def arrivals(self) -> list[str]:
        """`order_id activity when` for every activity that has parked so far."""
        path = Path(f"{self.file}.parked")
        return path.read_text().splitlines() if path.exists() else []

    def _places(self) -> list[dict[str, str]]:
        return json.loads(self.file.read_text()) if self.file.exists() else []

    def _write(self, places: list[dict[str, str]]) -> None:
        # Whole or not at all: the worker reads the file while it is being replaced.
        draft = self.file.with_suffix(".draft")
        draft.write_text(json.dumps(places))
        draft.replace(self.file)


def _wait_for(ready, what: str, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except (OSError, httpx.HTTPError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def launch_api(temporal_address: str, database_url: str, logs: Path, **variables: str) -> Processes:
    """The API as a process, configured only through the environment; start the worker with its methods."""
    port = free_port()
    env = {
        **os.environ,
        "PIZZERIA_TEMPORAL_ADDRESS": temporal_address,
        "PIZZERIA_TASK_QUEUE": f"e2e-{uuid.uuid4()}",
        "PIZZERIA_DATABASE_URL": database_url,
        "PIZZERIA_JWT_SECRET": "an-end-to-end-secret-long-enough-for-hs256",
        "PIZZERIA_CONFIRM_TIMEOUT_SECONDS": "3",
        "PIZZERIA_ENCRYPTION_KEYS": ENCRYPTION_KEYS,
        **variables,
    }
    running = Processes(env, f"http://127.0.0.1:{port}", logs)
    log = open(logs / "api.log", "a")  # noqa: SIM115 - the process keeps it
    running.api = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        _wait_for(lambda: httpx.get(f"{running.base_url}/healthz").status_code == 200, "the API to answer")
    except AssertionError:
        running.stop()
        raise
    return running


@pytest.fixture
def processes(request: pytest.FixtureRequest, temporal_env: WorkflowEnvironment, tmp_path: Path) -> Iterator[Processes]:
    """A worker and the API as separate processes, configured only through the environment.

    SQLite by default; parametrize indirectly with "postgresql" for a PostgreSQL server.
    """
    on_postgres = getattr(request, "param", "sqlite") == "postgresql"
    database_url = request.getfixturevalue("postgres_url") if on_postgres else f"sqlite:///{tmp_path}/pizzeria.db"
    running = launch_api(temporal_env.client.service_client.config.target_host, database_url, tmp_path)
    yield running
    running.stop()


def _stop(process: subprocess.Popen | None) -> None:
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@dataclass
class DevServer:
    """A Temporal dev server of a test's own, started as `make run` starts it; it can stop and start again
    on the same SQLite file and ports."""

    db_file: Path
    log: Path
    port: int = field(default_factory=free_port)
    side_ports: tuple[int, int] = field(default_factory=lambda: (free_port(), free_port()))
    process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it and wait until it serves."""
        http_port, metrics_port = self.side_ports
        log = open(self.log, "a")  # noqa: SIM115 - the process keeps it
        self.process = subprocess.Popen(
            [
                BIN / "temporal", "server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.port), "--headless",
                "--http-port", str(http_port), "--metrics-port", str(metrics_port),
                "--db-filename", str(self.db_file), *SEARCH_ATTRIBUTE_FLAGS, *DEV_SERVER_TUNING,
                "--log-level", "warn",
            ],
            stdout=log,
            stderr=log,
        )  # fmt: skip
        _wait_for(self.serving, f"the Temporal dev server on {self.address}", seconds=60)

    def serving(self) -> bool:
        assert self.process is not None and self.process.poll() is None, f"the dev server exited; see {self.log}"
        health = [BIN / "temporal", "operator", "cluster", "health", "--address", self.address]
        return subprocess.run(health, capture_output=True, timeout=10).returncode == 0

    def stop(self) -> None:
        """SIGTERM, as a restart by ops does."""
        _stop(self.process)


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[DevServer]:
    """A Temporal dev server for one test, free to be stopped and started again."""
    server = DevServer(tmp_path / "temporal.db", tmp_path / "temporal.log")
    server.start()
    yield server
    server.stop()


@dataclass
class PostgresServer:
    """A PostgreSQL server of a test's own on loopback; it can stop and start again on the same data and port."""

    base: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def _as_postgres(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # initdb and pg_ctl refuse root

    def _run(self, binary: str, *args: str, check: bool = True) -> None:
        command = [*self._as_postgres, _postgres_binary(binary), "-D", str(self.base / "data"), *args]
        subprocess.run(command, check=check, capture_output=True, timeout=60)

    def create(self) -> None:
        self._run("initdb", "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-l", str(self.base / "log"), "-w", "start", "-o", options)

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as when the database server goes away."""
        self._run("pg_ctl", "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        self._run("pg_ctl", "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for one test, free to be stopped and started again."""
    base = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp"))  # short: the socket path has a length limit
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    server = PostgresServer(base)
    server.create()
    server.start()
    yield server
    server.remove()
