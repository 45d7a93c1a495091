"""The driver's page in Chromium: a ready delivery order shows up within 2 s, the driver picks it up and
delivers it, or fails it with a reason (cancelled and refunded); a pickup another driver made first is refused
with its reason on the page; all of it by keyboard too."""

import time
import uuid
from collections.abc import Callable

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import Processes
from tests.screens.accessibility import serious_violations
from tests.screens.conftest import KITCHEN_SCREEN, LIVE_SECONDS, PHONE, place_order, screenshot, staff_call

LIVE_MS = LIVE_SECONDS * 1000
FAIL_MS = 30_000  # a failed delivery answers once the order is compensated (the card refunded)
XSS_NAME = "<img src=x onerror=alert(1)>"


def order_of(shop: Processes, order_id: str) -> dict:
    response = httpx.get(f"{shop.base_url}/api/orders/{order_id}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def until_status(shop: Processes, order_id: str, status: str, within: float = 10.0) -> dict:
    deadline = time.monotonic() + within
    while (order := order_of(shop, order_id))["status"] != status:
        assert time.monotonic() < deadline, f"still {order['status']}, not {status}"
        time.sleep(0.1)
    return order


def made_ready(shop: Processes, **overrides: object) -> tuple[dict, float]:
    """An order the kitchen took to ready through the API; it and the moment the API answered."""
    order = place_order(shop, **overrides)
    for status in ("preparing", "ready"):
        path = f"/api/kitchen/orders/{order['id']}/status"
        response = staff_call(shop, "PUT", path, "luigi", "kitchen", json={"status": status})
        assert response.status_code == 200, response.text
    return order, time.monotonic()


def open_driver(screen: Callable[..., Page], shop: Processes, width: int = PHONE, driver: str = "toad") -> Page:
    page = screen(width, driver, "driver")
    page.goto(f"{shop.base_url}/driver")
    expect(page.locator("#live-status")).to_have_text("Live", timeout=LIVE_MS)
    return page


def section(page: Page, heading: str) -> Locator:
    return page.locator("section").filter(has=page.get_by_role("heading", name=heading))


def card(place: Page | Locator, order: dict) -> Locator:
    return place.locator(f'[data-key="{order["id"]}"]')


def appears_within_live_seconds(place: Locator, since: float) -> None:
    expect(place).to_be_visible(timeout=LIVE_MS)
    assert time.monotonic() - since <= LIVE_SECONDS + 0.3, f"shown after {time.monotonic() - since:.1f} s"


def test_a_driver_sees_a_ready_order_appear_picks_it_up_and_delivers_it(shop, screen):
    page = open_driver(screen, shop)
    order, ready = made_ready(shop)
    short = order["id"][:8]

    waiting = card(section(page, "Waiting for a driver"), order)
    appears_within_live_seconds(waiting, ready)
    expect(waiting).to_contain_text(order["customer"]["address"])
    expect(waiting).to_contain_text("Paid by card")
    expect(waiting.get_by_role("link", name=order["customer"]["phone"])).to_have_attribute(
        "href", f"tel:{order['customer']['phone']}"
    )

    waiting.get_by_role("button", name=f"Pick up order {short}").click()

    mine = card(section(page, "Yours"), order)
    expect(mine).to_be_visible(timeout=LIVE_MS)
    expect(waiting).to_have_count(0)
    picked = order_of(shop, order["id"])
    assert picked["status"] == "out_for_delivery" and picked["delivery"]["driver"] == "toad"

    mine.get_by_role("button", name=f"Delivered order {short}").click()

    expect(mine).to_have_count(0, timeout=LIVE_MS)
    delivered = until_status(shop, order["id"], "completed")
    assert delivered["delivery"]["driver"] == "toad" and delivered["delivery"]["delivered_at"]


def test_a_driver_a_manager_made_signs_in_at_login_lands_on_the_drivers_page_and_delivers(shop, screen):
    username = f"driver-{uuid.uuid4().hex[:8]}"
    body = {"username": username, "password": "a-long-driving-password", "roles": ["driver"]}
    assert staff_call(shop, "POST", "/api/staff", "boss", "manager", json=body).status_code == 201
    page = screen(PHONE)  # signed out
    page.goto(f"{shop.base_url}/driver")
    page.wait_for_url(f"{shop.base_url}/login?next=%2Fdriver")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("a-long-driving-password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{shop.base_url}/driver")
    order, ready = made_ready(shop)
    short = order["id"][:8]

    appears_within_live_seconds(card(section(page, "Waiting for a driver"), order), ready)
    page.get_by_role("button", name=f"Pick up order {short}").click()
    page.get_by_role("button", name=f"Delivered order {short}").click()

    expect(card(page, order)).to_have_count(0, timeout=LIVE_MS)
    delivered = until_status(shop, order["id"], "completed")
    assert delivered["delivery"]["driver"] == username


def test_a_cash_order_tells_the_driver_what_to_collect(shop, screen):
    page = open_driver(screen, shop)
    order, ready = made_ready(shop, payment_method="cash", payment_token=None)

    appears_within_live_seconds(card(page, order), ready)
    expect(card(page, order).locator(".due")).to_have_text(f"Collect ${order['total']} cash")


def test_a_driver_fails_a_delivery_by_keyboard_with_a_typed_reason_and_the_order_is_refunded(shop, screen):
    page = open_driver(screen, shop)
    order, ready = made_ready(shop)
    short = order["id"][:8]
    appears_within_live_seconds(card(page, order), ready)
    reason = "Nobody answered at the door <b>twice</b>"

    tab_to(page, page.get_by_role("button", name=f"Pick up order {short}"))
    page.keyboard.press("Enter")
    # Focus follows the order to its card under "Yours".
    delivered = page.get_by_role("button", name=f"Delivered order {short}")
    expect(delivered).to_be_focused(timeout=LIVE_MS)
    page.keyboard.press("Tab")
    failed = page.get_by_role("button", name=f"Failed order {short}")
    expect(failed).to_be_focused()
    expect(failed).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(failed).to_have_attribute("aria-expanded", "true")
    field = page.get_by_label(f"Why could order {short} not be delivered?")
    expect(field).to_be_focused()
    page.keyboard.press("Enter")  # nothing typed yet: the browser asks for the reason, nothing is sent
    assert order_of(shop, order["id"])["status"] == "out_for_delivery"
    page.keyboard.type(reason)
    page.keyboard.press("Enter")

    expect(card(page, order)).to_have_count(0, timeout=FAIL_MS)
    failed_order = until_status(shop, order["id"], "cancelled")
    assert failed_order["delivery"]["failure"] == reason
    assert failed_order["payment"]["refund_id"]


def test_escape_closes_the_question_of_why_and_gives_focus_back_to_failed(shop, screen):
    page = open_driver(screen, shop)
    order, _ = made_ready(shop)
    short = order["id"][:8]
    assert staff_call(shop, "POST", f"/api/deliveries/{order['id']}/pickup", "toad", "driver").status_code == 200
    failed = page.get_by_role("button", name=f"Failed order {short}")
    expect(failed).to_be_visible(timeout=LIVE_MS)
    field = page.get_by_label(f"Why could order {short} not be delivered?")
    expect(field).to_be_hidden()

    failed.click()
    expect(field).to_be_focused()
    field.fill("Wrong address")
    page.wait_for_timeout(1500)  # a live update or two: the question stays open, the typed text kept
    expect(field).to_have_value("Wrong address")
    page.keyboard.press("Escape")

    expect(field).to_be_hidden()
    expect(failed).to_be_focused()
    expect(failed).to_have_attribute("aria-expanded", "false")


def test_a_pickup_another_driver_made_first_is_refused_with_the_reason_on_the_page(shop, screen):
    page = open_driver(screen, shop)
    order, ready = made_ready(shop)
    short = order["id"][:8]
    waiting = card(page, order)
    appears_within_live_seconds(waiting, ready)
    # The screen has not yet heard that yoshi took it (as in the second before its next update).
    page.route("**/driver/board", lambda route: route.fulfill(status=304))
    assert staff_call(shop, "POST", f"/api/deliveries/{order['id']}/pickup", "yoshi", "driver").status_code == 200

    waiting.get_by_role("button", name=f"Pick up order {short}").click()

    reason = "an order that is out_for_delivery cannot become out_for_delivery: yoshi took it first"
    expect(waiting.locator("[data-refusal]")).to_have_text(reason, timeout=LIVE_MS)
    expect(page.locator("#notice")).to_have_text(f"Order {short}: {reason}")
    expect(page).to_have_url(f"{shop.base_url}/driver")
    page.unroute("**/driver/board")
    expect(waiting).to_have_count(0, timeout=LIVE_MS)
    expect(page.locator("#notice")).to_have_text(f"Order {short}: {reason}")
    assert order_of(shop, order["id"])["delivery"]["driver"] == "yoshi"


def test_a_name_full_of_markup_shows_as_text_on_the_drivers_page_and_runs_nothing(shop, screen):
    page = open_driver(screen, shop)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    order, ready = made_ready(shop, customer_name=XSS_NAME)

    appears_within_live_seconds(card(page, order), ready)
    expect(card(page, order).locator(".customer")).to_have_text(XSS_NAME)
    expect(page.locator("img")).to_have_count(0)
    assert dialogs == []


def test_the_drivers_page_has_no_serious_accessibility_problems_at_either_width(shop, screen):
    waiting, _ = made_ready(shop, payment_method="cash", payment_token=None)
    taken, _ = made_ready(shop)
    assert staff_call(shop, "POST", f"/api/deliveries/{taken['id']}/pickup", "peach", "driver").status_code == 200
    for width, name in ((PHONE, "driver-360"), (KITCHEN_SCREEN, "driver-1920")):
        page = open_driver(screen, shop, width, driver="peach")
        expect(card(section(page, "Yours"), taken)).to_be_visible(timeout=LIVE_MS)
        expect(card(section(page, "Waiting for a driver"), waiting)).to_be_visible(timeout=LIVE_MS)
        page.get_by_role("button", name=f"Failed order {taken['id'][:8]}").click()
        assert serious_violations(page) == [], width
        screenshot(page, name)


def tab_to(page: Page, control: Locator, presses: int = 60) -> None:
    """Moves the focus by Tab alone until it is on `control`."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if control.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {control}")
