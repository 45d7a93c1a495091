"""The kitchen display as HTML: who may see it, what a ticket shows, and its live part sent again only when changed."""

import html
from urllib.parse import parse_qs, urlsplit

import httpx

from api.auth import SESSION_COOKIE, mint_token
from api.pages.kitchen import TIMES
from tests.api.conftest import eventually, kitchen_headers, move_ok
from tests.conftest import SECRET

HOSTILE_NAME = "<img src=x onerror=alert(1)>"


def session(*roles: str, sub: str = "luigi") -> dict[str, str]:
    """The headers of a browser signed in at /login: the session cookie holding the staff token."""
    return {"Cookie": f"{SESSION_COOKIE}={mint_token(SECRET, sub, list(roles), 600)}"}


async def board_showing(stack, text: str) -> str:
    """The kitchen's live part once it shows `text` (the shared store read is up to half a second old)."""

    async def read() -> str | None:
        response = await stack.http.get("/kitchen/board", headers=session("kitchen"))
        assert response.status_code == 200, response.text
        return response.text if text in response.text else None

    return await eventually(read)


def card_of(page: str, order_id: str) -> str:
    """The HTML of one order's card."""
    start = page.index(f'data-key="{order_id}"')
    ends = [page.find(mark, start + 1) for mark in ("data-key=", "</ol>")]
    return page[start : min(end for end in ends if end != -1)]


async def test_without_a_session_the_kitchen_sends_the_browser_to_sign_in_and_back(stack):
    response = await stack.http.get("/kitchen")

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/kitchen"]}


async def test_a_driver_is_told_the_kitchen_needs_the_kitchen_role(stack):
    response = await stack.http.get("/kitchen", headers=session("driver", sub="gino"))

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "kitchen" in response.text and "gino" in response.text
    assert "data-live-src" not in response.text


async def test_the_live_part_answers_401_without_a_session_and_403_to_a_driver(stack):
    assert (await stack.http.get("/kitchen/board")).status_code == 401
    assert (await stack.http.get("/kitchen/board", headers=session("driver"))).status_code == 403


async def test_a_manager_may_open_the_kitchen_display_with_its_headers_and_csrf_token(stack):
    response = await stack.http.get("/kitchen", headers=session("manager", sub="mario"))

    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["cache-control"] == "no-store"
    assert '<meta name="csrf-token" content="' in response.text and 'content=""' not in response.text
    assert 'data-live-src="/kitchen/board"' in response.text
    assert 'aria-pressed="false"' in response.text and "Mute chime" in response.text


async def test_a_customers_name_is_shown_as_text_and_never_as_markup_nor_with_the_phone(stack):
    order = await stack.placed(customer_name=HOSTILE_NAME, customer_phone="+15557654321")

    await board_showing(stack, order["id"])
    page = (await stack.http.get("/kitchen", headers=session("kitchen"))).text

    assert html.escape(HOSTILE_NAME, quote=False) in page
    assert "<img" not in page
    assert "+15557654321" not in page


async def test_a_ticket_shows_its_short_id_lines_notes_times_and_the_button_of_its_next_step(stack):
    order = await stack.placed(
        fulfilment="pickup",
        pizzas=[{"name": "quattro_formaggi", "size": "large", "toppings": ["extra_cheese", "basil"], "quantity": 2}],
    )
    short = order["id"][:8]

    card = card_of(await board_showing(stack, order["id"]), order["id"])
    assert f'data-label="Order {short}"' in card and f"Order {short}</h3>" in card
    assert "Pickup" in card
    assert f"2 {TIMES} large Quattro Formaggi + extra cheese, basil" in card
    assert f'aria-label="Start order {short}"' in card and "Ready order" not in card
    assert f'data-age-limit="{stack.settings.kitchen_sla_seconds}"' in card
    assert "data-since=" in card and "data-until=" in card and "data-refusal" in card

    response = await stack.http.put(
        f"/api/kitchen/orders/{order['id']}/status",
        json={"status": "preparing", "notes": "no basil on one, allergy"},
        headers=kitchen_headers(sub="marco"),
    )
    assert response.status_code == 200, response.text

    card = card_of(await board_showing(stack, "no basil on one, allergy"), order["id"])
    assert "marco" in card and "no basil on one, allergy" in card
    assert f'aria-label="Ready order {short}"' in card and "Start order" not in card


async def test_the_all_day_count_adds_up_the_pizzas_of_the_open_tickets_by_name_and_size(stack):
    order = await stack.placed(pizzas=[{"name": "hawaiian", "size": "small", "quantity": 3}])
    queue = (await stack.http.get("/api/kitchen/queue", headers=kitchen_headers())).json()
    small_hawaiians = sum(
        line["quantity"]
        for queued in queue
        for line in queued["items"]
        if line["pizza"] == "hawaiian" and line["size"] == "small"
    )
    assert small_hawaiians >= 3

    page = await board_showing(stack, order["id"])

    table = page[page.index('<table class="all-day">') : page.index("</table>")]
    row = table[table.index('<th scope="row">Hawaiian</th>') :]
    row = row[: row.index("</tr>")]
    assert row.startswith(f'<th scope="row">Hawaiian</th><td>{small_hawaiians}</td>')


async def test_a_ticket_made_ready_leaves_the_open_tickets_for_the_recall_list_with_a_complete_button(stack):
    order = await stack.placed(fulfilment="pickup")
    short = order["id"][:8]
    await move_ok(stack, order["id"], "preparing")
    await move_ok(stack, order["id"], "ready")

    page = await board_showing(stack, f"Complete order {short}")

    recall = page[page.index('<details id="recall"') :]
    assert order["id"] in recall and order["id"] not in page[: page.index('<details id="recall"')]
    assert "Ready at <time" in card_of(recall, order["id"])

    await move_ok(stack, order["id"], "completed")
    page = await board_showing(stack, f'data-key="{order["id"]}" data-label="Order {short}" data-status="completed"')
    assert f"Complete order {short}" not in page


async def test_the_live_part_carries_an_etag_and_answers_304_while_unchanged(stack):
    first = await stack.http.get("/kitchen/board", headers=session("kitchen"))
    assert first.status_code == 200
    etag = first.headers["etag"]

    again = await stack.http.get("/kitchen/board", headers={**session("kitchen"), "If-None-Match": etag})

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert "content-security-policy" in again.headers


async def test_a_changed_board_answers_with_its_new_content_and_a_new_etag(stack):
    before = await stack.http.get("/kitchen/board", headers=session("kitchen"))
    order = await stack.placed()

    async def changed() -> httpx.Response | None:
        response = await stack.http.get(
            "/kitchen/board", headers={**session("kitchen"), "If-None-Match": before.headers["etag"]}
        )
        return response if response.status_code == 200 and order["id"] in response.text else None

    after = await eventually(changed)
    assert after.headers["etag"] != before.headers["etag"]
