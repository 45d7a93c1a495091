"""Card payments through Stripe: one PaymentIntent per order, created and confirmed at once.

Every request that creates something carries an idempotency key derived from the order, so a
retried activity attempt is answered by Stripe with the first attempt's result instead of a
second charge or refund. Stripe forgets a key after 24 hours, and not every Stripe-speaking
server keeps them at all: so a retried attempt first looks in Stripe for what an earlier attempt
did (the order's PaymentIntent, its refund) and takes that instead of asking again.
The SDK's own retries are off: Temporal's retry policy owns retrying, and each attempt shows in
the order's history.
"""

import logging
import time
from decimal import Decimal

import stripe
from temporalio import activity

from activities.payments.port import PaymentGateway, PaymentsMisconfigured
from domain.errors import PaymentDeclined
from domain.money import to_minor_units

log = logging.getLogger("pizzeria.stripe")

# How far back a refund looks for an order's charge when the charge's outcome was never seen.
LOOKBACK_SECONDS = 7 * 24 * 3600
# A retried charge looks back to its first attempt, give or take this much between Temporal's clock and Stripe's,
# among this many of the newest PaymentIntents at most: retries come when Stripe is slow, and a lookup that
# paged through every charge of the last minutes would multiply the load on it just then. The idempotency key
# is what guarantees one charge (Stripe keeps it 24 h; a charge is given up after 10 minutes); this lookup
# covers a server that does not keep keys.
CLOCK_SKEW_SECONDS = 60
RETRY_LOOKUP_INTENTS = 300
# Refunds that gave nothing back: a retried refund does not take one of these for the order's.
UNDONE_REFUNDS = frozenset({"failed", "canceled"})


def charge_key(order_id: str) -> str:
    return f"order-{order_id}-charge"


def refund_key(order_id: str) -> str:
    return f"order-{order_id}-refund"


