"""Errors as application/problem+json (RFC 9457): type, title, status, detail."""

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.gateway import (
    AnotherDriversDelivery,
    IdempotencyConflict,
    OrderClosed,
    OrderNotFound,
    StepRefused,
    Unavailable,
)
from api.json_body import UnreadableBody

log = logging.getLogger("pizzeria.api")
PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = "5"
# A route's `responses` table as FastAPI takes it: what each status (or "default") answers, for the OpenAPI document.
Responses = dict[int | str, dict[str, Any]]


class FieldProblem(BaseModel):
    field: str = Field(description="Where: `pizzas[0].quantity`, `header idempotency-key`, or `body` for all of it")
    message: str


class Problem(BaseModel):
    """An error answer (RFC 9457), as application/problem+json."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = Field(
        default=None, description="A malformed request (422): each thing that is wrong, and where"
    )
    order_id: str | None = Field(default=None, description="The order the problem is about, where there is one")


class ProblemError(Exception):
    """Raised by handlers to answer with a problem."""

    def __init__(
        self, status: int, detail: str, slug: str | None = None, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.slug, self.headers, self.extra = status, detail, slug, headers, extra


def problem_response(
    status: int, detail: str, slug: str | None = None, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    if status == 503:  # every outage says when to come back
        headers = {"Retry-After": RETRY_AFTER_SECONDS, **(headers or {})}
    body = {
        "type": f"/problems/{slug}" if slug else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _path(parts: list[Any]) -> str:
    """`pizzas[0].quantity`: names joined by dots, list positions in brackets."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _field(loc: tuple[Any, ...]) -> str:
    """Where a validation error is: `pizzas[0].size`, `header idempotency-key`, or `body` for the whole body."""
    source, *path = loc or ("body",)
    known = source in ("body", "query", "path", "header")
    where = _path(path if known else list(loc))
    return f"header {where}" if source == "header" else where or str(source)


def _field_problem(error: dict[str, Any]) -> dict[str, str]:
    if error.get("type") == "json_invalid":  # its loc holds the character where the JSON broke
        reason = (error.get("ctx") or {}).get("error", "")
        return {"field": "body", "message": f"not valid JSON ({reason}, at character {error['loc'][-1]})"}
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return {"field": _field(tuple(error.get("loc", ()))), "message": message}


def _inside(loc: tuple[Any, ...], other: tuple[Any, ...]) -> bool:
    return len(other) > len(loc) and other[: len(loc)] == loc


def _validation_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    found = exc.errors()
    locs = [tuple(e.get("loc", ())) for e in found]
    # pydantic counts only the items that passed: one bad pizza of one also reads "pizzas: at least 1 item".
    errors = [
        _field_problem(e)
        for e, loc in zip(found, locs, strict=True)
        if not (e.get("type") == "too_short" and any(_inside(loc, other) for other in locs))
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem_response(422, detail, "invalid-request", errors=errors)


def _http_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.__cause__ is not None:
        # FastAPI could not read the body as JSON at all: a malformed body, which the contract answers with 422.
        message = str(exc.__cause__) if isinstance(exc.__cause__, UnreadableBody) else "cannot be read as JSON"
        errors = [{"field": "body", "message": message}]
        return problem_response(422, f"body: {message}", "invalid-request", errors=errors)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).description
    return problem_response(exc.status_code, detail, headers=exc.headers)


def _raised_problem(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.status, exc.detail, exc.slug, exc.headers, **exc.extra)


def _order_problem(_: Request, exc: Exception) -> JSONResponse:
    """What the order system said, as the contract answers it."""
    if isinstance(exc, OrderNotFound):
        shown = exc.order_id if len(exc.order_id) <= 64 else f"{exc.order_id[:64]}…"
        return problem_response(404, f"there is no order {shown}", "unknown-order")
    if isinstance(exc, OrderClosed | StepRefused):
        return problem_response(409, str(exc), "not-allowed", order_id=exc.order_id)
    if isinstance(exc, IdempotencyConflict):
        return problem_response(409, str(exc), "idempotency-conflict")
    if isinstance(exc, AnotherDriversDelivery):
        return problem_response(403, str(exc), "another-drivers-delivery", order_id=exc.order_id)
    assert isinstance(exc, Unavailable)
    if exc.order_id:
        return problem_response(503, exc.detail, "unavailable", order_id=exc.order_id)
    return problem_response(503, exc.detail, "unavailable")


def _database_unreachable(_: Request, exc: Exception) -> JSONResponse:
    log.warning("the database is unreachable: %s", getattr(exc, "orig", None) or exc)
    detail = "the shop's database is unreachable; try again shortly"
    return problem_response(503, detail, "unavailable", {"Retry-After": RETRY_AFTER_SECONDS})


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return problem_response(500, "something went wrong on our side; it has been logged", "internal-error")


PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}
ERROR_HEADERS = {
    "401": {"WWW-Authenticate": {"description": "Bearer", "required": True, "schema": {"type": "string"}}},
    "503": {"Retry-After": {"description": "Seconds to wait", "required": True, "schema": {"type": "string"}}},
}


def _document_problems(document: dict[str, Any]) -> None:
    """Say in the OpenAPI document what every route does: errors come as problem+json (FastAPI would say
    application/json), with their headers, and a route that takes a body refuses one over its size limit."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                responses.setdefault("413", {"description": "The body is over the size limit of this route"})
            for status, response in responses.items():
                if status[0] not in "45":
                    continue
                schema = response.get("content", {}).get("application/json", {}).get("schema", PROBLEM_SCHEMA)
                if schema.get("$ref", "").endswith("/HTTPValidationError"):  # FastAPI's own 422
                    schema = PROBLEM_SCHEMA
                response["content"] = {PROBLEM_JSON: {"schema": schema}}
                if status in ERROR_HEADERS:
                    response["headers"] = {**response.get("headers", {}), **ERROR_HEADERS[status]}
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    if "Problem" not in schemas:
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}), Problem=problem)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error, expected or not, as problem+json, and document them so."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document_problems(generate())
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(StarletteHTTPException, _http_problem)
    app.add_exception_handler(ProblemError, _raised_problem)
    gateway_errors = (OrderNotFound, OrderClosed, StepRefused, IdempotencyConflict, AnotherDriversDelivery, Unavailable)
    for gateway_error in gateway_errors:
        app.add_exception_handler(gateway_error, _order_problem)
    # A database that cannot be reached (or whose connections are all taken) is an outage, not a bug.
    app.add_exception_handler(OperationalError, _database_unreachable)
    app.add_exception_handler(PoolTimeout, _database_unreachable)
    app.add_exception_handler(Exception, _unexpected)
