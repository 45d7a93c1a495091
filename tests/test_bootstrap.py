"""The one composition root: the worker and the API get their Temporal client and database from one place."""

import socket
import time

import pytest
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import exc, inspect, text
from temporalio.api.common.v1 import Payload
from temporalio.contrib.opentelemetry import TracingInterceptor

from activities.store.menu import MenuStore
from bootstrap import client_options, open_database, temporal_client, temporal_runtime
from domain.menu import SEED_PIZZAS
from settings import Settings
from tests.conftest import database_of_kind
from workflows.payload_codec import KEY_ID, new_key_entry


async def test_a_client_seals_its_payloads_with_the_newest_configured_key():
    settings = Settings(encryption_keys=f"{new_key_entry('newest')},{new_key_entry('older')}")
    codec = client_options(settings)["data_converter"].payload_codec
    [sealed] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'{"customer":"Ada"}')])
    assert sealed.metadata[KEY_ID] == b"newest" and b"Ada" not in sealed.data


def test_without_keys_a_client_sends_payloads_as_they_are(tmp_path):
    settings = Settings(encryption_keys=None, encryption_keys_file=tmp_path / "none.keys")
    assert client_options(settings)["data_converter"].payload_codec is None


def test_a_traced_client_carries_the_tracing_interceptor_and_an_untraced_one_none():
    settings = Settings(temporal_namespace="pizzeria-eu")
    traced, untraced = client_options(settings, TracerProvider(), "pizzeria.api"), client_options(settings)
    assert traced["namespace"] == untraced["namespace"] == "pizzeria-eu"
    assert [type(i) for i in traced["interceptors"]] == [TracingInterceptor] and untraced["interceptors"] == []


async def test_a_lazy_client_is_made_while_temporal_is_still_away():
    with socket.socket() as nobody:  # a port nothing listens on
        nobody.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{nobody.getsockname()[1]}"
    settings = Settings(temporal_address=address)
    client = await temporal_client(settings, temporal_runtime(settings), lazy=True)
    assert client.namespace == "default"
    with pytest.raises(RuntimeError):
        await temporal_client(settings, temporal_runtime(settings))


def test_a_migrated_database_opens_with_its_tables_and_the_seed_menu(database_url):
    engine = open_database(Settings(database_url=database_url))
    try:
        assert inspect(engine).get_table_names()
        assert set(MenuStore(engine).load().pizzas) == {p.name for p in SEED_PIZZAS}
    finally:
        engine.dispose()


def test_on_postgresql_a_statement_running_past_the_statement_timeout_is_cancelled(request, tmp_path):
    url = database_of_kind("postgresql", request, tmp_path)
    engine = open_database(Settings(database_url=url, database_statement_timeout_seconds=0.5))
    try:
        started = time.monotonic()
        with pytest.raises(exc.OperationalError, match="statement timeout"), engine.connect() as connection:
            connection.execute(text("SELECT pg_sleep(30)"))
        assert time.monotonic() - started < 10
        with engine.connect() as connection:  # the next statement runs as usual
            assert connection.execute(text("SELECT count(*) FROM menu_pizza")).scalar() == len(SEED_PIZZAS)
    finally:
        engine.dispose()


def test_a_step_waits_for_a_free_connection_no_longer_than_the_pool_timeout(database_url):
    settings = Settings(
        database_url=database_url,
        database_pool_size=1,
        database_max_overflow=0,
        database_pool_timeout_seconds=0.3,
    )
    engine = open_database(settings)
    try:
        with engine.connect():
            started = time.monotonic()
            with pytest.raises(exc.TimeoutError, match="QueuePool limit of size 1 overflow 0 reached"):
                engine.connect()
            assert 0.3 <= time.monotonic() - started < 5
    finally:
        engine.dispose()
