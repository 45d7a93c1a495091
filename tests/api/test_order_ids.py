"""Order ids are the customer's capability: nobody can work one out from an Idempotency-Key."""

import uuid
from unittest.mock import patch

import pytest
from sqlalchemy.exc import OperationalError

from api.order_ids import LegacyLookup, OrderIds, legacy_order_id, order_id_secret
from settings import Settings
from tests.conftest import ORDER_ID_SECRET, order_body, running_stack


def test_without_the_secret_the_id_of_a_key_cannot_be_worked_out():
    key = "ann-001"  # the README's own example
    ours = OrderIds(ORDER_ID_SECRET.encode()).new(key)
    assert ours == OrderIds(ORDER_ID_SECRET.encode()).new(key), "a key always names the same order"
    assert ours != legacy_order_id(key), "the public derivation of old no longer gives the id"
    assert ours != str(uuid.uuid5(uuid.NAMESPACE_URL, key)) and ours != str(uuid.uuid5(uuid.NAMESPACE_DNS, key))
    assert uuid.UUID(ours).version == 4, "it reads as any random order id"


def test_two_deployments_with_different_secrets_give_a_key_different_ids():
    keys = [f"key-{n}" for n in range(50)]
    one, other = OrderIds(b"the first shop's secret, long enough"), OrderIds(b"the second shop's secret, long too")
    assert all(one.new(key) != other.new(key) for key in keys)
    assert len({one.new(key) for key in keys}) == len(keys)


def test_an_order_without_a_key_gets_a_fresh_random_id():
    ids = OrderIds(b"s" * 32)
    assert len({ids.new(None) for _ in range(100)}) == 100


async def test_the_api_gives_a_key_the_id_keyed_with_its_secret(stack):
    key = f"ann-{uuid.uuid4()}"
    placed = await stack.place(key)
    assert placed.status_code == 201, placed.text
    assert placed.json()["id"] == OrderIds(ORDER_ID_SECRET.encode()).new(key) != legacy_order_id(key)


async def test_a_key_used_before_ids_were_keyed_still_answers_its_own_order_charged_once(temporal_env, database_url):
    key = f"before-the-upgrade-{uuid.uuid4()}"
    async with running_stack(temporal_env, database_url) as stack:
        gateway = stack.http._transport.app.state.gateway  # type: ignore[attr-defined]
        with patch.object(gateway._ids, "new", lambda _key: legacy_order_id(key)):  # the API before the change
            first = await stack.place(key)
        assert first.status_code == 201, first.text
        gateway._legacy._checked_at = None  # a minute later: the store now holds an order under an old id
        again = await stack.place(key)
        assert again.json()["id"] == first.json()["id"] == legacy_order_id(key)
        assert [order for order, _ in stack.payments.charges].count(legacy_order_id(key)) == 1
        # A new key gets a keyed id on the same API.
        fresh = await stack.http.post("/api/orders", json=order_body(), headers={"Idempotency-Key": f"new-{key}"})
        assert fresh.json()["id"] == OrderIds(ORDER_ID_SECRET.encode()).new(f"new-{key}")


def test_in_development_a_missing_secret_is_made_once_under_data_and_kept(tmp_path):
    file = tmp_path / "data" / "order-id.secret"
    first = order_id_secret(None, file)
    assert len(first) >= 32 and oct(file.stat().st_mode & 0o777) == "0o600"
    assert order_id_secret(None, file) == first, "a restart keeps the ids of keys"
    assert order_id_secret(Settings(order_id_secret="x" * 40).order_id_secret, file) == b"x" * 40


def test_production_without_a_secret_does_not_start(tmp_path, monkeypatch):
    monkeypatch.setenv("PIZZERIA_ENVIRONMENT", "production")
    monkeypatch.setenv("PIZZERIA_JWT_SECRET", "j" * 40)
    monkeypatch.setenv("PIZZERIA_ORDER_ID_SECRET_FILE", str(tmp_path / "none"))
    monkeypatch.delenv("PIZZERIA_ORDER_ID_SECRET", raising=False)
    from settings import load_settings

    with pytest.raises(SystemExit) as stopped:
        load_settings()
    assert str(stopped.value) == (
        "configuration error: PIZZERIA_ORDER_ID_SECRET is required when PIZZERIA_ENVIRONMENT=production"
    )


async def test_the_lookup_of_old_ids_costs_nothing_while_no_recent_order_has_one():
    answers = [False, True]
    lookup = LegacyLookup("auto", lambda since: answers.pop(0))
    assert await lookup.needed() is False
    assert await lookup.needed() is False, "asked again only after a minute"
    with patch("api.order_ids.RECHECK_SECONDS", 0):
        assert await lookup.needed() is True


async def test_the_old_ids_are_looked_up_when_the_store_cannot_tell_or_when_told_to():
    def unreachable(since):  # type: ignore[no-untyped-def]
        raise OperationalError("SELECT", {}, Exception("database is away"))

    assert await LegacyLookup("auto", unreachable).needed() is True
    assert await LegacyLookup("always", lambda since: False).needed() is True
    assert await LegacyLookup("never", lambda since: True).needed() is False
