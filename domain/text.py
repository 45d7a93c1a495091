"""Text an order keeps: any Unicode, exactly as given, except what a text message or PostgreSQL cannot hold.

Refused: NUL and the other control characters (Unicode category Cc) and lone surrogates. Free text (an
address, notes, a reason) may hold line breaks and tabs.
"""

import unicodedata

LINE_BREAKS = frozenset("\t\n\r")


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
