"""What route handlers are given: the Temporal door and the store's read side."""

from typing import Annotated

from fastapi import Depends, Request

from activities.menu_store import MenuStore
from activities.order_store import OrderStore
from api.order_workflows import OrderWorkflows


def _workflows(request: Request) -> OrderWorkflows:
    return request.app.state.workflows


def _orders(request: Request) -> OrderStore:
    return request.app.state.orders


def _menu(request: Request) -> MenuStore:
    return request.app.state.menu


WorkflowsDep = Annotated[OrderWorkflows, Depends(_workflows)]
OrderStoreDep = Annotated[OrderStore, Depends(_orders)]
MenuDep = Annotated[MenuStore, Depends(_menu)]
