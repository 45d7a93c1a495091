"""Errors the domain raises when a rule is broken."""


class DomainError(Exception):
    """A business rule refused what was asked."""


class IllegalTransition(DomainError):
    """The status machine does not allow this move."""

    def __init__(self, current: str, requested: str) -> None:
        super().__init__(f"an order that is {current} cannot become {requested}")
        self.current = current
        self.requested = requested


class InvalidOrder(DomainError):
    """The order names something the menu does not offer."""


class PaymentDeclined(DomainError):
    """The card was declined; nothing was charged."""

    def __init__(self, message: str, decline_code: str | None = None) -> None:
        super().__init__(message)
        self.decline_code = decline_code
