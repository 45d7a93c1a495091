"""The menu: read by everyone, changed by managers."""

from decimal import Decimal

import pytest

from tests.api.conftest import assert_problem, manager_headers, money

SEED_PIZZAS = {
    "margherita": ("9.99", "12.99", "15.99"),
    "pepperoni": ("11.99", "14.99", "17.99"),
    "quattro_formaggi": ("12.99", "15.99", "18.99"),
    "diavola": ("12.49", "15.49", "18.49"),
    "vegetariana": ("11.49", "14.49", "17.49"),
    "hawaiian": ("11.99", "14.99", "17.99"),
}
SEED_TOPPINGS = {
    "extra_cheese": "1.50",
    "mushrooms": "1.25",
    "olives": "1.00",
    "jalapenos": "1.00",
    "basil": "0.75",
    "prosciutto": "2.50",
}


async def put_pizza(stack, name: str, body: dict, headers: dict | None = None):
    return await stack.http.put(f"/api/menu/pizzas/{name}", json=body, headers=headers or manager_headers())


async def put_topping(stack, name: str, body: dict, headers: dict | None = None):
    return await stack.http.put(f"/api/menu/toppings/{name}", json=body, headers=headers or manager_headers())


def by_name(items: list[dict]) -> dict[str, dict]:
    return {item["name"]: item for item in items}


async def test_the_menu_offers_the_six_seed_pizzas_priced_per_size(stack):
    response = await stack.http.get("/api/menu")

    assert response.status_code == 200, response.text
    pizzas = by_name(response.json()["pizzas"])
    assert set(pizzas) == set(SEED_PIZZAS)
    for name, (small, medium, large) in SEED_PIZZAS.items():
        pizza = pizzas[name]
        assert pizza["prices"] == {"small": small, "medium": medium, "large": large}
        assert pizza["available"] is True
        assert pizza["display_name"]
    assert pizzas["quattro_formaggi"]["display_name"] == "Quattro Formaggi"


async def test_the_menu_offers_the_six_seed_toppings_with_their_prices(stack):
    response = await stack.http.get("/api/menu")

    toppings = by_name(response.json()["toppings"])
    assert set(toppings) == set(SEED_TOPPINGS)
    for name, price in SEED_TOPPINGS.items():
        assert toppings[name]["price"] == price
        assert toppings[name]["available"] is True


async def test_the_pizzas_alone_are_the_menus_pizza_list(stack):
    menu = (await stack.http.get("/api/menu")).json()

    response = await stack.http.get("/api/menu/pizzas")

    assert response.status_code == 200, response.text
    assert response.json() == menu["pizzas"]


@pytest.mark.parametrize("path", ["/api/menu/", "/api/menu/pizzas/"])
async def test_the_menu_answers_with_a_trailing_slash_too(stack, path):
    response = await stack.http.get(path)

    assert response.status_code == 200, response.text
    assert response.json() == (await stack.http.get(path.rstrip("/"))).json()


async def test_the_menu_needs_no_token(stack):
    response = await stack.http.get("/api/menu", headers={"Authorization": "Bearer garbage"})

    assert response.status_code == 200, response.text


async def test_a_manager_changes_a_pizzas_prices_and_new_orders_pay_them(stack):
    response = await put_pizza(stack, "Margherita", {"prices": {"large": "20.00"}})
    try:
        assert response.status_code == 200, response.text
        changed = response.json()
        assert changed["name"] == "margherita"
        assert changed["prices"] == {"small": "9.99", "medium": "12.99", "large": "20.00"}
        menu = by_name((await stack.http.get("/api/menu/pizzas")).json())
        assert menu["margherita"]["prices"]["large"] == "20.00"

        order = await stack.placed(pizzas=[{"name": "margherita", "size": "large", "toppings": ["basil"]}])

        assert order["items"][0]["unit_price"] == "20.75"
        assert order["subtotal"] == "20.75"
        assert order["tax"] == "1.82"  # 20.75 x 0.0875 = 1.815625
        assert order["total"] == "25.56"
    finally:
        restored = await put_pizza(stack, "margherita", {"prices": {"large": "15.99"}})
        assert restored.status_code == 200, restored.text


