"""Real processes: `python worker.py` and `uvicorn api.app:app`, on the test's Temporal dev server."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import ENCRYPTION_KEYS, free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Processes:
    env: dict[str, str]
    base_url: str
    logs: Path
    worker: subprocess.Popen | None = None
    api: subprocess.Popen | None = None

    def start_worker(self) -> None:
        """Start `python worker.py` and wait until it polls."""
        log = open(self.logs / "worker.log", "a")  # noqa: SIM115 - the process keeps it
        self.worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=self.env, stdout=log, stderr=log)
        _wait_for(lambda: "worker polling" in (self.logs / "worker.log").read_text(), "the worker to poll")

    def kill_worker(self) -> None:
        """SIGKILL: no goodbye, no cleanup."""
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait(10)

    def stop(self) -> None:
        for process in (self.api, self.worker):
            if process and process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()


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


@pytest.fixture
def processes(request: pytest.FixtureRequest, temporal_env: WorkflowEnvironment, tmp_path: Path) -> Iterator[Processes]:
    """A worker and the API as separate processes, configured only through the environment.

    SQLite by default; parametrize indirectly with "postgresql" for a PostgreSQL server.
    """
    port = free_port()
    on_postgres = getattr(request, "param", "sqlite") == "postgresql"
    database_url = request.getfixturevalue("postgres_url") if on_postgres else f"sqlite:///{tmp_path}/pizzeria.db"
    env = {
        **os.environ,
        "PIZZERIA_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "PIZZERIA_TASK_QUEUE": f"e2e-{uuid.uuid4()}",
        "PIZZERIA_DATABASE_URL": database_url,
        "PIZZERIA_JWT_SECRET": "an-end-to-end-secret-long-enough-for-hs256",
        "PIZZERIA_CONFIRM_TIMEOUT_SECONDS": "3",
        "PIZZERIA_ENCRYPTION_KEYS": ENCRYPTION_KEYS,
    }
    running = Processes(env, f"http://127.0.0.1:{port}", tmp_path)
    log = open(tmp_path / "api.log", "a")  # noqa: SIM115 - the process keeps it
    running.api = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    _wait_for(lambda: httpx.get(f"{running.base_url}/healthz").status_code == 200, "the API to answer")
    yield running
    running.stop()
