"""The in-process payment gateway behaves like Stripe's test cards."""

from decimal import Decimal

import pytest

from activities.payments.fake import FakePayments
from activities.payments.port import PaymentGateway
from activities.texts.port import masked_phone
from domain.errors import PaymentDeclined

ORDER_ID = "3f2a9c1e-7b4d-4e8a-9c2f-1a2b3c4d5e6f"
TOTAL = Decimal("39.40")


@pytest.fixture
def payments() -> FakePayments:
    return FakePayments()


def test_the_fake_is_a_payment_gateway() -> None:
    assert isinstance(FakePayments(), PaymentGateway)


@pytest.mark.parametrize("card", ["pm_card_visa", "pm_card_mastercard"])
async def test_a_good_test_card_is_charged_the_orders_total(payments: FakePayments, card: str) -> None:
    transaction_id = await payments.charge(ORDER_ID, TOTAL, card)

    assert isinstance(transaction_id, str)
    assert transaction_id
    assert payments.charges == [(ORDER_ID, TOTAL)]


@pytest.mark.parametrize(
    ("card", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeCustomerFail", "generic_decline"),
    ],
)
async def test_a_declined_card_charges_nothing_and_says_why(
    payments: FakePayments, card: str, decline_code: str
) -> None:
    with pytest.raises(PaymentDeclined) as declined:
        await payments.charge(ORDER_ID, TOTAL, card)

    assert declined.value.decline_code == decline_code
    assert "declined" in str(declined.value)
    assert payments.charges == []


@pytest.mark.parametrize("token", ["tok_visa", "4242424242424242", "", "card_visa"])
async def test_something_that_is_not_a_test_payment_method_is_declined(payments: FakePayments, token: str) -> None:
    with pytest.raises(PaymentDeclined) as declined:
        await payments.charge(ORDER_ID, TOTAL, token)

    assert declined.value.decline_code
    assert payments.charges == []


async def test_charging_the_same_order_twice_gives_the_same_transaction(payments: FakePayments) -> None:
    first = await payments.charge(ORDER_ID, TOTAL, "pm_card_visa")
    again = await payments.charge(ORDER_ID, TOTAL, "pm_card_visa")

    assert again == first


async def test_different_orders_get_different_transactions(payments: FakePayments) -> None:
    one = await payments.charge("11111111-aaaa-4000-8000-000000000001", TOTAL, "pm_card_visa")
    other = await payments.charge("22222222-bbbb-4000-8000-000000000002", TOTAL, "pm_card_visa")

    assert one != other


async def test_refunding_an_order_that_was_never_charged_refunds_nothing(payments: FakePayments) -> None:
    assert await payments.refund(ORDER_ID, TOTAL, None) is None
    assert payments.refunds == []


async def test_refunding_a_declined_order_refunds_nothing(payments: FakePayments) -> None:
    with pytest.raises(PaymentDeclined):
        await payments.charge(ORDER_ID, TOTAL, "pm_card_chargeDeclined")

    assert await payments.refund(ORDER_ID, TOTAL, None) is None
    assert payments.refunds == []


async def test_a_charged_order_is_refunded_even_when_its_transaction_is_unknown(payments: FakePayments) -> None:
    await payments.charge(ORDER_ID, TOTAL, "pm_card_visa")

    refund_id = await payments.refund(ORDER_ID, TOTAL, None)

    assert refund_id
    assert payments.refunds == [(ORDER_ID, TOTAL)]


async def test_refunding_the_same_charge_twice_gives_the_same_refund(payments: FakePayments) -> None:
    transaction_id = await payments.charge(ORDER_ID, TOTAL, "pm_card_mastercard")

    first = await payments.refund(ORDER_ID, TOTAL, transaction_id)
    again = await payments.refund(ORDER_ID, TOTAL, transaction_id)

    assert first
    assert again == first


async def test_refunding_one_order_does_not_refund_another(payments: FakePayments) -> None:
    await payments.charge(ORDER_ID, TOTAL, "pm_card_visa")

    assert await payments.refund("99999999-cccc-4000-8000-000000000009", TOTAL, None) is None
    assert payments.refunds == []


def test_a_masked_phone_shows_only_the_country_code_and_last_two_digits() -> None:
    masked = masked_phone("+15551234567")

    assert masked == "+1********67"
    assert "555" not in masked
    assert "1234" not in masked


def test_a_masked_phone_keeps_the_length_of_the_number() -> None:
    phone = "+393471234598"

    masked = masked_phone(phone)

    assert len(masked) == len(phone)
    assert masked.startswith("+3")
    assert masked.endswith("98")
    assert "347123" not in masked
