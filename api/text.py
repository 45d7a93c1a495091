"""Text the API takes: any Unicode, stored and returned exactly as sent (spaces at either end included;
lengths count code points), except what a text message or PostgreSQL cannot hold.

Refused: NUL and the other control characters (Unicode category Cc) and lone surrogates. Free text (an
address, notes, a reason) may hold line breaks and tabs. A name or an address may not be blank.
"""

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from domain.text import text_problem


def text_line(value: str) -> str:
    """The value, when it is one line of text; ValueError saying why not."""
    if problem := text_problem(value):
        raise ValueError(problem)
    return value


def _lines(value: str) -> str:
    if problem := text_problem(value, lines=True):
        raise ValueError(problem)
    return value


# A note that may run over lines: the kitchen's notes, a customer's reason.
Note = Annotated[
    str,
    StringConstraints(max_length=500),
    AfterValidator(_lines),
    Field(description="Kept as sent; control characters other than line breaks and tabs are refused"),
]
