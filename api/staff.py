"""Staff accounts, managed by managers: who may sign in, with which roles."""

import unicodedata
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from activities.store.staff import Deletion, StaffAccount, StaffStore
from api.account_keys import AccountKeys
from api.auth import MANAGER, Manager
from api.json_body import StrictJSONRoute
from api.passwords import Passwords
from api.problems import Problem, ProblemError, Responses
from domain.sign_in import MAX_PASSWORD, MIN_PASSWORD, USERNAME

router = APIRouter(prefix="/api/staff", tags=["staff"], route_class=StrictJSONRoute)
Role = Literal["kitchen", "driver", "manager"]


async def _store(request: Request) -> StaffStore:
    return request.app.state.staff


async def _passwords(request: Request) -> Passwords:
    return request.app.state.passwords


async def _account_keys(request: Request) -> AccountKeys:
    return request.app.state.account_keys


StaffStoreDep = Annotated[StaffStore, Depends(_store)]
PasswordsDep = Annotated[Passwords, Depends(_passwords)]
AccountKeysDep = Annotated[AccountKeys, Depends(_account_keys)]


class NewStaff(BaseModel):
    """A staff account to make."""

    model_config = ConfigDict(extra="forbid")

    username: StrictStr = Field(min_length=3, max_length=40, pattern=r"^[a-z0-9._-]+$", examples=["luigi"])
    password: StrictStr = Field(
        min_length=MIN_PASSWORD,
        max_length=MAX_PASSWORD,
        description="Kept only as an argon2 hash",
        examples=["a-long-kitchen-password"],
    )
    roles: list[Role] = Field(min_length=1, max_length=3, examples=[["kitchen"]])

    @field_validator("password")
    @classmethod
    def _encodable(cls, password: str) -> str:
        if any(unicodedata.category(c) == "Cs" for c in password):
            raise ValueError("must be text UTF-8 can hold (no lone surrogate)")
        return password

    @field_validator("roles")
    @classmethod
    def _once_each(cls, roles: list[str]) -> list[str]:
        if len(set(roles)) != len(roles):
            raise ValueError("each role at most once")
        return roles


class StaffOut(BaseModel):
    """A staff account as managers see it: never its password or hash."""

    username: str
    roles: list[Role]
    created_at: datetime

    @classmethod
    def of(cls, account: StaffAccount) -> "StaffOut":
        return cls.model_validate(
            {"username": account.username, "roles": list(account.roles), "created_at": account.created_at}
        )


AUTH: Responses = {401: {"model": Problem}, 403: {"model": Problem}}


@router.get("", response_model=list[StaffOut], responses=AUTH)
async def list_staff(store: StaffStoreDep, _: Manager) -> list[StaffOut]:
    """Every staff account, by username."""
    return [StaffOut.of(account) for account in await run_in_threadpool(store.accounts)]


@router.post(
    "",
    status_code=201,
    response_model=StaffOut,
    responses={**AUTH, 409: {"model": Problem, "description": "The username is taken"}, 422: {"model": Problem}},
)
async def create_staff(
    new: NewStaff, store: StaffStoreDep, passwords: PasswordsDep, accounts: AccountKeysDep, _: Manager
) -> StaffOut:
    """Make a staff account that signs in with this username and password (at least 12 characters)."""
    password_hash = await passwords.hash(new.password)
    account = await run_in_threadpool(store.create, new.username, password_hash, new.roles)
    if account is None:
        raise ProblemError(409, f"the username '{new.username}' is taken", "username-taken")
    accounts.added(account.username, account.account_key)
    return StaffOut.of(account)


@router.delete(
    "/{username}",
    status_code=204,
    response_class=Response,
    responses={
        **AUTH,
        404: {"model": Problem, "description": "No such account"},
        409: {"model": Problem, "description": "The last manager account, which would leave no one to manage staff"},
    },
)
async def delete_staff(
    username: Annotated[str, Path(max_length=100)], store: StaffStoreDep, accounts: AccountKeysDep, _: Manager
) -> Response:
    """Delete a staff account: every token its sign-ins were issued is refused from then on."""
    known = USERNAME.fullmatch(username) is not None  # else no account's, and maybe nothing a database can hold
    deleted = await run_in_threadpool(store.delete, username, MANAGER) if known else Deletion.UNKNOWN
    if deleted is Deletion.UNKNOWN:
        raise ProblemError(404, f"there is no staff account {username!r}", "unknown-staff")
    if deleted is Deletion.LAST_OF_ROLE:
        detail = (
            f"'{username}' is the last manager account: make another manager first, so someone can still manage staff"
        )
        raise ProblemError(409, detail, "last-manager")
    accounts.removed(username)
    return Response(status_code=204)
