"""Staff authentication: HS256 JWTs with `sub`, `roles` and `exp`, checked per route.

Mint a token for local use: `python -m api.auth --sub mario --roles kitchen,manager`.
"""

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import ProblemError
from domain.text import text_problem
from settings import Settings, load_settings

KITCHEN = "kitchen"
DRIVER = "driver"
MANAGER = "manager"
ROLES = frozenset({KITCHEN, DRIVER, MANAGER})
MAX_SUB_LENGTH = 100  # the length of `by` in an order's history

bearer = HTTPBearer(auto_error=False, description="A staff JWT (HS256) with claims sub, roles and exp")


@dataclass(frozen=True)
class Staff:
    name: str
    roles: frozenset[str]

    def may(self, role: str) -> bool:
        """Managers may do all the kitchen and drivers may."""
        return role in self.roles or MANAGER in self.roles


def unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, detail, "unauthorized", headers={"WWW-Authenticate": "Bearer"})


def verify_token(token: str, secret: str) -> Staff:
    """The staff member a token names; raises a 401 problem when it is not valid."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "exp"]})
    except jwt.ExpiredSignatureError:
        raise unauthorized("the token has expired") from None
    except jwt.InvalidSignatureError:
        raise unauthorized("the token's signature is not valid") from None
    except jwt.PyJWTError as err:
        raise unauthorized(f"the token is not valid: {err}") from None
    roles, sub = claims.get("roles", []), claims["sub"]
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles) or not isinstance(sub, str):
        raise unauthorized("the token's sub must be a string and its roles a list of strings")
    # The sub is written into the order's history as who moved it: it must be text the store can hold.
    problem = f"must be at most {MAX_SUB_LENGTH} characters" if len(sub) > MAX_SUB_LENGTH else None
    if problem := problem or text_problem(sub, blank=False):
        raise unauthorized(f"the token's sub {problem}")
    return Staff(sub, frozenset(roles))


def mint_token(secret: str, sub: str, roles: list[str], ttl_seconds: int = 12 * 3600) -> str:
    """A signed staff token."""
    return jwt.encode({"sub": sub, "roles": roles, "exp": int(time.time()) + ttl_seconds}, secret, algorithm="HS256")


def _staff(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Staff:
    if credentials is None:
        raise unauthorized("a staff token is required (Authorization: Bearer <JWT>)")
    settings: Settings = request.app.state.settings
    return verify_token(credentials.credentials, settings.jwt_secret)


def require(role: str) -> Callable[[Staff], Staff]:
    """A dependency that lets through staff who may act as `role`."""

    def _check(staff: Annotated[Staff, Depends(_staff)]) -> Staff:
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
    parser.add_argument("--hours", type=float, default=12, help="how long it is valid")
    args = parser.parse_args()
    roles = [r for r in args.roles.split(",") if r]
    if unknown := set(roles) - ROLES:
        parser.error(f"unknown roles: {', '.join(sorted(unknown))}")
    print(mint_token(load_settings().jwt_secret, args.sub, roles, int(args.hours * 3600)))


if __name__ == "__main__":
    main()
