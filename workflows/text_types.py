"""The texts of an order as pydantic field types, built from the rules of domain/text.py.

Two kinds: what a client sends (lengths and characters checked, each error naming its field), and what
Temporal already holds in histories (lengths only: the workflow judges those texts itself, under a patch,
so a payload recorded before a rule still decodes the same way on replay).
"""

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from domain.text import (
    ADDRESS,
    CUSTOMER_NAME,
    MENU_NAME,
    NOTE,
    PAYMENT_TOKEN,
    PHONE_EXAMPLE,
    WHO,
    TextRule,
    phone_problem,
)


def _lengths(rule: TextRule) -> StringConstraints:
    return StringConstraints(min_length=rule.min_length or None, max_length=rule.max_length)


def _characters(rule: TextRule) -> AfterValidator:
    def check(value: str) -> str:
        if problem := rule.problem(value):
            raise ValueError(problem)
        return value

    return AfterValidator(check)


def _phone(value: str) -> str:
    if problem := phone_problem(value):
        raise ValueError(problem)
    return value


# As kept in histories: lengths only.
KeptNote = Annotated[str, _lengths(NOTE)]
KeptWho = Annotated[str, _lengths(WHO)]

# As sent by clients.
CustomerName = Annotated[str, _lengths(CUSTOMER_NAME), _characters(CUSTOMER_NAME)]
Address = Annotated[str, _lengths(ADDRESS), _characters(ADDRESS)]
MenuName = Annotated[str, _lengths(MENU_NAME), _characters(MENU_NAME)]
PaymentToken = Annotated[
    str,
    _lengths(PAYMENT_TOKEN),
    _characters(PAYMENT_TOKEN),
    Field(description="Stripe PaymentMethod id, e.g. pm_card_visa"),
]
Phone = Annotated[
    str, AfterValidator(_phone), Field(description=f"E.164, e.g. {PHONE_EXAMPLE}", examples=[PHONE_EXAMPLE])
]
Note = Annotated[
    str,
    _lengths(NOTE),
    _characters(NOTE),
    Field(description="Kept as sent; control characters other than line breaks and tabs are refused"),
]
