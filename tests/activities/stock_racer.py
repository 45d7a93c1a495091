"""One process of the stock race (tests/activities/test_stock.py): `python -m tests.activities.stock_racer
URL GO_DIR RACER INGREDIENT...`. For each ingredient in turn it waits for GO_DIR/<ingredient> to appear, then
reserves one portion of it for an order of its own, and prints one JSON line: who won, or the shortage."""

import json
import sys
import time
from pathlib import Path

from activities.store.stock import StockStore
from activities.store.tables import make_engine
from domain.errors import StockShortage


def main() -> None:
    url, go, racer, ingredients = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
    engine = make_engine(url)
    store = StockStore(engine)
    store.levels()  # connected before the race starts
    for ingredient in ingredients:
        deadline = time.monotonic() + 30
        while not (go / ingredient).exists():
            if time.monotonic() > deadline:
                sys.exit(f"never told to go for {ingredient}")
            time.sleep(0.001)
        try:
            got = store.reserve(f"{racer}-{ingredient}", {ingredient: 1})
            print(json.dumps({"ingredient": ingredient, "racer": racer, "reserved": got}), flush=True)
        except StockShortage as short:
            print(json.dumps({"ingredient": ingredient, "racer": racer, "short": str(short)}), flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
