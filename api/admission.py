"""Admission control of placements: past as many orders in flight as the shop confirms in time, a new one is
turned away at once (503, Retry-After) rather than left waiting in a queue until its bounded wait runs out.

A placement is turned away before its order id is worked out and before any call to Temporal: no workflow
starts for it and nothing is charged, so repeating it (with the same Idempotency-Key) is always safe. The
bound is per API process.
"""

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from api.metrics import ApiMetrics

log = logging.getLogger("pizzeria.api")
REPORT_EVERY_SECONDS = 1.0  # at most one log line a second while shedding, however many are turned away


class Overloaded(Exception):
    """As many placements are in flight as the bound allows: come back after `retry_after` seconds."""

    def __init__(self, in_flight: int, retry_after: int) -> None:
        super().__init__(f"{in_flight} orders are being placed, the most this process takes at once")
        self.in_flight, self.retry_after = in_flight, retry_after


class Admission:
    """Counts the placements between their admission and their answer, and turns away those over the bound."""

    def __init__(self, bound: int, retry_after: int, metrics: ApiMetrics) -> None:
        self.bound, self.retry_after = bound, retry_after
        self._in_flight_gauge, self._shed_counter = metrics.placements_in_flight, metrics.placements_shed
        self.in_flight = 0
        self._unreported = 0  # turned away since the last log line
        self._reported_at = float("-inf")

    @asynccontextmanager
    async def placement(self) -> AsyncIterator[None]:
        """Hold a place for one placement while the block runs, whatever way it ends (answer, error, the
        client gone); Overloaded, at once, when there is none."""
        # No await between the check and the count: on one event loop nothing else runs in between.
        if self.in_flight >= self.bound:
            self._shed_counter.inc()
            self._unreported += 1
            self._report()
            raise Overloaded(self.in_flight, self.retry_after)
        self.in_flight += 1
        self._in_flight_gauge.inc()
        try:
            yield
        finally:
            self.in_flight -= 1
            self._in_flight_gauge.dec()
            self._report()

    def _report(self) -> None:
        """One WARNING line when shedding starts, then at most one a second, with the count since the last."""
        now = time.monotonic()
        if not self._unreported or now - self._reported_at < REPORT_EVERY_SECONDS:
            return
        log.warning(
            "the shop is busy: turned away %d placement(s) with 503 since the last such line; "
            "%d of at most %d in flight",
            self._unreported,
            self.in_flight,
            self.bound,
            extra={"shed": self._unreported, "in_flight": self.in_flight, "bound": self.bound},
        )
        self._unreported, self._reported_at = 0, now
