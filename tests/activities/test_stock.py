"""The stock store on a real SQLite file and a real PostgreSQL server: reserving never oversells (threads and
processes racing for the last portions), each step is idempotent per order, and the counts add up."""

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError

from activities.store.stock import StockLevel, StockStore
from activities.store.stock_activities import OUT_OF_STOCK, StockActivities, StockHold, StockRequest
from activities.store.tables import make_engine
from domain.errors import StockShortage
from domain.menu import SEED_TOPPINGS, OrderLine, Size
from domain.stock import SEED_RECIPES
from tests.conftest import database_of_kind

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_of_kind(request.param, request, tmp_path)


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def stock(engine: Engine) -> StockStore:
    return StockStore(engine)


def level(stock: StockStore, name: str) -> StockLevel:
    [found] = stock.levels({name})
    return found


def line(pizza: str, size: str, toppings: tuple[str, ...] = (), quantity: int = 1) -> OrderLine:
    return OrderLine(pizza, Size(size), toppings, quantity, Decimal("9.99"), Decimal("9.99") * quantity)


def test_a_new_shop_tracks_nothing_and_has_every_recipe_and_topping(stock: StockStore) -> None:
    levels = stock.levels()
    expected = {i for recipe in SEED_RECIPES.values() for i in recipe} | {t.name for t in SEED_TOPPINGS}
    assert [lv.ingredient for lv in levels] == sorted(expected)
    assert all(lv == StockLevel(lv.ingredient, False, None, 0, None) for lv in levels)
    assert stock.recipes() == SEED_RECIPES
    assert stock.reserve("any-order", {"mozzarella": 1000, "dough": 1000}) == {}  # nothing tracked: never refused


def test_reserve_takes_only_tracked_ingredients_and_a_repeat_for_the_same_order_takes_nothing_more(
    stock: StockStore,
) -> None:
    stock.set_on_hand("Mozzarella", 5)  # names in any case

    assert stock.reserve("order-1", {"mozzarella": 2, "dough": 1}) == {"mozzarella": 2}
    assert stock.reserve("order-1", {"mozzarella": 2, "dough": 1}) == {"mozzarella": 2}  # a retried activity

    assert level(stock, "mozzarella") == StockLevel("mozzarella", True, 5, 2, 3)
    assert level(stock, "dough") == StockLevel("dough", False, None, 0, None)


def test_a_shortage_reserves_nothing_at_all_and_names_the_ingredient(stock: StockStore) -> None:
    stock.set_on_hand("basil", 10)
    stock.set_on_hand("mozzarella", 1)

    with pytest.raises(StockShortage) as short:
        stock.reserve("order-1", {"basil": 3, "mozzarella": 2})

    assert str(short.value) == "not enough mozzarella in stock: 2 portion(s) needed, 1 left"
    assert level(stock, "basil").reserved == 0  # reserved before mozzarella was found short: rolled back
    assert stock.reserve("order-1", {"basil": 3}) == {"basil": 3}  # nothing was kept for the refused order


def test_release_gives_back_once_and_consume_takes_from_the_shelf_once(stock: StockStore) -> None:
    stock.set_on_hand("mozzarella", 10)
    stock.reserve("kept", {"mozzarella": 3})
    stock.reserve("undone", {"mozzarella": 4})

    assert stock.release("undone") == {"mozzarella": 4}
    assert stock.release("undone") == {}
    assert stock.consume("kept") == {"mozzarella": 3}
    assert stock.consume("kept") == {}
    assert stock.release("kept") == {}  # consumed stays consumed
    assert stock.consume("undone") == {}  # released stays released

    assert level(stock, "mozzarella") == StockLevel("mozzarella", True, 7, 0, 7)


def test_a_count_below_what_orders_hold_is_kept_and_untracking_keeps_the_reservations(
    stock: StockStore, caplog: pytest.LogCaptureFixture
) -> None:
    stock.set_on_hand("ham", 4)
    stock.reserve("order-1", {"ham": 3})
    stock.reserve("order-3", {"ham": 1})

    # Spoilt ham: the shelf holds less than the orders need. The count stands; nothing more is available.
    assert stock.set_on_hand("ham", 2) == StockLevel("ham", True, 2, 4, 0)
    assert "stock of ham counted at 2, below the 4 portion(s) orders not yet preparing hold" in caplog.text
    with pytest.raises(StockShortage, match="not enough ham in stock: 1 portion"):
        stock.reserve("order-4", {"ham": 1})
    assert stock.consume("order-1") == {"ham": 3}
    assert level(stock, "ham") == StockLevel("ham", True, 0, 1, 0)  # consuming never counts below zero
    stock.release("order-3")
    assert stock.set_on_hand("ham", 3) == StockLevel("ham", True, 3, 0, 3)
    stock.reserve("order-1b", {"ham": 3})

    assert stock.set_on_hand("ham", None) == StockLevel("ham", False, None, 3, None)
    assert stock.reserve("order-2", {"ham": 100}) == {}  # untracked: never refuses
    stock.release("order-1b")
    assert level(stock, "ham") == StockLevel("ham", False, None, 0, None)
    assert stock.set_on_hand("truffles", 3) is None


