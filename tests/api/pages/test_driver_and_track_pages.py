"""The driver's page and the customer's tracking page as HTTP answers (no browser): who may see them, what an
unknown order looks like, that what people typed comes back as text, and that live parts are sent only when
they changed."""

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx

from api.auth import SESSION_COOKIE, mint_token
from tests.api.conftest import eventually, move_ok
from tests.conftest import SECRET, Stack, staff_headers

XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_ADDRESS = "<script>alert(2)</script> 12 Via Roma"
NO_SUCH_ORDER = "No such order is known."


def session(*roles: str, sub: str = "toad") -> dict[str, str]:
    """The headers of a browser signed in as `sub` (the session cookie /login leaves)."""
    return {"Cookie": f"{SESSION_COOKIE}={mint_token(SECRET, sub, list(roles), 600)}"}


async def ready_delivery(stack: Stack, **changes: object) -> dict:
    order = await stack.placed(**changes)
    await move_ok(stack, order["id"], "preparing")
    return await move_ok(stack, order["id"], "ready")


def card_of(html: str, order_id: str) -> str:
    """The HTML of the order's card on the board: from its key to the next card's."""
    return html.split(f'data-key="{order_id}"', 1)[1].split("data-key=", 1)[0]


async def board(stack: Stack, *roles: str, sub: str = "toad") -> httpx.Response:
    return await stack.http.get("/driver/board", headers=session(*roles, sub=sub))


# --- who may see the driver's page ----------------------------------------------------------------


async def test_the_driver_page_sends_someone_without_a_session_to_sign_in_and_back(stack):
    response = await stack.http.get("/driver")

    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == ["/driver"]


async def test_the_driver_page_tells_a_kitchen_account_it_needs_the_driver_role(stack):
    response = await stack.http.get("/driver", headers=session("kitchen", sub="luigi"))

    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "driver" in response.text and "luigi" in response.text
    assert 'data-live-src="/driver/board"' not in response.text


async def test_the_drivers_live_part_answers_401_without_a_session_and_403_without_the_role(stack):
    assert (await stack.http.get("/driver/board")).status_code == 401
    assert (await board(stack, "kitchen")).status_code == 403
    assert (await board(stack, "driver")).status_code == 200
    assert (await board(stack, "manager")).status_code == 200


async def test_the_driver_page_shows_a_ready_order_with_its_address_what_is_due_and_a_pick_up_button(stack):
    cash = await ready_delivery(stack, payment_method="cash", payment_token=None)
    short = cash["id"][:8]

    async def on_the_page() -> str | None:
        page = await stack.http.get("/driver", headers=session("driver"))
        assert page.status_code == 200
        return page.text if cash["id"] in page.text else None

    html = await eventually(on_the_page)
    card = card_of(html, cash["id"])
    assert f'Order <span class="short-id">{short}</span>' in card
    assert f"Collect ${cash['total']} cash" in card
    assert f'href="tel:{cash["customer"]["phone"]}"' in card
    assert f'aria-label="Pick up order {short}"' in card
    assert f'data-url="/api/deliveries/{cash["id"]}/pickup"' in card


# --- the tracking page: an unknown order ----------------------------------------------------------


async def test_an_unknown_and_a_malformed_order_id_get_the_same_not_found_page(stack):
    unknown = await stack.http.get(f"/track/{uuid.uuid4()}")
    malformed = await stack.http.get("/track/not-an-order-id")
    also_malformed = await stack.http.get(f"/track/{uuid.uuid4()}/status".replace("-", "", 1))

    for response in (unknown, malformed, also_malformed):
        assert response.status_code == 404
        assert "text/html" in response.headers["content-type"]
        assert NO_SUCH_ORDER in response.text
    assert unknown.text == malformed.text == also_malformed.text


# --- what people typed is text --------------------------------------------------------------------


async def test_a_name_and_an_address_full_of_markup_come_back_as_text_on_both_pages(stack):
    order = await ready_delivery(stack, customer_name=XSS_NAME, customer_address=XSS_ADDRESS)

    async def on_the_board() -> str | None:
        response = await board(stack, "driver")
        return response.text if order["id"] in response.text else None

    pages = {
        "/track": (await stack.http.get(f"/track/{order['id']}")).text,
        "/track status": (await stack.http.get(f"/track/{order['id']}/status")).text,
        "/driver/board": await eventually(on_the_board),
    }
    for where, html in pages.items():
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, where
        assert "&lt;script&gt;alert(2)&lt;/script&gt; 12 Via Roma" in html, where
        assert "<img" not in html and "<script>alert" not in html, where


# --- what the tracking page shows, and what it keeps to itself -------------------------------------


