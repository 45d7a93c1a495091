"""Shared fixtures: a real Temporal dev server, a worker on it, and the API in front of it."""

import copy
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.payments.fake import FakePayments
from activities.payments.port import PaymentGateway
from activities.store.schema import migrate
from activities.texts.port import Notifier
from api.app import create_app
from api.auth import mint_token
from api.order_ids import OrderIds
from bootstrap import client_options
from settings import Settings
from tests.peers import StripePeer, TwilioPeer
from tools.bench import DELIVERY_BODY as ORDER_BODY
from tools.stack import BIN, DEV_SERVER_TUNING, local_temporal_env
from tools.supervisor import free_port
from worker import TRACER, build_worker
from workflows.order_contract import SEARCH_ATTRIBUTES
from workflows.payload_codec import new_key_entry

# The tests' Temporal servers are local and unsecured: Temporal's client configuration of a developer's shell (or
# of ~/.config/temporalio/temporal.toml) must reach neither this process nor those it starts.
_LOCAL_ENV = local_temporal_env(os.environ)
for _name in set(os.environ) - set(_LOCAL_ENV):
    del os.environ[_name]
os.environ.update(_LOCAL_ENV)

# Tests run with payloads encrypted, as `make run` and production do.
ENCRYPTION_KEYS = new_key_entry("tests-newest") + "," + new_key_entry("tests-older")
NO_KEYS_FILE = Path(__file__).parent / "no-such.keys"  # never a developer's data/encryption.keys
SECRET = "a-test-secret-that-is-long-enough-for-hs256"
ORDER_ID_SECRET = "a-test-order-id-secret-that-nobody-else-holds"
# The kind of database every test of the pizzeria's behaviour runs on (`make test-postgres`: postgresql).
TEST_DATABASES = ("sqlite", "postgresql")
TEST_DATABASE = os.environ.get("PIZZERIA_TEST_DATABASE", "sqlite")
# For end-to-end tests of what no database kind changes (Temporal's TLS, the codec, logs, metrics, traces): the
# PostgreSQL pass of `make test` skips them, saying so, as the SQLite pass has run them.
SAME_ON_ANY_DATABASE = pytest.mark.skipif(
    TEST_DATABASE == "postgresql", reason="nothing here depends on the database kind; the SQLite pass runs it"
)


def pytest_configure(config: pytest.Config) -> None:
    if TEST_DATABASE not in TEST_DATABASES:
        raise pytest.UsageError(f"PIZZERIA_TEST_DATABASE: must be sqlite or postgresql, not {TEST_DATABASE!r}")


def order_id_for(idempotency_key: str) -> str:
    """The id the tests' API gives the order placed with this Idempotency-Key."""
    return OrderIds(ORDER_ID_SECRET.encode()).new(idempotency_key)


def order_body(**changes: object) -> dict:
    """A valid order request (the benchmark's delivery order); keyword arguments replace its fields."""
    body = copy.deepcopy(ORDER_BODY)
    body.update(changes)
    return body


def staff_headers(*roles: str, secret: str = SECRET, ttl: int = 600, sub: str = "luigi") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(secret, sub, list(roles), ttl)}"}


