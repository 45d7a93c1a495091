"""The screens' store reads are shared: however many screens ask, a key is read at most once per half second."""

import asyncio
import threading
import time

import pytest

from api.pages.fresh import Fresh


class CountingRead:
    def __init__(self, pause: float = 0.0) -> None:
        self.calls, self.pause, self.lock = 0, pause, threading.Lock()

    def __call__(self) -> int:
        with self.lock:
            self.calls += 1
            calls = self.calls
        time.sleep(self.pause)
        return calls


async def test_screens_asking_at_once_share_one_read():
    fresh, read = Fresh(), CountingRead(pause=0.05)

    answers = await asyncio.gather(*(fresh.read("kitchen", read) for _ in range(20)))

    assert read.calls == 1
    assert answers == [1] * 20


async def test_a_read_older_than_its_age_is_read_again():
    fresh, read = Fresh(max_age_seconds=0.1), CountingRead()

    first = await fresh.read("kitchen", read)
    again = await fresh.read("kitchen", read)
    await asyncio.sleep(0.15)
    later = await fresh.read("kitchen", read)

    assert (first, again, later) == (1, 1, 2)


async def test_keys_are_read_apart_and_the_oldest_forgotten_past_the_limit():
    fresh, reads = Fresh(max_entries=2), {key: CountingRead() for key in "abc"}

    for key in "abcab":
        await fresh.read(key, reads[key])

    assert {key: read.calls for key, read in reads.items()} == {"a": 2, "b": 2, "c": 1}


async def test_a_failed_read_is_not_kept():
    fresh, calls = Fresh(), []

    def failing() -> int:
        calls.append(1)
        raise ConnectionError("the database is away")

    for _ in range(2):
        with pytest.raises(ConnectionError):
            await fresh.read("kitchen", failing)

    assert len(calls) == 2


async def test_forgetting_a_key_reads_it_again_at_once():
    fresh, read = Fresh(), CountingRead()

    await fresh.read("order:1", read)
    fresh.forget("order:1")

    assert await fresh.read("order:1", read) == 2
