"""Temporal's actions are read from the dev server's Prometheus text, one namespace at a time, per order."""

from collections import Counter

from tools.actions import parse_actions, per_order

METRICS = """# HELP action action counter
# TYPE action counter
action{action_type="command_BatchMarkers",namespace="default",operation="RespondWorkflowTaskCompleted"} 50
action{action_type="command_StartTimer",namespace="default",operation="RespondWorkflowTaskCompleted"} 10
action{action_type="command_StartTimer",namespace="default",operation="Other",service_name="history"} 2
action{action_type="grpc_StartWorkflowExecution",namespace="temporal_system",operation="StartWorkflowExecution"} 7
action_latency{action_type="command_StartTimer",namespace="default"} 99
"""


def test_the_counter_is_summed_by_type_for_one_namespace_only() -> None:
    assert parse_actions(METRICS, "default") == Counter({"command_BatchMarkers": 50, "command_StartTimer": 12})
    assert parse_actions(METRICS, "temporal_system") == Counter({"grpc_StartWorkflowExecution": 7})


def test_actions_per_order_are_the_difference_between_two_reads() -> None:
    before = Counter({"command_BatchMarkers": 50, "command_StartTimer": 12})
    after = Counter({"command_BatchMarkers": 100, "command_StartTimer": 22, "grpc_QueryWorkflow": 5})

    assert per_order(before, after, 10) == {
        "count": 10,
        "total": 6.5,
        "by_type": {"command_BatchMarkers": 5.0, "command_StartTimer": 1.0, "grpc_QueryWorkflow": 0.5},
    }
    assert per_order(before, after, 0)["total"] is None
