"""The menu and order stores against a real SQLite file and a real PostgreSQL server."""

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError

from activities.store.activities import DATABASE_UNAVAILABLE, StoreActivities
from activities.store.menu import MenuStore
from activities.store.orders import OrderStore
from activities.store.schema import migrate
from activities.store.tables import KitchenTicketRow, OrderRow, make_engine
from domain.menu import SEED_PIZZAS, SEED_TOPPINGS, LineRequest, Menu, OrderLine, Size
from domain.order import Customer, Order, OrderStatus, PaymentMethod, StatusChange
from domain.pricing import Fulfilment
from tests.conftest import free_port

S = OrderStatus
MENU = Menu.of(SEED_PIZZAS, SEED_TOPPINGS)
CUSTOMER = Customer("Luigi Verdi", "+15551234567", "12 Mushroom Lane, Toad Town")
MAY_1 = date(2024, 5, 1)
NOON = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

TWO_LARGE_MARGHERITAS_WITH_BASIL = (LineRequest("margherita", "large", ("basil",), 2),)  # delivered: 39.40
SMALL_MARGHERITA_WITH_OLIVES = (LineRequest("margherita", "small", ("olives",)),)  # picked up: 11.95


@pytest.fixture
def menu(engine: Engine) -> MenuStore:
    return MenuStore(engine)


@pytest.fixture
def orders(engine: Engine) -> OrderStore:
    return OrderStore(engine)


def place(
    order_id: str,
    at: datetime,
    lines: tuple[LineRequest, ...] = TWO_LARGE_MARGHERITAS_WITH_BASIL,
    fulfilment: Fulfilment = Fulfilment.DELIVERY,
) -> Order:
    order = Order.place(order_id, CUSTOMER, fulfilment, MENU.price_lines(lines), PaymentMethod.CARD, at)
    return order


def confirmed(order_id: str, placed_at: datetime) -> Order:
    order = place(order_id, placed_at)
    order.record_payment(f"pi_{order_id}")
    order.confirm(placed_at + timedelta(seconds=30))
    return order


def completed(order_id: str, finished_at: datetime, **placing) -> Order:  # type: ignore[no-untyped-def]
    """An order that went all the way, finishing at `finished_at`."""
    placed_at = finished_at - timedelta(minutes=40)
    order = place(order_id, placed_at, **placing)
    order.confirm(placed_at + timedelta(minutes=1))
    order.advance(S.PREPARING, placed_at + timedelta(minutes=5), "chef")
    order.advance(S.READY, placed_at + timedelta(minutes=25), "chef")
    order.advance(S.COMPLETED, finished_at, "chef")
    return order


def cancelled(order_id: str, finished_at: datetime) -> Order:
    order = confirmed(order_id, finished_at - timedelta(minutes=10))
    order.cancel(finished_at, "customer", "changed my mind", f"re_{order_id}")
    return order


def count_rows(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(table)).one()


# --- the menu ----------------------------------------------------------------------------


def test_a_new_database_offers_the_six_pizzas_and_six_toppings_of_the_contract(menu: MenuStore) -> None:
    loaded = menu.load()

    assert set(loaded.pizzas) == {"margherita", "pepperoni", "quattro_formaggi", "diavola", "vegetariana", "hawaiian"}
    assert set(loaded.toppings) == {"extra_cheese", "mushrooms", "olives", "jalapenos", "basil", "prosciutto"}
    assert all(p.available for p in loaded.pizzas.values())
    assert all(t.available for t in loaded.toppings.values())


def test_the_seed_menu_comes_back_from_the_database_with_exact_decimal_prices(menu: MenuStore) -> None:
    loaded = menu.load()

    margherita = loaded.pizzas["margherita"]
    assert margherita.display_name == "Margherita"
    assert margherita.prices == {
        Size.SMALL: Decimal("9.99"),
        Size.MEDIUM: Decimal("12.99"),
        Size.LARGE: Decimal("15.99"),
    }
    assert all(isinstance(price, Decimal) for price in margherita.prices.values())
    assert str(loaded.toppings["basil"].price) == "0.75"
    assert loaded == MENU


