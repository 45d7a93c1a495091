"""Staff sign in with a username and password: `POST /api/auth/token` (OAuth2's password flow) and /login.

A wrong username and a wrong password get the same answer, after the same work (a hash checked either way).
After 5 failures for a username within 5 minutes every sign-in for it is refused (429) until the oldest of them
leaves the window, the right password too; the failures are kept in the database, so every API process counts
the same ones. A success clears them.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from activities.store.staff import StaffStore
from api.account_keys import AccountKeys
from api.auth import MAX_LIFETIME_SECONDS, TOKEN_URL, mint_token, unauthorized
from api.passwords import Passwords
from api.problems import Problem, ProblemError
from domain.sign_in import MAX_PASSWORD, USERNAME, Lockout, sign_in_name

log = logging.getLogger("pizzeria.api")
router = APIRouter(tags=["staff"])
WRONG = "wrong username or password"


class WrongCredentials(Exception):
    """No account of that username, or not its password: the caller is never told which."""


class LockedOut(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins for this username: try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Issued:
    username: str
    roles: frozenset[str]
    access_token: str
    expires_in: int  # seconds


class SignIn:
    """Checks a username and password and issues a staff token tied to the account."""

    def __init__(
        self,
        store: StaffStore,
        passwords: Passwords,
        accounts: AccountKeys,
        secret: str,
        lockout: Lockout | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store, self._passwords, self._accounts, self._secret = store, passwords, accounts, secret
        self._lockout, self._clock = lockout or Lockout(), clock

    async def __call__(self, typed_username: str, password: str) -> Issued:
        """A token for the account; raises LockedOut or WrongCredentials."""
        username, now = sign_in_name(typed_username), self._clock()
        failures = await run_in_threadpool(self._store.failures, username, now - self._lockout.window)
        if (retry_after := self._lockout.retry_after(failures, now)) is not None:
            raise LockedOut(retry_after)
        account = await run_in_threadpool(self._store.account, username) if USERNAME.fullmatch(username) else None
        # No kept password is longer: a longer one is checked cut to length (so the work stays bounded) and refused.
        matches, newer_hash = await self._passwords.verify(
            password[:MAX_PASSWORD], account.password_hash if account else None
        )
        if account is None or not matches or len(password) > MAX_PASSWORD:
            await run_in_threadpool(self._store.record_failure, username, now, now - self._lockout.window)
            raise WrongCredentials(WRONG)
        if newer_hash is not None:
            await run_in_threadpool(self._store.replace_hash, username, account.account_key, newer_hash)
            log.info("the password hash of %s was made again with the current parameters", username)
        await run_in_threadpool(self._store.clear_failures, username)
        self._accounts.added(account.username, account.account_key)  # known here at once, whatever was read
        roles = list(account.roles)
        token = mint_token(self._secret, account.username, roles, MAX_LIFETIME_SECONDS, acct=account.account_key)
        return Issued(account.username, frozenset(roles), token, MAX_LIFETIME_SECONDS)


class TokenOut(BaseModel):
    access_token: str = Field(description="A staff JWT: send it as `Authorization: Bearer <access_token>`")
    token_type: str = Field("bearer", examples=["bearer"])
    expires_in: int = Field(description="Seconds the token is valid for (12 hours)", examples=[43200])


async def _sign_in(request: Request) -> SignIn:
    return request.app.state.sign_in


SignInDep = Annotated[SignIn, Depends(_sign_in)]


@router.post(
    TOKEN_URL,
    response_model=TokenOut,
    responses={
        401: {"model": Problem, "description": "Wrong username or password (never saying which)"},
        429: {
            "model": Problem,
            "description": "Too many failed sign-ins for this username within 5 minutes",
            "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}},
        },
    },
)
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], sign_in: SignInDep, response: Response
) -> TokenOut:
    """Sign in with a staff account's username and password (an OAuth2 password form); a token for 12 hours.

    After 5 failed sign-ins for a username within 5 minutes, every sign-in for it is refused with 429 until the
    oldest of them is 5 minutes old (`Retry-After` says when), the right password too.
    """
    try:
        issued = await sign_in(form.username, form.password)
    except WrongCredentials:
        raise unauthorized(WRONG) from None
    except LockedOut as locked:
        raise ProblemError(
            429, str(locked), "too-many-sign-ins", headers={"Retry-After": str(locked.retry_after)}
        ) from None
    response.headers.update({"Cache-Control": "no-store", "Pragma": "no-cache"})  # RFC 6749 5.1: never cached
    return TokenOut(access_token=issued.access_token, expires_in=issued.expires_in)
