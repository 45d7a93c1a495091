"""Both ways of standing Temporal up register every search attribute the workflow sets."""

import os
import re
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.testing import WorkflowEnvironment

from tests.compose_file import env_example, host_command, raw_compose, resolved
from tests.conftest import SAME_ON_ANY_DATABASE
from tools.stack import BIN, SEARCH_ATTRIBUTE_FLAGS
from workflows.order_contract import SEARCH_ATTRIBUTES

pytestmark = SAME_ON_ANY_DATABASE

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_starts_the_dev_server_with_every_search_attribute():
    makefile = (ROOT / "Makefile").read_text()
    flags = re.search(r"^SEARCH_ATTRIBUTES := ((?:.*\\\n)*.*)$", makefile, re.MULTILINE)
    assert flags, "the Makefile defines SEARCH_ATTRIBUTES"
    assert flags.group(1).replace("\\\n", " ").split() == SEARCH_ATTRIBUTE_FLAGS


async def test_the_production_setup_creates_the_namespace_registers_every_search_attribute_and_may_run_again(
    temporal_env: WorkflowEnvironment,
):
    # As docker compose would run it with .env.example's values, with the script it mounts.
    setup = resolved(raw_compose()["services"]["temporal-setup"], env_example())
    namespace = f"setup-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **setup["environment"],
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": namespace,
    }
    for _ in range(2):  # a restarted setup container runs it again
        done = subprocess.run(host_command(setup), env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    described = await temporal_env.client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace)
    )
    # .env.example's PIZZERIA_TEMPORAL_RETENTION: 720h.
    assert described.config.workflow_execution_retention_ttl.ToTimedelta() == timedelta(days=30)
    listed = await temporal_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    registered = {name: IndexedValueType.Name(kind) for name, kind in listed.custom_attributes.items()}
    assert registered == {key.name: IndexedValueType.Name(key.indexed_value_type) for key in SEARCH_ATTRIBUTES}