def test_migrating_again_neither_reseeds_nor_undoes_a_managers_change(engine: Engine, menu: MenuStore) -> None:
    menu.update_pizza("hawaiian", available=False)

    migrate(engine.url.render_as_string(hide_password=False))
    migrate(engine.url.render_as_string(hide_password=False))

    loaded = menu.load()
    assert len(loaded.pizzas) == 6
    assert len(loaded.toppings) == 6
    assert loaded.pizzas["hawaiian"].available is False


def test_a_manager_can_take_a_pizza_off_the_menu_and_put_it_back(menu: MenuStore) -> None:
    off = menu.update_pizza("hawaiian", available=False)

    assert off is not None
    assert off.available is False
    assert menu.load().pizzas["hawaiian"].available is False

    back = menu.update_pizza("Hawaiian", available=True)
    assert back is not None
    assert menu.load().pizzas["hawaiian"].available is True


def test_a_manager_can_change_some_prices_of_a_pizza(menu: MenuStore) -> None:
    updated = menu.update_pizza("margherita", prices={Size.LARGE: Decimal("16.49")})

    expected = {Size.SMALL: Decimal("9.99"), Size.MEDIUM: Decimal("12.99"), Size.LARGE: Decimal("16.49")}
    assert updated is not None
    assert updated.prices == expected
    assert menu.load().pizzas["margherita"].prices == expected
    assert updated.available is True


def test_a_manager_can_reprice_and_withdraw_a_topping(menu: MenuStore) -> None:
    updated = menu.update_topping("prosciutto", available=False, price=Decimal("2.95"))

    assert updated is not None
    loaded = menu.load().toppings["prosciutto"]
    assert str(loaded.price) == "2.95"
    assert loaded.available is False
    assert updated == loaded


def test_a_menu_change_outlives_the_process_that_made_it(engine: Engine, menu: MenuStore) -> None:
    menu.update_topping("basil", price=Decimal("0.80"))

    reopened = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        assert MenuStore(reopened).load().toppings["basil"].price == Decimal("0.80")
    finally:
        reopened.dispose()


def test_changing_an_unknown_pizza_or_topping_finds_nothing_and_changes_nothing(menu: MenuStore) -> None:
    before = menu.load()

    assert menu.update_pizza("calzone", available=False, prices={Size.SMALL: Decimal("1.00")}) is None
    assert menu.update_topping("pineapple", available=True, price=Decimal("0.50")) is None
    assert menu.load() == before


# --- orders ------------------------------------------------------------------------------


def test_an_order_read_back_equals_the_order_saved(orders: OrderStore) -> None:
    order = confirmed("order-1", NOON)
    orders.save(order)

    loaded = orders.get("order-1")

    assert loaded == order
    assert loaded.status is S.CONFIRMED
    assert isinstance(loaded.items, tuple)
    assert isinstance(loaded.items[0], OrderLine)
    assert loaded.items[0].toppings == ("basil",)
    assert loaded.items[0].size is Size.LARGE
    assert [str(m) for m in (loaded.subtotal, loaded.tax, loaded.delivery_fee, loaded.total)] == [
        "33.48",
        "2.93",
        "2.99",
        "39.40",
    ]
    assert loaded.payment.transaction_id == "pi_order-1"


def test_times_read_back_are_in_utc(orders: OrderStore) -> None:
    orders.save(confirmed("order-1", NOON))

    loaded = orders.get("order-1")

    moments = [loaded.placed_at, loaded.estimated_ready_at, *(change.at for change in loaded.history)]
    assert all(m.utcoffset() == timedelta(0) for m in moments)
    assert loaded.placed_at == NOON
    assert loaded.history[1] == StatusChange(S.CONFIRMED, NOON + timedelta(seconds=30), "system")


def test_an_unknown_order_is_not_found(orders: OrderStore) -> None:
    assert orders.get("no-such-order") is None


def test_saving_an_order_again_replaces_it_and_the_latest_status_wins(engine: Engine, orders: OrderStore) -> None:
    order = place("order-1", NOON)
    orders.save(order)
    order.confirm(NOON + timedelta(minutes=1))
    orders.save(order)
    orders.save(order)

    assert count_rows(engine, OrderRow) == 1
    loaded = orders.get("order-1")
    assert loaded.status is S.CONFIRMED
    assert [change.status for change in loaded.history] == [S.RECEIVED, S.CONFIRMED]