class StripePayments(PaymentGateway):
    def __init__(
        self, api_key: str, api_base: str | None = None, currency: str = "usd", timeout_seconds: float = 20.0
    ) -> None:
        self._currency = currency
        # Async, so a slow Stripe never blocks the worker's event loop; the timeout stays under
        # the charge activity's 30 s so an attempt ends with an error Temporal can retry.
        self._http = stripe.HTTPXClient(timeout=timeout_seconds)
        self._stripe = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else {},
            http_client=self._http,
            max_network_retries=0,
        )

    async def charge(self, order_id: str, amount: Decimal, payment_token: str) -> str:
        if (first_try := _first_attempt_at()) is not None:
            # An earlier attempt may have charged the card though its answer never came back.
            earlier = await self._find_charge(order_id, first_try - CLOCK_SKEW_SECONDS, RETRY_LOOKUP_INTENTS)
            if earlier is not None:
                log.warning(
                    "order %s: an earlier attempt charged the card as %s; not charging again", order_id, earlier
                )
                return earlier
        try:
            intent = await self._stripe.v1.payment_intents.create_async(
                params={
                    "amount": to_minor_units(amount),
                    "currency": self._currency,
                    "payment_method": payment_token,
                    # Cards only, so confirming needs no return_url. The SDK's API version (2026-10-28.endive)
                    # refuses the older payment_method_types with a 400.
                    "allowed_payment_method_types": ["card"],
                    "confirm": True,
                    "metadata": {"order_id": order_id},
                },
                options={"idempotency_key": charge_key(order_id)},
            )
        except stripe.CardError as err:
            code = (err.error.decline_code if err.error else None) or err.code or "card_declined"
            log.info("order %s: card declined (%s)", order_id, code)
            raise PaymentDeclined(err.user_message or "Your card was declined.", code) from None
        except stripe.InvalidRequestError as err:
            if _about_payment_method(err):
                message = f"the payment method {payment_token!r} cannot be used"
                raise PaymentDeclined(message, "invalid_payment_method") from None
            raise _misconfigured("charge", order_id, err) from None
        except (stripe.AuthenticationError, stripe.PermissionError, stripe.IdempotencyError) as err:
            raise _misconfigured("charge", order_id, err) from None
        if intent.status != "succeeded":
            # A card that needs the customer (3-D Secure) cannot be completed by the kitchen's server.
            log.info("order %s: payment %s is %s, not taken", order_id, intent.id, intent.status)
            raise PaymentDeclined(f"the card payment was not completed ({intent.status})", intent.status)
        log.info("order %s: charged %s %s as %s", order_id, amount, self._currency, intent.id)
        return intent.id

    async def refund(self, order_id: str, amount: Decimal, transaction_id: str | None) -> str | None:
        intent_id = transaction_id or await self._find_charge(order_id, time.time() - LOOKBACK_SECONDS)
        if intent_id is None:
            log.info("order %s: nothing was charged, nothing to refund", order_id)
            return None
        if _first_attempt_at() is not None:
            # An earlier attempt may have refunded it though its answer never came back.
            earlier = await self._find_refund(intent_id, order_id)
            if earlier is not None:
                log.warning("order %s: an earlier attempt refunded %s as %s", order_id, intent_id, earlier)
                return earlier
        try:
            # No amount: the whole PaymentIntent is refunded.
            refund = await self._stripe.v1.refunds.create_async(
                params={"payment_intent": intent_id, "metadata": {"order_id": order_id}},
                options={"idempotency_key": refund_key(order_id)},
            )
        except stripe.InvalidRequestError as err:
            if err.code != "charge_already_refunded":
                raise
            # Refunded already, e.g. by hand in Stripe's dashboard: that refund is the order's.
            earlier = await self._find_refund(intent_id)
            if earlier is None:
                raise
            log.warning("order %s: %s was already refunded as %s", order_id, intent_id, earlier)
            return earlier
        except (stripe.AuthenticationError, stripe.PermissionError) as err:
            # Money is owed: keep trying (the activity retries) and say loudly why it does not go through.
            log.error("order %s: Stripe refused the refund of %s: %s", order_id, intent_id, err.user_message or err)
            raise
        log.info("order %s: refunded %s %s of %s as %s", order_id, amount, self._currency, intent_id, refund.id)
        return refund.id

    async def _find_charge(self, order_id: str, since: float, at_most: int | None = None) -> str | None:
        """The order's successful PaymentIntent made since then (a Unix time), among the newest `at_most`."""
        page = await self._stripe.v1.payment_intents.list_async(params={"limit": min(at_most or 100, 100)})
        seen = 0
        async for intent in page.auto_paging_iter():
            seen += 1
            if intent.created < since or (at_most is not None and seen > at_most):
                break  # newest first
            ours = intent.metadata is not None and intent.metadata.to_dict().get("order_id") == order_id
            if ours and intent.status == "succeeded":
                return intent.id
        return None

    async def _find_refund(self, intent_id: str, order_id: str | None = None) -> str | None:
        """A refund of the PaymentIntent that went through or is under way; with an order, only one made for it."""
        page = await self._stripe.v1.refunds.list_async(params={"payment_intent": intent_id, "limit": 100})
        async for refund in page.auto_paging_iter():
            ours = order_id is None or (
                refund.metadata is not None and refund.metadata.to_dict().get("order_id") == order_id
            )
            if ours and refund.status not in UNDONE_REFUNDS:
                return refund.id
        return None

    async def aclose(self) -> None:
        await self._http.close_async()


def _first_attempt_at() -> float | None:
    """In a retried attempt of an activity, when its first attempt was scheduled (a Unix time); else None."""
    if not activity.in_activity() or activity.info().attempt <= 1:
        return None
    return activity.info().scheduled_time.timestamp()


def _about_payment_method(err: stripe.InvalidRequestError) -> bool:
    # Stripe says resource_missing on param payment_method; local fakes answer 404.
    return err.param == "payment_method" or err.http_status == 404


def _misconfigured(step: str, order_id: str, err: stripe.StripeError) -> PaymentsMisconfigured:
    reason = err.user_message or str(err) or type(err).__name__
    log.error("order %s: Stripe refused the %s request (%s): %s", order_id, step, type(err).__name__, reason)
    return PaymentsMisconfigured(f"Stripe refused the {step} request ({type(err).__name__}): {reason}")
