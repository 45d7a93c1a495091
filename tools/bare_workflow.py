"""The benchmark's baseline: the saga's shape with nothing in it, and its driver.

The shape is OrderWorkflow's for a pickup order paid by card, kept in step with it by hand through the two
tables below (the quick benchmark checks that the two histories agree): started by update-with-start with an
update answered once placed, the same no-op local and regular activities in the same workflow tasks, the SLA
timer (a sleep in a task the workflow never awaits; it simply drops it when it completes), three updates (the
kitchen's steps, answered at once, as the saga's are) each followed by its local activities. What the pizzeria
costs beyond it is the pizzeria's own code.

The benchmark's worker runs the workflow in the SDK's sandbox like OrderWorkflow, with this module passed
through rather than executed again for every workflow; it imports nothing but temporalio at run time.
"""

import asyncio
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

if TYPE_CHECKING:
    from tools.loadgen import Recorder

# Placement, workflow task by workflow task: a number is that many local activities one after the other,
# REGULAR one activity through the task queue (which ends the workflow task).
REGULAR = "regular"
PLACEMENT: tuple[int | str, ...] = (2, REGULAR, 3)  # validate, reserve | charge | save, queue, notify
KITCHEN = (1, 2, 1)  # local activities after each kitchen step: preparing: save; ready: save, notify; completed: record
SLA = timedelta(minutes=45)  # the kitchen's promise; the workflow completes long before it fires
LIFECYCLE_SECONDS = 60.0
STEP_TIMEOUT = timedelta(seconds=10)
PLACED = "placed"


LOCAL_ACTIVITY_MARKER = "EVENT_TYPE_MARKER_RECORDED core_local_activity"
PATCH_MARKER = "EVENT_TYPE_MARKER_RECORDED core_patch"  # `workflow.patched`, with its TemporalChangeVersion upsert
CHANGE_VERSION_UPSERT = "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES TemporalChangeVersion"
MARKER_TASKS = "workflow tasks with markers"  # Temporal counts one action (BatchMarkers) per such task


def event_kinds(events: Iterable[HistoryEvent]) -> dict[str, int]:
    """A history's events by type; also markers by name, the workflow tasks that recorded any, and the upserts of
    TemporalChangeVersion."""
    kinds: Counter[str] = Counter()
    marker_tasks: set[int] = set()
    for event in events:
        kind = EventType.Name(event.event_type)
        kinds[kind] += 1
        if event.HasField("marker_recorded_event_attributes"):
            marker = event.marker_recorded_event_attributes
            kinds[f"{kind} {marker.marker_name}"] += 1
            marker_tasks.add(marker.workflow_task_completed_event_id)
        if event.HasField("upsert_workflow_search_attributes_event_attributes"):
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
            if "TemporalChangeVersion" in fields:
                kinds[CHANGE_VERSION_UPSERT] += 1
    if marker_tasks:
        kinds[MARKER_TASKS] = len(marker_tasks)
    return dict(sorted(kinds.items()))


def expected_history() -> dict[str, int]:
    """What the table says one lifecycle's history holds, by event kind (as `event_kinds` names them)."""
    local = sum(n for n in (*PLACEMENT, *KITCHEN) if isinstance(n, int))
    return {
        LOCAL_ACTIVITY_MARKER: local,
        "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED": PLACEMENT.count(REGULAR),
        "EVENT_TYPE_TIMER_STARTED": 1,
        "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED": 1 + len(KITCHEN),
    }


@activity.defn(name="bare_local")
async def bare_local() -> None:
    return None


@activity.defn(name="bare_regular")
async def bare_regular() -> None:
    return None


BARE_ACTIVITIES = [bare_local, bare_regular]


@workflow.defn(name="BareOrderWorkflow")
class BareOrderWorkflow:
    """The saga's activities, timer and updates, no-ops all (see the tables at the top of the module)."""

    def __init__(self) -> None:
        self._placed = False
        self._steps = 0
        self._sla: asyncio.Task[None] | None = None

    @workflow.update  # the bare form: typed so that callers get its answer
    async def place(self) -> str:
        """The update of update-with-start: answered once placed."""
        await workflow.wait_condition(lambda: self._placed)
        return PLACED

    @workflow.update(name="kitchen_step")
    def kitchen_step(self) -> int:
        """The kitchen moves the order on: answered at once, its local activities follow."""
        self._steps += 1
        return self._steps

    @workflow.run
    async def run(self) -> int:
        for step in PLACEMENT:
            if step == REGULAR:
                await workflow.execute_activity(bare_regular, start_to_close_timeout=STEP_TIMEOUT)
            else:
                await self._local(int(step))
        self._placed = True
        self._sla = asyncio.create_task(workflow.sleep(SLA))  # never awaited to its end, as the saga's
        for done, local in enumerate(KITCHEN, start=1):
            await workflow.wait_condition(lambda: self._steps >= done)  # noqa: B023 (awaited within the iteration)
            await self._local(local)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._steps

    async def _local(self, count: int) -> None:
        for _ in range(count):
            await workflow.execute_local_activity(bare_local, start_to_close_timeout=STEP_TIMEOUT)


def bare_worker(client: Client, task_queue: str) -> Worker:
    """A worker for the bare workflow, in the SDK's sandbox as OrderWorkflow's, this module passed through."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(BareOrderWorkflow.__module__)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[BareOrderWorkflow],
        activities=BARE_ACTIVITIES,
        workflow_runner=SandboxedWorkflowRunner(restrictions=restrictions),
    )


class Bare:
    """Drives bare workflows as the API drives orders: update-with-start, three updates, then awaited."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    async def lifecycle(self, rec: "Recorder", workflow_id: str, planned: float | None = None) -> str | None:
        """Update-with-start answered once placed, 3 updates, the result."""
        started = rec.started(planned)
        try:
            async with asyncio.timeout(LIFECYCLE_SECONDS):
                start = WithStartWorkflowOperation(
                    BareOrderWorkflow.run,
                    id=workflow_id,
                    task_queue=self.task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
                placed = await self.client.execute_update_with_start_workflow(
                    BareOrderWorkflow.place, start_workflow_operation=start
                )
                rec.first_answered(started, placed)
                rec.answers[f"update-with-start {placed}"] += 1
                handle = await start.workflow_handle()
                for _ in KITCHEN:
                    await handle.execute_update(BareOrderWorkflow.kitchen_step)
                rec.answers["kitchen updates"] += len(KITCHEN)
                await handle.result()
        except Exception as err:  # any failure of the call counts; the run goes on
            rec.error("bare lifecycle", None, f"{type(err).__name__}: {err}")
            return None
        rec.done(workflow_id, started)
        return workflow_id
