"""Ops read an order's history with the Temporal CLI: sealed as stored, readable through the codec endpoint."""

import base64
import subprocess
import time

import httpx
from temporalio.testing import WorkflowEnvironment

from api.auth import mint_token
from tests.conftest import BIN, SAME_ON_ANY_DATABASE, order_body
from tests.e2e.conftest import Processes
from workflows.order_contract import workflow_id

pytestmark = SAME_ON_ANY_DATABASE

NAME, PHONE = "Quentin Sealed", "+15550009999"
SEALED = base64.b64encode(b"binary/encrypted").decode()  # the payloads' encoding, as the CLI prints metadata


def temporal(env: WorkflowEnvironment, *args: str) -> subprocess.CompletedProcess:
    """The `temporal` CLI against the test server, as ops would type it."""
    address = env.client.service_client.config.target_host
    return subprocess.run([BIN / "temporal", *args, "--address", address], capture_output=True, text=True, timeout=60)


def show(processes: Processes, env: WorkflowEnvironment, order_id: str, *codec: str) -> subprocess.CompletedProcess:
    """`temporal workflow show` of the order."""
    return temporal(env, "workflow", "show", "-w", workflow_id(order_id), *codec)


def test_the_cli_shows_an_order_decoded_only_through_the_codec_endpoint_with_a_staff_token(
    processes: Processes, temporal_env: WorkflowEnvironment
):
    processes.start_worker()
    placed = httpx.post(f"{processes.base_url}/api/orders", json=order_body(customer_name=NAME, customer_phone=PHONE))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    token = mint_token(processes.env["PIZZERIA_JWT_SECRET"], "ops", ["kitchen"], 600)
    endpoint = ["--codec-endpoint", f"{processes.base_url}/codec"]

    sealed = show(processes, temporal_env, order_id, "--detailed")
    assert sealed.returncode == 0, sealed.stderr
    assert SEALED in sealed.stdout and NAME not in sealed.stdout and PHONE not in sealed.stdout

    opened = show(processes, temporal_env, order_id, "--detailed", *endpoint, "--codec-auth", f"Bearer {token}")
    assert opened.returncode == 0, opened.stderr
    assert NAME in opened.stdout and PHONE in opened.stdout
    # A query (no arguments: the CLI sends the endpoint `{}`) answers in clear; a signal is sealed on its way.
    auth = ["--codec-auth", f"Bearer {token}"]
    answered = temporal(
        temporal_env, "workflow", "query", "-w", workflow_id(order_id), "--type", "order", *endpoint, *auth
    )
    assert answered.returncode == 0 and NAME in answered.stdout, answered.stderr
    signal = ["--name", "mark_preparing", "--input", '{"by": "ops", "notes": "by hand"}']
    signalled = temporal(temporal_env, "workflow", "signal", "-w", workflow_id(order_id), *signal, *endpoint, *auth)
    assert signalled.returncode == 0, signalled.stderr
    deadline = time.monotonic() + 10
    while httpx.get(f"{processes.base_url}/api/orders/{order_id}").json()["history"][-1]["notes"] != "by hand":
        assert time.monotonic() < deadline, "the signal sent through the codec was not applied"
        time.sleep(0.1)

    # Without a token the endpoint answers 401; the CLI keeps asking until its timeout, then fails.
    refused = show(processes, temporal_env, order_id, "--detailed", *endpoint, "--command-timeout", "3s")
    assert refused.returncode != 0 and NAME not in refused.stdout
    assert "POST /codec/decode 401" in (processes.logs / "api.log").read_text()
