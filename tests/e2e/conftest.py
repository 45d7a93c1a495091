"""Real processes: `python worker.py` and `uvicorn api.app:app`, on the test's Temporal dev server.

Fault tests also get servers of their own to stop and start again: a Temporal dev server and PostgreSQL.
"""

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import ENCRYPTION_KEYS, ORDER_ID_SECRET, _postgres_binary, database_of_kind, free_port
from tools.stack import DevServer, Pizzeria, pizzeria_env
from tools.supervisor import Children

PAUSING_WORKER = "tests.e2e.pausing_worker"
CONFIRM_TIMEOUT = "PIZZERIA_CONFIRM_TIMEOUT_SECONDS"


class Processes(Pizzeria):
    """A worker and the API as processes of the shared supervisor (tools/stack.py), plus the pausing worker."""

    def start_pausing_worker(self) -> "Parking":
        """Start the worker of tests/e2e/pausing_worker.py; the places it parks at are set through the answer."""
        parking = Parking(self.logs / "parking.json")
        self.env["PARKING_FILE"] = str(parking.file)
        self.start_worker(PAUSING_WORKER)
        return parking


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


def launch_api(temporal_address: str, database_url: str, logs: Path, **variables: str) -> Processes:
    """The API as a process, configured only through the environment; start the worker with its methods."""
    secret = "an-end-to-end-secret-long-enough-for-hs256"
    env = pizzeria_env(
        temporal_address,
        database_url,
        secret,
        ENCRYPTION_KEYS,
        "e2e",
        **{CONFIRM_TIMEOUT: "3", "PIZZERIA_ORDER_ID_SECRET": ORDER_ID_SECRET, **variables},
    )
    running = Processes(Children(logs), env)
    try:
        running.start_api()
    except BaseException:
        running.stop()
        raise
    return running


@pytest.fixture
def processes(request: pytest.FixtureRequest, temporal_env: WorkflowEnvironment, tmp_path: Path) -> Iterator[Processes]:
    """A worker and the API as separate processes, configured only through the environment.

    On the suite's database (tests/conftest.py `database_url`); parametrize indirectly with "sqlite" or
    "postgresql" for that kind whatever the suite runs on.
    """
    kind = getattr(request, "param", None)
    database_url = database_of_kind(kind, request, tmp_path) if kind else request.getfixturevalue("database_url")
    running = launch_api(temporal_env.client.service_client.config.target_host, database_url, tmp_path)
    yield running
    running.stop()


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[DevServer]:
    """A Temporal dev server for one test, free to be stopped and started again."""
    server = DevServer(Children(tmp_path), tmp_path / "temporal.db")
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