@dataclass
class RecordingNotifier(Notifier):
    """Keeps every text it is asked to send."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))

    def texts_for(self, order_id: str) -> list[str]:
        return [text for _, text in self.sent if order_id[:8] in text]


def _postgres_binary(name: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        pytest.fail(f"{name} not found: install PostgreSQL (`make test` does it with apt-get)")
    return found


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server on loopback; its URL."""
    base = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp"))  # short: the socket path has a length limit
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # initdb refuses root
    if as_postgres:
        shutil.chown(base, "postgres")
    port, data = free_port(), base / "data"
    ctl = [*as_postgres, _postgres_binary("pg_ctl"), "-D", str(data)]
    subprocess.run(
        [*as_postgres, _postgres_binary("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([*ctl, "-l", str(base / "log"), "-w", "start", "-o", options], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*ctl, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def sqlite_database(folder: Path) -> str:
    """A new SQLite file in `folder`, migrated to the code's schema; its URL."""
    url = f"sqlite:///{folder / 'pizzeria.db'}"
    migrate(url)
    return url


def postgres_database(server_url: str) -> str:
    """A new database on the PostgreSQL server of `server_url`, migrated to the code's schema; its URL."""
    name = f"t_{uuid.uuid4().hex}"
    server = create_engine(server_url, isolation_level="AUTOCOMMIT")  # CREATE DATABASE runs outside a transaction
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    finally:
        server.dispose()
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    migrate(url)
    return url


def database_of_kind(kind: str, request: pytest.FixtureRequest, folder: Path) -> str:
    """A fresh, migrated database of `kind` (sqlite: a file in `folder`; postgresql: on the session's server)."""
    if kind == "postgresql":
        return postgres_database(request.getfixturevalue("postgres_url"))
    return sqlite_database(folder)


@pytest.fixture(scope="session")
def new_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Callable[[], str]:
    """Makes a fresh, migrated database of the kind PIZZERIA_TEST_DATABASE names; for fixtures wider than a test."""
    return lambda: database_of_kind(TEST_DATABASE, request, tmp_path_factory.mktemp("database"))


@pytest.fixture
def database_url(new_database: Callable[[], str]) -> str:
    """A fresh database migrated to the code's schema: a SQLite file, or (PIZZERIA_TEST_DATABASE=postgresql)
    a database of its own on the session's PostgreSQL server."""
    return new_database()


@pytest.fixture(scope="session")
def stripe_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StripePeer]:
    """localstripe on loopback, recording requests and injecting faults on demand."""
    peer = StripePeer(free_port(), tmp_path_factory.mktemp("stripe") / "stripe.log")
    yield peer
    peer.close()


@pytest.fixture(scope="session")
def twilio_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwilioPeer]:
    """A Twilio Messages API on loopback, recording what it is sent."""
    peer = TwilioPeer(free_port(), tmp_path_factory.mktemp("twilio") / "twilio.log")
    yield peer
    peer.close()


def unique_phone() -> str:
    """A phone number no other test uses, so a peer's records and answers for it are this test's own."""
    return f"+1555{uuid.uuid4().int % 10**7:07d}"


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=DEV_SERVER_TUNING,
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


def stack_settings(env: WorkflowEnvironment, database_url: str, **overrides: object) -> Settings:
    """Settings for a worker and an API on the test server, with their own task queue and database."""
    values: dict = {
        "temporal_address": env.client.service_client.config.target_host,
        "task_queue": f"orders-{uuid.uuid4()}",
        "database_url": database_url,
        "jwt_secret": SECRET,
        "order_id_secret": ORDER_ID_SECRET,
        "encryption_keys": ENCRYPTION_KEYS,
        "encryption_keys_file": NO_KEYS_FILE,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Stack:
    settings: Settings
    client: Client
    http: httpx.AsyncClient
    payments: Any  # FakePayments unless the test gave a real adapter
    texts: Any  # RecordingNotifier unless the test gave a real adapter

    async def place(self, key: str | None = None, **changes: object) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return await self.http.post("/api/orders", json=order_body(**changes), headers=headers)

    async def placed(self, **changes: object) -> dict:
        response = await self.place(**changes)
        assert response.status_code == 201, response.text
        return response.json()

    async def move(self, order_id: str, status: str, *roles: str) -> httpx.Response:
        headers = staff_headers(*(roles or ("kitchen",)))
        return await self.http.put(f"/api/kitchen/orders/{order_id}/status", json={"status": status}, headers=headers)


@asynccontextmanager
async def running_stack(
    env: WorkflowEnvironment,
    database_url: str,
    worker: bool = True,
    payments: PaymentGateway | None = None,
    texts: Notifier | None = None,
    tracing: TracerProvider | None = None,
    **overrides: object,
):
    """A worker (unless told not to) and the API over HTTP, both wired as in production, on the test server.

    Payments are fake and texts recorded unless real adapters are given; traced when given a provider.
    """
    settings = stack_settings(env, database_url, **overrides)
    payments, texts = payments or FakePayments(), texts or RecordingNotifier()
    app = create_app(settings, tracing)
    # The worker's client, on the test server's connection: it encrypts (and traces) as the worker's would.
    client = Client(env.client.service_client, **client_options(settings, tracing, TRACER))
    async with AsyncExitStack() as stack:
        if worker:
            await stack.enter_async_context(build_worker(client, settings, payments, texts))
        await stack.enter_async_context(app.router.lifespan_context(app))
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pizzeria.test")
        )
        yield Stack(settings, client, http, payments, texts)


@pytest.fixture(scope="session")
async def stack(temporal_env: WorkflowEnvironment, new_database: Callable[[], str]) -> AsyncIterator[Stack]:
    """One worker and API for the API tests; each test uses orders of its own."""
    async with running_stack(temporal_env, new_database()) as running:
        yield running
