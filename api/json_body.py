"""Request bodies read as strict JSON: a key given twice, NaN or Infinity is refused, not quietly resolved."""

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


class UnreadableBody(ValueError):
    """A body that is not JSON this API takes; the message says why."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            # Parsers disagree on which value wins; a proxy and the API must never read two different orders.
            raise UnreadableBody(f"the key {key!r} appears more than once in one object")
        seen.add(key)
    return dict(pairs)


def _constant(name: str) -> Any:
    raise UnreadableBody(f"{name} is not a JSON number")


def strict_json(raw: bytes) -> Any:
    """The JSON value of a body; json.JSONDecodeError when it is not JSON, UnreadableBody for the rest."""
    try:
        return json.loads(raw, object_pairs_hook=_object, parse_constant=_constant)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise UnreadableBody("JSON nested too deeply") from None
    except UnicodeDecodeError:
        raise UnreadableBody("not JSON in UTF-8") from None
    except UnreadableBody:
        raise
    except ValueError as err:  # a number of more than 4300 digits
        raise UnreadableBody(f"not JSON this API reads ({err})") from None


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_json(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """A route that reads its body as strict JSON (FastAPI's custom route class)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict
