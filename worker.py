"""One worker process: hosts OrderWorkflow, its DeliveryWorkflow and their activities. Start more to scale out."""

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from opentelemetry.sdk.trace import TracerProvider
from pydantic import HttpUrl
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import Interceptor, UnsandboxedWorkflowRunner, Worker

from activities.payments.activities import PaymentActivities
from activities.payments.fake import FakePayments
from activities.payments.port import PaymentGateway
from activities.payments.stripe import StripePayments
from activities.store.activities import StoreActivities
from activities.store.menu import MenuStore
from activities.store.orders import OrderStore
from activities.texts.activities import TextActivities
from activities.texts.console import ConsoleNotifier
from activities.texts.port import Notifier
from activities.texts.twilio import TwilioNotifier
from bootstrap import open_database, temporal_client, temporal_refusal, temporal_runtime
from observability import configure_logging, tracer_provider
from settings import Settings, load_settings
from workflows.delivery_workflow import DeliveryWorkflow
from workflows.order_workflow import OrderWorkflow

log = logging.getLogger("pizzeria.worker")
RECONNECT_SECONDS = 2.0
TRACER = "pizzeria.worker"


def _base(url: HttpUrl | None) -> str | None:
    # The SDKs append their own paths to a base address: it goes to them without its last slash.
    return str(url).rstrip("/") if url else None


def payment_gateway(settings: Settings) -> PaymentGateway:
    """The payment adapter chosen by PIZZERIA_PAYMENTS."""
    if settings.payments == "stripe":
        assert settings.stripe_api_key is not None  # the settings refuse stripe without a key
        return StripePayments(
            settings.stripe_api_key,
            _base(settings.stripe_api_base),
            settings.stripe_currency,
            settings.stripe_timeout_seconds,
        )
    return FakePayments()


def notifier(settings: Settings) -> Notifier:
    """The notification adapter chosen by PIZZERIA_NOTIFIER."""
    if settings.notifier == "twilio":
        sid, token, sender = settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_from_number
        assert sid and token and sender  # the settings refuse twilio without them
        return TwilioNotifier(sid, token, sender, _base(settings.twilio_api_base))
    return ConsoleNotifier()


def build_worker(
    client: Client,
    settings: Settings,
    payments: PaymentGateway,
    texts: Notifier,
    interceptors: Sequence[Interceptor] = (),
    engine: Engine | None = None,
) -> Worker:
    """A worker with every activity wired to its adapters (and any interceptors besides the client's), on
    `engine` or the database the settings name."""
    engine = engine or open_database(settings)
    store = StoreActivities(OrderStore(engine), MenuStore(engine))
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[OrderWorkflow, DeliveryWorkflow],
        # The sandbox re-imports the workflow module for every order and wraps every activation: ~40% of
        # the worker's CPU under load (py-spy). OrderWorkflow is pure and deterministic, and its tests run
        # it inside the sandbox, which would catch a non-deterministic call; production runs it without.
        workflow_runner=UnsandboxedWorkflowRunner(),
        activities=[*store.all(), *PaymentActivities(payments).all(), *TextActivities(texts).all()],
        # The database steps are plain functions; they run on these threads.
        activity_executor=ThreadPoolExecutor(max_workers=32, thread_name_prefix="activity"),
        max_concurrent_activities=32,
        max_concurrent_local_activities=32,
        # On SIGTERM, a charge or refund under way may finish before the worker lets go of it.
        graceful_shutdown_timeout=timedelta(seconds=10),
        interceptors=interceptors,
    )


def _sealing(settings: Settings) -> str:
    ring = settings.encryption_key_ring
    return f"encrypted with key {next(iter(ring))!r}" if ring else "NOT encrypted (set PIZZERIA_ENCRYPTION_KEYS)"


class TemporalRefused(Exception):
    """Temporal turned the worker's credentials away: waiting would not help."""


async def connect(
    settings: Settings, stop: asyncio.Event, sdk: Runtime, tracing: TracerProvider | None = None
) -> Client | None:
    """Connect to Temporal, waiting for it to come up; None if told to stop first, TemporalRefused if it refuses."""
    while not stop.is_set():
        try:
            return await temporal_client(settings, sdk, tracing, tracer=TRACER)
        except RuntimeError as err:  # the SDK's "Failed client connect"
            if refused := temporal_refusal(settings, err):
                raise TemporalRefused(refused) from None
            log.warning("Temporal at %s is not reachable yet (%s); retrying", settings.temporal_address, err)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RECONNECT_SECONDS)
    return None


async def serve(settings: Settings, interceptors: Sequence[Interceptor] = ()) -> None:
    """Poll until SIGINT or SIGTERM, then finish the tasks in hand and stop."""
    sdk, tracing = temporal_runtime(settings, serve_metrics=True), tracer_provider("pizzeria-worker")
    payments, texts = payment_gateway(settings), notifier(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        # The database first: one behind the code's migrations stops the worker at once, even while Temporal is away.
        engine = open_database(settings)
        client = await connect(settings, stop, sdk, tracing)
        if client is None:
            return
        async with build_worker(client, settings, payments, texts, interceptors, engine):
            log.info(
                "worker polling task queue %s on %s (payments: %s, texts: %s, payloads: %s, metrics: %s)",
                settings.task_queue,
                settings.temporal_address,
                settings.payments,
                settings.notifier,
                _sealing(settings),
                f"http://{settings.worker_metrics_address}/metrics" if settings.worker_metrics_address else "off",
            )
            await stop.wait()
            log.info("worker stopping")
    finally:
        await payments.aclose()
        await texts.aclose()
        if tracing:
            tracing.shutdown()
    log.info("worker stopped")


def main() -> None:
    """`python worker.py`: the settings read (a bad one stops it with one line), the logs set up, then serve."""
    process_settings = load_settings()
    configure_logging(process_settings)
    status = 0
    try:
        asyncio.run(serve(process_settings))
    except TemporalRefused as refused:
        log.critical("%s; stopping", refused)
        status = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave at once, the work done and the logs written: a process that exits right after its last call into the
    # SDK can abort in the interpreter's teardown (temporalio/sdk-python#300, "Fatal Python error:
    # PyGILState_Release", exit 134), and the exit status must say how the worker ended, not a crash after it.
    os._exit(status)


if __name__ == "__main__":
    main()
