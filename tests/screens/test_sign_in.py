"""Signing in at /login in Chromium: a kitchen account a manager made types its name and password, presses Enter
and lands on the kitchen page with a session cookie no script can read; a wrong password is told on the page."""

import uuid

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from api.auth import SESSION_COOKIE
from tests.screens.conftest import KITCHEN_SCREEN, PHONE, screenshot, staff_call

PASSWORD = "a-long-kitchen-password"


def kitchen_account(shop) -> str:
    """A kitchen account, made by a manager through the API."""
    username = f"cook-{uuid.uuid4().hex[:8]}"
    body = {"username": username, "password": PASSWORD, "roles": ["kitchen"]}
    made = staff_call(shop, "POST", "/api/staff", "boss", "manager", json=body)
    assert made.status_code == 201, made.text
    return username


def type_in(page: Page, username: str, password: str) -> None:
    page.get_by_label("Username").press_sequentially(username)
    page.get_by_label("Password").press_sequentially(password)
    page.get_by_label("Password").press("Enter")


def test_a_kitchen_account_signs_in_with_the_keyboard_and_lands_on_the_kitchen(shop, screen) -> None:
    username = kitchen_account(shop)
    page = screen(PHONE)
    page.goto(f"{shop.base_url}/login")
    expect(page.get_by_label("Username")).to_be_focused()
    screenshot(page, "login-360")
    type_in(page, username, PASSWORD)
    page.wait_for_url(f"{shop.base_url}/kitchen")
    [cookie] = [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert page.evaluate("localStorage.length") == 0 and page.evaluate("sessionStorage.length") == 0
    assert cookie["value"] not in page.evaluate("document.cookie")
    assert SESSION_COOKIE not in page.evaluate("document.cookie")
    # The sign-out button every signed-in page has (here on /login, which says who is signed in).
    page.goto(f"{shop.base_url}/login")
    expect(page.get_by_text(f"Signed in as {username}.", exact=False)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{shop.base_url}/login")
    assert [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE] == []
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_a_wrong_password_is_told_on_the_page_and_the_username_stays(shop, screen) -> None:
    username = kitchen_account(shop)
    page = screen(KITCHEN_SCREEN)
    page.goto(f"{shop.base_url}/login?next=/kitchen")
    type_in(page, username, "not-the-password")
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("Wrong username or password.")
    expect(page.get_by_label("Username")).to_have_value(username)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_label("Password")).to_be_focused()
    assert page.context.cookies() == []
    screenshot(page, "login-1920")
    # Then the right one: on to the page asked for.
    page.get_by_label("Password").press_sequentially(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{shop.base_url}/kitchen")


def test_the_login_page_passes_axe_at_both_widths(shop, screen) -> None:
    for width in (PHONE, KITCHEN_SCREEN):
        page = screen(width)
        page.goto(f"{shop.base_url}/login")
        results = Axe().run(page)
        assert results.violations_count == 0, results.generate_report()
