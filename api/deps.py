"""What route handlers are given: the gateway to Temporal and the store's read side."""

import logging
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import SQLAlchemyError

from activities.store.menu import MenuStore
from activities.store.orders import OrderStore
from api.admission import Admission
from api.gateway import OrderGateway
from domain.menu import Menu

log = logging.getLogger("pizzeria.api")


class RecentMenu:
    """The menu as read at most a few seconds ago, to describe new orders without a database read each.

    Only for what ops read in Temporal: the workflow prices every order from the database itself.
    """

    def __init__(self, store: MenuStore, max_age_seconds: float = 5.0) -> None:
        self._store, self._max_age = store, max_age_seconds
        self._menu: Menu | None = None
        self._read_at: float | None = None  # when it was last asked for, read or not

    async def get(self) -> Menu | None:
        """The menu, or None while the database cannot be read: orders are then described without a total."""
        if self._read_at is None or time.monotonic() - self._read_at > self._max_age:
            self._read_at = time.monotonic()  # also after a failure: ask again in a while, not on every order
            try:
                self._menu = await run_in_threadpool(self._store.load)
            except SQLAlchemyError as err:
                log.warning("the menu cannot be read (%s); new orders are described without a total", err)
        return self._menu

    def forget(self) -> None:
        """The menu has changed here: read it again next time."""
        self._read_at = None


async def _gateway(request: Request) -> OrderGateway:
    return request.app.state.gateway


async def _orders(request: Request) -> OrderStore:
    return request.app.state.orders


async def _menu(request: Request) -> MenuStore:
    return request.app.state.menu


GatewayDep = Annotated[OrderGateway, Depends(_gateway)]
OrderStoreDep = Annotated[OrderStore, Depends(_orders)]


async def _recent_menu(request: Request) -> RecentMenu:
    return request.app.state.recent_menu


MenuDep = Annotated[MenuStore, Depends(_menu)]
RecentMenuDep = Annotated[RecentMenu, Depends(_recent_menu)]


def _admission(request: Request) -> Admission:
    return request.app.state.admission


AdmissionDep = Annotated[Admission, Depends(_admission)]
