"""The kitchen display in Chromium, as a cook by the oven sees it: tickets arrive by themselves, the buttons move
them, whatever else moves them shows within 2 seconds, and a screen cut off says so and catches up."""

import re
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Locator, Page, expect
from temporalio.testing import WorkflowEnvironment

from api.auth import SESSION_COOKIE
from tests.conftest import BIN
from tests.e2e.conftest import Processes, launch_api
from tests.screens.conftest import (
    KITCHEN_SCREEN,
    LIVE_SECONDS,
    NOT_LIVE_SECONDS,
    PHONE,
    place_order,
    screenshot,
    staff_call,
    staff_token,
)
from tools.stack import Pizzeria
from workflows.order_contract import workflow_id

LIVE_MS = int(LIVE_SECONDS * 1000)
NOT_LIVE_MS = int(NOT_LIVE_SECONDS * 1000)
HIGHLIGHT_SECONDS = 10  # how long a new ticket stays highlighted (static/kitchen.js)
AGING_SLA_SECONDS = 8  # the kitchen SLA of the second shop: amber after 4 s, red after 8 s
AMBER, RED = "rgb(255, 232, 163)", "rgb(255, 208, 204)"  # pages.css --amber-bg and --red-bg
PICKUP = {"fulfilment": "pickup"}
HOSTILE_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def aging_shop(
    temporal_env: WorkflowEnvironment, new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Processes]:
    """A second shop whose kitchen promises every order within a few seconds: tickets age while a test watches."""
    logs = tmp_path_factory.mktemp("aging-shop")
    running = launch_api(
        temporal_env.client.service_client.config.target_host,
        new_database(),
        logs,
        PIZZERIA_KITCHEN_SLA_SECONDS=str(AGING_SLA_SECONDS),
    )
    try:
        running.start_worker()
        yield running
    finally:
        running.stop()


