"""The sign-in's rules with its clock and hasher in hand: an unknown username costs the same hash check as a known
one, a lockout ends once the failures are five minutes old, and another API process learns of a deleted account
within about a second."""

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine

from activities.store.staff import StaffStore
from activities.store.tables import make_engine
from api.account_keys import AccountKeys
from api.passwords import Passwords
from api.sign_in import LockedOut, SignIn, WrongCredentials

PASSWORD = "a-long-kitchen-password"


class CountingHasher(Argon2Hasher):
    """Argon2 with cheap parameters, counting the hashes it checks."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.checked: list[str] = []

    def verify(self, password, hash) -> bool:
        self.checked.append(str(hash))
        return super().verify(password, hash)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def sign_in_of(engine: Engine, hasher: Argon2Hasher, clock: Clock) -> tuple[SignIn, StaffStore]:
    store = StaffStore(engine)
    passwords = Passwords(PasswordHash((hasher,)))
    store.create("luigi", passwords.hash_now(PASSWORD), ["kitchen"])
    return SignIn(store, passwords, AccountKeys(store), "a-secret-long-enough-for-hs256-tokens", clock=clock), store


async def test_an_unknown_username_costs_one_hash_check_as_a_wrong_password_does(engine: Engine) -> None:
    hasher = CountingHasher()
    sign_in, store = sign_in_of(engine, hasher, Clock())
    with pytest.raises(WrongCredentials):
        await sign_in("luigi", "not-the-password")
    with pytest.raises(WrongCredentials):
        await sign_in("nobody", PASSWORD)
    with pytest.raises(WrongCredentials):
        await sign_in("NOT A USERNAME AT ALL", PASSWORD)
    real = store.account("luigi").password_hash
    assert len(hasher.checked) == 3
    assert hasher.checked[0] == real
    assert hasher.checked[1] == hasher.checked[2] != real  # a stand-in made with the same parameters
    assert hasher.checked[1].split("$")[:4] == real.split("$")[:4]


async def locked_out(engine: Engine, clock: Clock, seconds_apart: int) -> SignIn:
    """luigi's sign-in after five wrong passwords, `seconds_apart` from each other."""
    sign_in, _ = sign_in_of(engine, CountingHasher(), clock)
    for _ in range(5):
        with pytest.raises(WrongCredentials):
            await sign_in("luigi", "not-the-password")
        clock.now += timedelta(seconds=seconds_apart)
    return sign_in


async def test_a_lockout_ends_once_the_failures_leave_the_five_minute_window(engine: Engine) -> None:
    clock = Clock()
    sign_in = await locked_out(engine, clock, seconds_apart=10)
    with pytest.raises(LockedOut) as locked:
        await sign_in("luigi", PASSWORD)
    assert locked.value.retry_after == 300 - 50
    clock.now += timedelta(seconds=locked.value.retry_after - 1)
    with pytest.raises(LockedOut):
        await sign_in("luigi", PASSWORD)
    clock.now += timedelta(seconds=1)
    assert (await sign_in("luigi", PASSWORD)).username == "luigi"


async def test_attempts_refused_while_locked_out_do_not_extend_the_lockout(engine: Engine) -> None:
    clock = Clock()
    sign_in = await locked_out(engine, clock, seconds_apart=0)
    for _ in range(10):
        clock.now += timedelta(seconds=20)
        with pytest.raises(LockedOut):
            await sign_in("luigi", "still-guessing")
    clock.now += timedelta(seconds=100)
    assert (await sign_in("luigi", PASSWORD)).username == "luigi"


async def test_another_process_learns_of_a_deleted_account_within_about_a_second(engine: Engine) -> None:
    store = StaffStore(engine)
    account = store.create("luigi", "hash", ["kitchen"])
    here, there = AccountKeys(store, refresh_seconds=0.2), AccountKeys(StaffStore(engine), refresh_seconds=0.2)
    await here.start()
    await there.start()
    try:
        assert here.holds("luigi", account.account_key) and there.holds("luigi", account.account_key)
        store.delete("luigi", "manager")
        here.removed("luigi")
        assert not here.holds("luigi", account.account_key)
        started = time.monotonic()
        while there.holds("luigi", account.account_key):
            assert time.monotonic() - started < 1.0, "the other process still accepts the deleted account"
            await asyncio.sleep(0.02)
        again = store.create("luigi", "hash", ["kitchen"])
        while not there.holds("luigi", again.account_key):
            assert time.monotonic() - started < 2.0
            await asyncio.sleep(0.02)
        assert not there.holds("luigi", account.account_key)
    finally:
        await here.stop()
        await there.stop()
