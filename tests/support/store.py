"""What the store's tests share: counting its transactions, an outlet that takes e-mail."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Engine, event

from store.deliveries import Channel


@contextmanager
def transactions(engine: Engine) -> Iterator[list[int]]:
    """How many transactions begin on the store inside the block (`[n]`)."""
    begun = [0]

    def count(*_: object) -> None:
        begun[0] += 1

    event.listen(engine, "begin", count)
    try:
        yield begun
    finally:
        event.remove(engine, "begin", count)


class EmailOutlet:
    """Every recipient by e-mail; counts the nudges to the delivery loop."""

    def __init__(self) -> None:
        self.woken = 0

    def channels_for(self, recipient: str) -> Sequence[Channel]:
        return [Channel.EMAIL]

    def wake(self) -> None:
        self.woken += 1
