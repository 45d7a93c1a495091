"""A secured Temporal: the real worker and API reach it through TLS with a client certificate or an API key, set
only through Temporal's standard variables (or a TOML profile), and say so plainly when it turns them away."""

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import ENCRYPTION_KEYS, ORDER_ID_SECRET, SAME_ON_ANY_DATABASE, SECRET, order_body, staff_headers
from tests.e2e.conftest import Processes
from tests.e2e.secured_temporal import SERVER_NAME, SecuredTemporal, secured_temporal
from tools.stack import DevServer, pizzeria_env
from tools.supervisor import Children

pytestmark = SAME_ON_ANY_DATABASE

REFUSAL_SECONDS = 30.0


@pytest.fixture(scope="module")
def secured(temporal_env: WorkflowEnvironment) -> Iterator[SecuredTemporal]:
    """One nginx for the module, in front of the session's dev server: an mTLS door and an API-key door."""
    with secured_temporal(temporal_env.client.service_client.config.target_host) as doors:
        yield doors


@pytest.fixture
def shop(database_url: str) -> Iterator[Callable[..., Processes]]:
    """Starts a worker and the API on the test's database, configured only by `temporal` (TEMPORAL_*) for
    Temporal: no PIZZERIA_TEMPORAL_ADDRESS unless given `local_address`, a dev server's. Each is stopped at the end."""
    started: list[Processes] = []

    def start(logs: Path, temporal: dict[str, str], local_address: str | None = None) -> Processes:
        env = pizzeria_env(
            local_address,
            database_url,
            SECRET,
            ENCRYPTION_KEYS,
            "secured",
            PIZZERIA_ORDER_ID_SECRET=ORDER_ID_SECRET,
            **temporal,
        )
        assert env.get("PIZZERIA_TEMPORAL_ADDRESS") == local_address
        running = Processes(Children(logs), env)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def place_and_complete(running: Processes) -> None:
    """An order placed over HTTP, moved on by the kitchen to completed, and read back as completed."""
    with httpx.Client(base_url=running.base_url, timeout=30) as http:
        placed = http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": str(uuid.uuid4())})
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["id"]
        for status in ("preparing", "ready", "completed"):
            moved = http.put(
                f"/api/kitchen/orders/{order_id}/status", json={"status": status}, headers=staff_headers("kitchen")
            )
            assert moved.status_code == 200, moved.text
        assert http.get(f"/api/orders/{order_id}").json()["status"] == "completed"


def _mtls(doors: SecuredTemporal) -> dict[str, str]:
    return doors.mtls_env()


def _api_key(doors: SecuredTemporal) -> dict[str, str]:
    return doors.api_key_env()