async def test_the_tracking_page_shows_the_order_and_only_the_last_digits_of_the_phone(stack):
    order = await stack.placed()
    phone = order["customer"]["phone"]

    html = (await stack.http.get(f"/track/{order['id']}")).text

    assert '<meta name="robots" content="noindex">' in html
    assert phone not in html and f"ending in {phone[-4:]}" in html
    assert f"${order['total']}" in html and f"${order['delivery_fee']}" in html and f"${order['tax']}" in html
    assert '<li class="step current" aria-current="step">' in html
    assert re.search(r'<span class="label">Confirmed</span>\s*<time datetime="[^"]+">\d\d:\d\d UTC</time>', html)
    assert ">Cancel order</button>" in html
    assert "Estimated ready at" in html


async def test_both_pages_keep_to_themselves_no_referrer_and_only_their_own_scripts(stack):
    order = await stack.placed()

    for response in (
        await stack.http.get(f"/track/{order['id']}"),
        await stack.http.get(f"/track/{order['id']}/status"),
        await stack.http.get("/driver", headers=session("driver")),
        await board(stack, "driver"),
        await stack.http.get(f"/track/{uuid.uuid4()}"),
    ):
        assert response.headers["referrer-policy"] == "no-referrer", response.url
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy, response.url


# --- live parts: sent again only when they changed -------------------------------------------------


async def test_the_tracking_status_answers_304_while_unchanged_and_again_in_full_once_the_order_moves(stack):
    order = await stack.placed()
    path = f"/track/{order['id']}/status"
    first = await stack.http.get(path)
    etag = first.headers["etag"]

    again = await stack.http.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""

    await move_ok(stack, order["id"], "preparing")

    async def changed() -> httpx.Response | None:
        response = await stack.http.get(path, headers={"If-None-Match": etag})
        return response if response.status_code == 200 else None

    moved = await eventually(changed)
    assert moved.headers["etag"] != etag
    assert '<h2 id="now-heading">Preparing</h2>' in moved.text


async def test_the_drivers_board_answers_304_while_unchanged_and_in_full_once_an_order_is_ready(stack):
    first = await board(stack, "driver", sub="daisy")
    etag = first.headers["etag"]
    again = await stack.http.get("/driver/board", headers={**session("driver", sub="daisy"), "If-None-Match": etag})
    assert again.status_code == 304

    order = await ready_delivery(stack)

    async def shows_it() -> httpx.Response | None:
        headers = {**session("driver", sub="daisy"), "If-None-Match": etag}
        response = await stack.http.get("/driver/board", headers=headers)
        return response if response.status_code == 200 and order["id"] in response.text else None

    assert (await eventually(shows_it)).headers["etag"] != etag


async def test_a_drivers_own_order_shows_delivered_and_failed_with_a_reason_to_give(stack):
    order = await ready_delivery(stack)
    picked = await stack.http.post(
        f"/api/deliveries/{order['id']}/pickup", headers=staff_headers("driver", sub="wario")
    )
    assert picked.status_code == 200, picked.text
    short = order["id"][:8]

    async def out_with_wario() -> str | None:
        html = (await board(stack, "driver", sub="wario")).text
        return html if f'aria-label="Delivered order {short}"' in html else None

    html = await eventually(out_with_wario)
    assert "Paid by card" in html
    assert f'<details id="fail-{order["id"]}"' in html
    assert f'data-url="/api/deliveries/{order["id"]}/failed" data-method="POST"' in html
    assert re.search(rf'<input id="reason-{order["id"]}" name="reason" type="text" required maxlength="500"', html)
    assert f'<label for="reason-{order["id"]}">' in html
    others = (await board(stack, "driver", sub="toad")).text
    assert order["id"] not in others


async def test_a_drivers_reason_for_a_failed_delivery_is_shown_to_the_customer_as_text(stack):
    order = await ready_delivery(stack)
    wario = staff_headers("driver", sub="wario")
    assert (await stack.http.post(f"/api/deliveries/{order['id']}/pickup", headers=wario)).status_code == 200
    reason = "Gate locked <script>alert(3)</script>"
    failed = await stack.http.post(f"/api/deliveries/{order['id']}/failed", json={"reason": reason}, headers=wario)
    assert failed.status_code == 200, failed.text

    async def cancelled() -> str | None:
        html = (await stack.http.get(f"/track/{order['id']}/status")).text
        return html if '<h2 id="now-heading">Cancelled</h2>' in html else None

    html = await eventually(cancelled)
    assert "Reason: Gate locked &lt;script&gt;alert(3)&lt;/script&gt;" in html
    assert f"Refunded to your card (refund {failed.json()['payment']['refund_id']})" in html
    assert "Cancel order" not in html


async def test_a_pickup_order_is_tracked_to_the_counter_without_a_driver_step_or_delivery_fee(stack):
    order = await stack.placed(fulfilment="pickup", customer_address=None, payment_method="cash", payment_token=None)

    html = (await stack.http.get(f"/track/{order['id']}")).text

    labels = re.findall(r'<span class="label">([^<]+)</span>', html)
    assert labels == ["Received", "Confirmed", "Preparing", "Ready", "Completed"]
    assert "Delivery fee" not in html and "To collect at the counter" in html
    assert "Payment: cash at the counter" in html
