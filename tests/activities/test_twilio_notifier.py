"""The Twilio adapter, with the real SDK, against a server speaking Twilio's Messages API."""

import logging
import time

import pytest

from activities.texts.port import Undeliverable, masked_phone
from activities.texts.twilio import TwilioNotifier
from tests.conftest import unique_phone
from tests.peers import TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN, TwilioPeer

TEXT = "Mario's Pizzeria: order 1a2b3c4d confirmed, total $23.50. Ready about 18:45 UTC."


@pytest.fixture
async def twilio(twilio_peer: TwilioPeer):
    notifier = TwilioNotifier(TWILIO_SID, TWILIO_TOKEN, TWILIO_FROM, twilio_peer.base_url)
    yield notifier
    await notifier.aclose()


async def test_a_text_is_one_message_from_our_number_to_the_customer(twilio, twilio_peer):
    phone = unique_phone()
    await twilio.send(phone, TEXT)
    [message] = twilio_peer.messages(phone)
    assert message == {
        "path": f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json",
        "authorized": True,
        "To": phone,
        "From": TWILIO_FROM,
        "Body": TEXT,
    }


async def test_the_log_names_neither_the_number_nor_the_words(twilio, caplog):
    phone = unique_phone()
    with caplog.at_level(logging.DEBUG):
        await twilio.send(phone, TEXT)
    assert masked_phone(phone) in caplog.text
    assert phone not in caplog.text and "confirmed" not in caplog.text


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_a_server_error_is_tried_three_times_then_raised(twilio, twilio_peer, status):
    phone = unique_phone()
    twilio_peer.answer(phone, status)
    with pytest.raises(RuntimeError, match=f"Twilio answered {status}"):
        await twilio.send(phone, TEXT)
    assert len(twilio_peer.messages(phone)) == 3


async def test_a_message_twilio_refuses_for_good_is_not_retried_and_hides_the_number(twilio, twilio_peer):
    phone = unique_phone()
    twilio_peer.answer(phone, 400)
    with pytest.raises(Undeliverable, match="Twilio answered 400") as refused:
        await twilio.send(phone, TEXT)
    assert phone not in str(refused.value) and masked_phone(phone) in str(refused.value)
    assert len(twilio_peer.messages(phone)) == 1


async def test_wrong_credentials_are_refused_for_good(twilio_peer):
    wrong = TwilioNotifier(TWILIO_SID, "not-the-token", TWILIO_FROM, twilio_peer.base_url)
    try:
        with pytest.raises(Undeliverable, match="Twilio answered 401"):
            await wrong.send(unique_phone(), TEXT)
    finally:
        await wrong.aclose()


async def test_twilio_down_is_raised_for_the_activity_to_retry():
    down = TwilioNotifier(TWILIO_SID, TWILIO_TOKEN, TWILIO_FROM, "http://127.0.0.1:9", timeout_seconds=2)
    try:
        with pytest.raises(RuntimeError, match="Twilio could not be reached"):
            await down.send(unique_phone(), TEXT)
    finally:
        await down.aclose()


async def test_a_twilio_that_never_answers_is_given_up_after_three_short_tries(twilio_peer):
    phone = unique_phone()
    twilio_peer.answer(phone, 0)  # accepts the request, never answers
    impatient = TwilioNotifier(TWILIO_SID, TWILIO_TOKEN, TWILIO_FROM, twilio_peer.base_url, timeout_seconds=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(RuntimeError, match="Twilio could not be reached"):
            await impatient.send(phone, TEXT)
    finally:
        await impatient.aclose()
    assert time.monotonic() - started < 5
    assert len(twilio_peer.messages(phone)) == 3
