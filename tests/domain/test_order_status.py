"""The order's status machine: who may move it where, what it records, and what it tells the customer."""

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import product

import pytest

from domain.errors import IllegalTransition, NotYourDelivery
from domain.menu import SEED_PIZZAS, SEED_TOPPINGS, LineRequest, Menu
from domain.messages import cancelled_text, confirmation_text, late_text, ready_text
from domain.order import Customer, Delivery, Order, OrderStatus, PaymentMethod, StatusChange
from domain.pricing import Fulfilment

S = OrderStatus
ORDER_ID = "3f2a9c1e-7b4d-4e8a-9c2f-1a2b3c4d5e6f"
SHORT_ID = "3f2a9c1e"
MENU = Menu.of(SEED_PIZZAS, SEED_TOPPINGS)
CUSTOMER = Customer("Luigi Verdi", "+15551234567", "12 Mushroom Lane, Toad Town")
PLACED_AT = datetime(2024, 6, 1, 18, 0, tzinfo=UTC)

# Section 3 of the contract, written out: every other move is refused.
CONTRACT_MOVES = {
    (S.RECEIVED, S.CONFIRMED),
    (S.RECEIVED, S.REJECTED),
    (S.RECEIVED, S.CANCELLED),
    (S.CONFIRMED, S.PREPARING),
    (S.CONFIRMED, S.CANCELLED),
    (S.PREPARING, S.READY),
    (S.PREPARING, S.CANCELLED),
    (S.READY, S.COMPLETED),
    (S.READY, S.OUT_FOR_DELIVERY),
    (S.OUT_FOR_DELIVERY, S.COMPLETED),
    (S.OUT_FOR_DELIVERY, S.CANCELLED),
}

# The public way to reach each status, and how to get an order into it from `received`.
ROUTE_TO = {
    S.RECEIVED: [],
    S.CONFIRMED: [S.CONFIRMED],
    S.PREPARING: [S.CONFIRMED, S.PREPARING],
    S.READY: [S.CONFIRMED, S.PREPARING, S.READY],
    S.OUT_FOR_DELIVERY: [S.CONFIRMED, S.PREPARING, S.READY, S.OUT_FOR_DELIVERY],
    S.COMPLETED: [S.CONFIRMED, S.PREPARING, S.READY, S.COMPLETED],
    S.CANCELLED: [S.CONFIRMED, S.CANCELLED],
    S.REJECTED: [S.REJECTED],
}


def place(quantity: int = 2, fulfilment: Fulfilment = Fulfilment.DELIVERY, order_id: str = ORDER_ID) -> Order:
    lines = MENU.price_lines([LineRequest("margherita", "large", ("basil",), quantity)])
    return Order.place(order_id, CUSTOMER, fulfilment, lines, PaymentMethod.CARD, PLACED_AT)


def move(order: Order, status: OrderStatus, at: datetime) -> None:
    """Ask for a status through the method a caller would use for it."""
    if status is S.CONFIRMED:
        order.confirm(at)
    elif status is S.REJECTED:
        order.reject(at, "card declined")
    elif status is S.OUT_FOR_DELIVERY:
        order.pick_up(at, "driver-toad")
    elif status is S.COMPLETED and order.status is S.OUT_FOR_DELIVERY:
        order.deliver(at, "driver-toad")
    elif status is S.CANCELLED and order.status is S.OUT_FOR_DELIVERY:
        order.fail_delivery("nobody home")
        order.cancel(at, "driver-toad", "nobody home", "re_123")
    elif status is S.CANCELLED:
        order.cancel(at, "customer", "changed my mind", "re_123")
    else:
        order.advance(status, at, "chef-mario")


def order_in(status: OrderStatus) -> Order:
    order = place()
    for minutes, step in enumerate(ROUTE_TO[status], start=1):
        move(order, step, PLACED_AT + timedelta(minutes=minutes))
    assert order.status is status
    return order


ALL_PAIRS = list(product(OrderStatus, OrderStatus))


@pytest.mark.parametrize(
    ("current", "requested"),
    [pair for pair in ALL_PAIRS if pair in CONTRACT_MOVES],
    ids=lambda s: s.value,
)
def test_an_allowed_move_changes_the_status_and_records_it(current: OrderStatus, requested: OrderStatus) -> None:
    order = order_in(current)
    at = PLACED_AT + timedelta(hours=1)
    before = len(order.history)

    assert order.can_become(requested)
    move(order, requested, at)

    assert order.status is requested
    assert len(order.history) == before + 1
    assert order.history[-1].status is requested
    assert order.history[-1].at == at


