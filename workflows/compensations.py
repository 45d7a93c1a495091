"""The saga's compensations: a stack of named undo steps, run newest first."""

from collections.abc import Awaitable, Callable

Undo = Callable[[], Awaitable[None]]


class Compensations:
    """What undoing the order takes so far. Each step is pushed as its action is about to be done."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Undo]] = []

    def push(self, name: str, undo: Undo) -> None:
        """Register the undo of a step, under a name to drop it by."""
        self._steps.append((name, undo))

    def drop(self, name: str) -> None:
        """Forget one step: it turned out there is nothing to undo (a card that was never charged)."""
        self._steps = [(step, undo) for step, undo in self._steps if step != name]

    def keep_only(self, name: str) -> None:
        """Forget every step but one: what is left to undo once the rest can no longer be undone."""
        self._steps = [(step, undo) for step, undo in self._steps if step == name]

    def names(self) -> list[str]:
        """The steps still to undo, oldest first."""
        return [name for name, _ in self._steps]

    async def run(self) -> None:
        """Undo every step, newest first. A step leaves the stack once its undo has finished."""
        while self._steps:
            _, undo = self._steps[-1]
            await undo()
            self._steps.pop()