def _profile(doors: SecuredTemporal) -> dict[str, str]:
    # The same mTLS connection, all of it from a profile of a TOML file.
    c = doors.credentials
    config = c.ca.parent / "pizzeria-temporal.toml"
    config.write_text(
        f'[profile.default]\naddress = "127.0.0.1:1"\n\n'
        f'[profile.pizzeria]\naddress = "{doors.mtls_address}"\n\n[profile.pizzeria.tls]\n'
        f'server_name = "{SERVER_NAME}"\nserver_ca_cert_path = "{c.ca}"\n'
        f'client_cert_path = "{c.client_cert}"\nclient_key_path = "{c.client_key}"\n'
    )
    return {"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "pizzeria"}


@pytest.mark.parametrize("setup", [_mtls, _api_key, _profile], ids=["mtls", "api-key", "toml-profile"])
def test_an_order_is_placed_and_completed_through_a_secured_temporal(secured, shop, tmp_path, setup):
    temporal = setup(secured)
    running = shop(tmp_path, temporal)
    running.start_worker()
    running.start_api()

    place_and_complete(running)
    door = secured.api_key_address if "TEMPORAL_API_KEY" in temporal else secured.mtls_address
    health = httpx.get(f"{running.base_url}/healthz", timeout=10)
    assert health.json() == {"status": "ok", "temporal": door}
    assert f"on {door}" in running.children.log("worker").read_text()


def worker_refused(running: Processes) -> str:
    """The worker's log once it has stopped by itself (it must, within REFUSAL_SECONDS)."""
    worker = running.children.start("worker", [sys.executable, "worker.py"], running.env)
    try:
        worker.wait(REFUSAL_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the worker kept running; its log:\n{running.children.tail('worker')}")
    assert worker.returncode == 1, running.children.tail("worker")
    return running.children.log("worker").read_text()


def api_health(running: Processes) -> httpx.Response:
    """/healthz of the API, once it answers at all."""
    running.launch_api()
    deadline = time.monotonic() + 60
    while True:
        running.children.check("api")
        try:
            return httpx.get(f"{running.base_url}/healthz", timeout=10)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_wrong_api_key_is_reported_as_refused_by_the_worker_and_the_api(secured, shop, tmp_path):
    running = shop(tmp_path, secured.api_key_env(key="not-the-key"))
    refusal = f"Temporal at {secured.api_key_address} refused the API key (TEMPORAL_API_KEY): HTTP 401 Unauthorized"

    log = worker_refused(running)
    assert f"CRITICAL pizzeria.worker: {refusal}; stopping" in log
    assert "not reachable yet" not in log
    assert "not-the-key" not in log

    health = api_health(running)
    assert health.status_code == 503
    assert health.json()["detail"] == refusal

    # A customer's order meets the same refusal, said as such, and nothing waits for a Temporal that is there.
    with httpx.Client(base_url=running.base_url, timeout=30) as http:
        placed = http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": str(uuid.uuid4())})
    assert placed.status_code == 503, placed.text
    assert refusal in placed.json()["detail"]


@pytest.mark.parametrize("certificate", ["none", "a stranger's"])
def test_a_client_certificate_the_server_refuses_is_reported_as_such(secured, shop, tmp_path, certificate):
    temporal = secured.mtls_env()
    if certificate == "none":
        del temporal["TEMPORAL_TLS_CLIENT_CERT_PATH"], temporal["TEMPORAL_TLS_CLIENT_KEY_PATH"]
        refusal = f"Temporal at {secured.mtls_address} refused this client: it asks for a client certificate"
    else:
        temporal["TEMPORAL_TLS_CLIENT_CERT_PATH"] = str(secured.credentials.stranger_cert)
        temporal["TEMPORAL_TLS_CLIENT_KEY_PATH"] = str(secured.credentials.stranger_key)
        refusal = f"Temporal at {secured.mtls_address} refused the client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH)"
    running = shop(tmp_path, temporal)

    log = worker_refused(running)
    assert f"CRITICAL pizzeria.worker: {refusal}" in log
    assert "not reachable yet" not in log

    health = api_health(running)
    assert health.status_code == 503
    assert health.json()["detail"].startswith(refusal)


def test_a_developer_s_secured_temporal_in_the_shell_never_reaches_a_local_dev_server(monkeypatch, shop, tmp_path):
    # What the tools and the tests start talks to a dev server of its own, which speaks no TLS.
    for name, value in {
        "TEMPORAL_ADDRESS": "pizzeria.a1b2c.tmprl.cloud:7233",
        "TEMPORAL_API_KEY": "a-developer-s-own-key",
        "TEMPORAL_TLS_CLIENT_CERT_PATH": "/no/such/client.pem",
        "TEMPORAL_PROFILE": "cloud",
    }.items():
        monkeypatch.setenv(name, value)
    server = DevServer(Children(tmp_path), tmp_path / "temporal.db")
    try:
        server.start()
        running = shop(tmp_path, {}, local_address=server.address)
        running.start_worker()
        running.start_api()
        place_and_complete(running)
    finally:
        server.stop()
