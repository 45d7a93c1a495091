"""The API with a gateway and a store in memory: router tests that need no Temporal server and no database."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from api.app import create_app
from domain.menu import Menu
from domain.order import Order
from settings import Settings
from tests.api.routers.fake_gateway import FakeGateway
from tests.conftest import ORDER_ID_SECRET, SECRET


@dataclass
class FakeOrders:
    """The store's read side: orders saved when they were confirmed, as the worker would have."""

    saved: dict[str, Order] = field(default_factory=dict)
    drivers_asking: list[str] = field(default_factory=list)

    def get(self, order_id: str) -> Order | None:
        return self.saved.get(order_id)

    def deliveries(self, driver: str) -> list[Order]:
        """The saved orders out with this driver (the real store's ordering is tested with the store)."""
        self.drivers_asking.append(driver)
        return [order for order in self.saved.values() if order.delivery and order.delivery.driver == driver]


class NoRecentMenu:
    async def get(self) -> Menu | None:
        return None


@dataclass
class Shop:
    http: httpx.AsyncClient
    gateway: FakeGateway
    orders: FakeOrders


@pytest.fixture
async def shop(tmp_path) -> AsyncIterator[Shop]:
    settings = Settings(
        jwt_secret=SECRET, order_id_secret=ORDER_ID_SECRET, encryption_keys_file=tmp_path / "no-such.keys"
    )
    app = create_app(settings)
    # What the lifespan would wire, without its Temporal client and database.
    app.state.gateway, app.state.orders, app.state.recent_menu = FakeGateway(), FakeOrders(), NoRecentMenu()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://pizzeria.test") as http:
        yield Shop(http, app.state.gateway, app.state.orders)
