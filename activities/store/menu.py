"""The menu in the database: read by the saga and the API, changed by managers."""

from decimal import Decimal

from sqlalchemy import Engine
from sqlmodel import Session, select

from activities.store.tables import PizzaRow, ToppingRow
from domain.menu import Menu, Pizza, Size, Topping


def _pizza(row: PizzaRow) -> Pizza:
    prices = {Size.SMALL: row.price_small, Size.MEDIUM: row.price_medium, Size.LARGE: row.price_large}
    return Pizza(row.name, row.display_name, prices, row.available)


class MenuStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def load(self) -> Menu:
        """The whole menu, available items or not."""
        with Session(self._engine) as session:
            pizzas = session.exec(select(PizzaRow).order_by(PizzaRow.name)).all()
            toppings = session.exec(select(ToppingRow).order_by(ToppingRow.name)).all()
            return Menu.of(
                (_pizza(row) for row in pizzas),
                (Topping(row.name, row.price, row.available) for row in toppings),
            )

    def update_pizza(
        self, name: str, available: bool | None = None, prices: dict[Size, Decimal] | None = None
    ) -> Pizza | None:
        """Change a pizza's availability and prices; None when there is no such pizza."""
        with Session(self._engine) as session:
            row = session.get(PizzaRow, name.lower())
            if row is None:
                return None
            if available is not None:
                row.available = available
            for size, price in (prices or {}).items():
                setattr(row, f"price_{size.value}", price)
            session.add(row)
            session.commit()
            session.refresh(row)
            return _pizza(row)

    def update_topping(self, name: str, available: bool | None = None, price: Decimal | None = None) -> Topping | None:
        """Change a topping's availability and price; None when there is no such topping."""
        with Session(self._engine) as session:
            row = session.get(ToppingRow, name.lower())
            if row is None:
                return None
            if available is not None:
                row.available = available
            if price is not None:
                row.price = price
            session.add(row)
            session.commit()
            session.refresh(row)
            return Topping(row.name, row.price, row.available)
