"""Stock: what each pizza is made of, and how many portions of each ingredient an order needs.

Every pizza has a recipe (ingredients and portions per size); each topping is one portion of its own
ingredient (named as the topping) per pizza. The seed below is what a new shop opens with.
"""

from collections import Counter
from collections.abc import Iterable, Mapping

from domain.menu import OrderLine, Size

# pizza -> ingredient -> portions for (small, medium, large)
Recipes = Mapping[str, Mapping[str, Mapping[Size, int]]]


def _per_size(small: int, medium: int, large: int) -> dict[Size, int]:
    return {Size.SMALL: small, Size.MEDIUM: medium, Size.LARGE: large}


_BASE = {"dough": _per_size(1, 1, 1), "tomato_sauce": _per_size(1, 1, 2), "mozzarella": _per_size(1, 2, 2)}

SEED_RECIPES: dict[str, dict[str, dict[Size, int]]] = {
    "margherita": {**_BASE, "basil": _per_size(1, 1, 1)},
    "pepperoni": {**_BASE, "pepperoni": _per_size(1, 2, 3)},
    "quattro_formaggi": {
        "dough": _per_size(1, 1, 1),
        "mozzarella": _per_size(1, 1, 2),
        "gorgonzola": _per_size(1, 1, 1),
        "fontina": _per_size(1, 1, 1),
        "parmesan": _per_size(1, 1, 1),
    },
    "diavola": {**_BASE, "spicy_salami": _per_size(1, 2, 3), "chili": _per_size(1, 1, 1)},
    "vegetariana": {
        **_BASE,
        "peppers": _per_size(1, 1, 2),
        "onions": _per_size(1, 1, 1),
        "mushrooms": _per_size(1, 1, 2),
        "olives": _per_size(1, 1, 1),
    },
    "hawaiian": {**_BASE, "ham": _per_size(1, 2, 2), "pineapple": _per_size(1, 1, 2)},
}


def portions_needed(lines: Iterable[OrderLine], recipes: Recipes) -> dict[str, int]:
    """Portions of each ingredient the lines take: recipe portions at the size, plus one per topping, per pizza."""
    needed: Counter[str] = Counter()
    for line in lines:
        for ingredient, per_size in recipes.get(line.pizza, {}).items():
            needed[ingredient] += per_size.get(line.size, 0) * line.quantity
        for topping in line.toppings:
            needed[topping] += line.quantity
    return {ingredient: count for ingredient, count in sorted(needed.items()) if count > 0}


def can_make_one(needs: Mapping[str, int], available: Mapping[str, int | None]) -> bool:
    """Whether the tracked ingredients (available count; None when untracked) cover these needs."""
    for ingredient, n in needs.items():
        left = available.get(ingredient)
        if left is not None and left < n:
            return False
    return True
