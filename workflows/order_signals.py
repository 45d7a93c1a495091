"""The order's signals as they arrive: raw payloads, read into a staff note or refused (and logged).

One dynamic handler takes every signal: a named one would let the SDK drop a payload it cannot decode
before any code of ours runs (so a flood of those would never let the order continue as new), and fail
the workflow task on a signal with two payloads.
"""

from collections.abc import Sequence
from typing import NamedTuple

from temporalio import workflow
from temporalio.common import RawValue

from domain.order import OrderStatus
from domain.text import text_problem
from workflows.order_contract import (
    SIGNAL_CANCEL,
    SIGNAL_MARK_COMPLETED,
    SIGNAL_MARK_DELIVERED,
    SIGNAL_MARK_DELIVERY_FAILED,
    SIGNAL_MARK_PICKED_UP,
    SIGNAL_MARK_PREPARING,
    SIGNAL_MARK_READY,
    StaffNote,
)

KITCHEN_SIGNALS = {
    SIGNAL_MARK_PREPARING: OrderStatus.PREPARING,
    SIGNAL_MARK_READY: OrderStatus.READY,
    SIGNAL_MARK_COMPLETED: OrderStatus.COMPLETED,
}
# A driver's steps, by ops: passed on to the order's delivery.
DELIVERY_SIGNALS = frozenset({SIGNAL_MARK_PICKED_UP, SIGNAL_MARK_DELIVERED, SIGNAL_MARK_DELIVERY_FAILED})
DESCRIPTION = (
    "mark_preparing, mark_ready, mark_completed, cancel, mark_picked_up, mark_delivered, mark_delivery_failed: "
    "{by?, notes?} (a failed delivery's notes are its reason)"
)


class SignalNote(NamedTuple):
    note: StaffNote
    # Why the note cannot be kept (unknown fields, text a store refuses); None when it can.
    unkeepable: str | None


def read_signal(name: str, args: Sequence[RawValue]) -> SignalNote | None:
    """The note of a signal the order has (none sent is an empty one); None, logged, when there is none to read."""
    if name != SIGNAL_CANCEL and name not in KITCHEN_SIGNALS and name not in DELIVERY_SIGNALS:
        workflow.logger.warning("signal %r ignored: the order has no such signal", name[:100])
        return None
    if len(args) > 1:
        workflow.logger.warning("%s signal ignored: %d payloads, not one note", name, len(args))
        return None
    try:
        converter = workflow.payload_converter()
        # The converter takes any type hint, this union too; its stub asks for a class.
        note = converter.from_payload(args[0].payload, StaffNote | None) if args else None  # type: ignore[arg-type]
    except Exception as err:  # whatever the payload is, it is not a note: pydantic's, the codec's, JSON's errors
        workflow.logger.warning("%s signal ignored: its payload is not a note: %.300s", name, err)
        return None
    if note is None:
        return SignalNote(StaffNote(), None)
    return SignalNote(note, _unkeepable(note))


def _unkeepable(note: StaffNote) -> str | None:
    """Why a signal's note cannot be taken: fields it should not have, or text a store cannot keep (NUL)."""
    if note.model_extra:
        return f"unknown fields {', '.join(note.model_extra)}"
    by = note.by and text_problem(note.by)
    notes = note.notes and text_problem(note.notes, lines=True)
    return f"by {by}" if by else f"notes {notes}" if notes else None