def open_kitchen(browser: Browser, shop: Processes, width: int = KITCHEN_SCREEN) -> Page:
    """The kitchen display of `shop` in a browser of its own, signed in as a cook, once it is live."""
    context = browser.new_context(viewport={"width": width, "height": 900 if width > PHONE else 780})
    token = staff_token(shop, "luigi", "kitchen")
    context.add_cookies(
        [{"name": SESSION_COOKIE, "value": token, "url": shop.base_url, "httpOnly": True, "sameSite": "Strict"}]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{shop.base_url}/kitchen")
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    return page


@pytest.fixture
def kitchen(shop: Processes, browser: Browser) -> Iterator[Callable[..., Page]]:
    """Opens the shop's kitchen display: `kitchen()` at 1920 px, `kitchen(PHONE)` at 360 px."""
    pages: list[Page] = []

    def opened(width: int = KITCHEN_SCREEN, of: Processes | None = None) -> Page:
        page = open_kitchen(browser, of or shop, width)
        pages.append(page)
        return page

    yield opened
    for page in pages:
        page.context.close()


def ticket(page: Page, order: dict) -> Locator:
    """The order's card among the open tickets."""
    return page.locator(f'.ticket[data-key="{order["id"]}"]')


def finished(page: Page, order: dict) -> Locator:
    """The order's card in the recall list."""
    return page.locator(f'.finished[data-key="{order["id"]}"]')


def button(page: Page, step: str, order: dict) -> Locator:
    """A step's button by its accessible name, as a screen reader or a keyboard user finds it."""
    return page.get_by_role("button", name=f"{step} order {order['id'][:8]}", exact=True)


def status_of(shop: Processes, order: dict) -> str:
    """The order's status as the HTTP API tells it."""
    response = staff_call(shop, "GET", f"/api/orders/{order['id']}", "luigi", "kitchen")
    assert response.status_code == 200, response.text
    return response.json()["status"]


def moved(shop: Processes, order: dict, status: str) -> None:
    """Another screen (or a script) moves the order through the kitchen's API."""
    response = staff_call(
        shop, "PUT", f"/api/kitchen/orders/{order['id']}/status", "marco", "kitchen", json={"status": status}
    )
    assert response.status_code == 200, response.text


def settle(check: Callable[[], bool], what: str, seconds: float = LIVE_SECONDS) -> None:
    """Wait (at most `seconds`) until `check()` holds."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.05)


def chimes(page: Page) -> int:
    return int(page.evaluate("document.body.dataset.chimes"))


# --- a ticket's way ------------------------------------------------------------------------


def test_an_order_appears_within_2_s_and_start_ready_and_complete_move_it_as_the_api_agrees(
    shop: Processes, kitchen: Callable[..., Page]
):
    page = kitchen()
    order = place_order(shop, customer_name="Peach Toadstool", **PICKUP)
    short = order["id"][:8]

    card = ticket(page, order)
    expect(card).to_be_visible(timeout=LIVE_MS)
    expect(card.get_by_role("heading")).to_have_text(f"Order {short}")
    expect(card).to_contain_text("Pickup")
    expect(card).to_contain_text("Peach Toadstool")
    expect(card).to_contain_text("To start")

    button(page, "Start", order).click()
    expect(button(page, "Ready", order)).to_be_visible(timeout=LIVE_MS)
    expect(card).to_contain_text("Preparing")
    assert status_of(shop, order) == "preparing"

    button(page, "Ready", order).click()
    expect(card).to_have_count(0, timeout=LIVE_MS)
    assert status_of(shop, order) == "ready"

    page.get_by_text("Recall finished tickets").click()
    recalled = finished(page, order)
    expect(recalled).to_be_visible()
    expect(recalled.locator(".status")).to_have_text("Ready")
    expect(recalled.locator(".ready-at time")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    button(page, "Complete", order).click()
    expect(recalled.locator(".status")).to_have_text("Completed", timeout=LIVE_MS)
    expect(button(page, "Complete", order)).to_have_count(0)
    assert status_of(shop, order) == "completed"


def test_a_change_sent_with_the_temporal_cli_shows_on_the_display_within_2_s(
    shop: Processes, kitchen: Callable[..., Page]
):
    page = kitchen()
    order = place_order(shop)
    expect(button(page, "Start", order)).to_be_visible(timeout=LIVE_MS)

    signal = [BIN / "temporal", "workflow", "signal", "--address", shop.env["PIZZERIA_TEMPORAL_ADDRESS"]]
    signal += ["--workflow-id", workflow_id(order["id"]), "--name", "mark_preparing"]
    signal += ["--input", '{"by": "ops", "notes": "started from the console"}']
    sent = subprocess.run(signal, capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr

    expect(button(page, "Ready", order)).to_be_visible(timeout=LIVE_MS)
    expect(ticket(page, order).locator(".notes")).to_contain_text("ops: started from the console")
    assert status_of(shop, order) == "preparing"


def test_a_button_made_stale_by_another_screen_shows_why_it_was_refused(shop: Processes, kitchen: Callable[..., Page]):
    page = kitchen()
    page.clock.install()  # the screen's timers, to hold its next update back while another screen acts
    page.reload()
    order = place_order(shop)
    stale = button(page, "Start", order)
    expect(stale).to_be_visible(timeout=LIVE_MS)

    page.clock.pause_at(time.time() + 0.1)  # no update from here: the Start button stays
    page.wait_for_timeout(300)  # an update already on its way lands first
    moved(shop, order, "preparing")
    stale.click()

    card = ticket(page, order)
    reason = "an order that is preparing cannot become preparing"
    expect(card.locator("[data-refusal]")).to_have_text(reason)
    expect(page.locator("#notice")).to_have_text(f"Order {order['id'][:8]}: {reason}")
    page.clock.resume()
    expect(button(page, "Ready", order)).to_be_visible(timeout=LIVE_MS)  # the screen caught up, the reason kept
    expect(card.locator("[data-refusal]")).to_have_text(reason)
    assert page.url == f"{shop.base_url}/kitchen"


def test_a_name_written_as_markup_shows_as_text_and_runs_nothing(shop: Processes, kitchen: Callable[..., Page]):
    page = kitchen()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    order = place_order(shop, customer_name=HOSTILE_NAME, customer_phone="+15550001234")

    card = ticket(page, order)
    expect(card.locator(".customer")).to_have_text(HOSTILE_NAME, timeout=LIVE_MS)
    expect(card.locator("img")).to_have_count(0)
    expect(card).not_to_contain_text("+15550001234")
    page.wait_for_timeout(1500)  # another update or two: still nothing ran
    assert dialogs == []


# --- what a cook notices ---------------------------------------------------------------------


def test_a_new_ticket_is_highlighted_and_chimes_and_only_the_highlight_shows_while_muted(
    shop: Processes, kitchen: Callable[..., Page]
):
    page = kitchen()
    mute = page.get_by_role("button", name="Mute chime")
    expect(mute).to_have_attribute("aria-pressed", "false")
    expect(page.locator(".ticket.new")).to_have_count(0)
    assert chimes(page) == 0

    heard = place_order(shop)
    expect(ticket(page, heard)).to_have_class(re.compile(r"\bnew\b"), timeout=LIVE_MS)
    expect(page.locator("body")).to_have_attribute("data-chimes", "1")
    expect(page.locator("#kitchen-news")).to_have_text(f"New ticket: Order {heard['id'][:8]}")

    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true")
    unheard = place_order(shop)
    expect(ticket(page, unheard)).to_have_class(re.compile(r"\bnew\b"), timeout=LIVE_MS)
    page.wait_for_timeout(500)  # the chime would have been asked for with the highlight
    assert chimes(page) == 1

    expect(ticket(page, heard)).not_to_have_class(re.compile(r"\bnew\b"), timeout=(HIGHLIGHT_SECONDS + 2) * 1000)
    # The choice outlives a reload; it is all the page keeps in the browser, and the session is out of reach.
    page.reload()
    expect(page.get_by_role("button", name="Mute chime")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("Object.keys(localStorage)") == ["pizzeria.kitchen.muted"]
    assert SESSION_COOKIE not in page.evaluate("document.cookie")


# A browser that keeps sound off until someone touches the page: its audio stays suspended, resuming never ends.
SOUND_HELD_BACK = """
window.AudioContext = class {
  constructor() { this.state = "suspended"; this.currentTime = 0; }
  resume() { return new Promise(() => {}); }
};
"""


def test_with_the_sound_held_back_by_the_browser_a_new_ticket_still_shows_and_the_page_says_why_it_is_silent(
    shop: Processes, kitchen: Callable[..., Page]
):
    page = kitchen()
    page.add_init_script(SOUND_HELD_BACK)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    hint = page.locator("#sound-hint")
    expect(hint).to_be_hidden()

    order = place_order(shop)

    expect(ticket(page, order)).to_have_class(re.compile(r"\bnew\b"), timeout=LIVE_MS)
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("silent until someone presses a key or a button")
    assert chimes(page) == 0
    expect(page.locator("#live-status")).to_have_text("Live")


def expected_all_day(shop: Processes) -> set[tuple[str, ...]]:
    """The all-day count's rows (pizza, small, medium, large, total) as the kitchen's API queue adds them up."""
    counts: Counter[tuple[str, str]] = Counter()
    for order in staff_call(shop, "GET", "/api/kitchen/queue", "luigi", "kitchen").json():
        for line in order["items"]:
            counts[(line["pizza"], line["size"])] += line["quantity"]
    rows = set()
    for pizza in {pizza for pizza, _ in counts}:
        by_size = [counts[(pizza, size)] for size in ("small", "medium", "large")]
        rows.add((pizza.replace("_", " ").title(), *(str(n or "") for n in by_size), str(sum(by_size))))
    return rows


def shown_all_day(page: Page) -> set[tuple[str, ...]]:
    table = page.get_by_role("table", name="All day: pizzas on the open tickets")
    cells = table.locator("tbody tr").evaluate_all(
        "rows => rows.map(row => [...row.children].map(cell => cell.textContent.trim()))"
    )
    return {tuple(row) for row in cells if len(row) > 1}


def test_the_all_day_count_adds_up_the_pizzas_on_the_open_tickets_by_name_and_size(
    shop: Processes, kitchen: Callable[..., Page]
):
    page = kitchen()
    lines = [{"name": "diavola", "size": "medium", "quantity": 2}, {"name": "diavola", "size": "large"}]
    order = place_order(shop, pizzas=lines)
    expect(ticket(page, order)).to_be_visible(timeout=LIVE_MS)

    wanted = expected_all_day(shop)
    diavola = next(row for row in wanted if row[0] == "Diavola")
    assert int(diavola[2]) >= 2 and int(diavola[3]) >= 1  # this order's pizzas are in it
    settle(lambda: shown_all_day(page) == wanted, "the all-day count to match the queue")

    moved(shop, order, "preparing")
    moved(shop, order, "ready")  # off the open tickets, off the count
    expect(ticket(page, order)).to_have_count(0, timeout=LIVE_MS)
    fewer = expected_all_day(shop)
    assert fewer != wanted
    assert shown_all_day(page) == fewer


def test_tickets_turn_amber_past_half_the_sla_and_red_past_it(aging_shop: Processes, kitchen: Callable[..., Page]):
    wide, narrow = kitchen(KITCHEN_SCREEN, aging_shop), kitchen(PHONE, aging_shop)
    older = place_order(aging_shop, customer_name="Daisy Sarasaland", **PICKUP)
    expect(ticket(wide, older)).to_have_attribute("data-age", "fresh", timeout=LIVE_MS)
    expect(ticket(wide, older)).to_have_attribute("data-age", "aging", timeout=AGING_SLA_SECONDS * 1000)
    expect(ticket(wide, older)).to_have_css("background-color", AMBER)
    expect(ticket(wide, older).locator("[data-until]")).to_contain_text("left")

    newer = place_order(aging_shop, pizzas=[{"name": "vegetariana", "size": "small", "toppings": ["olives"]}])
    moved(aging_shop, newer, "preparing")
    for page in (wide, narrow):
        expect(ticket(page, newer)).to_have_attribute("data-age", "fresh", timeout=LIVE_MS)
        expect(button(page, "Ready", newer)).to_be_visible(timeout=LIVE_MS)
    expect(ticket(wide, older)).to_have_attribute("data-age", "aging")
    screenshot(wide, "kitchen-1920")
    screenshot(narrow, "kitchen-360")

    expect(ticket(wide, older)).to_have_attribute("data-age", "late", timeout=AGING_SLA_SECONDS * 1000)
    expect(ticket(wide, older)).to_have_css("background-color", RED)
    expect(ticket(wide, older).locator("[data-until]")).to_contain_text("late")


# --- when the live updates stop ------------------------------------------------------------


def test_without_its_api_the_display_says_it_is_not_live_then_shows_what_it_missed_without_a_reload(
    shop: Processes, kitchen: Callable[..., Page]
):
    page = kitchen()
    status = page.locator("#live-status")
    expect(status).to_have_text("Live")
    other_api = Pizzeria(shop.children, shop.env, suffix="-2")  # the same shop scaled out: another API process
    other_api.start_api()
    try:
        shop.kill_api()
        expect(status).to_have_text("Not live: reconnecting…", timeout=NOT_LIVE_MS)

        missed = place_order(other_api)  # taken by the other API while this screen's is away
        shop.start_api()
    finally:
        if shop.api is None or shop.api.poll() is not None:
            shop.start_api()
        other_api.children.stop(other_api.api_name)

    expect(status).to_have_text("Live", timeout=LIVE_MS)
    expect(ticket(page, missed)).to_be_visible(timeout=LIVE_MS)
    expect(ticket(page, missed)).to_have_class(re.compile(r"\bnew\b"))


# --- keyboard and accessibility ----------------------------------------------------------------


def test_a_cook_can_tab_to_a_start_button_press_enter_and_tab_on_to_ready(
    shop: Processes, kitchen: Callable[..., Page]
):
    page = kitchen()
    order = place_order(shop)
    expect(button(page, "Start", order)).to_be_visible(timeout=LIVE_MS)

    wanted = f"Start order {order['id'][:8]}"
    for _ in range(200):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('aria-label')") == wanted:
            break
    else:
        pytest.fail(f"Tab never reached {wanted!r}")
    page.keyboard.press("Enter")

    expect(button(page, "Ready", order)).to_be_visible(timeout=LIVE_MS)
    assert status_of(shop, order) == "preparing"
    expect(ticket(page, order)).to_be_focused()  # the focus stays with the order: the next Tab is its next step
    page.keyboard.press("Tab")
    expect(button(page, "Ready", order)).to_be_focused()
    page.keyboard.press("Enter")
    expect(ticket(page, order)).to_have_count(0, timeout=LIVE_MS)
    assert status_of(shop, order) == "ready"


@pytest.mark.parametrize("width", [KITCHEN_SCREEN, PHONE])
def test_axe_finds_no_serious_or_critical_violations(shop: Processes, kitchen: Callable[..., Page], width: int):
    preparing = place_order(shop)
    moved(shop, preparing, "preparing")
    made = place_order(shop, customer_name="Toad Kinopio")
    moved(shop, made, "preparing")
    moved(shop, made, "ready")
    page = kitchen(width)
    expect(finished(page, made)).to_have_count(1, timeout=LIVE_MS)
    page.get_by_text("Recall finished tickets").click()
    expect(finished(page, made)).to_be_visible()

    results = Axe().run(page)

    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, results.generate_report()
