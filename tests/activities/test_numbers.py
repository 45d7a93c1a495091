"""The manager's numbers and a customer's history, from orders stored with known moments, on SQLite and PostgreSQL."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from activities.store.numbers import KitchenDay, Spread
from activities.store.orders import ORDER_JSON, OrderStore
from activities.store.schema import downgrade, migrate
from activities.store.tables import OrderLineRow, OrderRow, utc
from domain.menu import SEED_PIZZAS, SEED_TOPPINGS, LineRequest, Menu
from domain.order import Customer, Order, OrderStatus, PaymentMethod
from domain.pricing import Fulfilment

S = OrderStatus
MENU = Menu.of(SEED_PIZZAS, SEED_TOPPINGS)
ANN, BOB = "+15551230001", "+15551230002"
SLA = 2700  # 45 minutes
MAY_1, MAY_2 = date(2024, 5, 1), date(2024, 5, 2)
# The orders table as the release before 0002_order_facts had it.
BEFORE = sa.table(
    "orders",
    *(sa.column(name, sa.String()) for name in ("id", "status", "fulfilment", "payment_method", "snapshot")),
    sa.column("total", sa.Numeric(10, 2)),
    *(sa.column(name, sa.DateTime(timezone=True)) for name in ("placed_at", "finished_at")),
)
NO_CANCELS = {"received": 0, "confirmed": 0, "preparing": 0, "out_for_delivery": 0}
ONE_MARGHERITA = (LineRequest("margherita", "large"),)


@pytest.fixture
def orders(engine: Engine) -> OrderStore:
    return OrderStore(engine)


def may(day: int, hh_mm: str, seconds: int = 0) -> datetime:
    hours, minutes = (int(part) for part in hh_mm.split(":"))
    return datetime(2024, 5, day, hours, minutes, seconds, tzinfo=UTC)


def placed(
    order_id: str,
    at: datetime,
    lines: tuple[LineRequest, ...] = ONE_MARGHERITA,
    phone: str = ANN,
    fulfilment: Fulfilment = Fulfilment.DELIVERY,
) -> Order:
    customer = Customer("Ann Example", phone, "1 Main Street, Springfield")
    return Order.place(order_id, customer, fulfilment, MENU.price_lines(lines), PaymentMethod.CARD, at)


def cooked(order_id: str, confirmed: datetime, ready: datetime | None, **placing) -> Order:  # type: ignore[no-untyped-def]
    """An order confirmed at `confirmed` and, when given, ready at `ready` (preparing in between)."""
    order = placed(order_id, confirmed - timedelta(minutes=1), **placing)
    order.confirm(confirmed)
    if ready is not None:
        order.advance(S.PREPARING, confirmed + (ready - confirmed) / 2, "chef")
        order.advance(S.READY, ready, "chef")
    return order


def completed(order_id: str, at: datetime, **placing) -> Order:  # type: ignore[no-untyped-def]
    """Confirmed 40 minutes before `at`, ready 20 minutes before, handed over at `at`."""
    order = cooked(order_id, at - timedelta(minutes=40), at - timedelta(minutes=20), **placing)
    order.advance(S.COMPLETED, at, "chef")
    return order


def delivered(order_id: str, picked_up: datetime, at: datetime) -> Order:
    order = cooked(order_id, picked_up - timedelta(minutes=30), picked_up - timedelta(minutes=5))
    order.pick_up(picked_up, "dino")
    order.deliver(at, "dino")
    return order


def save_all(orders: OrderStore, *made: Order) -> None:
    for order in made:
        orders.save(order)


# --- the kitchen's numbers ---------------------------------------------------------------------------------------


def test_a_day_without_orders_has_nothing_to_measure(orders: OrderStore) -> None:
    orders.save(completed("other-day", may(1, "12:00")))

    assert orders.kitchen(MAY_2, SLA) == KitchenDay(
        day=MAY_2,
        orders_completed=0,
        prep_minutes=Spread(None, None),
        ready_late_share=None,
        cancelled_by_stage=NO_CANCELS,
        top_pizzas=[],
        delivery_minutes=Spread(None, None),
    )


def test_an_order_confirmed_before_midnight_and_ready_after_it_counts_its_prep_on_the_second_day(
    orders: OrderStore,
) -> None:
    orders.save(cooked("overnight", may(1, "23:50"), may(2, "00:20")))

    assert orders.kitchen(MAY_1, SLA).prep_minutes == Spread(None, None)
    assert orders.kitchen(MAY_2, SLA).prep_minutes == Spread(30.0, 30.0)


def test_orders_ready_but_not_yet_completed_count_in_the_prep_time_and_not_as_completed(orders: OrderStore) -> None:
    save_all(
        orders,
        cooked("waiting-for-a-driver", may(1, "12:00"), may(1, "12:10")),
        cooked("waiting-at-the-counter", may(1, "12:00"), may(1, "12:20"), fulfilment=Fulfilment.PICKUP),
        cooked("still-in-the-oven", may(1, "12:00"), None),
    )

    numbers = orders.kitchen(MAY_1, SLA)

    assert numbers.prep_minutes == Spread(10.0, 20.0)
    assert numbers.orders_completed == 0
    assert numbers.top_pizzas == []


def test_prep_percentiles_are_the_nearest_rank_values_in_minutes_with_one_decimal(orders: OrderStore) -> None:
    # Sorted: 7, 12.5, 18, 31 minutes. p50: rank ceil(0.5 * 4) = 2; p90: rank ceil(0.9 * 4) = 4.
    for n, seconds in enumerate([31 * 60, 7 * 60, 12 * 60 + 30, 18 * 60]):
        orders.save(cooked(f"o{n}", may(1, "10:00"), may(1, "10:00") + timedelta(seconds=seconds)))

    assert orders.kitchen(MAY_1, SLA).prep_minutes == Spread(12.5, 31.0)


def test_with_ten_prep_times_p50_is_the_fifth_and_p90_the_ninth(orders: OrderStore) -> None:
    for minutes in range(1, 11):
        orders.save(cooked(f"o{minutes}", may(1, "10:00"), may(1, "10:00") + timedelta(minutes=minutes * 3)))

    assert orders.kitchen(MAY_1, SLA).prep_minutes == Spread(15.0, 27.0)


def test_minutes_are_rounded_half_up_to_one_decimal(orders: OrderStore) -> None:
    orders.save(cooked("a", may(1, "10:00"), may(1, "10:12", seconds=3)))  # 12.05 minutes

    assert orders.kitchen(MAY_1, SLA).prep_minutes == Spread(12.1, 12.1)


def test_the_late_share_counts_orders_ready_after_more_than_the_kitchen_sla(orders: OrderStore) -> None:
    save_all(
        orders,
        cooked("quick", may(1, "10:00"), may(1, "10:30")),
        cooked("just-in-time", may(1, "10:00"), may(1, "10:45")),  # exactly the SLA: not late
        cooked("a-second-late", may(1, "10:00"), may(1, "10:45", seconds=1)),
        cooked("an-hour", may(1, "10:00"), may(1, "11:00")),
        cooked("not-ready-yet", may(1, "10:00"), None),  # nothing to measure yet
    )

    assert orders.kitchen(MAY_1, SLA).ready_late_share == 0.5
    assert orders.kitchen(MAY_1, 3600).ready_late_share == 0.0
    assert orders.kitchen(MAY_1, 60).ready_late_share == 1.0


def test_the_late_share_has_three_decimals(orders: OrderStore) -> None:
    save_all(
        orders,
        cooked("late", may(1, "10:00"), may(1, "11:00")),
        cooked("quick-1", may(1, "10:00"), may(1, "10:20")),
        cooked("quick-2", may(1, "10:00"), may(1, "10:20")),
    )

    assert orders.kitchen(MAY_1, SLA).ready_late_share == 0.333


def test_orders_completed_are_those_finished_completed_that_utc_day(orders: OrderStore) -> None:
    save_all(
        orders,
        completed("before-midnight", may(1, "23:59", seconds=59)),
        completed("at-midnight", may(2, "00:00")),
        completed("in-the-afternoon", may(2, "15:00")),
        cooked("ready-only", may(2, "10:00"), may(2, "10:20")),
    )

    assert orders.kitchen(MAY_1, SLA).orders_completed == 1
    assert orders.kitchen(MAY_2, SLA).orders_completed == 2


def test_cancellations_of_the_day_are_counted_by_the_status_they_were_cancelled_from(orders: OrderStore) -> None:
    received = placed("received", may(1, "10:00"))
    received.cancel(may(1, "10:01"), "customer", None, None)
    confirmed_1 = cooked("confirmed-1", may(1, "10:00"), None)
    confirmed_1.cancel(may(1, "10:05"), "customer", "changed my mind", "re_1")
    confirmed_2 = cooked("confirmed-2", may(1, "11:00"), None)
    confirmed_2.note(may(1, "11:01"), "system", "the confirmation text could not be sent")
    confirmed_2.cancel(may(1, "11:05"), "staff", None, "re_2")
    confirmed_2.note(may(1, "11:06"), "system", "the cancellation text could not be sent")
    preparing = cooked("preparing", may(1, "12:00"), None)
    preparing.advance(S.PREPARING, may(1, "12:05"), "chef")
    preparing.cancel(may(1, "12:10"), "staff", "oven broke", "re_3")
    failed = cooked("failed-delivery", may(1, "12:00"), may(1, "12:20"))
    failed.pick_up(may(1, "12:30"), "dino")
    failed.fail_delivery("nobody home")
    failed.cancel(may(1, "13:00"), "dino", "nobody home", "re_4")
    yesterday = cooked("yesterday", may(1, "00:00") - timedelta(hours=1), None)
    yesterday.cancel(may(1, "00:00") - timedelta(microseconds=1), "customer", None, "re_5")
    save_all(orders, received, confirmed_1, confirmed_2, preparing, failed, yesterday)

    assert orders.kitchen(MAY_1, SLA).cancelled_by_stage == {
        "received": 1,
        "confirmed": 2,
        "preparing": 1,
        "out_for_delivery": 1,
    }


def test_top_pizzas_sum_the_quantities_of_the_days_completed_orders_highest_first_then_by_name(
    orders: OrderStore,
) -> None:
    def lines(*pairs: tuple[str, int]) -> tuple[LineRequest, ...]:
        return tuple(LineRequest(name, "small" if n % 2 else "large", (), n) for name, n in pairs)

    save_all(
        orders,
        completed("a", may(1, "12:00"), lines=lines(("margherita", 3), ("diavola", 2))),
        completed("b", may(1, "13:00"), lines=lines(("diavola", 1), ("hawaiian", 4), ("pepperoni", 1))),
        completed("c", may(1, "14:00"), lines=lines(("vegetariana", 2), ("quattro_formaggi", 1))),
        completed("next-day", may(2, "00:00"), lines=lines(("pepperoni", 10))),
        cooked("not-completed", may(1, "12:00"), may(1, "12:20"), lines=lines(("pepperoni", 10))),
    )
    cancelled = cooked("cancelled", may(1, "12:00"), None, lines=lines(("quattro_formaggi", 10)))
    cancelled.cancel(may(1, "12:30"), "customer", None, "re_1")
    orders.save(cancelled)

    # diavola 3 and margherita 3 tie (name decides); vegetariana 2; pepperoni and quattro_formaggi 1: top 5
    assert orders.kitchen(MAY_1, SLA).top_pizzas == [
        ("hawaiian", 4),
        ("diavola", 3),
        ("margherita", 3),
        ("vegetariana", 2),
        ("pepperoni", 1),
    ]


def test_an_order_saved_at_every_step_counts_its_pizzas_once(orders: OrderStore) -> None:
    order = placed("steps", may(1, "11:00"), lines=(LineRequest("diavola", "medium", ("olives",), 2),))
    orders.save(order)
    order.confirm(may(1, "11:01"))
    orders.save(order)
    orders.save(order)  # a step retried
    for status, at in ((S.PREPARING, "11:05"), (S.READY, "11:20"), (S.COMPLETED, "11:30")):
        order.advance(status, may(1, at), "chef")
        orders.save(order)
    orders.save(order)

    assert orders.kitchen(MAY_1, SLA).top_pizzas == [("diavola", 2)]


def test_delivery_minutes_run_from_pickup_to_delivery_for_orders_delivered_that_day(orders: OrderStore) -> None:
    save_all(
        orders,
        delivered("quick", may(1, "12:00"), may(1, "12:10")),
        delivered("slow", may(1, "18:00"), may(1, "18:40")),
        delivered("over-midnight", may(1, "23:45"), may(2, "00:05")),  # counts on May 2
        completed("kitchen-handed-it-over", may(1, "13:00")),  # no driver: nothing to measure
    )
    out = cooked("still-out", may(1, "19:00"), may(1, "19:20"))
    out.pick_up(may(1, "19:30"), "dino")
    orders.save(out)

    assert orders.kitchen(MAY_1, SLA).delivery_minutes == Spread(10.0, 40.0)
    assert orders.kitchen(MAY_2, SLA).delivery_minutes == Spread(20.0, 20.0)
    assert orders.kitchen(MAY_1, SLA).orders_completed == 3


def test_the_last_day_of_the_calendar_is_a_day_like_any_other(orders: OrderStore) -> None:
    numbers = orders.kitchen(date.max, SLA)

    assert (numbers.orders_completed, numbers.prep_minutes, numbers.top_pizzas) == (0, Spread(None, None), [])


def test_a_busy_days_numbers_come_back_as_a_few_small_answers_counted_by_the_database(
    engine: Engine, orders: OrderStore
) -> None:
    for n in range(60):
        orders.save(completed(f"o{n}", may(1, "12:00") + timedelta(minutes=n)))
    statements: list[str] = []

    def seen(_conn, _cursor, statement, _parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        numbers = orders.kitchen(MAY_1, SLA)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)

    assert numbers.orders_completed == 60 and numbers.top_pizzas == [("margherita", 60)]
    # One query a figure (the late share comes with the prep times), none of them reading an order's JSON.
    assert len(statements) == 5
    assert not any("snapshot" in statement for statement in statements)


# --- a customer's history ----------------------------------------------------------------------------------------


def test_a_customers_history_pages_newest_first_to_the_end_and_never_shows_another_customers_orders(
    orders: OrderStore,
) -> None:
    anns = [placed(f"ann-{n}", may(1, "10:00") + timedelta(minutes=n)) for n in range(5)]
    same_moment = [placed(f"ann-same-{c}", may(1, "12:00")) for c in "ab"]  # the id breaks the tie
    bobs = [placed(f"bob-{n}", may(1, "10:00") + timedelta(minutes=n, seconds=30), phone=BOB) for n in range(5)]
    save_all(orders, *anns, *same_moment, *bobs)

    seen, after, pages = [], None, 0
    while True:
        page, after = orders.page([], limit=3, after=after, phone=ANN)
        seen += [order.id for order in page]
        pages += 1
        if after is None:
            break

    assert seen == ["ann-same-b", "ann-same-a", "ann-4", "ann-3", "ann-2", "ann-1", "ann-0"]
    assert pages == 3
    assert orders.page([], limit=20, phone="+15559999999") == ([], None)


def test_an_order_in_the_history_is_the_order_as_last_saved(orders: OrderStore) -> None:
    order = delivered("out-and-back", may(1, "12:00"), may(1, "12:25"))
    orders.save(order)

    [shown], _ = orders.page([], limit=20, phone=ANN)

    assert shown == order
    assert shown.delivery is not None and shown.delivery.driver == "dino"


# --- orders stored before the numbers existed --------------------------------------------------------------------


def test_the_migration_fills_the_facts_and_lines_of_orders_stored_before_it(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    downgrade(url, "0001_initial")
    two_kinds = (LineRequest("pepperoni", "small", (), 2), LineRequest("hawaiian", "large", ("olives",), 1))
    out_and_back = delivered("out-and-back", may(1, "12:00"), may(1, "12:25"))
    failed = cooked("failed", may(1, "12:00"), may(1, "12:20"), phone=BOB)
    failed.pick_up(may(1, "12:30"), "dino")
    failed.fail_delivery("nobody home")
    failed.cancel(may(1, "13:00"), "dino", "nobody home", "re_1")
    kept = [
        completed("counter", may(1, "14:00"), lines=two_kinds),
        out_and_back,
        failed,
        cooked("cooking", may(1, "15:00"), None),
    ]
    with engine.begin() as connection:  # as the release before stored them: its columns only
        connection.execute(
            BEFORE.insert(),
            [
                {
                    "id": order.id,
                    "status": order.status.value,
                    "fulfilment": order.fulfilment.value,
                    "payment_method": order.payment.method.value,
                    "total": order.total,
                    "placed_at": order.placed_at,
                    "finished_at": order.history[-1].at if order.is_final else None,
                    "snapshot": ORDER_JSON.dump_json(order).decode(),
                }
                for order in kept
            ],
        )
    # Written as the JSON of before delivery existed: no "delivery" member at all.
    with engine.begin() as connection:
        old = json.loads(ORDER_JSON.dump_json(kept[0]))
        del old["delivery"]
        connection.execute(BEFORE.update().where(BEFORE.c.id == "counter").values(snapshot=json.dumps(old)))

    migrate(url)

    store = OrderStore(engine)
    numbers = store.kitchen(MAY_1, SLA)
    assert numbers.orders_completed == 2
    assert numbers.prep_minutes == Spread(20.0, 25.0)  # counter 20, out-and-back 25, failed 20
    assert numbers.cancelled_by_stage == NO_CANCELS | {"out_for_delivery": 1}
    assert numbers.top_pizzas == [("pepperoni", 2), ("hawaiian", 1), ("margherita", 1)]
    assert numbers.delivery_minutes == Spread(25.0, 25.0)
    assert [o.id for o in store.page([], limit=20, phone=ANN)[0]] == ["cooking", "counter", "out-and-back"]
    assert [o.id for o in store.page([], limit=20, phone=BOB)[0]] == ["failed"]
    with Session(engine) as session:
        row = session.get(OrderRow, "out-and-back")
        assert row is not None
        assert row.picked_up_at and row.delivered_at
        assert (utc(row.picked_up_at), utc(row.delivered_at)) == (may(1, "12:00"), may(1, "12:25"))
        assert (row.delivery_seconds, row.customer_phone, row.cancelled_from) == (1500, ANN, None)
        lines = session.exec(select(OrderLineRow).where(OrderLineRow.order_id == "counter")).all()
        assert [(line.line_no, line.pizza, line.size, line.quantity) for line in lines] == [
            (1, "pepperoni", "small", 2),
            (2, "hawaiian", "large", 1),
        ]
        assert session.exec(select(func.count()).select_from(OrderLineRow)).one() == 5
