"""A signal sent straight to Temporal with a malformed payload changes nothing and fails nothing."""

import asyncio
import json
import os
from collections.abc import Awaitable, Callable

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import RawValue

from domain.order import OrderStatus
from tests.conftest import ENCRYPTION_KEYS
from tests.workflows.conftest import PATIENCE, Pizzeria, sealing_client
from workflows.order_workflow import OrderWorkflow
from workflows.payload_codec import ENCODING, KEY_ID, NONCE_BYTES, EncryptionCodec, new_key_entry, parse_keys

WORKER_KEY = next(iter(parse_keys(ENCRYPTION_KEYS)))


def _json(value: object) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())


def _sealed_by_worker_key(content: bytes) -> Payload:
    """Sealed properly with the worker's own key, around bytes that are no payload at all."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(parse_keys(ENCRYPTION_KEYS)[WORKER_KEY]).encrypt(nonce, content, WORKER_KEY.encode())
    return Payload(metadata={"encoding": ENCODING, KEY_ID: WORKER_KEY.encode()}, data=nonce + sealed)


async def _sealed_with_unknown_key(value: object) -> Payload:
    [sealed] = await EncryptionCodec(parse_keys(new_key_entry("someone-elses"))).encode([_json(value)])
    return sealed


# Each would move the order on (or cancel it) if it were read as a note: all are legal signals now.
MALFORMED: dict[str, Payload] = {
    "wrong types": _json({"by": 123456, "notes": ["in", "the", "oven"]}),
    "a string, not an object": _json("preparing please"),
    "a list": _json([{"by": "luigi"}]),
    "huge notes": _json({"by": "luigi", "notes": "n" * 1_000_000}),
    "huge by": _json({"by": "b" * 10_000}),
    "non-JSON bytes": Payload(metadata={"encoding": b"json/plain"}, data=b"\xff\xfe{not json"),
    "no encoding at all": Payload(data=b'{"by": "luigi"}'),
    "an encoding nobody knows": Payload(metadata={"encoding": b"application/x-pizza"}, data=b"\x00\x01"),
    "encrypted-looking garbage": Payload(
        metadata={"encoding": ENCODING, KEY_ID: WORKER_KEY.encode()}, data=os.urandom(80)
    ),
    "encrypted-looking, too short to hold anything": Payload(
        metadata={"encoding": ENCODING, KEY_ID: WORKER_KEY.encode()}, data=b"x"
    ),
    "encrypted-looking, no key named": Payload(metadata={"encoding": ENCODING}, data=os.urandom(40)),
    "the worker's key around no payload": _sealed_by_worker_key(b"\xff\xff\xff\xff\xff"),
}


async def _until(check: Callable[[], Awaitable[str | None]], what: str) -> str:
    """Poll until `check` answers something; that answer."""
    deadline = asyncio.get_running_loop().time() + PATIENCE
    while (answer := await check()) is None:
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"never seen: {what}")
        await asyncio.sleep(0.05)
    return answer


def _task_after_signal(events, signals: int) -> str | None:
    """How the first workflow task after the n-th signal ended: 'completed' or its failure; None if none has."""
    signalled = [e.event_id for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]
    for event in events if len(signalled) >= signals else ():
        if event.event_id > signalled[signals - 1]:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                return "completed"
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                return event.workflow_task_failed_event_attributes.failure.message
    return None


async def _send_each(pizzeria: Pizzeria, handle, cases: list[tuple[str, str, Payload | list[Payload]]]) -> None:
    """Send each payload as a raw signal; after each, a workflow task completes (none fails) and nothing moved."""
    raw = pizzeria.env.client.get_workflow_handle(handle.id)  # no keys, no converter of ours: bytes as given
    for sent, (name, signal, payloads) in enumerate(cases, start=1):
        await raw.signal(signal, args=[RawValue(p) for p in (payloads if isinstance(payloads, list) else [payloads])])

        async def outcome(sent: int = sent) -> str | None:
            return _task_after_signal(await pizzeria.history(handle), sent)

        ended = await _until(outcome, f"a workflow task after {name}")
        assert ended == "completed", f"{name} ({signal}): the workflow task failed: {ended}"
        order = await handle.query(OrderWorkflow.order)
        assert order.status is OrderStatus.CONFIRMED, f"{name} ({signal}) moved the order to {order.status}"


async def test_malformed_signal_payloads_change_nothing_and_the_order_still_completes(sealed_pizzeria):
    pizzeria = sealed_pizzeria
    handle, placed = await pizzeria.place()
    assert placed.status is OrderStatus.CONFIRMED
    unknown_key = await _sealed_with_unknown_key({"by": "luigi", "notes": "sealed elsewhere"})
    extra_fields = _json({"by": "luigi", "notes": "fine", "status": "completed", "refund": True})
    cases = [(name, "mark_preparing", payload) for name, payload in MALFORMED.items()]
    cases += [
        ("sealed with a key the worker lacks", "mark_preparing", unknown_key),
        ("extra fields", "mark_preparing", extra_fields),
        ("notes holding NUL, which PostgreSQL cannot store", "mark_preparing", _json({"notes": "extra\x00cheese"})),
        ("a cancel signed with a control character", "cancel", _json({"by": "lu\x07igi"})),
        ("a cancel sealed with a key the worker lacks", "cancel", unknown_key),
        ("a cancel with garbage", "cancel", MALFORMED["encrypted-looking garbage"]),
        ("a cancel with extra fields", "cancel", extra_fields),
        ("two notes", "mark_preparing", [_json({"by": "luigi"}), _json({"by": "mario"})]),
        ("a cancel with two notes", "cancel", [_json({"by": "ada"}), _json({"by": "ada"})]),
        ("a signal the order does not have", "mark_eaten", _json({"by": "luigi"})),
    ]

    await _send_each(pizzeria, handle, cases)

    order = await handle.query(OrderWorkflow.order)
    assert [h.status for h in order.history] == [OrderStatus.RECEIVED, OrderStatus.CONFIRMED]
    assert pizzeria.activities.names()[-1] == "notify_customer"  # the confirmation: nothing since
    events = await pizzeria.history(handle)
    assert not [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]

    for signal in ("mark_preparing", "mark_ready", "mark_completed"):
        await handle.signal(signal, {"by": "luigi"})
    result = await handle.result()
    assert result.status is OrderStatus.COMPLETED
    assert [h.by for h in result.order.history[2:]] == ["luigi", "luigi", "luigi"]
    assert "refund_payment" not in pizzeria.activities.names()
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED


async def test_a_well_formed_signal_sealed_with_the_workers_key_still_moves_the_order(sealed_pizzeria):
    pizzeria = sealed_pizzeria
    handle, _ = await pizzeria.place()
    [sealed] = await EncryptionCodec(parse_keys(ENCRYPTION_KEYS)).encode([_json({"by": "luigi", "notes": "oven"})])

    await pizzeria.env.client.get_workflow_handle(handle.id).signal("mark_preparing", RawValue(sealed))
    await pizzeria.handled(handle, signals=1)

    order = await handle.query(OrderWorkflow.order)
    assert (order.status, order.history[-1].by, order.history[-1].notes) == (OrderStatus.PREPARING, "luigi", "oven")


async def test_an_order_whose_input_is_sealed_with_a_key_the_worker_lacks_fails_its_task_naming_the_key(
    sealed_pizzeria, dev_server_env
):
    pizzeria = sealed_pizzeria
    pizzeria.client = sealing_client(dev_server_env, new_key_entry("retired"))
    handle = await pizzeria.start()

    async def failed_task() -> str | None:
        events = await pizzeria.history(handle)
        failed = [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
        return failed[0].workflow_task_failed_event_attributes.failure.message if failed else None

    message = await _until(failed_task, "a failed workflow task")
    assert "payload sealed with key 'retired', which PIZZERIA_ENCRYPTION_KEYS does not list" in message
    assert WORKER_KEY in message
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING  # waiting for a worker with the key
    assert pizzeria.activities.calls == []


@pytest.mark.parametrize("signal", ["mark_preparing", "cancel"])
async def test_a_note_within_its_limits_is_taken_as_it_is(sealed_pizzeria, signal):
    pizzeria = sealed_pizzeria
    handle, _ = await pizzeria.place()
    await handle.signal(signal, {"by": "b" * 100, "notes": "n" * 500})
    await pizzeria.handled(handle, signals=1)
    if signal == "cancel":
        result = await handle.result()
        assert (result.status, result.order.history[-1].notes) == (OrderStatus.CANCELLED, "n" * 500)
    else:
        order = await handle.query(OrderWorkflow.order)
        assert (order.status, order.history[-1].by) == (OrderStatus.PREPARING, "b" * 100)
