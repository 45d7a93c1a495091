"""What an order costs, worked out by hand from the seed menu and compared with the domain's sums."""

from dataclasses import replace
from decimal import Decimal

import pytest

from domain.errors import InvalidOrder
from domain.menu import SEED_PIZZAS, SEED_TOPPINGS, LineRequest, Menu, Size
from domain.pricing import DELIVERY_FEE, TAX_RATE, Fulfilment, total_order

MENU = Menu.of(SEED_PIZZAS, SEED_TOPPINGS)


def priced(*lines: LineRequest, fulfilment: Fulfilment = Fulfilment.DELIVERY, menu: Menu = MENU):
    return total_order(menu.price_lines(lines), fulfilment)


def assert_cents(amount: Decimal, expected: str) -> None:
    """A money value is a Decimal with exactly two places, equal to the expected text."""
    assert isinstance(amount, Decimal)
    assert amount.as_tuple().exponent == -2
    assert str(amount) == expected


def test_the_tax_rate_and_delivery_fee_are_the_contracts() -> None:
    assert Decimal("0.0875") == TAX_RATE
    assert Decimal("2.99") == DELIVERY_FEE


def test_two_large_margheritas_with_basil_delivered_cost_39_40() -> None:
    # line: 2 x (15.99 + 0.75) = 2 x 16.74 = 33.48
    # tax: 33.48 x 0.0875 = 2.9295 -> 2.93
    # total: 33.48 + 2.93 + 2.99 = 39.40
    lines = MENU.price_lines([LineRequest("margherita", "large", ("basil",), 2)])
    totals = total_order(lines, Fulfilment.DELIVERY)

    assert_cents(lines[0].unit_price, "16.74")
    assert_cents(lines[0].line_total, "33.48")
    assert_cents(totals.subtotal, "33.48")
    assert_cents(totals.tax, "2.93")
    assert_cents(totals.delivery_fee, "2.99")
    assert_cents(totals.total, "39.40")


def test_a_pickup_order_of_two_lines_pays_no_delivery_fee() -> None:
    # 1 x small pepperoni: 11.99
    # 3 x medium quattro_formaggi with extra_cheese and olives: 3 x (15.99 + 1.50 + 1.00) = 3 x 18.49 = 55.47
    # subtotal: 11.99 + 55.47 = 67.46
    # tax: 67.46 x 0.0875 = 5.90275 -> 5.90
    # total: 67.46 + 5.90 + 0.00 = 73.36
    totals = priced(
        LineRequest("pepperoni", "small"),
        LineRequest("quattro_formaggi", "medium", ("extra_cheese", "olives"), 3),
        fulfilment=Fulfilment.PICKUP,
    )

    assert_cents(totals.subtotal, "67.46")
    assert_cents(totals.tax, "5.90")
    assert_cents(totals.delivery_fee, "0.00")
    assert_cents(totals.total, "73.36")


def test_every_topping_on_a_pizza_is_added_to_its_price() -> None:
    # 1 x large diavola with jalapenos, prosciutto, extra_cheese: 18.49 + 1.00 + 2.50 + 1.50 = 23.49
    # tax: 23.49 x 0.0875 = 2.055375 -> 2.06
    # total: 23.49 + 2.06 + 2.99 = 28.54
    lines = MENU.price_lines([LineRequest("diavola", "large", ("jalapenos", "prosciutto", "extra_cheese"))])
    totals = total_order(lines, Fulfilment.DELIVERY)

    assert lines[0].toppings == ("jalapenos", "prosciutto", "extra_cheese")
    assert_cents(lines[0].unit_price, "23.49")
    assert_cents(totals.tax, "2.06")
    assert_cents(totals.total, "28.54")


def test_tax_of_exactly_half_a_cent_is_rounded_up() -> None:
    # 5 x medium pepperoni with mushrooms: 5 x (14.99 + 1.25) = 5 x 16.24 = 81.20
    # tax: 81.20 x 0.0875 = 7.105 exactly -> half-up 7.11 (banker's rounding would give 7.10)
    # total: 81.20 + 7.11 + 2.99 = 91.30
    totals = priced(LineRequest("pepperoni", "medium", ("mushrooms",), 5))

    assert_cents(totals.subtotal, "81.20")
    assert_cents(totals.tax, "7.11")
    assert_cents(totals.total, "91.30")


