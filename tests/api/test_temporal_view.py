"""What ops see of an order in the Temporal UI and CLI: summary, details, each step's line, search attributes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowHandle

from tests.api.conftest import completed_order, eventually, manager_headers, move_ok, new_key
from tests.conftest import Stack, order_body, running_stack
from workflows.order_contract import FULFILMENT, ORDER_STATUS, ORDER_TOTAL, PAYMENT_METHOD, workflow_id

CUSTOMER = tuple(order_body()[field] for field in ("customer_name", "customer_phone", "customer_address"))
# Events whose summary ops read in the timeline: activities, local activities (markers) and timers.
STEPS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_MARKER_RECORDED,
    EventType.EVENT_TYPE_TIMER_STARTED,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
}
PATCH_MARKER = "core_patch"  # a patch's marker: no step of the order's


def handle(stack: Stack, order_id: str) -> WorkflowHandle:
    return stack.client.get_workflow_handle(workflow_id(order_id))


async def step_summaries(client: Client, order_id: str) -> list[tuple[str, str]]:
    """(event type, summary) of every activity, local activity and timer in the order's history, in order."""
    steps = []
    async for event in client.get_workflow_handle(workflow_id(order_id)).fetch_history_events():
        if event.event_type in STEPS and event.marker_recorded_event_attributes.marker_name != PATCH_MARKER:
            summary = event.user_metadata.summary if event.HasField("user_metadata") else None
            text = (await client.data_converter.decode([summary], [str]))[0] if summary else ""
            steps.append((EventType.Name(event.event_type).removeprefix("EVENT_TYPE_"), text))
    return steps


async def current_details(stack: Stack, order_id: str) -> str:
    metadata = await handle(stack, order_id).query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    return metadata.current_details


async def test_an_order_carries_a_summary_and_its_lines_as_details_and_no_customer_data(stack):
    order = await stack.placed(pizzas=[{"name": "diavola", "size": "small", "quantity": 3}], fulfilment="pickup")
    description = await handle(stack, order["id"]).describe()
    summary, details = await description.static_summary(), await description.static_details()
    assert summary == f"#{order['id'][:8]} · 3 pizzas · ${order['total']} · pickup"
    line = order["items"][0]
    assert details.startswith(f"- 3 x diavola, small: \\${line['line_total']}\n")
    assert f"**total \\${order['total']}**" in details and "Pickup, paid by card." in details
    for private in CUSTOMER:
        assert private not in summary + details


async def test_an_order_the_menu_does_not_offer_still_has_a_summary(stack):
    response = await stack.place(key=new_key(), pizzas=[{"name": "calzone", "size": "large"}])
    order_id = response.json()["order_id"]
    description = await handle(stack, order_id).describe()
    assert await description.static_summary() == f"#{order_id[:8]} · 1 pizza · not priced · delivery"
    assert "calzone" in await current_details(stack, order_id)


async def test_the_current_details_follow_the_order_through_the_kitchen(stack):
    order = await stack.placed()
    details = await current_details(stack, order["id"])
    assert details.startswith("**confirmed** since ") and "Paid by card: " in details
    await move_ok(stack, order["id"], "preparing")
    details = await current_details(stack, order["id"])
    assert details.startswith("**preparing** since ") and "(by luigi)" in details
    for private in CUSTOMER:
        assert private not in details


