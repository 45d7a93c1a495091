"""Staff at a screen are signed in by a session cookie; a change a page asks for must carry the page's CSRF token,
which another site cannot know."""

import pytest

from api.auth import CSRF_HEADER, SESSION_COOKIE, csrf_token, mint_token
from tests.api.conftest import assert_problem
from tests.conftest import SECRET


def session(*roles: str, sub: str = "giulia") -> str:
    return mint_token(SECRET, sub, list(roles), 600)


def cookie(token: str) -> dict[str, str]:
    """The header a browser sends with the session cookie."""
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


async def put_status(stack, order_id: str, token: str, headers: dict[str, str]):
    return await stack.http.put(
        f"/api/kitchen/orders/{order_id}/status",
        json={"status": "preparing"},
        headers={**headers, **cookie(token)},
    )


async def test_a_page_signed_in_by_its_cookie_reads_the_kitchen_queue(stack):
    order = await stack.placed()

    response = await stack.http.get("/api/kitchen/queue", headers=cookie(session("kitchen")))

    assert response.status_code == 200, response.text
    assert order["id"] in [queued["id"] for queued in response.json()]


async def test_a_change_from_a_page_with_its_csrf_token_is_made_and_signed_by_the_session(stack):
    order = await stack.placed()
    token = session("kitchen", sub="giulia")

    response = await put_status(stack, order["id"], token, {CSRF_HEADER: csrf_token(token, SECRET)})

    assert response.status_code == 200, response.text
    assert response.json()["history"][-1] == {**response.json()["history"][-1], "status": "preparing", "by": "giulia"}


@pytest.mark.parametrize(
    "csrf",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param("0" * 64, id="made-up"),
        pytest.param(csrf_token(session("kitchen", sub="another"), SECRET), id="of-another-session"),
    ],
)
async def test_a_change_by_cookie_without_the_pages_csrf_token_is_refused_and_changes_nothing(stack, csrf):
    order = await stack.placed()
    token = session("kitchen")

    response = await put_status(stack, order["id"], token, {CSRF_HEADER: csrf} if csrf is not None else {})

    assert CSRF_HEADER in assert_problem(response, 403)["detail"]
    assert (await stack.http.get(f"/api/orders/{order['id']}")).json()["status"] == "confirmed"


async def test_a_bearer_token_needs_no_csrf_token_and_wins_over_a_cookie(stack):
    order = await stack.placed()
    bearer = mint_token(SECRET, "luigi", ["kitchen"], 600)

    response = await put_status(stack, order["id"], session("driver"), {"Authorization": f"Bearer {bearer}"})

    assert response.status_code == 200, response.text
    assert response.json()["history"][-1]["by"] == "luigi"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(mint_token(SECRET, "giulia", ["kitchen"], -60), id="expired"),
        pytest.param(mint_token("another-secret-that-is-long-enough-for-hs256", "giulia", ["kitchen"]), id="forged"),
        pytest.param("not-a-token", id="garbage"),
    ],
)
async def test_a_cookie_holding_no_valid_token_is_refused_with_401(stack, token):
    response = await stack.http.get("/api/kitchen/queue", headers=cookie(token))

    assert_problem(response, 401)


async def test_a_cookie_without_the_role_is_refused_with_403(stack):
    response = await stack.http.get("/api/kitchen/queue", headers=cookie(session("driver")))

    assert_problem(response, 403)
