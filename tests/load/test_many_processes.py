"""Two workers and two APIs on one task queue and one database; one of each killed with SIGKILL mid-way.

Two hundred orders of the load test's mix (tests/load/reconcile.py) are shared out between the two
APIs, twenty at a time. Once half of them have ended, one worker and one API get SIGKILL, with orders
in flight: charges, kitchen steps and cancels under way on the worker, requests waiting on the API.

A request to the killed API fails at the connection. The customer's client, as a real one behind a
load balancer would, sends the same request again, with the same Idempotency-Key where it has one, to
the surviving API, which takes every later request too. The repeat may find the work of the attempt it
repeats already done, so the plan's per-order checks accept exactly what that attempt explains: a
placement may answer 200 (the first attempt reached Temporal) as well as 201; a kitchen step or a
cancel may answer 409, and then the order, read again, must be in the planned status. Nothing else
passes: another status, a second order, a wrong total, a missing or second refund is a mismatch. The
same holds for a request repeated after a 503, which the killed worker causes while Temporal waits for
its tasks to time out.

Afterwards nothing may be lost or charged twice: every workflow closed with its planned final status,
one charge per card order at the provider, one refund per cancelled card order, one row per order with
its total, and the revenue as planned. The reconciliation table is printed; any mismatch fails.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.load.reconcile import UNREACHABLE

ROOT = Path(__file__).resolve().parents[2]
ORDERS, KILL_AFTER = 200, 100


@pytest.mark.timeout(300)
def test_orders_through_two_apis_and_two_workers_finish_once_each_after_one_of_each_is_killed_midway(
    database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "load.json"
    command = [sys.executable, "-m", "tests.load.reconcile", "--orders", str(ORDERS), "--concurrency", "20"]
    command += ["--workers", "2", "--apis", "2", "--kill-after", str(KILL_AFTER)]
    command += ["--database-url", database_url, "--out", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=280)
    print(run.stdout)
    assert run.returncode in (0, 1), f"the load test's harness failed:\n{run.stderr[-4000:]}"
    result = json.loads(out.read_text())
    assert [line for line in result["lines"] if not line["ok"]] == [], run.stdout
    assert run.returncode == 0

    figures = result["figures"]
    # The kill came mid-way, and requests were in flight to the killed API (they were sent again).
    assert figures["kill"], "no process was killed: the orders ended first"
    assert figures["kill"]["killed"] == ["worker-2", "api-2"]
    assert KILL_AFTER <= figures["kill"]["after_orders"] < ORDERS
    assert sum(n for answer, n in figures["answers"].items() if answer.endswith(UNREACHABLE)) > 0, run.stdout
    # Both workers did the orders' work (each sent texts), and both APIs answered.
    assert figures["texts_by_worker"].keys() == {"worker", "worker-2"}
    assert all(n > 0 for n in figures["texts_by_worker"].values()), figures["texts_by_worker"]
    assert figures["answers_by_api"].keys() == {"api", "api-2"}
    assert all(n > 0 for n in figures["answers_by_api"].values()), figures["answers_by_api"]
