"""Keyset cursors of the paged lists: an opaque place in a list ordered newest first by (placed_at, id)."""

import base64
import json
import uuid
from datetime import datetime

from api.problems import ProblemError


def cursor_after(place: tuple[datetime, str]) -> str:
    """The cursor of the place after an order (its placed_at and id)."""
    return base64.urlsafe_b64encode(json.dumps([place[0].isoformat(), place[1]]).encode()).decode().rstrip("=")


def place_of(cursor: str) -> tuple[datetime, str]:
    """The place in the list a cursor stands for; 422 when it is not one this API gave."""
    try:
        moment, order_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(moment), str(uuid.UUID(order_id))
    except (ValueError, TypeError):
        raise ProblemError(
            422, "cursor: not a cursor this API gave; pass next_cursor of the previous page", "invalid-cursor"
        ) from None
