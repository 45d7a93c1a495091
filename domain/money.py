"""Money is Decimal, kept to cents."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def cents(amount: Decimal | int | str) -> Decimal:
    """Round an amount half-up to whole cents."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def to_minor_units(amount: Decimal) -> int:
    """An amount in integer cents, as card processors take it."""
    return int(cents(amount) * 100)
