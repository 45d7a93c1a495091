"""Two instances of the API on one database, sharing nothing in memory, as the processes of a shop behind a load
balancer: failed sign-ins counted by one lock the username out in the other, and a token of an account deleted
through one is refused by the other within about a second."""

import asyncio
import time

import httpx
from temporalio.testing import WorkflowEnvironment

from tests.api.conftest import assert_problem, manager_headers
from tests.conftest import running_stack

PASSWORD = "a-long-kitchen-password"


async def sign_in(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await http.post("/api/auth/token", data={"username": username, "password": password})


async def test_lockouts_and_deleted_accounts_hold_in_every_api_process(
    temporal_env: WorkflowEnvironment, database_url: str
) -> None:
    async with (
        running_stack(temporal_env, database_url, worker=False) as one,
        running_stack(temporal_env, database_url, worker=False) as other,
    ):
        for username in ("luigi", "peach"):
            body = {"username": username, "password": PASSWORD, "roles": ["kitchen"]}
            assert (await one.http.post("/api/staff", json=body, headers=manager_headers())).status_code == 201

        for _ in range(5):
            assert_problem(await sign_in(one.http, "luigi", "a-guess-that-is-wrong"), 401)
        assert_problem(await sign_in(other.http, "luigi"), 429)

        token = (await sign_in(other.http, "peach")).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await one.http.get("/api/kitchen/queue", headers=bearer)).status_code == 200
        assert (await other.http.delete("/api/staff/peach", headers=manager_headers())).status_code == 204
        assert_problem(await other.http.get("/api/kitchen/queue", headers=bearer), 401)  # at once where deleted
        started = time.monotonic()
        while (await one.http.get("/api/kitchen/queue", headers=bearer)).status_code == 200:
            assert time.monotonic() - started < 1.5, "the other process still accepts the deleted account's token"
            await asyncio.sleep(0.05)
