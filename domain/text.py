"""Text an order keeps: any Unicode, exactly as given, except what a text message or PostgreSQL cannot hold.

Refused: NUL and the other control characters (Unicode category Cc) and lone surrogates. Free text (an
address, notes, a reason) may hold line breaks and tabs. A customer's name or address may not be blank.
Lengths count code points. Each kind of text has its rule here, and only here.
"""

import re
import unicodedata
from dataclasses import dataclass

LINE_BREAKS = frozenset("\t\n\r")

# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
# Checked by form only: a number-plan check (libphonenumber) refuses the 555 numbers of the examples.
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
PHONE_EXAMPLE = "+15551234567"


@dataclass(frozen=True)
class TextRule:
    """How long a kind of text may be, whether it may run over lines, and whether it may be blank."""

    max_length: int
    min_length: int = 0
    lines: bool = False
    blank: bool = True

    def problem(self, value: str) -> str | None:
        """Why `value` is not text of this kind (its characters; lengths are checked where it is read)."""
        return text_problem(value, lines=self.lines, blank=self.blank)


CUSTOMER_NAME = TextRule(min_length=2, max_length=100, blank=False)
ADDRESS = TextRule(min_length=10, max_length=200, lines=True, blank=False)
MENU_NAME = TextRule(min_length=1, max_length=50)  # a pizza, a topping
PAYMENT_TOKEN = TextRule(min_length=1, max_length=255)
NOTE = TextRule(max_length=500, lines=True)  # the kitchen's notes, a customer's reason
WHO = TextRule(min_length=1, max_length=100)  # who made a change: a staff name, "customer"


def text_problem(value: str, *, lines: bool = False, blank: bool = True) -> str | None:
    """Why `value` cannot be taken as text, or None when it can."""
    for char in value:
        kind = unicodedata.category(char)
        if kind == "Cs":
            return "must be valid Unicode (it holds a lone surrogate)"
        if kind == "Cc" and not (lines and char in LINE_BREAKS):
            return f"must not hold control characters (it holds U+{ord(char):04X})"
    if not blank and not value.strip():
        return "must not be blank"
    return None


def phone_problem(value: str) -> str | None:
    """Why `value` is not a phone number in E.164 form, or None when it is."""
    if E164.fullmatch(value):
        return None
    return f"must be an E.164 number such as {PHONE_EXAMPLE}"
