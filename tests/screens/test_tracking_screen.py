"""The customer's tracking page in Chromium: it follows the order step by step within 2 s of each change, lets
the customer cancel while that is allowed and then notes the refund, and shows what people typed as text."""

import re
import time
from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Processes
from tests.e2e.test_codec_cli import temporal
from tests.screens.accessibility import serious_violations
from tests.screens.conftest import (
    KITCHEN_SCREEN,
    LIVE_SECONDS,
    NOT_LIVE_SECONDS,
    PHONE,
    place_order,
    screenshot,
    staff_call,
)
from workflows.order_contract import workflow_id

LIVE_MS = LIVE_SECONDS * 1000
CANCEL_MS = 30_000  # a cancel answers once the order is compensated (the kitchen told, the card refunded)
CLOCK = re.compile(r"^\d\d:\d\d UTC$")  # a time on the timeline
XSS_NAME = "<img src=x onerror=alert(1)>"


def order_of(shop: Processes, order_id: str) -> dict:
    response = httpx.get(f"{shop.base_url}/api/orders/{order_id}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def kitchen_moves(shop: Processes, order_id: str, status: str) -> float:
    """The kitchen moves the order through the API; the moment it answered."""
    response = staff_call(
        shop, "PUT", f"/api/kitchen/orders/{order_id}/status", "luigi", "kitchen", json={"status": status}
    )
    assert response.status_code == 200, response.text
    return time.monotonic()


def driver_does(shop: Processes, order_id: str, step: str, driver: str = "toad") -> float:
    response = staff_call(shop, "POST", f"/api/deliveries/{order_id}/{step}", driver, "driver")
    assert response.status_code == 200, response.text
    return time.monotonic()


def shown_within_live_seconds(page: Page, status: str, since: float) -> None:
    """The page's headline says `status` no later than 2 s after the change was made."""
    expect(page.locator("#now-heading")).to_have_text(status, timeout=LIVE_MS)
    assert time.monotonic() - since <= LIVE_SECONDS + 0.3, f"{status} shown after {time.monotonic() - since:.1f} s"


def open_tracking(screen: Callable[..., Page], shop: Processes, order_id: str, width: int = PHONE) -> Page:
    page = screen(width)
    page.goto(f"{shop.base_url}/track/{order_id}")
    expect(page.locator("#live-status")).to_have_text("Live", timeout=LIVE_MS)
    return page


def test_the_tracking_page_follows_the_order_from_confirmed_to_delivered(shop, screen):
    order = place_order(shop)
    page = open_tracking(screen, shop, order["id"])
    cancel = page.get_by_role("button", name="Cancel order")
    timeline = page.locator(".timeline")

    expect(page.locator("#now-heading")).to_have_text("Confirmed")
    expect(cancel).to_be_visible()
    expect(page.get_by_text("Estimated ready at")).to_be_visible()
    assert order["customer"]["phone"] not in page.content()

    shown_within_live_seconds(page, "Preparing", kitchen_moves(shop, order["id"], "preparing"))
    expect(cancel).to_be_visible()
    expect(timeline.locator("[aria-current=step]")).to_contain_text("Preparing")
    screenshot(page, "track-360")

    shown_within_live_seconds(page, "Ready", kitchen_moves(shop, order["id"], "ready"))
    expect(cancel).to_have_count(0)

    shown_within_live_seconds(page, "Out for delivery with toad", driver_does(shop, order["id"], "pickup"))
    expect(page.locator(".driver")).to_have_text("Your driver: toad")
    expect(cancel).to_have_count(0)

    shown_within_live_seconds(page, "Completed: delivered", driver_does(shop, order["id"], "delivered"))
    expect(page.get_by_text("Estimated ready at")).to_have_count(0)
    expect(cancel).to_have_count(0)
    # Every step reached, each with its time, the last one current.
    steps = timeline.locator("li")
    expect(steps).to_have_count(6)
    for index, label in enumerate(
        ["Received", "Confirmed", "Preparing", "Ready", "Out for delivery with toad", "Completed: delivered"]
    ):
        expect(steps.nth(index).locator(".label")).to_have_text(label)
        expect(steps.nth(index).locator("time")).to_have_text(CLOCK)
    expect(steps.nth(5)).to_have_attribute("aria-current", "step")


def test_a_customer_cancels_from_the_tracking_page_by_keyboard_and_sees_the_refund(shop, screen):
    order = place_order(shop)
    page = open_tracking(screen, shop, order["id"], KITCHEN_SCREEN)
    cancel = page.get_by_role("button", name="Cancel order")
    expect(cancel).to_be_visible()
    screenshot(page, "track-1920")

    for _ in range(15):  # from the top of the page, by Tab alone
        page.keyboard.press("Tab")
        if cancel.evaluate("button => button === document.activeElement"):
            break
    else:
        raise AssertionError("Tab never reaches the Cancel order button")
    page.keyboard.press("Enter")

    expect(page.locator("#cancel-progress")).to_contain_text("Cancelling your order", timeout=1000)
    expect(cancel).to_be_disabled()
    expect(page.locator("#now-heading")).to_have_text("Cancelled", timeout=CANCEL_MS)
    after = order_of(shop, order["id"])
    assert after["status"] == "cancelled"
    refund = after["payment"]["refund_id"]
    assert refund
    expect(page.locator(".money-back")).to_have_text(f"Refunded to your card (refund {refund})")
    expect(cancel).to_have_count(0)
    expect(page.locator("#cancel-progress")).to_be_hidden()


def test_a_cash_order_cancelled_from_the_page_says_nothing_was_charged(shop, screen):
    order = place_order(shop, payment_method="cash", payment_token=None)
    page = open_tracking(screen, shop, order["id"])

    page.get_by_role("button", name="Cancel order").click()

    expect(page.locator("#now-heading")).to_have_text("Cancelled", timeout=CANCEL_MS)
    expect(page.locator(".money-back")).to_have_text("Nothing was charged")
    assert order_of(shop, order["id"])["status"] == "cancelled"


def test_a_cancel_refused_because_the_kitchen_moved_first_shows_why_on_the_page(shop, screen):
    order = place_order(shop)
    page = open_tracking(screen, shop, order["id"])
    cancel = page.get_by_role("button", name="Cancel order")
    expect(cancel).to_be_visible()
    # The screen still shows the order as cancellable when the kitchen makes it ready.
    page.route(f"**/track/{order['id']}/status", lambda route: route.fulfill(status=304))
    kitchen_moves(shop, order["id"], "preparing")
    kitchen_moves(shop, order["id"], "ready")

    cancel.click()

    refusal = page.locator("[data-refusal]")
    expect(refusal).to_contain_text("cannot be cancelled", timeout=CANCEL_MS)
    expect(page.locator("#notice")).to_contain_text(f"Order {order['id'][:8]}:")
    expect(page.locator("#cancel-progress")).to_be_hidden()
    page.unroute(f"**/track/{order['id']}/status")
    expect(page.locator("#now-heading")).to_have_text("Ready", timeout=LIVE_MS)
    expect(cancel).to_have_count(0)
    assert order_of(shop, order["id"])["status"] == "ready"


def test_a_name_full_of_markup_shows_as_text_and_runs_nothing(shop, screen):
    order = place_order(shop, customer_name=XSS_NAME)
    page = screen(PHONE)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{shop.base_url}/track/{order['id']}")

    expect(page.locator(".customer")).to_have_text(XSS_NAME)
    expect(page.locator("img")).to_have_count(0)
    page.wait_for_timeout(1500)  # a live update has replaced the part that holds the name
    expect(page.locator(".customer")).to_have_text(XSS_NAME)
    assert dialogs == []


def test_an_unknown_order_says_so_and_nothing_more(shop, screen):
    page = screen(PHONE)
    response = page.goto(f"{shop.base_url}/track/00000000-0000-4000-8000-000000000000")

    assert response is not None and response.status == 404
    expect(page.locator("main")).to_have_text("No such order is known.")


def test_the_tracking_page_has_no_serious_accessibility_problems_at_either_width(shop, screen):
    order = place_order(shop)
    for width in (PHONE, KITCHEN_SCREEN):
        page = open_tracking(screen, shop, order["id"], width)
        assert serious_violations(page) == [], width


def test_with_the_api_gone_the_page_says_it_is_not_live_and_catches_up_with_a_signal_it_missed(
    shop, screen, temporal_env
):
    order = place_order(shop)
    page = open_tracking(screen, shop, order["id"])
    expect(page.locator("#now-heading")).to_have_text("Confirmed")
    page.evaluate("window.sameDocument = true")

    shop.kill_api()
    try:
        expect(page.locator("#live-status")).to_have_text("Not live: reconnecting…", timeout=NOT_LIVE_SECONDS * 1000)
        # Ops move the order with the temporal CLI meanwhile: the workflow takes it, no API in between.
        signal = ["--name", "mark_preparing", "--input", '{"by": "ops"}']
        sent = temporal(temporal_env, "workflow", "signal", "-w", workflow_id(order["id"]), *signal)
        assert sent.returncode == 0, sent.stderr
    finally:
        shop.start_api()

    expect(page.locator("#live-status")).to_have_text("Live", timeout=LIVE_MS)
    expect(page.locator("#now-heading")).to_have_text("Preparing", timeout=LIVE_MS)
    assert page.evaluate("window.sameDocument") is True  # caught up without a reload