@pytest.mark.parametrize(
    ("current", "requested"),
    [pair for pair in ALL_PAIRS if pair not in CONTRACT_MOVES],
    ids=lambda s: s.value,
)
def test_a_move_the_contract_does_not_allow_is_refused_and_changes_nothing(
    current: OrderStatus, requested: OrderStatus
) -> None:
    order = order_in(current)
    untouched = copy.deepcopy(order)

    assert not order.can_become(requested)
    with pytest.raises(IllegalTransition) as refused:
        move(order, requested, PLACED_AT + timedelta(hours=1))

    assert order == untouched
    assert refused.value.current == current
    assert refused.value.requested == requested
    assert current.value in str(refused.value)
    assert requested.value in str(refused.value)


@pytest.mark.parametrize("status", list(OrderStatus), ids=lambda s: s.value)
def test_only_completed_cancelled_and_rejected_orders_are_final(status: OrderStatus) -> None:
    assert order_in(status).is_final == (status in {S.COMPLETED, S.CANCELLED, S.REJECTED})


@pytest.mark.parametrize("status", list(OrderStatus), ids=lambda s: s.value)
def test_an_order_is_cancellable_while_received_confirmed_or_preparing(status: OrderStatus) -> None:
    assert order_in(status).is_cancellable == (status in {S.RECEIVED, S.CONFIRMED, S.PREPARING})


def test_placing_an_order_starts_it_received_by_the_system_with_its_total() -> None:
    lines = MENU.price_lines([LineRequest("margherita", "large", ("basil",), 2)])

    order = Order.place(ORDER_ID, CUSTOMER, Fulfilment.DELIVERY, lines, PaymentMethod.CARD, PLACED_AT)

    assert order.status is S.RECEIVED
    assert order.placed_at == PLACED_AT
    assert order.history == [StatusChange(S.RECEIVED, PLACED_AT, "system")]
    assert order.total == Decimal("39.40")
    assert order.estimated_ready_at is None


def test_a_full_life_records_who_moved_the_order_when_and_why() -> None:
    order = place()
    t = [PLACED_AT + timedelta(minutes=m) for m in (1, 5, 20, 30)]

    order.record_payment("pi_abc")
    order.confirm(t[0])
    order.advance(S.PREPARING, t[1], "chef-mario")
    order.advance(S.READY, t[2], "chef-luigi", "extra crispy")
    order.advance(S.COMPLETED, t[3], "driver-toad", "left at the door")

    assert order.history == [
        StatusChange(S.RECEIVED, PLACED_AT, "system"),
        StatusChange(S.CONFIRMED, t[0], "system"),
        StatusChange(S.PREPARING, t[1], "chef-mario"),
        StatusChange(S.READY, t[2], "chef-luigi", "extra crispy"),
        StatusChange(S.COMPLETED, t[3], "driver-toad", "left at the door"),
    ]
    assert order.payment.transaction_id == "pi_abc"


def test_confirming_sets_a_ready_time_after_the_confirmation() -> None:
    order = place(quantity=1)
    at = PLACED_AT + timedelta(minutes=1)

    order.confirm(at)

    assert order.estimated_ready_at is not None
    assert order.estimated_ready_at > at
    assert order.history[-1] == StatusChange(S.CONFIRMED, at, "system")


def test_a_bigger_order_is_promised_later_than_a_single_pizza() -> None:
    at = PLACED_AT + timedelta(minutes=1)
    one, ten = place(quantity=1), place(quantity=10)

    one.confirm(at)
    ten.confirm(at)

    assert ten.estimated_ready_at > one.estimated_ready_at


def test_a_kitchen_step_records_the_change_with_who_made_it() -> None:
    order = order_in(S.CONFIRMED)
    at = PLACED_AT + timedelta(minutes=10)

    order.advance(S.PREPARING, at, "chef-mario")

    assert order.status is S.PREPARING
    assert order.history[-1] == StatusChange(S.PREPARING, at, "chef-mario")


def test_completing_an_order_ends_it_with_its_total_unchanged() -> None:
    order = order_in(S.READY)
    at = PLACED_AT + timedelta(minutes=40)

    order.advance(S.COMPLETED, at, "chef-mario")

    assert order.is_final
    assert order.history[-1] == StatusChange(S.COMPLETED, at, "chef-mario")
    assert order.total == Decimal("39.40")


