"""localstripe (a stateful fake Stripe) on 127.0.0.1, with a recorder and a fault injector in front.

localstripe ignores idempotency keys, so the recorder keeps every request's `Idempotency-Key`
for tests to compare across retried attempts. Control endpoints:

- `GET /_peer/requests`: every `/v1/` request seen: method, path, idempotency key, form, status.
- `POST /_peer/faults` `{"method", "path", "order_id", "answers": [500, 429, 401, "lost", {"status": 400,
  "code": "charge_already_refunded"}, ...]}`:
  the next requests with that method and path, carrying that order id in their metadata, get
  these answers in turn. A number answers that status with a Stripe-shaped
  error before the request reaches localstripe; "lost" lets localstripe act, then answers 500,
  as when a response is lost on the way back. "timeout" holds the request and never passes it on
  nor answers it (the client's own timeout ends the wait), as when Stripe cannot be reached;
  "lost-timeout" lets localstripe act, then never answers, as when the answer is lost in a
  network that hangs. Their requests are recorded with the status "timeout".

Lists of PaymentIntents come newest first, as Stripe's do (localstripe's own come oldest first).
"""

import argparse
import asyncio
from urllib.parse import parse_qsl

import localstripe.resources
from aiohttp import web

# Keep state in memory only: localstripe otherwise reads and writes /tmp/localstripe.pickle.
localstripe.resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
localstripe.resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]

from localstripe.server import app  # noqa: E402 - after the store is kept off the disk

_list_intents = localstripe.resources.PaymentIntent._api_list_all.__func__  # type: ignore[attr-defined]


def _newest_first(cls, url, **kwargs):  # type: ignore[no-untyped-def]
    listed = _list_intents(cls, url, **kwargs)
    listed._list.reverse()  # the store keeps them in the order they were made
    return listed


localstripe.resources.PaymentIntent._api_list_all = classmethod(_newest_first)  # type: ignore[method-assign,assignment]

_new_intent = localstripe.resources.PaymentIntent.__init__


def _allowed_types(self, allowed_payment_method_types=None, **kwargs):  # type: ignore[no-untyped-def]
    # localstripe speaks an API version from before Stripe renamed this parameter (endive refuses the old name).
    if allowed_payment_method_types is not None:
        kwargs["payment_method_types"] = allowed_payment_method_types
    _new_intent(self, **kwargs)


localstripe.resources.PaymentIntent.__init__ = _allowed_types  # type: ignore[method-assign]

requests: list[dict] = []
faults: list[dict] = []
# Longer than any client waits: a held request is, for it, never answered.
HOLD_SECONDS = 3600
ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 402: "card_error", 429: "rate_limit_error"}


def _next_fault(request: web.Request, form: dict[str, str]) -> int | str | None:
    for fault in faults:
        matches = (fault["method"], fault["path"], fault["order_id"]) == (
            request.method, request.path, form.get("metadata[order_id]")
        )  # fmt: skip
        if matches and fault["answers"]:
            return fault["answers"].pop(0)
    return None


def _error(status: int, code: str | None = None) -> web.Response:
    kind = ERROR_TYPES.get(status, "api_error")
    body = {"error": {"type": kind, "message": f"injected fault: {status} {code or ''}".strip(), "code": code}}
    return web.json_response(body, status=status)


@web.middleware
async def peer(request: web.Request, handler):  # type: ignore[no-untyped-def]
    if request.path == "/_peer/health":
        return web.json_response({"ok": True})
    if request.path == "/_peer/requests":
        return web.json_response(requests)
    if request.path == "/_peer/faults":
        faults.append(await request.json())
        return web.json_response(faults)
    if not request.path.startswith("/v1/"):
        return await handler(request)
    seen = {
        "method": request.method,
        "path": request.path,
        "idempotency_key": request.headers.get("Idempotency-Key"),
        "form": dict(parse_qsl(await request.text())),
    }
    requests.append(seen)
    fault = _next_fault(request, seen["form"])
    if fault == "timeout":
        seen["status"] = "timeout"
        await asyncio.sleep(HOLD_SECONDS)
        return _error(504)
    if isinstance(fault, int):
        seen["status"] = fault
        return _error(fault)
    if isinstance(fault, dict):  # {"status": 400, "code": "charge_already_refunded"}
        seen["status"] = fault["status"]
        return _error(fault["status"], fault.get("code"))
    response = await handler(request)
    seen["status"] = response.status
    if fault == "lost":
        seen["status"] = 500
        return _error(500)
    if fault == "lost-timeout":
        seen["status"] = "timeout"
        await asyncio.sleep(HOLD_SECONDS)
    return response


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app.middlewares.insert(0, peer)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None, shutdown_timeout=0.5)


if __name__ == "__main__":
    main()
