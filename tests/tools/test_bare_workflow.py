"""The benchmark's baseline is the saga's shape: driven as the API drives an order, its history holds what the
shape's table says (local activities, activities through the queue, the SLA timer, four updates). That the table
matches the saga's own history is checked by the quick benchmark (tests/e2e/test_benchmark_quick.py)."""

import uuid

from temporalio.testing import WorkflowEnvironment

from tools.bare_workflow import KITCHEN, PLACED, PLACEMENT, REGULAR, Bare, bare_worker, event_kinds, expected_history
from tools.loadgen import Recorder


async def test_a_bare_lifecycle_has_the_saga_shape_its_table_gives(temporal_env: WorkflowEnvironment) -> None:
    queue = f"bare-{uuid.uuid4()}"
    rec = Recorder("bare")
    workflow_id = f"bare-{uuid.uuid4()}"
    async with bare_worker(temporal_env.client, queue):
        assert await Bare(temporal_env.client, queue).lifecycle(rec, workflow_id) == workflow_id, rec.error_samples

    # Placed by update-with-start answered "placed", then one update per kitchen step.
    assert rec.answers == {f"update-with-start {PLACED}": 1, "kitchen updates": len(KITCHEN)}
    assert rec.errors == 0
    history = await temporal_env.client.get_workflow_handle(workflow_id).fetch_history()
    seen = event_kinds(history.events)
    assert {kind: seen.get(kind, 0) for kind in expected_history()} == expected_history()
    assert seen["EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"] == 1
    # The local activities of a step run in one workflow task: placement takes as many as it has regular steps, + 1.
    assert seen["EVENT_TYPE_WORKFLOW_TASK_COMPLETED"] <= PLACEMENT.count(REGULAR) + 1 + len(KITCHEN) + 1
