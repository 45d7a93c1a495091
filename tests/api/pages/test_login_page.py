"""The login page over HTTP: a labelled form, a session cookie only scripts of no one can read, a way on to the
page asked for (never another site), the reason on the page when refused, and signing out."""

import re
import uuid
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from activities.store.tables import make_engine
from api.auth import csrf_token
from tests.conftest import SECRET, Stack, running_stack, sqlite_database, staff_headers

PASSWORD = "a-long-kitchen-password"
LOOPBACK = "http://127.0.0.1:8000"
ELSEWHERE = "https://shop.example"  # a shop served under its own name: its cookie must be Secure


class Elements(HTMLParser):
    """Each element of a page: its tag, attributes and the text directly inside it."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[dict] = []
        self._open: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = {"tag": tag, **{k: v if v is not None else "" for k, v in attrs}, "text": ""}
        self.found.append(element)
        if tag not in ("input", "meta", "link", "br"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop()["tag"] != tag:
            pass

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element["text"] += data

    def all(self, tag: str | None = None, **attrs: str) -> list[dict]:
        return [
            e for e in self.found if (tag is None or e["tag"] == tag) and all(e.get(k) == v for k, v in attrs.items())
        ]

    def one(self, tag: str | None = None, **attrs: str) -> dict:
        [element] = self.all(tag, **attrs)
        return element


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The stack's client, its cookie jar left empty for the next test (cookies are sent here by hand)."""
    stack.http.cookies.clear()
    yield stack.http
    stack.http.cookies.clear()


async def account(http: httpx.AsyncClient, *roles: str) -> str:
    username = f"{roles[0]}-{uuid.uuid4().hex[:10]}"
    body = {"username": username, "password": PASSWORD, "roles": list(roles)}
    made = await http.post("/api/staff", json=body, headers=staff_headers("manager", sub="boss"))
    assert made.status_code == 201, made.text
    return username


async def post_login(http: httpx.AsyncClient, base: str = LOOPBACK, **form: str) -> httpx.Response:
    response = await http.post(f"{base}/login", data=form)
    http.cookies.clear()
    return response


def cookie_parts(response: httpx.Response) -> tuple[str, set[str]]:
    """The session cookie's value and its attributes, as the browser is told them."""
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith("pizzeria_session=")]
    value, *attributes = [part.strip() for part in header.split(";")]
    return value.split("=", 1)[1], set(attributes)


async def test_the_login_page_has_a_labelled_username_and_password_and_a_submit_button(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/login")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    # Its form tells the browser to name its origin, so that a sign-in from it is told from another site's.
    assert page.headers["referrer-policy"] == "same-origin"
    html = Elements(page.text)
    username, password = html.one("input", name="username"), html.one("input", name="password")
    assert html.one("label", **{"for": username["id"]})["text"].strip() == "Username"
    assert html.one("label", **{"for": password["id"]})["text"].strip() == "Password"
    assert password["type"] == "password" and "value" not in password
    assert username["autocomplete"] == "username" and password["autocomplete"] == "current-password"
    form = html.one("form", action="/login")
    assert form["method"] == "post"
    assert html.one("button", type="submit")["text"].strip() == "Sign in"
    assert html.all(id="live-status") == [] and html.all(role="alert") == [html.one(id="notice")]
    assert html.one("title")["text"].startswith("Sign in")


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        ("/driver", "/driver"),
        ("/track/abc?x=1", "/track/abc?x=1"),
        ("//evil.example", ""),
        ("/\\evil.example", ""),
        ("https://evil.example/", ""),
    ],
)
async def test_the_page_asked_for_is_kept_in_a_hidden_field_when_it_is_on_this_site(
    http: httpx.AsyncClient, asked: str, kept: str
) -> None:
    page = await http.get("/login", params={"next": asked})
    assert Elements(page.text).one("input", name="next") == {
        "tag": "input",
        "type": "hidden",
        "name": "next",
        "value": kept,
        "text": "",
    }