def test_the_kitchen_queue_holds_only_confirmed_and_preparing_orders_with_a_ticket_oldest_first(
    orders: OrderStore,
) -> None:
    later = confirmed("later", NOON + timedelta(minutes=10))
    earlier = confirmed("earlier", NOON)
    earlier.advance(S.PREPARING, NOON + timedelta(minutes=5), "chef")
    no_ticket = confirmed("no-ticket", NOON - timedelta(hours=1))
    ready = confirmed("ready", NOON - timedelta(hours=2))
    ready.advance(S.PREPARING, NOON - timedelta(hours=1), "chef")
    ready.advance(S.READY, NOON - timedelta(minutes=50), "chef")
    received = place("received", NOON - timedelta(hours=3))
    gone = cancelled("cancelled", NOON - timedelta(hours=4))

    for order in (later, earlier, no_ticket, ready, received, gone):
        orders.save(order)
    for order in (later, earlier, ready, received, gone):
        orders.queue_in_kitchen(order.id, NOON)

    queue = orders.kitchen_queue()

    assert [order.id for order in queue] == ["earlier", "later"]
    assert [order.status for order in queue] == [S.PREPARING, S.CONFIRMED]


def test_the_kitchen_queue_orders_by_the_moment_of_placing_whatever_its_offset(orders: OrderStore) -> None:
    rome = timezone(timedelta(hours=2))
    # 12:00 in Rome is 10:00 UTC: an hour before the other order.
    orders.save(confirmed("utc-eleven", datetime(2024, 5, 1, 11, 0, tzinfo=UTC)))
    orders.save(confirmed("rome-noon", datetime(2024, 5, 1, 12, 0, tzinfo=rome)))
    orders.queue_in_kitchen("utc-eleven", NOON)
    orders.queue_in_kitchen("rome-noon", NOON)

    assert [order.id for order in orders.kitchen_queue()] == ["rome-noon", "utc-eleven"]


def test_queueing_the_same_order_twice_gives_it_one_ticket(engine: Engine, orders: OrderStore) -> None:
    orders.save(confirmed("order-1", NOON))

    orders.queue_in_kitchen("order-1", NOON)
    orders.queue_in_kitchen("order-1", NOON + timedelta(minutes=1))

    assert count_rows(engine, KitchenTicketRow) == 1
    assert [order.id for order in orders.kitchen_queue()] == ["order-1"]


def test_an_order_taken_out_of_the_kitchen_leaves_the_queue_and_taking_it_again_is_harmless(
    orders: OrderStore,
) -> None:
    for order_id, minutes in (("first", 0), ("second", 5)):
        orders.save(confirmed(order_id, NOON + timedelta(minutes=minutes)))
        orders.queue_in_kitchen(order_id, NOON + timedelta(minutes=minutes))

    orders.remove_from_kitchen("first")
    orders.remove_from_kitchen("first")
    orders.remove_from_kitchen("never-queued")

    assert [order.id for order in orders.kitchen_queue()] == ["second"]


# --- the drivers' list ------------------------------------------------------------------


def ready(order_id: str, ready_at: datetime, fulfilment: Fulfilment = Fulfilment.DELIVERY) -> Order:
    """A paid order the kitchen made ready at `ready_at`, placed half an hour before."""
    placed_at = ready_at - timedelta(minutes=30)
    order = place(order_id, placed_at, fulfilment=fulfilment)
    order.confirm(placed_at + timedelta(minutes=1))
    order.advance(S.PREPARING, placed_at + timedelta(minutes=5), "chef")
    order.advance(S.READY, ready_at, "chef")
    return order


def out_with(driver: str, order_id: str, picked_up_at: datetime) -> Order:
    order = ready(order_id, picked_up_at - timedelta(minutes=5))
    order.pick_up(picked_up_at, driver)
    return order


