"""The one composition root: the worker and the API get their Temporal client and database from one place."""

import socket

import pytest
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import inspect
from temporalio.api.common.v1 import Payload
from temporalio.contrib.opentelemetry import TracingInterceptor

from activities.store.menu import MenuStore
from bootstrap import client_options, open_database, temporal_client, temporal_runtime
from domain.menu import SEED_PIZZAS
from settings import Settings
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
