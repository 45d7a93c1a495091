"""The benchmark's smoke form: whole orders through real processes, compared with a bare Temporal workflow.

Only what holds on a loaded CI machine is asserted: every order placed and completed, the history as
short as promised, Temporal's actions per order as the history commands them, the bare workflow of the
saga's shape, an overload run that loses nothing and charges once, and figures that make sense. The latency
and throughput targets are printed, not asserted: they need a quiet machine (`make bench`).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_DATABASE
from tools.bare_workflow import MARKER_TASKS, expected_history

ROOT = Path(__file__).resolve().parents[2]
# The benchmark starts its own stack on a SQLite file whatever the tests' database: the SQLite pass runs it.
pytestmark = pytest.mark.skipif(
    TEST_DATABASE == "postgresql", reason="the benchmark uses its own SQLite database; the SQLite pass runs it"
)
EVENTS_PER_ORDER = 44  # the pickup order's history, no longer than before (the goal, 41, is not met)
LIVE_MS = 2000  # a page shows a change of its order within 2 s (CONTRACT §6)
ACTIONS_PER_ORDER = 17  # a pickup order by the dev server's counter, no more than before (the goal, 10, is not met)
ANSWER_MS = 10_000  # under overload every POST is answered within 10 s
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def expected_actions(history: dict[str, int]) -> dict[str, float]:
    """The actions a lifecycle's history commands, as the dev server's counter names them: one per update-with-start,
    accepted update, activity scheduled, timer and upsert; one per workflow task that recorded markers."""
    expected = {
        "grpc_ExecuteMultiOperation": 1,
        "message_UpdateWorkflowExecution_Acceptance": history["EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED"],
        "command_ScheduleActivityTask": history.get("EVENT_TYPE_ACTIVITY_TASK_SCHEDULED", 0),
        "command_StartTimer": history.get("EVENT_TYPE_TIMER_STARTED", 0),
        "command_UpsertWorkflowSearchAttributes": history.get("EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES", 0),
        "command_BatchMarkers": history.get(MARKER_TASKS, 0),
    }
    return {kind: count for kind, count in expected.items() if count}


@pytest.mark.timeout(270)
def test_the_quick_benchmark_completes_every_order_with_a_short_history(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "tools.bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=210,
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

    # The bare workflow has the saga's shape: its table, its history and the saga's history agree; it was driven as
    # the API drives an order (update-with-start answered once placed, then the kitchen's three updates).
    for phase in ("open_loop", "closed_loop"):
        assert baseline[phase]["answers"] == {"update-with-start placed": orders, "kitchen updates": 3 * orders}
    for kind, count in expected_history().items():
        assert baseline["history_shape"].get(kind, 0) == count, (kind, baseline["history_shape"])
        assert pizzeria["history_shape"].get(kind, 0) == count, (
            kind,
            pizzeria["history_shape"],
            "bare_workflow's table",
        )

    # Temporal's actions per order, counted by the dev server, are what the histories command.
    ours = pizzeria["closed_loop"]["actions_per_order"]
    assert 0 < ours["total"] <= ACTIONS_PER_ORDER, ours
    assert ours["by_type"] == expected_actions(pizzeria["history_shape"]), ours
    bare_actions = baseline["closed_loop"]["actions_per_order"]
    assert bare_actions["by_type"] == expected_actions(baseline["history_shape"]), bare_actions
    delivered_actions = result["delivery"]["closed_loop"]["actions_per_order"]
    assert delivered_actions["total"] > ours["total"]  # its child workflow's actions are counted too
    assert delivered_actions["by_type"]["command_StartChildWorkflowExecution"] == 1
    per_get = pizzeria["actions_per_get"]
    assert per_get["answers"]["GET 200"] == per_get["count"] > 0, per_get
    assert 0 <= per_get["total"] <= 1, per_get  # at most the one query a GET of a running order asks

    # The overload run: every order placed exactly once and charged once, every answer within the bound.
    overload = result["overload"]
    offered = result["config"]["overload"]
    assert overload["offered"] == offered > 0
    assert overload["keys_placed"] == overload["distinct_orders"] == offered, overload["error_samples"]
    assert overload["lost"] == 0
    assert overload["charges"] == {
        "checked": True, "stored": offered, "with_payment": offered, "distinct_payments": offered
    }  # fmt: skip
    assert set(overload["answers"]) <= {"200", "201", "503"}, overload["answers"]
    assert overload["answered_within_bound"] == overload["attempts"], overload["answer_ms"]
    assert overload["answer_ms"]["max"] <= ANSWER_MS
    assert overload["placed_per_s"] > 0

    # The latency plot, next to the JSON.
    plot = Path(result["plot"])
    assert plot == out.with_suffix(".png")
    assert plot.read_bytes().startswith(PNG_SIGNATURE)
    assert plot.stat().st_size > 10_000  # a drawn figure, not an empty canvas

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
        f"CPU {targets['cpu_ms']['value']} ms per order (target <= {targets['cpu_ms']['limit']}), "
        f"events {comparison['events_per_order']} (target <= {targets['events']['limit']})"
    )
