"""While Temporal is away, slow calls fail fast, and share one health check however many there are."""

import asyncio
import time

import pytest
from temporalio.service import ConnectConfig

from api import reachability
from api.reachability import Reachability, TemporalDown


class AwayService:
    """A service client whose server does not answer: each health check fails after a short while."""

    config = ConnectConfig(target_host="127.0.0.1:7233")  # no TLS, no API key

    def __init__(self) -> None:
        self.checks = 0

    async def check_health(self, timeout: object = None) -> bool:
        self.checks += 1
        await asyncio.sleep(0.05)
        raise ConnectionRefusedError("connection refused")


async def test_thirty_calls_stuck_at_once_ask_temporal_once_and_all_answer_unreachable_within_a_second(monkeypatch):
    monkeypatch.setattr(reachability, "REACHABILITY_CHECK_AFTER_SECONDS", 0.2)
    service = AwayService()
    temporal = Reachability(service)  # type: ignore[arg-type]
    started = time.monotonic()
    outcomes = await asyncio.gather(
        *(temporal.answer(asyncio.sleep(30), 10) for _ in range(30)), return_exceptions=True
    )
    assert time.monotonic() - started < 1
    assert all(isinstance(o, TemporalDown) and "127.0.0.1:7233 is unreachable" in str(o) for o in outcomes), outcomes
    assert service.checks == 1


async def test_a_call_that_answers_in_time_never_asks_for_a_health_check():
    service = AwayService()

    assert await Reachability(service).answer(asyncio.sleep(0.01, "done"), 10) == "done"  # type: ignore[arg-type]
    assert service.checks == 0


async def test_a_call_over_its_deadline_ends_in_a_timeout(monkeypatch):
    monkeypatch.setattr(reachability, "REACHABILITY_CHECK_AFTER_SECONDS", 5)

    with pytest.raises(TimeoutError):
        await Reachability(AwayService()).answer(asyncio.sleep(30), 0.1)  # type: ignore[arg-type]