def test_cancelling_records_the_refund_and_who_cancelled() -> None:
    order = order_in(S.PREPARING)
    at = PLACED_AT + timedelta(minutes=12)

    order.cancel(at, "manager-peach", "oven broke", "re_789")

    assert order.payment.refund_id == "re_789"
    assert order.history[-1] == StatusChange(S.CANCELLED, at, "manager-peach", "oven broke")


def test_cancelling_an_unpaid_order_records_no_refund() -> None:
    order = place()

    order.cancel(PLACED_AT + timedelta(minutes=1), "customer", None, None)

    assert order.payment.refund_id is None
    assert order.status is S.CANCELLED


def test_a_refused_cancellation_does_not_record_a_refund() -> None:
    order = order_in(S.READY)

    with pytest.raises(IllegalTransition):
        order.cancel(PLACED_AT + timedelta(hours=1), "customer", None, "re_999")

    assert order.payment.refund_id is None
    assert order.status is S.READY


def test_rejecting_records_the_reason() -> None:
    order = place()
    at = PLACED_AT + timedelta(seconds=5)

    order.reject(at, "Your card was declined.")

    assert order.history[-1] == StatusChange(S.REJECTED, at, "system", "Your card was declined.")
    assert order.payment.transaction_id is None


KITCHEN_CAN_REACH = {S.PREPARING, S.READY, S.COMPLETED}


@pytest.mark.parametrize(("current", "requested"), ALL_PAIRS, ids=lambda s: s.value)
def test_the_kitchen_may_only_move_an_order_to_preparing_ready_or_completed(
    current: OrderStatus, requested: OrderStatus
) -> None:
    order = order_in(current)
    untouched = copy.deepcopy(order)
    allowed = (
        requested in KITCHEN_CAN_REACH and (current, requested) in CONTRACT_MOVES and current is not S.OUT_FOR_DELIVERY
    )

    if allowed:
        order.check_kitchen_step(requested)
    else:
        with pytest.raises(IllegalTransition):
            order.check_kitchen_step(requested)

    assert order == untouched


@pytest.mark.parametrize("requested", [S.CONFIRMED, S.REJECTED], ids=lambda s: s.value)
def test_the_kitchen_cannot_confirm_or_reject_a_received_order(requested: OrderStatus) -> None:
    order = place()

    with pytest.raises(IllegalTransition):
        order.advance(requested, PLACED_AT + timedelta(minutes=1), "chef-mario")

    assert order.status is S.RECEIVED
    assert len(order.history) == 1


def test_the_kitchen_cannot_cancel_through_a_kitchen_step() -> None:
    order = order_in(S.PREPARING)

    with pytest.raises(IllegalTransition):
        order.advance(S.CANCELLED, PLACED_AT + timedelta(minutes=20), "chef-mario")

    assert order.status is S.PREPARING


# --- what the customer is told ------------------------------------------------------------


def _confirmed() -> Order:
    return order_in(S.CONFIRMED)


def _ready_delivery() -> Order:
    return order_in(S.READY)


def _late() -> Order:
    return order_in(S.PREPARING)


def _cancelled() -> Order:
    return order_in(S.CANCELLED)


MESSAGES: list[tuple[Callable[[Order], str], Callable[[], Order]]] = [
    (confirmation_text, _confirmed),
    (ready_text, _ready_delivery),
    (late_text, _late),
    (cancelled_text, _cancelled),
]


@pytest.mark.parametrize(("text", "order"), MESSAGES, ids=["confirmed", "ready", "late", "cancelled"])
def test_every_message_names_the_order_by_the_first_eight_characters_of_its_id(
    text: Callable[[Order], str], order: Callable[[], Order]
) -> None:
    message = text(order())

    assert SHORT_ID in message
    assert ORDER_ID not in message
    assert ORDER_ID[8:] not in message


def test_the_confirmation_tells_the_total_and_the_ready_time() -> None:
    order = order_in(S.CONFIRMED)

    message = confirmation_text(order)

    assert "$39.40" in message
    assert order.estimated_ready_at.strftime("%H:%M") in message