def test_the_recently_ready_are_the_last_orders_made_ready_newest_first_whatever_became_of_them(
    orders: OrderStore,
) -> None:
    handed_over = ready("handed-over", NOON + timedelta(minutes=1), fulfilment=Fulfilment.PICKUP)
    handed_over.advance(S.COMPLETED, NOON + timedelta(minutes=30), "chef")  # completed after the others were ready
    on_the_road = out_with("gino", "on-the-road", NOON + timedelta(minutes=12))  # ready at 12:07
    waiting = ready("waiting", NOON + timedelta(minutes=9))
    oldest = ready("oldest", NOON - timedelta(hours=1))
    in_the_oven = confirmed("in-the-oven", NOON + timedelta(minutes=20))
    in_the_oven.advance(S.PREPARING, NOON + timedelta(minutes=21), "chef")
    never_made = cancelled("never-made", NOON + timedelta(minutes=15))
    for order in (handed_over, on_the_road, waiting, oldest, in_the_oven, never_made):
        orders.save(order)

    recent = orders.recently_ready(3)

    assert [order.id for order in recent] == ["waiting", "on-the-road", "handed-over"]
    assert [order.status for order in recent] == [S.READY, S.OUT_FOR_DELIVERY, S.COMPLETED]
    assert [order.id for order in orders.recently_ready(10)] == ["waiting", "on-the-road", "handed-over", "oldest"]


def test_drivers_see_ready_delivery_orders_by_when_they_became_ready_then_their_own_on_the_road(
    orders: OrderStore,
) -> None:
    # Placed first but ready last: the list goes by the moment an order became ready.
    slow = ready("slow-kitchen", NOON + timedelta(minutes=20))
    slow.placed_at = NOON - timedelta(hours=2)
    for order in (
        slow,
        ready("ready-first", NOON),
        ready("ready-second", NOON + timedelta(minutes=10)),
        ready("a-pickup-order", NOON - timedelta(hours=1), fulfilment=Fulfilment.PICKUP),
        confirmed("still-in-the-kitchen", NOON - timedelta(hours=1)),
        out_with("toad", "toads-later", NOON + timedelta(minutes=30)),
        out_with("toad", "toads-earlier", NOON + timedelta(minutes=15)),
        out_with("yoshi", "yoshis", NOON),
        completed("delivered-already", NOON),
    ):
        orders.save(order)

    listed = orders.deliveries("toad")

    assert [order.id for order in listed] == [
        "ready-first", "ready-second", "slow-kitchen", "toads-earlier", "toads-later"
    ]  # fmt: skip
    assert [order.status for order in listed] == [S.READY] * 3 + [S.OUT_FOR_DELIVERY] * 2
    assert [order.id for order in orders.deliveries("yoshi")][-1] == "yoshis"
    assert [order.id for order in orders.deliveries("nobody")] == ["ready-first", "ready-second", "slow-kitchen"]


def test_an_order_a_driver_delivered_or_failed_leaves_the_drivers_list(orders: OrderStore) -> None:
    delivered = out_with("toad", "delivered", NOON)
    delivered.deliver(NOON + timedelta(minutes=20), "toad")
    failed = out_with("toad", "failed", NOON)
    failed.fail_delivery("nobody at the door")
    failed.cancel(NOON + timedelta(minutes=25), "toad", "nobody at the door", "re_failed")
    for order in (delivered, failed):
        orders.save(order)

    assert orders.deliveries("toad") == []


# --- the day's sales -----------------------------------------------------------------------


def test_the_days_sales_count_completed_and_cancelled_orders_and_sum_the_completed_totals(
    orders: OrderStore,
) -> None:
    # 3 x 39.40 + 11.95 = 130.15; in floating point 39.40 three times is already 118.19999999999999
    assert sum([39.40, 39.40, 39.40]) != 118.20
    for n in range(3):
        orders.save(completed(f"big-{n}", NOON + timedelta(hours=n)))
    orders.save(
        completed("small", NOON + timedelta(hours=4), lines=SMALL_MARGHERITA_WITH_OLIVES, fulfilment=Fulfilment.PICKUP)
    )
    orders.save(cancelled("cancelled-1", NOON + timedelta(minutes=30)))
    orders.save(cancelled("cancelled-2", NOON + timedelta(minutes=45)))
    rejected = place("rejected", NOON)
    rejected.reject(NOON + timedelta(seconds=3), "Your card was declined.")
    orders.save(rejected)
    orders.save(confirmed("still-cooking", NOON))

    sales = orders.sales(MAY_1)

    assert sales.day == MAY_1
    assert sales.completed == 4
    assert sales.cancelled == 2
    assert isinstance(sales.revenue, Decimal)
    assert str(sales.revenue) == "130.15"


