"""How a screen is answered: a Jinja2 template (everything people typed escaped), headers that keep the page to
itself, a session to sign in to, and live parts sent again only when they changed."""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from api.auth import CSRF_HEADER, Staff, csrf_token, session_staff, session_token

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")  # autoescape on: every {{ value }} is escaped

# Scripts and styles only from this site and no inline script: text a customer typed can never run as code.
# No referrer: a tracking page's address is the customer's capability, never sent on to another site.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def iso(moment: datetime | None) -> str:
    """A moment as the pages' script reads it (UTC, ISO 8601), or '' for none."""
    return moment.astimezone(UTC).isoformat() if moment else ""


def clock(moment: datetime | None) -> str:
    """A moment as people read it on a screen (UTC, HH:MM)."""
    return moment.astimezone(UTC).strftime("%H:%M") if moment else ""


def money(amount: Decimal) -> str:
    return f"${amount:.2f}"


templates.env.filters.update(iso=iso, clock=clock, money=money)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A whole page, with the CSRF token its scripts send back with each change they ask for."""
    token = session_token(request)
    secret = request.app.state.settings.jwt_secret
    context.setdefault("staff", None)
    context.update(csrf=csrf_token(token, secret) if token else "", csrf_header=CSRF_HEADER)
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(PAGE_HEADERS)
    return response


@dataclass(frozen=True)
class Part:
    """A page's live part as rendered, and the ETag that names exactly this HTML."""

    html: bytes
    etag: str


def rendered_part(template: str, **context: Any) -> Part:
    """A live part rendered (no request needed: so that one rendering can serve every screen asking)."""
    html = templates.get_template(template).render(**context).encode()
    return Part(html, '"' + hashlib.sha256(html).hexdigest()[:32] + '"')


def part_response(request: Request, part: Part) -> Response:
    """The live part, or 304 when the screen already shows exactly this."""
    headers = {**PAGE_HEADERS, "ETag": part.etag}
    if request.headers.get("If-None-Match") == part.etag:
        return Response(status_code=304, headers=headers)
    return HTMLResponse(part.html, headers=headers)


def live_part(request: Request, template: str, **context: Any) -> Response:
    """A page's live part: 304 when the screen already shows exactly this."""
    return part_response(request, rendered_part(template, request=request, **context))


def sign_in_first(request: Request) -> RedirectResponse:
    """To /login, coming back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def staff_page(request: Request, role: str) -> Staff | Response:
    """The staff member of the session when they may act as `role`; else the answer to give instead: to /login
    without a valid session, a page saying what is missing without the role."""
    staff = session_staff(request)
    if staff is None:
        return sign_in_first(request)
    if not staff.may(role):
        return render(request, "forbidden.html", 403, staff=staff, role=role)
    return staff


def staff_part(request: Request, role: str) -> Staff | Response:
    """As `staff_page`, for a live part: its script sends the screen to /login on a 401."""
    staff = session_staff(request)
    if staff is None:
        return Response(status_code=401, headers=PAGE_HEADERS)
    if not staff.may(role):
        return Response(status_code=403, headers=PAGE_HEADERS)
    return staff