def test_the_same_half_cent_order_picked_up_costs_the_fee_less() -> None:
    # 81.20 + 7.11 + 0.00 = 88.31
    totals = priced(LineRequest("pepperoni", "medium", ("mushrooms",), 5), fulfilment=Fulfilment.PICKUP)

    assert_cents(totals.tax, "7.11")
    assert_cents(totals.delivery_fee, "0.00")
    assert_cents(totals.total, "88.31")


def test_pizza_topping_and_size_names_are_matched_whatever_their_case() -> None:
    shouted = MENU.price_lines([LineRequest("Margherita", "LARGE", ("Basil",), 2)])
    plain = MENU.price_lines([LineRequest("margherita", "large", ("basil",), 2)])

    assert shouted == plain
    line = shouted[0]
    assert line.pizza == "margherita"
    assert line.size is Size.LARGE
    assert line.toppings == ("basil",)
    assert_cents(total_order(shouted, Fulfilment.DELIVERY).total, "39.40")


def test_a_priced_line_keeps_its_price_when_the_menu_changes_later() -> None:
    line = MENU.price_line(LineRequest("margherita", "small"))
    dearer = Menu.of(
        [replace(p, prices={**p.prices, Size.SMALL: Decimal("99.00")}) for p in SEED_PIZZAS], SEED_TOPPINGS
    )

    assert_cents(dearer.price_line(LineRequest("margherita", "small")).unit_price, "99.00")
    assert_cents(line.unit_price, "9.99")


@pytest.mark.parametrize(
    ("request_", "named"),
    [
        (LineRequest("calzone", "large"), "calzone"),
        (LineRequest("margherita", "large", ("pineapple",)), "pineapple"),
        (LineRequest("margherita", "family"), "family"),
        (LineRequest("margherita", "large", ("basil", "anchovies")), "anchovies"),
    ],
    ids=["unknown pizza", "unknown topping", "unknown size", "unknown second topping"],
)
def test_an_item_the_menu_does_not_offer_is_refused_by_name(request_: LineRequest, named: str) -> None:
    with pytest.raises(InvalidOrder) as refused:
        MENU.price_lines([request_])

    assert named in str(refused.value)


def test_an_unavailable_pizza_is_refused_by_name() -> None:
    menu = Menu.of([replace(p, available=p.name != "hawaiian") for p in SEED_PIZZAS], SEED_TOPPINGS)

    with pytest.raises(InvalidOrder, match="hawaiian"):
        menu.price_lines([LineRequest("margherita", "small"), LineRequest("Hawaiian", "small")])
    assert_cents(menu.price_line(LineRequest("margherita", "small")).unit_price, "9.99")


def test_an_unavailable_topping_is_refused_by_name() -> None:
    menu = Menu.of(SEED_PIZZAS, [replace(t, available=t.name != "olives") for t in SEED_TOPPINGS])

    with pytest.raises(InvalidOrder, match="olives"):
        menu.price_lines([LineRequest("vegetariana", "medium", ("mushrooms", "olives"))])


@pytest.mark.parametrize("quantity", [0, -1, 11, 100])
def test_a_quantity_outside_one_to_ten_is_refused(quantity: int) -> None:
    with pytest.raises(InvalidOrder, match="quantity") as refused:
        MENU.price_lines([LineRequest("margherita", "small", (), quantity)])

    assert "margherita" in str(refused.value)
    assert str(quantity) in str(refused.value)


@pytest.mark.parametrize(
    ("quantity", "line_total"),
    [(1, "9.99"), (10, "99.90")],  # 1 x 9.99; 10 x 9.99
)
def test_one_and_ten_pizzas_in_a_line_are_accepted(quantity: int, line_total: str) -> None:
    line = MENU.price_line(LineRequest("margherita", "small", (), quantity))

    assert line.quantity == quantity
    assert_cents(line.line_total, line_total)


def test_an_order_without_pizzas_is_refused() -> None:
    with pytest.raises(InvalidOrder, match="at least one pizza"):
        MENU.price_lines([])