def test_a_day_with_no_sales_shows_zero_revenue(orders: OrderStore) -> None:
    orders.save(completed("other-day", NOON))

    sales = orders.sales(date(2024, 5, 2))

    assert (sales.completed, sales.cancelled) == (0, 0)
    assert str(sales.revenue) == "0.00"


def test_orders_finished_either_side_of_midnight_count_on_different_days(orders: OrderStore) -> None:
    midnight = datetime(2024, 5, 2, 0, 0, tzinfo=UTC)
    orders.save(completed("before", midnight - timedelta(seconds=1)))
    orders.save(completed("at-midnight", midnight))
    orders.save(completed("after", midnight + timedelta(seconds=1), lines=SMALL_MARGHERITA_WITH_OLIVES))
    orders.save(cancelled("cancelled-before", midnight - timedelta(microseconds=1)))
    orders.save(completed("first-moment-of-may-1", datetime(2024, 5, 1, 0, 0, tzinfo=UTC)))

    may_1 = orders.sales(MAY_1)
    may_2 = orders.sales(date(2024, 5, 2))

    assert (may_1.completed, may_1.cancelled, str(may_1.revenue)) == (2, 1, "78.80")  # 39.40 + 39.40
    # at-midnight (39.40) + after (9.99 + 1.00 = 10.99, tax 0.96, fee 2.99: 14.94) = 54.34
    assert (may_2.completed, may_2.cancelled, str(may_2.revenue)) == (2, 0, "54.34")


def test_an_order_counts_on_the_day_it_finished_not_the_day_it_was_placed(orders: OrderStore) -> None:
    order = completed("overnight", datetime(2024, 5, 2, 0, 20, tzinfo=UTC))
    assert order.placed_at.date() == MAY_1
    orders.save(order)

    assert orders.sales(MAY_1).completed == 0
    assert orders.sales(date(2024, 5, 2)).completed == 1


def test_the_day_of_a_sale_is_the_utc_day_whatever_the_offset_it_was_recorded_with(orders: OrderStore) -> None:
    new_york = timezone(timedelta(hours=-4))
    # 21:30 on May 1 in New York is 01:30 on May 2 in UTC.
    orders.save(completed("late-evening", datetime(2024, 5, 1, 21, 30, tzinfo=new_york)))

    assert orders.sales(MAY_1).completed == 0
    assert orders.sales(date(2024, 5, 2)).completed == 1


def test_the_last_day_of_the_calendar_is_a_day_like_any_other(orders):
    sales = orders.sales(date.max)
    assert (sales.completed, sales.cancelled, str(sales.revenue)) == (0, 0, "0.00")


def test_a_database_that_cannot_be_reached_fails_the_step_with_one_line_saying_so() -> None:
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres")  # nothing listens
    steps = StoreActivities(OrderStore(engine), MenuStore(engine))
    with pytest.raises(ApplicationError) as refused:
        steps.save_order(confirmed("o-unreachable", NOON))
    assert refused.value.type == DATABASE_UNAVAILABLE and not refused.value.non_retryable
    assert refused.value.message.startswith("the database is unreachable: ")
    assert "\n" not in refused.value.message and refused.value.__cause__ is None


def test_the_store_tells_whether_recent_orders_carry_ids_made_the_old_way_from_a_key(orders):
    now = datetime.now(UTC)
    assert not orders.holds_legacy_orders(now - timedelta(days=90))
    orders.save(confirmed(str(uuid.uuid4()), now))  # a random id, or a keyed one: version 4
    orders.save(confirmed(str(uuid.uuid5(uuid.NAMESPACE_URL, "long ago")), now - timedelta(days=100)))
    assert not orders.holds_legacy_orders(now - timedelta(days=90)), "only old ids placed within the window count"
    orders.save(confirmed(str(uuid.uuid5(uuid.NAMESPACE_URL, "ann-001")), now - timedelta(days=1)))
    assert orders.holds_legacy_orders(now - timedelta(days=90))
