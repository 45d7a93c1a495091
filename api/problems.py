"""Errors as application/problem+json (RFC 9457): type, title, status, detail."""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

log = logging.getLogger("pizzeria.api")
PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = "5"


class Problem(BaseModel):
    """An error answer."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str


class ProblemError(Exception):
    """Raised by handlers to answer with a problem."""

    def __init__(
        self, status: int, detail: str, slug: str | None = None, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.slug, self.headers, self.extra = status, detail, slug, headers, extra


def problem_response(
    status: int, detail: str, slug: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": f"/problems/{slug}" if slug else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def unavailable(detail: str, **extra: Any) -> ProblemError:
    """A 503 that tells the client when to try again."""
    return ProblemError(503, detail, "unavailable", headers={"Retry-After": RETRY_AFTER_SECONDS}, **extra)


def _field(loc: tuple[Any, ...]) -> str:
    """Where a validation error is: `pizzas.0.size`, `header idempotency-key`, or `body` for the whole body."""
    source, *path = loc or ("body",)
    known = source in ("body", "query", "path", "header")
    where = ".".join(map(str, path if known else loc))
    return f"header {where}" if source == "header" else where or str(source)


def _validation_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field(tuple(e.get("loc", ()))), "message": str(e.get("msg", "")).removeprefix("Value error, ")}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)
    return problem_response(422, detail, "invalid-request", errors=errors)


def _http_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).description
    return problem_response(exc.status_code, detail, headers=exc.headers)


def _raised_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.status, exc.detail, exc.slug, exc.headers, **exc.extra)


def _temporal_unreachable(_: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        503, f"the order system is unreachable: {exc}", "unavailable", {"Retry-After": RETRY_AFTER_SECONDS}
    )


def _temporal_never_reached(request: Request, exc: Exception) -> JSONResponse:
    # The lazy client raises a bare RuntimeError while it cannot connect at all.
    if not str(exc).startswith("Failed client connect"):
        return _unexpected(request, exc)
    return _temporal_unreachable(request, exc)


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return problem_response(500, "something went wrong on our side; it has been logged", "internal-error")


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error, expected or not, as problem+json."""
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(StarletteHTTPException, _http_problem)
    app.add_exception_handler(ProblemError, _raised_problem)
    app.add_exception_handler(RPCError, _temporal_unreachable)
    app.add_exception_handler(RuntimeError, _temporal_never_reached)
    app.add_exception_handler(Exception, _unexpected)
