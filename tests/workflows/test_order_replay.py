"""Orders recorded on a real server replay against today's workflow; a change that would break them fails here.

The histories and how to record them again: tests/histories/README.md.
"""

import sys
import types
from collections.abc import Callable
from pathlib import Path
from unittest.mock import patch

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from activities.payments.fake import FakePayments
from activities.texts.console import ConsoleNotifier
from tests.conftest import stack_settings
from tests.histories.record import KEYS, PATHS, order_id
from worker import build_worker
from workflows import compensations, order_handlers, order_workflow
from workflows.order_contract import delivery_workflow_id, workflow_id
from workflows.payload_codec import data_converter, parse_keys

HISTORIES = Path(__file__).parent.parent / "histories"
FILES = sorted(HISTORIES.glob("*.json"))
# The happy path's events when continuing as new came in; more would slow every order (docs/performance.md).
HAPPY_PATH_EVENTS = 41


def history(path: Path) -> WorkflowHistory:
    name = path.name.split(".")[0]  # happy_path.json, continued_as_new.run-2.json, dispatch_late.delivery.json
    of = delivery_workflow_id if ".delivery." in path.name else workflow_id
    return WorkflowHistory.from_json(of(order_id(name)), path.read_text())


@pytest.fixture(scope="module")
def worker_replayer(temporal_env: WorkflowEnvironment, new_database: Callable[[], str]) -> Replayer:
    """A replayer with the workflows and the runner of the worker that `worker.py` builds, and the histories' key."""
    # The worker's own wiring: a change of runner (or of the workflows it hosts) there is replayed here.
    settings = stack_settings(temporal_env, new_database())
    config = build_worker(temporal_env.client, settings, FakePayments(), ConsoleNotifier()).config()
    return Replayer(
        workflows=config["workflows"],
        workflow_runner=config["workflow_runner"],
        data_converter=data_converter(parse_keys(KEYS)),
    )


def test_every_path_of_an_order_has_a_recorded_history():
    assert {path.name.split(".")[0] for path in FILES} == set(PATHS)


def test_the_recorded_happy_path_writes_no_more_events_than_before():
    assert len(history(HISTORIES / "happy_path.json").events) <= HAPPY_PATH_EVENTS


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
async def test_a_recorded_order_replays_without_nondeterminism(worker_replayer, path):
    result = await worker_replayer.replay_workflow(history(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure!r}"


def changed_module(module: types.ModuleType, changes: list[tuple[str, str]]) -> types.ModuleType:
    """A copy of a module with its source changed as given (each text must occur exactly once)."""
    source = Path(module.__file__ or "").read_text()
    for old, new in changes:
        assert source.count(old) == 1, f"{module.__name__} no longer reads {old!r}: update this test"
        source = source.replace(old, new)
    changed = types.ModuleType(f"changed_{module.__name__}")
    exec(compile(source, f"changed_{Path(module.__file__ or '').name}", "exec"), changed.__dict__)
    return changed


def changed_workflow(*changes: tuple[str, str] | tuple[types.ModuleType, str, str]) -> type:
    """A copy of OrderWorkflow with its source changed as given, or the source of a module beside it."""
    by_module: dict[types.ModuleType, list[tuple[str, str]]] = {}
    for change in changes:
        module, old, new = change if len(change) == 3 else (order_workflow, *change)
        by_module.setdefault(module, []).append((old, new))
    siblings = {module.__name__: changed_module(module, edits) for module, edits in by_module.items()}
    siblings.pop(order_workflow.__name__, None)
    with patch.dict(sys.modules, siblings):  # the changed workflow imports the changed siblings
        return changed_module(order_workflow, by_module.get(order_workflow, [])).OrderWorkflow


CHANGES = {
    "compensations-reordered": (
        "cancelled_while_confirmed.json",
        [
            (compensations, "self._steps[-1]", "self._steps[0]"),
            (compensations, "self._steps.pop()", "self._steps.pop(0)"),
        ],
    ),
    "activity-changed": (
        "happy_path.json",
        [("StoreActivities.record_completion, f", "StoreActivities.record_cancellation, f")],
    ),
    "step-removed": (
        "happy_path.json",
        [('await self._notify("confirmation", confirmation_text(self._order))', "pass")],
    ),
    "timer-added": (
        "cash_order.json",
        [
            (
                "        self._reached(OrderStatus.CONFIRMED)\n",
                "        await workflow.sleep(1)\n        self._reached(OrderStatus.CONFIRMED)\n",
            )
        ],
    ),
    "continue-as-new-unguarded": (
        "before_patches.json",
        [("if workflow.patched(CONTINUE_AS_NEW_PATCH):", "if True:")],
    ),
    "stock-unguarded": (
        "happy_path.json",
        [("if workflow.patched(STOCK_PATCH):", "if True:")],
    ),
    "delivery-child-unguarded": (
        "happy_path.json",
        [("order.is_delivery and workflow.patched(DELIVERY_CHILD_PATCH)", "order.is_delivery")],
    ),
    "strict-signals-unguarded": (
        "before_patches.json",
        [(order_handlers, "and workflow.patched(STRICT_SIGNALS_PATCH)", "")],
    ),
}


@pytest.mark.parametrize(("file", "changes"), CHANGES.values(), ids=CHANGES.keys())
async def test_a_change_that_would_break_running_orders_fails_their_replay(worker_replayer, file, changes):
    replayer = Replayer(
        workflows=[changed_workflow(*changes)],
        workflow_runner=worker_replayer.config()["workflow_runner"],
        data_converter=worker_replayer.config()["data_converter"],
    )
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(history(HISTORIES / file))
