"""Errors the domain raises when a rule is broken."""


class DomainError(Exception):
    """A business rule refused what was asked."""


class IllegalTransition(DomainError):
    """The status machine does not allow this move."""

    def __init__(self, current: str, requested: str, why: str | None = None) -> None:
        because = f": {why}" if why else ""
        super().__init__(f"an order that is {current} cannot become {requested}{because}")
        self.current = current
        self.requested = requested


class NotYourDelivery(DomainError):
    """Another driver has this delivery."""

    def __init__(self, driver: str) -> None:
        super().__init__(f"driver {driver} has this delivery")
        self.driver = driver


class InvalidOrder(DomainError):
    """The order names something the menu does not offer."""


class PaymentDeclined(DomainError):
    """The card was declined; nothing was charged."""

    def __init__(self, message: str, decline_code: str | None = None) -> None:
        super().__init__(message)
        self.decline_code = decline_code


class StockShortage(DomainError):
    """Not enough of a tracked ingredient to make the order."""

    def __init__(self, ingredient: str, needed: int, available: int) -> None:
        super().__init__(f"not enough {ingredient} in stock: {needed} portion(s) needed, {available} left")
        self.ingredient = ingredient
        self.needed = needed
        self.available = available