async def test_an_order_keeps_the_price_it_was_placed_at_when_the_menu_changes(stack):
    order = await stack.placed(pizzas=[{"name": "diavola", "size": "small"}])
    response = await put_pizza(stack, "diavola", {"prices": {"small": "30.00"}})
    try:
        assert response.status_code == 200, response.text

        read = (await stack.http.get(f"/api/orders/{order['id']}")).json()

        assert read["items"][0]["unit_price"] == "12.49"
        assert read["total"] == order["total"]
    finally:
        assert (await put_pizza(stack, "diavola", {"prices": {"small": "12.49"}})).status_code == 200


async def test_a_manager_makes_a_pizza_unavailable_and_available_again(stack):
    response = await put_pizza(stack, "VEGETARIANA", {"available": False})
    try:
        assert response.status_code == 200, response.text
        assert response.json()["available"] is False
        menu = by_name((await stack.http.get("/api/menu")).json()["pizzas"])
        assert menu["vegetariana"]["available"] is False
        assert menu["vegetariana"]["prices"]["small"] == "11.49"
    finally:
        restored = await put_pizza(stack, "vegetariana", {"available": True})
    assert restored.json()["available"] is True
    order = await stack.placed(pizzas=[{"name": "vegetariana", "size": "small"}])
    assert order["items"][0]["unit_price"] == "11.49"


async def test_a_manager_changes_a_toppings_price_and_new_orders_pay_it(stack):
    response = await put_topping(stack, "Prosciutto", {"price": "3.10"})
    try:
        assert response.status_code == 200, response.text
        assert response.json() == {"name": "prosciutto", "price": "3.10", "available": True}
        toppings = by_name((await stack.http.get("/api/menu")).json()["toppings"])
        assert toppings["prosciutto"]["price"] == "3.10"

        order = await stack.placed(pizzas=[{"name": "margherita", "size": "small", "toppings": ["prosciutto"]}])

        assert order["items"][0]["unit_price"] == "13.09"  # 9.99 + 3.10
    finally:
        assert (await put_topping(stack, "prosciutto", {"price": "2.50"})).status_code == 200


async def test_a_topping_the_manager_made_unavailable_cannot_be_ordered(stack):
    response = await put_topping(stack, "mushrooms", {"available": False})
    try:
        assert response.status_code == 200, response.text
        assert response.json()["available"] is False

        refused = await stack.place(pizzas=[{"name": "margherita", "size": "small", "toppings": ["mushrooms"]}])

        assert "mushrooms" in assert_problem(refused, 422)["detail"]
    finally:
        assert (await put_topping(stack, "mushrooms", {"available": True})).status_code == 200


@pytest.mark.parametrize("kind", ["pizzas", "toppings"])
async def test_changing_an_item_that_is_not_on_the_menu_is_a_404(stack, kind):
    response = await stack.http.put(f"/api/menu/{kind}/calzone", json={"available": False}, headers=manager_headers())

    assert "calzone" in assert_problem(response, 404)["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"prices": {"large": "-1.00"}},
        {"prices": {"small": "0"}},
        {"prices": {"large": "12.999"}},
        {"prices": {"large": "cheap"}},
        {"prices": {"family": "30.00"}},
        {"available": "perhaps"},
        {"available": True, "colour": "red"},
        {"price": "3.00"},
    ],
    ids=[
        "empty",
        "negative-price",
        "zero-price",
        "three-decimals",
        "not-a-number",
        "unknown-size",
        "not-a-boolean",
        "extra-field",
        "topping-field",
    ],
)
async def test_a_malformed_pizza_change_is_a_422_and_changes_nothing(stack, body):
    before = (await stack.http.get("/api/menu")).json()

    response = await put_pizza(stack, "margherita", body)

    assert_problem(response, 422)
    assert (await stack.http.get("/api/menu")).json() == before


@pytest.mark.parametrize(
    "body",
    [{}, {"price": "-0.50"}, {"price": "abc"}, {"available": True, "colour": "red"}, {"prices": {"small": "1.00"}}],
    ids=["empty", "negative-price", "not-a-number", "extra-field", "pizza-field"],
)
async def test_a_malformed_topping_change_is_a_422_and_changes_nothing(stack, body):
    before = (await stack.http.get("/api/menu")).json()

    response = await put_topping(stack, "basil", body)

    assert_problem(response, 422)
    assert (await stack.http.get("/api/menu")).json() == before


async def test_menu_prices_are_strings_with_two_places(stack):
    menu = (await stack.http.get("/api/menu")).json()

    for pizza in menu["pizzas"]:
        assert all(money(price) > Decimal(0) for price in pizza["prices"].values())
    for topping in menu["toppings"]:
        assert money(topping["price"]) > Decimal(0)
