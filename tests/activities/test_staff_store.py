"""The staff store on a real SQLite file and a real PostgreSQL server: accounts keep only a hash, a username is
taken once, the last manager cannot be deleted (also by two managers at once), and failed sign-ins are counted
per username and forgotten once old."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from activities.store.staff import Deletion, StaffStore

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_an_account_keeps_its_hash_roles_and_a_key_of_its_own(engine: Engine) -> None:
    store = StaffStore(engine)
    made = store.create("luigi", "$argon2id$hash-of-luigi", ["manager", "kitchen"])
    assert made is not None and made.roles == ("kitchen", "manager")
    assert made.created_at.tzinfo is not None and abs(made.created_at - datetime.now(UTC)) < timedelta(minutes=1)
    read = store.account("luigi")
    assert read == made and read.password_hash == "$argon2id$hash-of-luigi"
    assert "argon2" not in repr(read)  # a log line of an account never shows its hash
    assert store.account("mario") is None
    assert store.keys() == {"luigi": made.account_key}


def test_a_username_is_taken_once(engine: Engine) -> None:
    store = StaffStore(engine)
    assert store.create("luigi", "h1", ["kitchen"]) is not None
    assert store.create("luigi", "h2", ["driver"]) is None
    assert [(a.username, a.roles, a.password_hash) for a in store.accounts()] == [("luigi", ("kitchen",), "h1")]


def test_accounts_are_listed_by_username(engine: Engine) -> None:
    store = StaffStore(engine)
    for name in ("toad", "luigi", "peach"):
        store.create(name, "h", ["driver"])
    assert [a.username for a in store.accounts()] == ["luigi", "peach", "toad"]


def test_an_account_made_again_under_the_same_name_gets_a_new_key(engine: Engine) -> None:
    store = StaffStore(engine)
    store.create("boss", "h", ["manager"])
    first = store.create("luigi", "h", ["kitchen"])
    assert store.delete("luigi", "manager") is Deletion.DELETED
    assert store.account("luigi") is None
    again = store.create("luigi", "h", ["kitchen"])
    assert first is not None and again is not None and again.account_key != first.account_key
    assert store.keys()["luigi"] == again.account_key


def test_the_last_manager_is_never_deleted_and_an_unknown_name_is_said_so(engine: Engine) -> None:
    store = StaffStore(engine)
    store.create("mario", "h", ["kitchen", "manager"])
    store.create("luigi", "h", ["kitchen"])
    assert store.delete("mario", "manager") is Deletion.LAST_OF_ROLE
    assert store.delete("nobody", "manager") is Deletion.UNKNOWN
    assert store.delete("luigi", "manager") is Deletion.DELETED
    assert [a.username for a in store.accounts()] == ["mario"]


def test_two_managers_deleting_each_other_at_once_leave_one(engine: Engine) -> None:
    store = StaffStore(engine)
    for round_ in range(5):
        names = [f"m{round_}a", f"m{round_}b"]
        for name in names:
            store.create(name, "h", ["manager"])
        with ThreadPoolExecutor(2) as pool:
            outcomes = sorted(o.value for o in pool.map(lambda n: store.delete(n, "manager"), names))
        assert outcomes == [Deletion.DELETED.value, Deletion.LAST_OF_ROLE.value]
        [left] = store.accounts()
        assert store.delete(left.username, "manager") is Deletion.LAST_OF_ROLE
        # Clear the round: another manager first, so the one left may go.
        store.create("keeper", "h", ["manager"])
        assert store.delete(left.username, "manager") is Deletion.DELETED
        assert store.delete("keeper", "manager") is Deletion.LAST_OF_ROLE
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM staff_account"))


def test_a_new_hash_replaces_the_old_only_for_the_same_account(engine: Engine) -> None:
    store = StaffStore(engine)
    made = store.create("luigi", "old", ["kitchen"])
    assert made is not None
    assert store.replace_hash("luigi", "another-accounts-key", "stolen") is False
    assert store.replace_hash("luigi", made.account_key, "new") is True
    assert store.account("luigi").password_hash == "new"


def test_failures_are_counted_per_username_since_a_moment_and_cleared(engine: Engine) -> None:
    store = StaffStore(engine)
    forget_before = NOW - timedelta(hours=1)
    for minutes in (10, 4, 2, 1):
        store.record_failure("luigi", NOW - timedelta(minutes=minutes), forget_before)
    store.record_failure("peach", NOW, forget_before)
    assert store.failures("luigi", NOW - timedelta(minutes=5)) == [
        NOW - timedelta(minutes=4), NOW - timedelta(minutes=2), NOW - timedelta(minutes=1),
    ]  # fmt: skip
    store.clear_failures("luigi")
    assert store.failures("luigi", NOW - timedelta(hours=1)) == []
    assert store.failures("peach", NOW - timedelta(hours=1)) == [NOW]


def test_recording_a_failure_forgets_everyones_old_ones(engine: Engine) -> None:
    store = StaffStore(engine)
    store.record_failure("luigi", NOW - timedelta(minutes=30), NOW - timedelta(hours=1))
    store.record_failure("peach", NOW, NOW - timedelta(minutes=5))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT username FROM sign_in_failure")).scalars().all() == ["peach"]


def test_a_very_long_username_is_counted_by_its_first_hundred_characters(engine: Engine) -> None:
    store = StaffStore(engine)
    long_name = "x" * 500
    store.record_failure(long_name, NOW, NOW - timedelta(hours=1))
    assert store.failures(long_name, NOW - timedelta(minutes=5)) == [NOW]
