"""Both ways of standing Temporal up register every search attribute the workflow sets."""

import os
import re
import subprocess
import uuid
from pathlib import Path

import yaml
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from tools.stack import BIN, SEARCH_ATTRIBUTE_FLAGS
from workflows.order_contract import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_starts_the_dev_server_with_every_search_attribute():
    makefile = (ROOT / "Makefile").read_text()
    flags = re.search(r"^SEARCH_ATTRIBUTES := ((?:.*\\\n)*.*)$", makefile, re.MULTILINE)
    assert flags, "the Makefile defines SEARCH_ATTRIBUTES"
    assert flags.group(1).replace("\\\n", " ").split() == SEARCH_ATTRIBUTE_FLAGS


async def test_the_production_setup_registers_every_search_attribute_and_may_run_again(
    temporal_env: WorkflowEnvironment,
):
    setup = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["temporal-setup"]
    namespace = f"setup-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **setup["environment"],
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": namespace,
    }
    subprocess.run([BIN / "temporal", "operator", "namespace", "create", "-n", namespace], env=env, check=True)
    for _ in range(2):  # a restarted setup container runs it again
        done = subprocess.run(setup["entrypoint"], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr

    listed = await temporal_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    registered = {name: IndexedValueType.Name(kind) for name, kind in listed.custom_attributes.items()}
    assert registered == {key.name: IndexedValueType.Name(key.indexed_value_type) for key in SEARCH_ATTRIBUTES}
