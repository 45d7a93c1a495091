"""The benchmark's smoke form: whole orders through real processes, compared with a bare Temporal workflow.

Only what holds on a loaded CI machine is asserted: every order placed and completed, the history as
short as promised, and figures that make sense. The latency and throughput targets are printed, not
asserted: they need a quiet machine (`python -m tools.bench --orders 1000 --rate 20`).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_DATABASE

ROOT = Path(__file__).resolve().parents[2]
# The benchmark starts its own stack on a SQLite file whatever the tests' database: the SQLite pass runs it.
pytestmark = pytest.mark.skipif(
    TEST_DATABASE == "postgresql", reason="the benchmark uses its own SQLite database; the SQLite pass runs it"
)
EVENTS_PER_ORDER = 45
LIVE_MS = 2000  # a page shows a change of its order within 2 s (CONTRACT §6)


@pytest.mark.timeout(240)
def test_the_quick_benchmark_completes_every_order_with_a_short_history(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "tools.bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    print(run.stdout)
    assert run.returncode == 0, f"the benchmark harness failed:\n{run.stderr[-4000:]}"
    result = json.loads(out.read_text())
    orders = result["config"]["orders"]
    pizzeria, baseline = result["pizzeria"], result["baseline"]

    for phase in ("open_loop", "closed_loop"):
        ours = pizzeria[phase]
        assert ours["errors"] == 0, ours["error_samples"]
        assert ours["completed"] == orders
        assert ours["answers"]["POST /api/orders 201"] == orders
        for step in ("preparing", "ready", "completed"):
            assert ours["answers"][f"PUT status {step} 200"] == orders
        bare = baseline[phase]
        assert bare["errors"] == 0, bare["error_samples"]
        assert bare["completed"] == orders

    delivered = result["delivery"]["closed_loop"]
    assert delivered["errors"] == 0, delivered["error_samples"]
    assert delivered["completed"] == orders
    for step in ("PUT status preparing", "PUT status ready", "POST pickup", "POST delivered"):
        assert delivered["answers"][f"{step} 200"] == orders

    # Phase D: the closed loop again with kitchen screens open and every order followed by its tracking page.
    screens = result["screens"]
    assert screens["closed_loop"]["errors"] == 0, screens["closed_loop"]["error_samples"]
    assert screens["closed_loop"]["completed"] == orders
    assert screens["tracking_pages"] == orders
    assert screens["tracking_missed"] == 0
    assert screens["tracking_lag_ms"]["max"] <= LIVE_MS, screens["tracking_lag_ms"]
    kitchen_answers = screens["answers"].get("GET kitchen 200", 0) + screens["answers"].get("GET kitchen 304", 0)
    assert kitchen_answers >= screens["kitchen_screens"], screens["answers"]
    assert not any(key.endswith(("401", "403", "500", "unreachable")) for key in screens["answers"]), screens

    assert len(pizzeria["history_events"]) == 5
    assert max(pizzeria["history_events"]) <= EVENTS_PER_ORDER
    assert min(baseline["history_events"]) > 0

    post = pizzeria["open_loop"]["first_call_ms"]
    assert 0 < post["p50"] <= post["p95"] <= post["p99"] <= post["max"]
    assert baseline["open_loop"]["first_call_ms"]["p99"] > 0
    comparison = result["comparison"]
    assert comparison["lifecycles_per_s"] > 0
    assert comparison["baseline_workflows_per_s"] > 0
    assert comparison["ratio"] > 0
    targets = comparison["targets"]
    print(
        f"POST p99 {targets['post_p99_ms']['value']} ms (target <= {targets['post_p99_ms']['limit']}), "
        f"pizzeria/bare {comparison['ratio']} (target >= {targets['ratio']['limit']}), "
        f"events {comparison['events_per_order']} (target <= {targets['events']['limit']})"
    )
