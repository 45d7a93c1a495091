"""Hundreds of orders at once through real processes, then the books must balance (tests/load/reconcile.py)."""

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.load.reconcile import CYCLE, PlannedOrder, plan, price, reconcile

ROOT = Path(__file__).resolve().parents[2]
MENU = {
    "pizzas": [
        {"name": "margherita", "prices": {"small": "9.99", "medium": "12.99", "large": "15.99"}, "available": True},
        {"name": "diavola", "prices": {"small": "12.49", "medium": "15.49", "large": "18.49"}, "available": True},
    ],
    "toppings": [
        {"name": "basil", "price": "0.75", "available": True},
        {"name": "olives", "price": "1.00", "available": True},
    ],
}


@pytest.mark.timeout(300)
def test_three_hundred_orders_thirty_at_a_time_reconcile_with_temporal_the_provider_the_database_and_revenue(
    tmp_path: Path, database_url: str
) -> None:
    out = tmp_path / "load.json"
    reconcile = [sys.executable, "-m", "tests.load.reconcile", "--database-url", database_url]
    run = subprocess.run(
        [*reconcile, "--orders", "300", "--concurrency", "30", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    print(run.stdout)
    assert run.returncode in (0, 1), f"the load test's harness failed:\n{run.stderr[-4000:]}"
    result = json.loads(out.read_text())
    assert [line for line in result["lines"] if not line["ok"]] == [], run.stdout
    assert run.returncode == 0

    expected = {line["what"]: line["expected"] for line in result["lines"]}
    # Every kind of order was in the run, so each line counted something.
    assert set(result["mix"]) == {scenario.name for scenario in CYCLE}
    assert int(expected["charges at the provider (PaymentIntents succeeded)"]) > 0
    assert int(expected["refunds at the provider"]) > 0
    assert all(int(expected[f"  rows {final}"]) > 0 for final in ("completed", "cancelled", "rejected"))
    assert Decimal(expected["revenue, the database"]) > 0
    post = result["figures"]["latency_ms"]["POST /api/orders"]
    assert post["n"] >= 300 and 0 < post["p50"] <= post["p95"] <= post["p99"]


def test_the_totals_follow_the_contracts_pricing_as_in_the_readmes_example() -> None:
    two_large_margherita_with_basil = [{"name": "margherita", "size": "large", "toppings": ["basil"], "quantity": 2}]
    assert price(MENU, two_large_margherita_with_basil, delivery=True) == Decimal("39.40")
    assert price(MENU, two_large_margherita_with_basil, delivery=False) == Decimal("36.41")


def books_as_planned(orders: list[PlannedOrder]) -> dict:
    """What Temporal, the provider, the database and the API would hold if every order went to plan."""
    for order in orders:
        order.history, order.ran = order.scenario.history, True
    cents = {o.id: int(o.total * 100) for o in orders}
    completed = [o for o in orders if o.scenario.final == "completed"]
    return {
        "workflows": {o.id: ("COMPLETED", o.scenario.final) for o in orders},
        "intents": [
            {"id": f"pi_{o.index}", "status": "succeeded", "amount": cents[o.id], "metadata": {"order_id": o.id}}
            for o in orders
            if o.scenario.charged
        ],
        "refunds": [
            {"id": f"re_{o.index}", "amount": cents[o.id], "metadata": {"order_id": o.id}}
            for o in orders
            if o.scenario.refunded
        ],
        "rows": {o.id: (o.scenario.final, o.total) for o in orders},
        "revenue": [
            {
                "revenue": str(sum((o.total for o in completed), Decimal(0))),
                "orders_completed": len(completed),
                "orders_cancelled": sum(1 for o in orders if o.scenario.final == "cancelled"),
            }
        ],
    }


def test_the_reconciliation_names_a_second_charge_a_missing_refund_and_a_sale_not_recorded() -> None:
    orders = plan(40, MENU, "unit", seed=7)
    books = books_as_planned(orders)
    assert all(line["ok"] for line in reconcile(orders, **books))

    charged = next(
        i
        for i in books["intents"]
        if i["metadata"]["order_id"] not in {r["metadata"]["order_id"] for r in books["refunds"]}
    )
    books["intents"].append({**charged, "id": "pi_again"})
    refunded = books["refunds"].pop()
    sold = next(o for o in orders if o.scenario.final == "completed")
    books["rows"][sold.id] = ("ready", sold.total)
    orders[-1].ran = False  # the run's time ran out before its script ended

    wrong = {line["what"]: line for line in reconcile(orders, **books) if not line["ok"]}
    assert set(wrong) == {
        "answered as planned (orders)",
        "charges at the provider (PaymentIntents succeeded)",
        "charged amount at the provider",
        "charged once and in full, or not at all",
        "refunds at the provider",
        "refunded amount at the provider",
        "refunded once and in full, or not at all",
        "stored with the planned final status and total",
        "  rows completed",
        "revenue, the database",
    }
    assert charged["metadata"]["order_id"] in wrong["charged once and in full, or not at all"]["samples"][0]
    assert refunded["metadata"]["order_id"] in wrong["refunded once and in full, or not at all"]["samples"][0]
    assert wrong["revenue, the database"]["found"] == str(Decimal(books["revenue"][0]["revenue"]) - sold.total)
