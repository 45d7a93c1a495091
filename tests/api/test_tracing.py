"""One trace per request: from the HTTP request through the workflow into each activity."""

from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.testing import WorkflowEnvironment

from tests.api.conftest import eventually, move_ok
from tests.conftest import Stack, running_stack


@pytest.fixture(scope="module")
async def traced(temporal_env: WorkflowEnvironment, new_database) -> AsyncIterator[tuple[Stack, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with running_stack(temporal_env, new_database(), tracing=provider) as stack:
        yield stack, exporter


def trace_of(exporter: InMemorySpanExporter, root_name: str) -> list[ReadableSpan]:
    """Every span in the trace of the last span named `root_name`."""
    spans = exporter.get_finished_spans()
    root = [span for span in spans if span.name == root_name][-1]
    return [span for span in spans if span.context.trace_id == root.context.trace_id]


def parent_of(spans: list[ReadableSpan], span: ReadableSpan) -> ReadableSpan | None:
    return next((s for s in spans if span.parent and s.context.span_id == span.parent.span_id), None)


def ancestry(spans: list[ReadableSpan], span: ReadableSpan) -> list[str]:
    names = []
    while (span := parent_of(spans, span)) is not None:
        names.append(span.name)
    return names


async def test_placing_an_order_is_one_trace_from_the_request_through_the_workflow_into_each_activity(traced):
    stack, exporter = traced
    await stack.placed()

    async def placed() -> list[ReadableSpan] | None:
        spans = trace_of(exporter, "POST /api/orders")
        return spans if any(s.name == "RunActivity:notify_customer" for s in spans) else None

    spans = await eventually(placed)
    start = ["StartUpdateWithStartWorkflow:OrderWorkflow", "POST /api/orders"]  # the API's call, in its request
    workflow = next(s for s in spans if s.name == "RunWorkflow:OrderWorkflow")
    assert ancestry(spans, workflow) == start
    for activity in ("validate_order", "charge_payment", "save_order", "queue_in_kitchen", "notify_customer"):
        run = next(s for s in spans if s.name == f"RunActivity:{activity}")
        # The workflow's spans are instants (TracingInterceptor): what it starts hangs off the same parent.
        assert ancestry(spans, run) == [f"StartActivity:{activity}", *start]
    assert sorted(span.name for span in spans if span.parent is None) == ["POST /api/orders"]


async def test_a_kitchen_step_is_linked_into_the_orders_trace_where_the_workflow_handles_it(traced):
    stack, exporter = traced
    order = await stack.placed()
    await move_ok(stack, order["id"], "preparing")

    async def handled() -> list[ReadableSpan] | None:
        spans = trace_of(exporter, "POST /api/orders")
        return spans if len([s for s in spans if s.name == "RunActivity:save_order"]) == 2 else None

    order_trace = await eventually(handled)
    kitchen_trace = trace_of(exporter, "PUT /api/kitchen/orders/{order_id}/status")
    asked = next(s for s in kitchen_trace if s.name == "StartWorkflowUpdate:change_status")
    assert ancestry(kitchen_trace, asked) == ["PUT /api/kitchen/orders/{order_id}/status"]
    # The workflow handles the update in the order's own trace, linked to the kitchen's request.
    handle = next(s for s in order_trace if s.name == "HandleUpdate:change_status")
    assert [link.context.span_id for link in handle.links] == [asked.context.span_id]
    saved = [s for s in order_trace if s.name == "RunActivity:save_order"][-1]
    assert saved.start_time > handle.start_time