async def test_signing_in_sets_an_httponly_strict_cookie_not_secure_on_loopback_and_goes_to_the_kitchen(
    http: httpx.AsyncClient,
) -> None:
    username = await account(http, "kitchen")
    signed_in = await post_login(http, username=username, password=PASSWORD)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/kitchen"
    assert signed_in.headers["cache-control"] == "no-store"
    token, attributes = cookie_parts(signed_in)
    assert attributes == {"Max-Age=43200", "Path=/", "HttpOnly", "SameSite=Strict"}
    # The cookie is the staff token: it works on the kitchen's API, as the pages' scripts use it.
    queue = await http.get("/api/kitchen/queue", headers={"Cookie": f"pizzeria_session={token}"})
    assert queue.status_code == 200, queue.text


@pytest.mark.parametrize("base", ["http://localhost:8000", "http://[::1]:8000"])
async def test_every_loopback_name_gets_a_cookie_without_secure(http: httpx.AsyncClient, base: str) -> None:
    username = await account(http, "kitchen")
    _, attributes = cookie_parts(await post_login(http, base, username=username, password=PASSWORD))
    assert "Secure" not in attributes


async def test_a_shop_served_under_its_own_name_gets_a_secure_cookie(http: httpx.AsyncClient) -> None:
    username = await account(http, "kitchen")
    signed_in = await post_login(http, ELSEWHERE, username=username, password=PASSWORD)
    assert signed_in.status_code == 303
    _, attributes = cookie_parts(signed_in)
    assert {"Secure", "HttpOnly", "SameSite=Strict"} <= attributes


@pytest.mark.parametrize(
    ("roles", "asked", "landed"),
    [
        (("driver",), "", "/driver"),
        (("manager",), "", "/kitchen"),
        (("kitchen",), "/track/abc", "/track/abc"),
        (("kitchen",), "//evil.example", "/kitchen"),
        (("kitchen",), "/\\evil.example", "/kitchen"),
        (("driver",), "https://evil.example/driver", "/driver"),
        (("driver",), "/\t/evil.example", "/driver"),
    ],
)
async def test_a_sign_in_goes_on_to_the_page_asked_for_when_it_is_on_this_site_else_to_the_roles_page(
    http: httpx.AsyncClient, roles: tuple[str, ...], asked: str, landed: str
) -> None:
    username = await account(http, *roles)
    signed_in = await post_login(http, username=username, password=PASSWORD, next=asked)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == landed


async def test_a_wrong_password_shows_the_form_again_with_the_reason_and_the_username_only(
    http: httpx.AsyncClient,
) -> None:
    username = await account(http, "kitchen")
    refused = await post_login(http, username=username, password="not-the-password", next="/driver")
    assert refused.status_code == 401
    assert "set-cookie" not in refused.headers
    html = Elements(refused.text)
    alerts = [e for e in html.all(role="alert") if e.get("id") != "notice"]
    assert [a["text"].strip() for a in alerts] == ["Wrong username or password."]
    assert html.one("input", name="username")["value"] == username
    assert "value" not in html.one("input", name="password") and "not-the-password" not in refused.text
    assert html.one("input", name="next")["value"] == "/driver"


async def test_an_unknown_username_reads_the_same_and_is_escaped(http: httpx.AsyncClient) -> None:
    typed = '<img src=x onerror="alert(1)">'
    refused = await post_login(http, username=typed, password="whatever-it-is")
    assert refused.status_code == 401
    assert "<img" not in refused.text and "&lt;img src=x" in refused.text
    assert "Wrong username or password." in refused.text


