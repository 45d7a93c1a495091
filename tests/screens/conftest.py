"""The shop's screens in a real browser: Debian's Chromium, headless, driven by Playwright, against a worker and
the API as real processes on the suite's Temporal server and database.

A module's tests share one shop (as the screens of one shop do): each finds its own order by its id.
Screenshots go to build/screenshots (PIZZERIA_SCREENSHOTS overrides it); the README shows copies of them.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from temporalio.testing import WorkflowEnvironment

from api.auth import SESSION_COOKIE, mint_token
from tests.browser import CHROMIUM_ARGS, chromium
from tests.conftest import order_body
from tests.e2e.conftest import Processes, launch_api

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("PIZZERIA_SCREENSHOTS", ROOT / "build" / "screenshots"))
PHONE, KITCHEN_SCREEN = 360, 1920  # the widths the pages are made for, in CSS pixels
LIVE_SECONDS = 2.0  # every page shows a change of the order within this
NOT_LIVE_SECONDS = 5.0  # a page whose updates stop says so within this


@pytest.fixture(scope="module")
def shop(
    temporal_env: WorkflowEnvironment, new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Processes]:
    """A worker and the API as processes, on a database of their own."""
    logs = tmp_path_factory.mktemp("shop")
    running = launch_api(temporal_env.client.service_client.config.target_host, new_database(), logs)
    try:
        running.start_worker()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def staff_token(shop: Processes, sub: str, *roles: str) -> str:
    """A staff token signed with the shop's secret, as scripts mint them (`python -m api.auth`)."""
    return mint_token(shop.env["PIZZERIA_JWT_SECRET"], sub, list(roles), 3600)


@pytest.fixture
def screen(shop: Processes, browser: Browser) -> Iterator[Callable[..., Page]]:
    """Opens a page in a browser of its own: `screen(width, sub, *roles)` signed in with a session cookie (as
    /login leaves it), or `screen(width)` signed out."""
    contexts = []

    def open_page(width: int = KITCHEN_SCREEN, sub: str | None = None, *roles: str) -> Page:
        context = browser.new_context(viewport={"width": width, "height": 900 if width > PHONE else 780})
        contexts.append(context)
        if sub is not None:
            cookie: Any = {"name": SESSION_COOKIE, "value": staff_token(shop, sub, *roles), "url": shop.base_url}
            context.add_cookies([{**cookie, "httpOnly": True, "sameSite": "Strict"}])
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def place_order(shop: Processes, **overrides: Any) -> dict:
    """An order placed through the HTTP API as a customer's app does; the order as answered (201)."""
    response = httpx.post(f"{shop.base_url}/api/orders", json=order_body(**overrides), timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def staff_call(shop: Processes, method: str, path: str, sub: str, *roles: str, **kwargs: Any) -> httpx.Response:
    """A call to the staff API with a Bearer token, as another screen or a script makes it."""
    headers = {"Authorization": f"Bearer {staff_token(shop, sub, *roles)}"}
    return httpx.request(method, f"{shop.base_url}{path}", headers=headers, timeout=30, **kwargs)


def screenshot(page: Page, name: str) -> Path:
    """Saves what the page shows as build/screenshots/{name}.png; its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
