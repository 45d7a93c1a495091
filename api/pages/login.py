"""The login page: staff sign in with a username and password and get a session cookie holding their token.

The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it) and Secure unless
the shop is opened on loopback (development over plain HTTP). A sign-in posted from another site's page is
refused, so nobody can sign a screen in to an account of theirs; signing out needs the page's CSRF token.
"""

import hmac
import math
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api.auth import SESSION_COOKIE, csrf_token, session_staff, session_token
from api.pages.rendering import render
from api.problems import RETRY_AFTER_SECONDS
from api.sign_in import LockedOut, SignIn, WrongCredentials
from domain.sign_in import landing_page, local_path

router = APIRouter()
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# The shop's pages send no referrer (a tracking page's address is the customer's), and under that policy a
# browser posts a form with `Origin: null`. The login page alone lets its form name its origin to this site, so
# that a sign-in from it can be told from one posted by another site's page. Its address holds nothing secret.
LOGIN_REFERRER_POLICY = "same-origin"
MAX_TYPED = 2048  # a username, password or next longer than this is no one's


def _login_form(
    request: Request, status_code: int = 200, next_page: str = "", username: str = "", problem: str | None = None
) -> Response:
    """The form; the password is never sent back."""
    shown_next = next_page if local_path(next_page) else ""
    response = render(
        request,
        "login.html",
        status_code,
        staff=session_staff(request),
        next=shown_next,
        username=username,
        problem=problem,
    )
    response.headers["Referrer-Policy"] = LOGIN_REFERRER_POLICY
    return response


def _refused(request: Request, reason: str) -> Response:
    return render(request, "refused.html", 403, reason=reason)


def _from_this_site(request: Request) -> bool:
    """No Origin header (an older browser, a script), or the Origin of this very site (`null` is not)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == request.headers.get("host", "").lower()


def _session_cookie(request: Request, value: str, max_age: int) -> str:
    # Written out here, not with Starlette's set_cookie: it would say SameSite=strict in lower case.
    secure = "" if request.url.hostname in LOOPBACK else "; Secure"
    return f"{SESSION_COOKIE}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict{secure}"


def _wait(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@router.get("/login")
async def login_page(request: Request) -> Response:
    return _login_form(request, next_page=request.query_params.get("next", "")[:MAX_TYPED])


@router.post("/login")
async def sign_in(
    request: Request,
    username: Annotated[str, Form(max_length=MAX_TYPED)] = "",
    password: Annotated[str, Form(max_length=MAX_TYPED)] = "",
    next_page: Annotated[str, Form(alias="next", max_length=MAX_TYPED)] = "",
) -> Response:
    if not _from_this_site(request):
        return _refused(request, "This sign-in was sent from another site's page. Sign in on this site's own page.")
    if not username.strip() or not password:
        return _login_form(request, 422, next_page, username, "Enter your username and your password.")
    checker: SignIn = request.app.state.sign_in
    try:
        issued = await checker(username, password)
    except (OperationalError, PoolTimeout):
        problem = "The shop's database cannot be reached just now. Try again in a moment."
        response = _login_form(request, 503, next_page, username, problem)
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response
    except WrongCredentials:
        return _login_form(request, 401, next_page, username, "Wrong username or password.")
    except LockedOut as locked:
        problem = f"Too many failed sign-ins for this username. Try again in {_wait(locked.retry_after)}."
        response = _login_form(request, 429, next_page, username, problem)
        response.headers["Retry-After"] = str(locked.retry_after)
        return response
    target = next_page if local_path(next_page) else landing_page(issued.roles)
    response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    response.headers.append("Set-Cookie", _session_cookie(request, issued.access_token, issued.expires_in))
    return response


@router.post("/logout")
async def sign_out(request: Request, csrf: Annotated[str, Form(max_length=MAX_TYPED)] = "") -> Response:
    token = session_token(request)
    if token is not None:
        expected = csrf_token(token, request.app.state.settings.jwt_secret)
        # Only the page's CSRF token: the sign-out form is on every page, whose policy makes its Origin `null`.
        if not hmac.compare_digest(csrf.encode(), expected.encode()):
            return _refused(request, "Not signed out: the request did not come from one of this site's pages.")
    response = RedirectResponse("/login", status_code=303, headers={"Cache-Control": "no-store"})
    response.headers.append("Set-Cookie", _session_cookie(request, "", 0))
    return response
