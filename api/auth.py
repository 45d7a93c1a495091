"""Staff authentication: HS256 JWTs with `sub`, `roles`, `iat` and `exp`, checked per route.

A token comes as `Authorization: Bearer <JWT>` (API clients, scripts) or in the pages' session cookie (people at
a screen). A request of a page that changes something must also carry the page's CSRF token.

A token issued at sign-in (POST /api/auth/token, /login) also carries `acct`, the key of the account it was issued
to: it is accepted only while that account exists. Tokens without `acct` (minted by scripts or an identity
provider with the same secret) are tied to no account and live until their `exp`.

Mint a token for local use: `python -m api.auth --sub mario --roles kitchen,manager`.
"""

import argparse
import functools
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Protocol

import jwt
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from api.problems import ProblemError
from domain.text import text_problem
from settings import Settings, load_settings

KITCHEN = "kitchen"
DRIVER = "driver"
MANAGER = "manager"
ROLES = frozenset({KITCHEN, DRIVER, MANAGER})
MAX_SUB_LENGTH = 100  # the length of `by` in an order's history
MAX_LIFETIME_SECONDS = 12 * 3600  # between a token's `iat` and its `exp`, whoever signed it
SESSION_COOKIE = "pizzeria_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

TOKEN_URL = "/api/auth/token"
# An OAuth2 password flow in the OpenAPI document, so that /docs can sign in; what it reads is the same
# `Authorization: Bearer <JWT>` header as always, whoever minted the token.
bearer = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL,
    auto_error=False,
    description="A staff JWT (HS256) with claims sub, roles, iat and exp: from sign-in at /api/auth/token, or "
    "minted with the same secret (python -m api.auth)",
)


@dataclass(frozen=True)
class Staff:
    name: str
    roles: frozenset[str]
    account: str | None = None  # the key of the account sign-in issued the token to; None for minted tokens

    def may(self, role: str) -> bool:
        """Managers may do all the kitchen and drivers may."""
        return role in self.roles or MANAGER in self.roles


def unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, detail, "unauthorized", headers={"WWW-Authenticate": "Bearer"})


def verify_token(token: str, secret: str) -> Staff:
    """The staff member a token names; raises a 401 problem when it is not valid."""
    staff, expires = _verified(token, secret)
    if time.time() >= expires:  # a token verified earlier has expired since
        raise unauthorized("the token has expired")
    return staff


@functools.lru_cache(maxsize=1024)
def _verified(token: str, secret: str) -> tuple[Staff, float]:
    """A valid token's staff member and expiry, verified once per process: a kitchen screen sends the same token
    with every request (its signature check cost a tenth of the API's CPU per request). Refusals are not kept."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "exp", "iat"]})
    except jwt.ExpiredSignatureError:
        raise unauthorized("the token has expired") from None
    except jwt.InvalidSignatureError:
        raise unauthorized("the token's signature is not valid") from None
    except jwt.PyJWTError as err:
        raise unauthorized(f"the token is not valid: {err}") from None
    if claims["exp"] - claims["iat"] > MAX_LIFETIME_SECONDS:
        raise unauthorized(f"the token lives longer than {MAX_LIFETIME_SECONDS // 3600} hours (exp - iat)")
    roles, sub = claims.get("roles", []), claims["sub"]
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles) or not isinstance(sub, str):
        raise unauthorized("the token's sub must be a string and its roles a list of strings")
    # The sub is written into the order's history as who moved it: it must be text the store can hold.
    problem = f"must be at most {MAX_SUB_LENGTH} characters" if len(sub) > MAX_SUB_LENGTH else None
    if problem := problem or text_problem(sub, blank=False):
        raise unauthorized(f"the token's sub {problem}")
    account = claims.get("acct")
    if account is not None and not isinstance(account, str):
        raise unauthorized("the token's acct must be a string")
    return Staff(sub, frozenset(roles), account), claims["exp"]


class Accounts(Protocol):
    """The staff accounts that exist now (api/account_keys.py)."""

    def holds(self, username: str, account_key: str) -> bool: ...


def accepted(request: Request, token: str) -> Staff:
    """Who a token names, when it is valid and, if sign-in issued it, its account still exists; else a 401."""
    staff = verify_token(token, request.app.state.settings.jwt_secret)
    if staff.account is not None:
        accounts: Accounts | None = getattr(request.app.state, "account_keys", None)
        if accounts is None or not accounts.holds(staff.name, staff.account):
            raise unauthorized("the account this token was issued to no longer exists")
    return staff


def mint_token(
    secret: str, sub: str, roles: list[str], ttl_seconds: int = MAX_LIFETIME_SECONDS, **claims: object
) -> str:
    """A signed staff token."""
    now = int(time.time())
    body = {**claims, "sub": sub, "roles": roles, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(body, secret, algorithm="HS256")


def csrf_token(session_token: str, secret: str) -> str:
    """The token a page sends back with each change it asks for: tied to its session, unknown to other sites."""
    return hmac.new(secret.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def session_token(request: Request) -> str | None:
    """The staff token of the pages' session cookie, if the request has one."""
    return request.cookies.get(SESSION_COOKIE) or None


def session_staff(request: Request) -> Staff | None:
    """Who the session cookie names, or None when there is none or it is no longer valid (a page then asks to
    sign in)."""
    token = session_token(request)
    if token is None:
        return None
    try:
        return accepted(request, token)
    except ProblemError:
        return None


async def _staff(request: Request, bearer_token: Annotated[str | None, Depends(bearer)]) -> Staff:
    settings: Settings = request.app.state.settings
    if bearer_token:  # "Bearer " with nothing after it counts as no header, as it always has
        return accepted(request, bearer_token)
    token = session_token(request)
    if token is None:
        raise unauthorized("a staff token is required (Authorization: Bearer <JWT>, or sign in at /login)")
    staff = accepted(request, token)
    # A cookie goes with every request to this site, whoever asks for it: a change asked for through the
    # session must prove it comes from one of the pages, which alone know its CSRF token.
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), csrf_token(token, settings.jwt_secret).encode()):
            raise ProblemError(403, f"a change asked for by a page must carry its {CSRF_HEADER} header", "csrf")
    return staff


def require(role: str) -> Callable[[Staff], Awaitable[Staff]]:
    """A dependency that lets through staff who may act as `role`."""

    async def _check(staff: Annotated[Staff, Depends(_staff)]) -> Staff:
        if not staff.may(role):
            raise ProblemError(403, f"this needs the {role} role", "forbidden")
        return staff

    return _check


KitchenStaff = Annotated[Staff, Depends(require(KITCHEN))]
Driver = Annotated[Staff, Depends(require(DRIVER))]
Manager = Annotated[Staff, Depends(require(MANAGER))]


def main() -> None:
    parser = argparse.ArgumentParser(description="Mint a staff token signed with PIZZERIA_JWT_SECRET.")
    parser.add_argument("--sub", default="mario", help="who the token names")
    parser.add_argument("--roles", default="kitchen,manager", help="comma-separated: kitchen, driver, manager")
    parser.add_argument("--hours", type=float, default=12, help="how long it is valid (at most 12)")
    args = parser.parse_args()
    roles = [r for r in args.roles.split(",") if r]
    if not 0 < args.hours <= MAX_LIFETIME_SECONDS / 3600:
        parser.error("--hours must be more than 0 and at most 12")
    if unknown := set(roles) - ROLES:
        parser.error(f"unknown roles: {', '.join(sorted(unknown))}")
    print(mint_token(load_settings().jwt_secret, args.sub, roles, int(args.hours * 3600)))


if __name__ == "__main__":
    main()
