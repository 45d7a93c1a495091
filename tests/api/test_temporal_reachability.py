"""While Temporal is away, slow calls fail fast, and share one health check however many there are."""

import asyncio
import time
from types import SimpleNamespace

from temporalio.service import RPCError

from api import order_workflows
from api.order_ids import OrderIds
from api.order_workflows import OrderWorkflows
from settings import Settings


class AwayService:
    """A service client whose server does not answer: each health check fails after a short while."""

    config = SimpleNamespace(target_host="127.0.0.1:7233")

    def __init__(self) -> None:
        self.checks = 0

    async def check_health(self, timeout: object = None) -> bool:
        self.checks += 1
        await asyncio.sleep(0.05)
        raise ConnectionRefusedError("connection refused")


async def test_thirty_calls_stuck_at_once_ask_temporal_once_and_all_answer_unreachable_within_a_second(monkeypatch):
    monkeypatch.setattr(order_workflows, "REACHABILITY_CHECK_AFTER_SECONDS", 0.2)
    service = AwayService()
    workflows = OrderWorkflows(
        SimpleNamespace(service_client=service), Settings(jwt_secret="x" * 32), OrderIds(b"s" * 32)
    )  # type: ignore[arg-type]
    started = time.monotonic()
    outcomes = await asyncio.gather(
        *(workflows._answer(asyncio.sleep(30), 10) for _ in range(30)), return_exceptions=True
    )
    assert time.monotonic() - started < 1
    assert all(isinstance(o, RPCError) and "unreachable" in o.message for o in outcomes), outcomes
    assert service.checks == 1
