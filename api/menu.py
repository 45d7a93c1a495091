"""The menu: read by everyone, changed by managers."""

from dataclasses import replace
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from activities.store.menu import MenuStore
from activities.store.stock import StockStore
from api.auth import Manager
from api.deps import MenuDep, RecentMenuDep
from api.json_body import StrictJSONRoute
from api.problems import Problem, ProblemError, Responses
from api.stock import StockDep
from domain.menu import Menu, Pizza, Size, Topping
from domain.money import cents
from workflows.text_types import MenuName

router = APIRouter(prefix="/api/menu", tags=["menu"], route_class=StrictJSONRoute)
Price = Annotated[Decimal, Field(gt=0, lt=1000, decimal_places=2, examples=["12.99"])]
ItemName = Annotated[MenuName, Path()]


class Prices(BaseModel):
    small: Decimal
    medium: Decimal
    large: Decimal


class PizzaOut(BaseModel):
    name: str
    display_name: str
    prices: Prices
    available: bool

    @classmethod
    def of(cls, pizza: Pizza) -> "PizzaOut":
        prices = Prices(**{size.value: price for size, price in pizza.prices.items()})
        return cls(name=pizza.name, display_name=pizza.display_name, prices=prices, available=pizza.available)


class ToppingOut(BaseModel):
    name: str
    price: Decimal
    available: bool

    @classmethod
    def of(cls, topping: Topping) -> "ToppingOut":
        return cls(name=topping.name, price=topping.price, available=topping.available)


class MenuOut(BaseModel):
    pizzas: list[PizzaOut]
    toppings: list[ToppingOut]


class PriceChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    small: Price | None = None
    medium: Price | None = None
    large: Price | None = None


class PizzaChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    available: StrictBool | None = None  # true or false: "yes" or 1 is a wrong type, refused
    prices: PriceChanges | None = None

    @model_validator(mode="after")
    def _something(self) -> "PizzaChange":
        if self.available is None and self.prices is None:
            raise ValueError("give available, prices or both")
        return self


class ToppingChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    available: StrictBool | None = None  # true or false: "yes" or 1 is a wrong type, refused
    price: Price | None = None

    @model_validator(mode="after")
    def _something(self) -> "ToppingChange":
        if self.available is None and self.price is None:
            raise ValueError("give available, price or both")
        return self


NOT_FOUND: Responses = {404: {"model": Problem, "description": "No such item"}}
AUTH: Responses = {401: {"model": Problem}, 403: {"model": Problem}, 422: {"model": Problem}}


def _as_offered(menu: MenuStore, stock: StockStore) -> MenuOut:
    """The menu as customers see it: an item is available when the manager offers it and the tracked
    ingredients can make one of it (a pizza at its smallest size)."""
    loaded: Menu = menu.load()
    can = stock.menu_stock()
    return MenuOut(
        pizzas=[
            PizzaOut.of(replace(p, available=p.available and can.make_pizza(p.name))) for p in loaded.pizzas.values()
        ],
        toppings=[
            ToppingOut.of(replace(t, available=t.available and can.add_topping(t.name)))
            for t in loaded.toppings.values()
        ],
    )


@router.get("", response_model=MenuOut)
async def read_menu(menu: MenuDep, stock: StockDep) -> MenuOut:
    """The whole menu with today's prices: the only source of prices.

    `available` is false for what the manager took off the menu, and for what the tracked stock cannot make
    one of now (it comes back when restocked).
    """
    return await run_in_threadpool(_as_offered, menu, stock)


@router.get("/pizzas", response_model=list[PizzaOut])
async def read_pizzas(menu: MenuDep, stock: StockDep) -> list[PizzaOut]:
    """The pizzas alone, available as on the whole menu."""
    return (await run_in_threadpool(_as_offered, menu, stock)).pizzas


@router.put("/pizzas/{name}", response_model=PizzaOut, responses={**NOT_FOUND, **AUTH})
async def change_pizza(
    name: ItemName, change: PizzaChange, menu: MenuDep, recent: RecentMenuDep, _: Manager
) -> PizzaOut:
    """Make a pizza (un)available or change its prices."""
    asked = change.prices.model_dump(exclude_none=True) if change.prices else {}
    prices = {Size(size): cents(price) for size, price in asked.items()}
    pizza = await run_in_threadpool(menu.update_pizza, name, change.available, prices)
    recent.forget()
    if pizza is None:
        raise ProblemError(404, f"there is no pizza '{name}' on the menu", "unknown-item")
    return PizzaOut.of(pizza)


@router.put("/toppings/{name}", response_model=ToppingOut, responses={**NOT_FOUND, **AUTH})
async def change_topping(
    name: ItemName, change: ToppingChange, menu: MenuDep, recent: RecentMenuDep, _: Manager
) -> ToppingOut:
    """Make a topping (un)available or change its price."""
    price = cents(change.price) if change.price is not None else None
    topping = await run_in_threadpool(menu.update_topping, name, change.available, price)
    recent.forget()
    if topping is None:
        raise ProblemError(404, f"there is no topping '{name}' on the menu", "unknown-item")
    return ToppingOut.of(topping)
