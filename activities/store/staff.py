"""Staff accounts in the database, and the failed sign-ins that lock a username out for a while.

Passwords arrive here already hashed: the store keeps the hash and never sees a password. Each account gets a
random `account_key` when it is made; tokens issued at sign-in carry it, so that deleting an account and making
one of the same name again never brings the old tokens back.
"""

import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from activities.store.tables import SignInFailureRow, StaffAccountRow, utc

MAX_FAILURE_USERNAME = 100  # longer names are recorded cut to this (no account has one: they are at most 40)

username_, hash_, roles_, created_, key_ = (
    col(StaffAccountRow.username),
    col(StaffAccountRow.password_hash),
    col(StaffAccountRow.roles),
    col(StaffAccountRow.created_at),
    col(StaffAccountRow.account_key),
)
failed_by_, failed_at_ = col(SignInFailureRow.username), col(SignInFailureRow.at)


@dataclass(frozen=True)
class StaffAccount:
    username: str
    roles: tuple[str, ...]  # sorted
    created_at: datetime
    account_key: str
    password_hash: str = field(repr=False)


class Deletion(Enum):
    DELETED = "deleted"
    UNKNOWN = "unknown"
    LAST_OF_ROLE = "last-of-role"  # it is the last account holding the role that must stay


def _account(username: str, password_hash: str, roles: str, created_at: datetime, account_key: str) -> StaffAccount:
    return StaffAccount(username, tuple(roles.split(",")), utc(created_at), account_key, password_hash)


def _failure_name(username: str) -> str:
    return username[:MAX_FAILURE_USERNAME]


class StaffStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One transaction holding SQLite's write lock from its start (BEGIN IMMEDIATE), so that what it reads
        is still so when it writes; on PostgreSQL the rows it reads FOR UPDATE are locked."""
        with self._engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            connection.commit()

    # --- accounts ---------------------------------------------------------------------------

    def create(self, username: str, password_hash: str, roles: Iterable[str]) -> StaffAccount | None:
        """A new account with a key of its own; None when the username is taken."""
        account = StaffAccount(
            username=username,
            roles=tuple(sorted(set(roles))),
            created_at=datetime.now(UTC),
            account_key=secrets.token_urlsafe(24),
            password_hash=password_hash,
        )
        row = {
            "username": account.username,
            "password_hash": account.password_hash,
            "roles": ",".join(account.roles),
            "created_at": account.created_at,
            "account_key": account.account_key,
        }
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(StaffAccountRow).values(row))
        except IntegrityError:
            return None
        return account

    def account(self, username: str) -> StaffAccount | None:
        """The account of this username, hash included; None when there is none."""
        with self._engine.connect() as connection:
            row = connection.execute(
                select(username_, hash_, roles_, created_, key_).where(username_ == username)
            ).first()
        return _account(*row) if row else None

    def accounts(self) -> list[StaffAccount]:
        """Every account, by username."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(username_, hash_, roles_, created_, key_).order_by(username_)).all()
        return [_account(*row) for row in rows]

    def keys(self) -> dict[str, str]:
        """Each account's key, by username: what a token issued at sign-in is checked against."""
        with self._engine.connect() as connection:
            return {name: key for name, key in connection.execute(select(username_, key_)).all()}

    def delete(self, username: str, keep_one_with: str) -> Deletion:
        """Delete the account, unless it is the last one holding the role `keep_one_with` (then nothing changes).

        Two managers deleting each other at the same moment: one of them is refused, never both deleted.
        """
        with self._writing() as connection:
            held = connection.execute(select(username_, roles_).with_for_update()).all()
            roles = {name: set(text.split(",")) for name, text in held}
            if username not in roles:
                return Deletion.UNKNOWN
            others = [name for name, their in roles.items() if keep_one_with in their and name != username]
            if keep_one_with in roles[username] and not others:
                return Deletion.LAST_OF_ROLE
            connection.execute(delete(StaffAccountRow).where(username_ == username))
        return Deletion.DELETED

    def replace_hash(self, username: str, account_key: str, password_hash: str) -> bool:
        """Keep a new hash of the same password (made with newer parameters); False when the account is gone."""
        with self._engine.begin() as connection:
            changed = connection.execute(
                update(StaffAccountRow)
                .where(username_ == username, key_ == account_key)
                .values(password_hash=password_hash)
            )
        return changed.rowcount == 1

    # --- failed sign-ins --------------------------------------------------------------------

    def record_failure(self, username: str, at: datetime, forget_before: datetime) -> None:
        """Remember a failed sign-in, and forget every failure older than `forget_before` (anyone's)."""
        with self._engine.begin() as connection:
            connection.execute(delete(SignInFailureRow).where(failed_at_ < forget_before))
            connection.execute(insert(SignInFailureRow).values(username=_failure_name(username), at=at))

    def failures(self, username: str, since: datetime) -> list[datetime]:
        """The moments of this username's failed sign-ins since `since`, oldest first."""
        with self._engine.connect() as connection:
            moments = connection.execute(
                select(failed_at_)
                .where(failed_by_ == _failure_name(username), failed_at_ >= since)
                .order_by(failed_at_)
            ).scalars()
            return [utc(moment) for moment in moments]

    def clear_failures(self, username: str) -> None:
        """A sign-in succeeded: the username's failures no longer count."""
        with self._engine.begin() as connection:
            connection.execute(delete(SignInFailureRow).where(failed_by_ == _failure_name(username)))