async def test_characters_no_account_has_are_just_a_wrong_sign_in(http: httpx.AsyncClient) -> None:
    form = b"username=lu%00igi&password=%ED%A0%80"
    refused = await http.post("/login", content=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert refused.status_code == 401 and "Wrong username or password." in refused.text


async def test_a_locked_out_username_is_told_when_to_try_again(http: httpx.AsyncClient) -> None:
    username = await account(http, "kitchen")
    for _ in range(5):
        assert (await post_login(http, username=username, password="a-guess-that-is-wrong")).status_code == 401
    locked = await post_login(http, username=username, password=PASSWORD)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert "set-cookie" not in locked.headers
    assert re.search(r"Too many failed sign-ins for this username\. Try again in \d+ minutes?\.", locked.text)


async def test_an_empty_form_asks_for_both_fields(http: httpx.AsyncClient) -> None:
    refused = await post_login(http, username="", password="")
    assert refused.status_code == 422 and "Enter your username and your password." in refused.text


async def test_a_sign_in_posted_from_another_sites_page_is_refused(http: httpx.AsyncClient) -> None:
    username = await account(http, "kitchen")
    form = {"username": username, "password": PASSWORD}
    refused = await http.post(f"{LOOPBACK}/login", data=form, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "set-cookie" not in refused.headers
    assert "another site" in refused.text
    assert (await http.post(f"{LOOPBACK}/login", data=form, headers={"Origin": "null"})).status_code == 403
    same = await http.post(f"{LOOPBACK}/login", data=form, headers={"Origin": LOOPBACK})
    http.cookies.clear()
    assert same.status_code == 303


async def test_signing_out_clears_the_cookie_with_the_pages_csrf_token_only(http: httpx.AsyncClient) -> None:
    username = await account(http, "kitchen")
    token, _ = cookie_parts(await post_login(http, username=username, password=PASSWORD))
    session = {"Cookie": f"pizzeria_session={token}"}
    page = await http.get(f"{LOOPBACK}/login", headers=session)
    html = Elements(page.text)
    form = html.one("form", action="/logout")
    assert username in form["text"] and html.one("input", name="csrf")["value"] == csrf_token(token, SECRET)

    for sent in ({}, {"csrf": "forged"}, {"csrf": csrf_token("another-token", SECRET)}):
        refused = await http.post(f"{LOOPBACK}/logout", data=sent, headers=session)
        assert refused.status_code == 403 and "set-cookie" not in refused.headers, sent
    # Every page sends no referrer, so a browser posts its sign-out form with `Origin: null`: the token decides.
    signed_out = await http.post(
        f"{LOOPBACK}/logout", data={"csrf": csrf_token(token, SECRET)}, headers={**session, "Origin": "null"}
    )
    http.cookies.clear()
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/login"
    value, attributes = cookie_parts(signed_out)
    assert value == "" and {"Max-Age=0", "Path=/", "HttpOnly", "SameSite=Strict"} <= attributes


async def test_a_deleted_accounts_session_is_no_longer_recognised_by_the_pages(http: httpx.AsyncClient) -> None:
    username = await account(http, "kitchen")
    token, _ = cookie_parts(await post_login(http, username=username, password=PASSWORD))
    session = {"Cookie": f"pizzeria_session={token}"}
    assert f"Signed in as {username}" in (await http.get("/login", headers=session)).text
    deleted = await http.delete(f"/api/staff/{username}", headers=staff_headers("manager", sub="boss"))
    assert deleted.status_code == 204
    page = await http.get("/login", headers=session)
    assert "Signed in as" not in page.text and Elements(page.text).all("form", action="/logout") == []


async def test_a_database_out_of_reach_is_said_on_the_page_not_as_an_error_document(
    temporal_env, tmp_path: Path
) -> None:
    database_url = sqlite_database(tmp_path)  # whatever the suite's kind: SQLite's "no such table" is an outage
    async with running_stack(temporal_env, database_url, worker=False) as own:
        engine = make_engine(database_url)
        try:
            with engine.begin() as connection:  # what the sign-in reads is gone: the database errs as when away
                connection.execute(text("DROP TABLE sign_in_failure"))
        finally:
            engine.dispose()
        answer = await own.http.post(f"{LOOPBACK}/login", data={"username": "luigi", "password": PASSWORD})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert answer.headers["content-type"].startswith("text/html")
    assert "database cannot be reached" in answer.text and 'value="luigi"' in answer.text
