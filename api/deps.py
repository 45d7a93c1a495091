"""What route handlers are given: the Temporal door and the store's read side."""

import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from activities.menu_store import MenuStore
from activities.order_store import OrderStore
from api.order_workflows import OrderWorkflows
from domain.menu import Menu


class RecentMenu:
    """The menu as read at most a few seconds ago, to describe new orders without a database read each.

    Only for what ops read in Temporal: the workflow prices every order from the database itself.
    """

    def __init__(self, store: MenuStore, max_age_seconds: float = 5.0) -> None:
        self._store, self._max_age = store, max_age_seconds
        self._menu: Menu | None = None
        self._read_at = 0.0

    async def get(self) -> Menu:
        if self._menu is None or time.monotonic() - self._read_at > self._max_age:
            self._menu, self._read_at = await run_in_threadpool(self._store.load), time.monotonic()
        return self._menu

    def forget(self) -> None:
        """The menu has changed here: read it again next time."""
        self._menu = None


def _workflows(request: Request) -> OrderWorkflows:
    return request.app.state.workflows


def _orders(request: Request) -> OrderStore:
    return request.app.state.orders


def _menu(request: Request) -> MenuStore:
    return request.app.state.menu


WorkflowsDep = Annotated[OrderWorkflows, Depends(_workflows)]
OrderStoreDep = Annotated[OrderStore, Depends(_orders)]


def _recent_menu(request: Request) -> RecentMenu:
    return request.app.state.recent_menu


MenuDep = Annotated[MenuStore, Depends(_menu)]
RecentMenuDep = Annotated[RecentMenu, Depends(_recent_menu)]