async def test_every_step_and_timer_in_the_history_says_what_it_does(stack):
    order = await completed_order(stack)
    count = sum(item["quantity"] for item in order["items"])
    pizzas = f"{count} pizza" if count == 1 else f"{count} pizzas"
    driver = "a driver within 15 min"  # the pickup promise, PIZZERIA_DELIVERY_PICKUP_SLA_SECONDS' default
    assert await step_summaries(stack.client, order["id"]) == [
        ("MARKER_RECORDED", "price 1 line(s) from today's menu"),
        ("MARKER_RECORDED", "reserve the ingredients of 2 pizza(s)"),
        ("ACTIVITY_TASK_SCHEDULED", f"charge ${order['total']} to the card"),
        ("MARKER_RECORDED", "store the order as confirmed"),
        ("MARKER_RECORDED", "put the order in the kitchen's queue"),
        ("MARKER_RECORDED", "text the customer: confirmation"),
        ("TIMER_STARTED", "kitchen promise: ready within 45 min, else say sorry"),
        ("MARKER_RECORDED", "store the order as preparing"),
        ("MARKER_RECORDED", "store the order as ready"),
        ("MARKER_RECORDED", "text the customer: ready"),
        ("START_CHILD_WORKFLOW_EXECUTION_INITIATED", f"delivery of #{order['id'][:8]} · {pizzas} · {driver}"),
        ("MARKER_RECORDED", "record the sale of $" + order["total"]),
    ]


async def test_a_cancelled_orders_history_tells_the_undoing(stack):
    order = await stack.placed()
    assert (await stack.http.post(f"/api/orders/{order['id']}/cancel")).status_code == 200
    steps = [summary for _, summary in await step_summaries(stack.client, order["id"])]
    undoing = steps[steps.index("text the customer: confirmation") + 2 :]
    assert undoing == [
        "take the order out of the kitchen's queue",
        f"refund ${order['total']} to the card",
        "record the cancellation",
        "text the customer: cancelled",
    ]


async def test_search_attributes_hold_status_total_fulfilment_and_payment_method(stack):
    order = await completed_order(stack, payment_method="cash", payment_token=None, fulfilment="pickup")
    attributes = (await handle(stack, order["id"]).describe()).typed_search_attributes
    assert attributes.get(ORDER_STATUS) == "completed"
    assert Decimal(str(attributes.get(ORDER_TOTAL))) == Decimal(order["total"])
    assert (attributes.get(FULFILMENT), attributes.get(PAYMENT_METHOD)) == ("pickup", "cash")


async def test_the_readmes_queries_find_orders_above_an_amount_late_ones_and_todays_cancellations(stack):
    big = await stack.placed(pizzas=[{"name": "quattro_formaggi", "size": "large", "quantity": 10}])
    late = await stack.placed(fulfilment="pickup")
    cancelled = await stack.placed()
    assert (await stack.http.post(f"/api/orders/{cancelled['id']}/cancel")).status_code == 200
    today = datetime.now(UTC).strftime("%Y-%m-%dT00:00:00Z")
    just_now = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    async def found(query: str, order_id: str) -> bool:
        return any(
            [w.id async for w in stack.client.list_workflows(f"{query} AND WorkflowId = '{workflow_id(order_id)}'")]
        )

    assert await eventually(lambda: found(f"OrderTotal > {Decimal(big['total']) - 1}", big["id"]))
    # "Late": still in the kitchen, placed before some moment (in docs/operating.md: 45 minutes ago; here: now).
    late_query = f"OrderStatus IN ('confirmed', 'preparing') AND StartTime < '{just_now}'"
    assert await eventually(lambda: found(late_query, late["id"]))
    cancellations = f"OrderStatus = 'cancelled' AND CloseTime >= '{today}'"
    assert await eventually(lambda: found(cancellations, cancelled["id"]))
    assert not await found(f"OrderTotal > {Decimal(big['total'])}", big["id"])


async def test_after_a_manager_changes_a_price_the_next_orders_summary_shows_the_new_total(temporal_env, database_url):
    async with running_stack(temporal_env, database_url) as shop:
        pizza = [{"name": "hawaiian", "size": "medium"}]
        before = await shop.placed(pizzas=pizza)
        changed = await shop.http.put(
            "/api/menu/pizzas/hawaiian", json={"prices": {"medium": "20.00"}}, headers=manager_headers()
        )
        assert changed.status_code == 200, changed.text
        after = await shop.placed(pizzas=pizza)
        assert after["total"] != before["total"]
        description = await handle(shop, after["id"]).describe()
        assert await description.static_summary() == f"#{after['id'][:8]} · 1 pizza · ${after['total']} · delivery"
