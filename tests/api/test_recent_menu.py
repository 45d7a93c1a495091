"""New orders are described from a recent menu; a database that cannot be read never stops an order."""

from sqlalchemy.exc import OperationalError

from api.deps import RecentMenu
from domain.menu import SEED_PIZZAS, SEED_TOPPINGS, Menu

MENU = Menu.of(SEED_PIZZAS, SEED_TOPPINGS)


class Store:
    def __init__(self) -> None:
        self.reads, self.down = 0, False

    def load(self) -> Menu:
        self.reads += 1
        if self.down:
            raise OperationalError("SELECT", {}, Exception("database is locked"))
        return MENU


async def test_the_menu_is_read_once_while_it_is_recent_and_again_after_a_change():
    store = Store()
    recent = RecentMenu(store, max_age_seconds=60)  # type: ignore[arg-type]
    assert await recent.get() is MENU and await recent.get() is MENU
    assert store.reads == 1
    recent.forget()
    await recent.get()
    assert store.reads == 2


async def test_a_database_that_cannot_be_read_gives_the_last_menu_or_none_and_is_not_asked_on_every_order():
    store = Store()
    store.down = True
    recent = RecentMenu(store, max_age_seconds=60)  # type: ignore[arg-type]
    assert await recent.get() is None and await recent.get() is None
    assert store.reads == 1
    store.down = False
    stale = RecentMenu(store, max_age_seconds=0)  # type: ignore[arg-type]
    assert await stale.get() is MENU
    store.down = True
    assert await stale.get() is MENU  # the last menu read still describes new orders
