"""Order ids: the customer's capability to read, track and cancel an order, so nobody can guess one.

A new order gets a random UUID. An order placed with an Idempotency-Key gets an id derived from the key with
HMAC-SHA256 under a server-side secret (PIZZERIA_ORDER_ID_SECRET): the same key always names the same order,
and knowing a key (and this source) never yields the id without the secret.
"""

import asyncio
import hashlib
import hmac
import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("pizzeria.api")

# How ids were made from a key before the secret: uuid5 in this namespace. Still looked up while Temporal keeps
# workflows started that way, so a customer repeating a request across the upgrade is not charged twice.
LEGACY_NAMESPACE = uuid.UUID("5f1c2b8e-7d43-4c4e-9a55-3c7f0e6a9d21")
DERIVATION = b"pizzeria order id\x00"


class OrderIds:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def new(self, idempotency_key: str | None) -> str:
        """A random id, or the one an Idempotency-Key always stands for."""
        if idempotency_key is None:
            return str(uuid.uuid4())
        digest = hmac.new(self._secret, DERIVATION + idempotency_key.encode(), hashlib.sha256).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))


def legacy_order_id(idempotency_key: str) -> str:
    """The id a key stood for before ids were keyed: public, so only ever used to find an order placed then."""
    return str(uuid.uuid5(LEGACY_NAMESPACE, idempotency_key))


LegacyMode = Literal["auto", "always", "never"]
# How far back an order placed under an old id still calls for the lookup: Temporal Cloud's longest retention.
LEGACY_WINDOW = timedelta(days=90)
RECHECK_SECONDS = 60.0


class LegacyLookup:
    """Whether a key may still name an order by its old id, which costs a lookup in Temporal per keyed order.

    `always` or `never`; `auto` looks while the store holds an order placed under an old id (a version-5 UUID)
    in the last 90 days, asked again every minute. A new shop, or one past its upgrade, pays nothing.
    """

    def __init__(self, mode: LegacyMode, holds_legacy_orders: Callable[[datetime], bool]) -> None:
        self._mode = mode
        self._holds = holds_legacy_orders
        self._needed = True
        self._checked_at: float | None = None

    async def needed(self) -> bool:
        if self._mode != "auto":
            return self._mode == "always"
        if self._checked_at is None or time.monotonic() - self._checked_at > RECHECK_SECONDS:
            self._checked_at = time.monotonic()  # one query at a time; the others go by the last answer
            try:
                self._needed = await asyncio.to_thread(self._holds, datetime.now(UTC) - LEGACY_WINDOW)
            except SQLAlchemyError as err:
                log.warning("cannot tell whether orders have old ids (%s); looking them up", err)
                self._needed = True
        return self._needed


def order_id_secret(configured: SecretStr | None, file: Path) -> bytes:
    """The configured secret; in development, without one, the one in `file`, made there on first use.

    Made once and kept, so that ids stay the same across restarts and for every process of this checkout.
    (In production the settings refuse to start without PIZZERIA_ORDER_ID_SECRET.)
    """
    if configured is not None:
        return configured.get_secret_value().encode()
    file.parent.mkdir(parents=True, exist_ok=True)
    draft = file.with_name(f".{file.name}.{os.getpid()}")
    draft.write_text(secrets.token_urlsafe(48) + "\n")
    draft.chmod(0o600)
    try:
        os.link(draft, file)  # whole or not at all: a process starting beside this one reads the same secret
        log.warning("made a development order-id secret in %s (set PIZZERIA_ORDER_ID_SECRET in production)", file)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return file.read_text().strip().encode()