def test_a_delivery_order_waits_for_its_driver_and_a_pickup_order_is_ready_to_collect() -> None:
    delivery = order_in(S.READY)
    pickup = place(fulfilment=Fulfilment.PICKUP)
    for minutes, step in enumerate(ROUTE_TO[S.READY], start=1):
        move(pickup, step, PLACED_AT + timedelta(minutes=minutes))

    # Ready is not on its way: a driver has yet to pick it up.
    assert "a driver will bring it" in ready_text(delivery) and "on its way" not in ready_text(delivery)
    assert "pickup" in ready_text(pickup)
    assert "driver" not in ready_text(pickup)


def test_the_cancellation_message_mentions_a_refund_only_when_there_is_one() -> None:
    refunded = place(order_id="aaaaaaaa-1111")
    refunded.cancel(PLACED_AT, "customer", None, "re_1")
    unpaid = place(order_id="bbbbbbbb-2222")
    unpaid.cancel(PLACED_AT, "customer", None, None)

    assert "refund" in cancelled_text(refunded).lower()
    assert "aaaaaaaa" in cancelled_text(refunded)
    assert "refund" not in cancelled_text(unpaid).lower()
    assert "bbbbbbbb" in cancelled_text(unpaid)


@pytest.mark.parametrize(("text", "order"), MESSAGES, ids=["confirmed", "ready", "late", "cancelled"])
def test_every_message_fits_one_sms_even_for_the_largest_order(
    text: Callable[[Order], str], order: Callable[[], Order]
) -> None:
    largest = order()
    largest.total = Decimal("99999.99")  # far beyond 20 lines of 10 large pizzas with every topping
    largest.payment.refund_id = "re_" + "x" * 24

    assert len(text(largest)) <= 160, text(largest)


def test_a_driver_takes_a_ready_delivery_order_and_delivers_it() -> None:
    order = order_in(S.READY)
    out, handed = PLACED_AT + timedelta(minutes=40), PLACED_AT + timedelta(minutes=55)

    order.pick_up(out, "driver-toad")
    order.check_delivery_end("driver-toad")
    order.deliver(handed, "driver-toad", "left with the neighbour")

    assert order.status is S.COMPLETED
    assert order.delivery == Delivery(driver="driver-toad", picked_up_at=out, delivered_at=handed)
    assert order.history[-2:] == [
        StatusChange(S.OUT_FOR_DELIVERY, out, "driver-toad"),
        StatusChange(S.COMPLETED, handed, "driver-toad", "left with the neighbour"),
    ]


def test_a_pickup_order_is_never_taken_out_by_a_driver() -> None:
    order = place(fulfilment=Fulfilment.PICKUP)
    for step in ROUTE_TO[S.READY]:
        move(order, step, PLACED_AT + timedelta(minutes=5))

    with pytest.raises(IllegalTransition, match="a pickup order is not delivered"):
        order.pick_up(PLACED_AT + timedelta(minutes=40), "driver-toad")
    assert order.status is S.READY
    assert order.delivery is None


def test_a_second_driver_to_pick_up_an_order_is_told_who_took_it_first() -> None:
    order = order_in(S.READY)
    order.pick_up(PLACED_AT + timedelta(minutes=40), "driver-toad")

    with pytest.raises(IllegalTransition, match=r"out_for_delivery: driver-toad took it first$"):
        order.pick_up(PLACED_AT + timedelta(minutes=41), "driver-yoshi")
    assert order.delivery is not None and order.delivery.driver == "driver-toad"


def test_only_the_driver_who_has_it_may_end_a_delivery() -> None:
    order = order_in(S.OUT_FOR_DELIVERY)

    with pytest.raises(NotYourDelivery, match="driver-toad has this delivery"):
        order.check_delivery_end("driver-yoshi")


def test_the_kitchen_cannot_complete_an_order_a_driver_has() -> None:
    order = order_in(S.OUT_FOR_DELIVERY)

    with pytest.raises(IllegalTransition, match="out_for_delivery cannot become completed"):
        order.advance(S.COMPLETED, PLACED_AT + timedelta(hours=1), "chef-mario")


def test_a_failed_delivery_keeps_the_reason_and_ends_cancelled() -> None:
    order = order_in(S.OUT_FOR_DELIVERY)

    order.fail_delivery("nobody home")
    assert order.status is S.OUT_FOR_DELIVERY  # while it is compensated
    with pytest.raises(IllegalTransition):
        order.check_delivery_end("driver-toad")  # failed once is enough
    order.cancel(PLACED_AT + timedelta(hours=1), "driver-toad", "nobody home", "re_1")

    assert order.status is S.CANCELLED
    assert order.delivery is not None and order.delivery.failure == "nobody home"
