"""The menu: pizzas priced per size, toppings priced each, and the seed a new shop opens with."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from domain.errors import InvalidOrder
from domain.money import cents


class Size(StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


@dataclass(frozen=True)
class Pizza:
    name: str
    display_name: str
    prices: dict[Size, Decimal]
    available: bool = True

    def price(self, size: Size) -> Decimal:
        """The price of this pizza at a size."""
        return self.prices[size]


@dataclass(frozen=True)
class Topping:
    name: str
    price: Decimal
    available: bool = True


@dataclass(frozen=True)
class LineRequest:
    """One pizza line as a customer asks for it, before pricing."""

    pizza: str
    size: str
    toppings: tuple[str, ...] = ()
    quantity: int = 1


@dataclass(frozen=True)
class OrderLine:
    """A priced line: a snapshot that later menu changes do not touch."""

    pizza: str
    size: Size
    toppings: tuple[str, ...]
    quantity: int
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class Menu:
    pizzas: dict[str, Pizza]
    toppings: dict[str, Topping]

    @classmethod
    def of(cls, pizzas: Iterable[Pizza], toppings: Iterable[Topping]) -> "Menu":
        """A menu from its items, keyed by lower-case name."""
        return cls({p.name.lower(): p for p in pizzas}, {t.name.lower(): t for t in toppings})

    def price_line(self, line: LineRequest) -> OrderLine:
        """Price one requested line, refusing anything unknown or unavailable."""
        pizza = self._pizza(line.pizza)
        try:
            size = Size(line.size.lower())
        except ValueError:
            sizes = ", ".join(s.value for s in Size)
            raise InvalidOrder(f"unknown size '{line.size}' for {pizza.name} (sizes: {sizes})") from None
        toppings = tuple(self._topping(name) for name in line.toppings)
        if not 1 <= line.quantity <= 10:
            raise InvalidOrder(f"quantity of {pizza.name} must be 1 to 10, not {line.quantity}")
        unit = cents(pizza.price(size) + sum((t.price for t in toppings), Decimal(0)))
        return OrderLine(
            pizza=pizza.name,
            size=size,
            toppings=tuple(t.name for t in toppings),
            quantity=line.quantity,
            unit_price=unit,
            line_total=cents(unit * line.quantity),
        )

    def price_lines(self, lines: Iterable[LineRequest]) -> tuple[OrderLine, ...]:
        """Price every requested line; the first refusal names what is wrong."""
        priced = tuple(self.price_line(line) for line in lines)
        if not priced:
            raise InvalidOrder("an order needs at least one pizza")
        return priced

    def _pizza(self, name: str) -> Pizza:
        pizza = self.pizzas.get(name.lower())
        if pizza is None:
            raise InvalidOrder(f"unknown pizza '{name}'")
        if not pizza.available:
            raise InvalidOrder(f"pizza '{pizza.name}' is not available today")
        return pizza

    def _topping(self, name: str) -> Topping:
        topping = self.toppings.get(name.lower())
        if topping is None:
            raise InvalidOrder(f"unknown topping '{name}'")
        if not topping.available:
            raise InvalidOrder(f"topping '{topping.name}' is not available today")
        return topping


def _prices(small: str, medium: str, large: str) -> dict[Size, Decimal]:
    return {Size.SMALL: Decimal(small), Size.MEDIUM: Decimal(medium), Size.LARGE: Decimal(large)}


SEED_PIZZAS: tuple[Pizza, ...] = (
    Pizza("margherita", "Margherita", _prices("9.99", "12.99", "15.99")),
    Pizza("pepperoni", "Pepperoni", _prices("11.99", "14.99", "17.99")),
    Pizza("quattro_formaggi", "Quattro Formaggi", _prices("12.99", "15.99", "18.99")),
    Pizza("diavola", "Diavola", _prices("12.49", "15.49", "18.49")),
    Pizza("vegetariana", "Vegetariana", _prices("11.49", "14.49", "17.49")),
    Pizza("hawaiian", "Hawaiian", _prices("11.99", "14.99", "17.99")),
)

SEED_TOPPINGS: tuple[Topping, ...] = (
    Topping("extra_cheese", Decimal("1.50")),
    Topping("mushrooms", Decimal("1.25")),
    Topping("olives", Decimal("1.00")),
    Topping("jalapenos", Decimal("1.00")),
    Topping("basil", Decimal("0.75")),
    Topping("prosciutto", Decimal("2.50")),
)
