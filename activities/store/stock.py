"""Stock in the database: ingredients' counts, recipes, and what each order holds.

An order reserves portions of the tracked ingredients it needs (one transaction: all or nothing, never more
than there is), then consumes them when the kitchen starts it, or releases them when it is undone. Each step
is idempotent per order, so an activity retried after a lost answer changes nothing twice.

Counts, per ingredient: `on_hand` (what the shop has, reserved portions included; NULL = not tracked),
`reserved` (held by orders not yet preparing), `consumed` (taken by orders, ever). Available = on_hand - reserved,
never below zero: a manager's count is what is on the shelf, also when it is less than orders hold (spoilt
stock); new orders are then refused until a restock, and consuming never takes on_hand below zero.
"""

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, case, insert, or_, select, update
from sqlmodel import col

from activities.store.tables import IngredientRow, RecipeRow, StockReservationRow
from domain.errors import StockShortage
from domain.menu import Size
from domain.stock import Recipes, can_make_one

RESERVED, CONSUMED, RELEASED = "reserved", "consumed", "released"
log = logging.getLogger(__name__)

# The columns the statements below use (lower case: they are values, not settings).
name_, on_hand_, reserved_, consumed_ = (
    col(IngredientRow.name),
    col(IngredientRow.on_hand),
    col(IngredientRow.reserved),
    col(IngredientRow.consumed),
)
order_, ingredient_, portions_, state_ = (
    col(StockReservationRow.order_id),
    col(StockReservationRow.ingredient),
    col(StockReservationRow.portions),
    col(StockReservationRow.state),
)


@dataclass(frozen=True)
class StockLevel:
    ingredient: str
    tracked: bool
    on_hand: int | None
    reserved: int
    available: int | None  # on_hand - reserved; None when not tracked


@dataclass(frozen=True)
class MenuStock:
    """What the tracked ingredients can make now: each pizza's smallest size, each topping's one portion."""

    smallest: Recipes  # pizza -> ingredient -> {Size.SMALL: portions}
    available: Mapping[str, int | None]  # tracked ingredients only

    def make_pizza(self, pizza: str) -> bool:
        needs = {ingredient: sizes[Size.SMALL] for ingredient, sizes in self.smallest.get(pizza, {}).items()}
        return can_make_one(needs, self.available)

    def add_topping(self, topping: str) -> bool:
        return can_make_one({topping: 1}, self.available)


def _level(name: str, on_hand: int | None, reserved: int) -> StockLevel:
    available = None if on_hand is None else max(on_hand - reserved, 0)
    return StockLevel(name, on_hand is not None, on_hand, reserved, available)


class StockStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One transaction that holds the write lock from its start on SQLite (BEGIN IMMEDIATE): two
        processes checking the same count one after the other, never both before either writes. On
        PostgreSQL each conditional UPDATE locks its row and checks the count as committed."""
        with self._engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            connection.commit()

    # --- the saga's steps -----------------------------------------------------------------

    def reserve(self, order_id: str, needs: Mapping[str, int]) -> dict[str, int]:
        """Reserve what the order needs of the tracked ingredients; what it reserved ({} when none is tracked).

        All or nothing: raises StockShortage (naming the first ingredient short) and reserves nothing when one
        falls short. Asked again for the same order, it answers what the first call reserved.
        """
        wanted = {name.lower(): count for name, count in needs.items() if count > 0}
        with self._writing() as connection:
            held = connection.execute(
                select(ingredient_, portions_).where(order_ == order_id).order_by(ingredient_)
            ).all()
            if held:
                return {ingredient: portions for ingredient, portions in held}
            if not wanted:
                return {}
            tracked = connection.execute(select(name_).where(name_.in_(wanted), on_hand_.is_not(None))).scalars()
            reserved: dict[str, int] = {}
            for name in sorted(tracked):  # one order of locks for every order: no deadlock on PostgreSQL
                count = wanted[name]
                enough = or_(on_hand_.is_(None), on_hand_ - reserved_ >= count)
                taken = connection.execute(
                    update(IngredientRow).where(name_ == name, enough).values(reserved=reserved_ + count)
                )
                if taken.rowcount != 1:
                    left = connection.execute(select(on_hand_ - reserved_).where(name_ == name)).scalar()
                    raise StockShortage(name, count, max(left or 0, 0))
                reserved[name] = count
            if reserved:
                connection.execute(
                    insert(StockReservationRow),
                    [
                        {"order_id": order_id, "ingredient": name, "portions": count, "state": RESERVED}
                        for name, count in reserved.items()
                    ],
                )
            return reserved

    def release(self, order_id: str) -> dict[str, int]:
        """Give back what the order holds (not what it consumed); what was released now ({} the second time)."""
        return self._settle(order_id, RELEASED)

    def consume(self, order_id: str) -> dict[str, int]:
        """The order's reserved portions leave the shelf; what was consumed now ({} the second time)."""
        return self._settle(order_id, CONSUMED)

    def _settle(self, order_id: str, state: str) -> dict[str, int]:
        settled: dict[str, int] = {}
        with self._writing() as connection:
            held = connection.execute(
                select(ingredient_, portions_).where(order_ == order_id, state_ == RESERVED).order_by(ingredient_)
            ).all()
            for name, count in held:
                moved = connection.execute(
                    update(StockReservationRow)
                    .where(order_ == order_id, ingredient_ == name, state_ == RESERVED)
                    .values(state=state)
                )
                if moved.rowcount != 1:
                    continue  # settled meanwhile by another attempt
                change: dict[str, Any] = {"reserved": reserved_ - count}
                if state == CONSUMED:  # an ingredient no longer tracked keeps on_hand NULL (NULL - n)
                    left = case((on_hand_.is_(None), None), (on_hand_ >= count, on_hand_ - count), else_=0)
                    change |= {"on_hand": left, "consumed": consumed_ + count}
                connection.execute(update(IngredientRow).where(name_ == name).values(change))
                settled[name] = count
        return settled

    def recipes(self) -> Recipes:
        """Every pizza's recipe: ingredient -> portions per size."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(col(RecipeRow.pizza), col(RecipeRow.ingredient), col(RecipeRow.size), col(RecipeRow.portions))
            ).all()
        recipes: dict[str, dict[str, dict[Size, int]]] = {}
        for pizza, ingredient, size, portions in rows:
            recipes.setdefault(pizza, {}).setdefault(ingredient, {})[Size(size)] = portions
        return recipes

    # --- read and set by staff ------------------------------------------------------------

    def levels(self, names: set[str] | None = None) -> list[StockLevel]:
        """Every ingredient's counts (or those named), by name."""
        query = select(name_, on_hand_, reserved_).order_by(name_)
        if names is not None:
            query = query.where(name_.in_(names))
        with self._engine.connect() as connection:
            return [_level(*row) for row in connection.execute(query).all()]

    def set_on_hand(self, ingredient: str, on_hand: int | None) -> StockLevel | None:
        """Count an ingredient (None: stop tracking it); None when there is no such ingredient.

        A count below what orders hold reserved is taken as it is (the shelf is what it is): nothing is
        available until a restock, and the line in the log says so.
        """
        name = ingredient.lower()
        with self._writing() as connection:
            connection.execute(update(IngredientRow).where(name_ == name).values(on_hand=on_hand))
            row = connection.execute(select(name_, on_hand_, reserved_).where(name_ == name)).first()
        if row is None:
            return None
        if on_hand is not None and on_hand < row.reserved:
            log.warning(
                "stock of %s counted at %d, below the %d portion(s) orders not yet preparing hold", name, on_hand,
                row.reserved,
            )  # fmt: skip
        return _level(*row)

    def menu_stock(self) -> MenuStock:
        """What the tracked ingredients can make now, in two queries."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(col(RecipeRow.pizza), col(RecipeRow.ingredient), col(RecipeRow.portions)).where(
                    col(RecipeRow.size) == Size.SMALL.value
                )
            ).all()
            tracked = connection.execute(select(name_, on_hand_ - reserved_).where(on_hand_.is_not(None))).all()
        smallest: dict[str, dict[str, dict[Size, int]]] = {}
        for pizza, ingredient, portions in rows:
            smallest.setdefault(pizza, {})[ingredient] = {Size.SMALL: portions}
        return MenuStock(smallest, {name: left for name, left in tracked})