def test_the_menu_follows_what_tracked_stock_can_make_at_the_smallest_size(stock: StockStore) -> None:
    assert stock.menu_stock().make_pizza("pepperoni") and stock.menu_stock().add_topping("olives")

    stock.set_on_hand("pepperoni", 1)
    stock.set_on_hand("olives", 0)
    stock.reserve("order-1", {"pepperoni": 1})
    can = stock.menu_stock()
    assert not can.make_pizza("pepperoni")
    assert can.make_pizza("margherita")
    assert not can.add_topping("olives") and not can.make_pizza("vegetariana")  # olives are in its recipe
    assert can.add_topping("basil")

    stock.release("order-1")
    assert stock.menu_stock().make_pizza("pepperoni")


def test_threads_racing_for_the_last_portions_never_oversell(stock: StockStore) -> None:
    stock.set_on_hand("mozzarella", 3)
    start = threading.Barrier(8)

    def order(number: int) -> str:
        start.wait()
        try:
            stock.reserve(f"order-{number}", {"mozzarella": 1})
            return "reserved"
        except StockShortage as short:
            return str(short)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(order, range(8)))

    assert outcomes.count("reserved") == 3
    assert outcomes.count("not enough mozzarella in stock: 1 portion(s) needed, 0 left") == 5
    assert level(stock, "mozzarella") == StockLevel("mozzarella", True, 3, 3, 0)


def test_two_processes_racing_for_the_last_portion_exactly_one_gets_it(
    stock: StockStore, url: str, tmp_path: Path
) -> None:
    # One race per ingredient: each has one portion left, and both processes go for it at once.
    ingredients = [lv.ingredient for lv in stock.levels()][:12]
    for name in ingredients:
        stock.set_on_hand(name, 1)
    go = tmp_path / "go"
    go.mkdir()
    racers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.activities.stock_racer", url, str(go), racer, *ingredients],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for racer in ("a", "b")
    ]
    for name in ingredients:
        (go / name).touch()  # both waiting on it, polling every millisecond
    outputs = [racer.communicate(timeout=60)[0] for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0]

    results = [json.loads(row) for output in outputs for row in output.splitlines()]
    for name in ingredients:
        race = [r for r in results if r["ingredient"] == name]
        winners = [r for r in race if "reserved" in r]
        losers = [r for r in race if "short" in r]
        assert len(winners) == 1 and winners[0]["reserved"] == {name: 1}, race
        assert [r["short"] for r in losers] == [f"not enough {name} in stock: 1 portion(s) needed, 0 left"]
        assert level(stock, name) == StockLevel(name, True, 1, 1, 0)


def test_reserve_stock_refuses_for_good_naming_the_ingredient_and_warns_when_stock_runs_low(
    stock: StockStore, caplog: pytest.LogCaptureFixture
) -> None:
    steps = StockActivities(stock, low_stock_portions=3)
    stock.set_on_hand("mozzarella", 5)
    two_small_margheritas = StockRequest("order-1", (line("margherita", "small", quantity=2),))

    with caplog.at_level(logging.WARNING, logger="pizzeria.stock"):
        assert steps.reserve_stock(two_small_margheritas) == {"mozzarella": 2}
    assert [r.getMessage() for r in caplog.records] == ["stock of mozzarella is low: 3 portion(s) left"]

    with pytest.raises(ApplicationError) as refused:
        steps.reserve_stock(StockRequest("order-2", (line("margherita", "large", ("basil",), 2),)))
    assert refused.value.type == OUT_OF_STOCK and refused.value.non_retryable
    assert refused.value.message == "not enough mozzarella in stock: 4 portion(s) needed, 3 left"

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pizzeria.stock"):
        steps.consume_stock(StockHold("order-1"))
        steps.release_stock(StockHold("order-1"))  # consumed already: nothing comes back
    assert [r.getMessage() for r in caplog.records] == ["stock of mozzarella is low: 3 portion(s) left"]
    assert level(stock, "mozzarella") == StockLevel("mozzarella", True, 3, 0, 3)


def test_plenty_of_stock_says_nothing(stock: StockStore, caplog: pytest.LogCaptureFixture) -> None:
    stock.set_on_hand("mozzarella", 14)
    with caplog.at_level(logging.WARNING, logger="pizzeria.stock"):
        StockActivities(stock, low_stock_portions=10).reserve_stock(
            StockRequest("order-1", (line("margherita", "small"),))
        )
    assert caplog.records == []
