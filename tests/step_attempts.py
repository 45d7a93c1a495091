"""The attempt that settled each step of a workflow's history: a regular activity's started event, or a local
activity's marker (the placement's steps, the charge among them, are local activities)."""

import json

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

LOCAL_ACTIVITY_MARKER = "core_local_activity"


async def step_attempts(client: Client, workflow_id: str) -> list[tuple[str, int]]:
    """(activity type, settling attempt) for every step of the history, in order."""
    scheduled: dict[int, str] = {}
    steps = []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            started = event.activity_task_started_event_attributes
            steps.append((scheduled[started.scheduled_event_id], started.attempt))
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == LOCAL_ACTIVITY_MARKER:
                data = json.loads(marker.details["data"].payloads[0].data)
                steps.append((data["activity_type"], data["attempt"]))
    return steps
