"""Pacing outgoing messages within a provider's limits (overall, per group, per chat).

A message counts in its windows from the moment its send ends, not from when it was
allowed to start: by then the provider has it, so however long requests take on the way
(and however their arrival order differs from the order they were allowed in), no window
of the provider's ever holds more than the limit. While a send is under way its slot is
held, and a message that needs it waits until that send ends.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """At most `count` messages in any `period` seconds."""

    count: int
    period: float


class SlidingWindow:
    """Remembers when messages went out, to tell how long the next one must wait."""

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self.sent: list[float] = []  # when sends ended, in order
        self.under_way = 0  # messages being sent, not yet in `sent`

    def wait_for(self, weight: int, now: float) -> float:
        """Seconds until `weight` more messages fit (`math.inf`: not before a send under
        way ends)."""
        del self.sent[: bisect.bisect_right(self.sent, now - self.limit.period)]
        weight = min(weight, self.limit.count)
        excess = len(self.sent) + self.under_way + weight - self.limit.count
        if excess <= 0:
            return 0.0
        if excess > len(self.sent):
            return math.inf
        # wait until enough old sends leave the window
        return self.sent[excess - 1] + self.limit.period - now

    def hold(self, weight: int) -> None:
        """Takes the slots of a send that is starting."""
        self.under_way += weight

    def release(self, weight: int, ended: float) -> None:
        """Counts a held send as sent when it ended."""
        self.under_way -= weight
        self.record(weight, ended)

    def record(self, weight: int, now: float) -> None:
        position = bisect.bisect_right(self.sent, now)
        self.sent[position:position] = [now] * weight


class RateLimiter:
    """Waits until a message may go to a chat without breaking any window."""

    def __init__(
        self,
        overall: Limit,
        group: Limit,
        private: Limit,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.overall = SlidingWindow(overall)
        self.group_limit = group
        self.private_limit = private
        self.chats: dict[str, SlidingWindow] = {}
        self.clock = clock
        self.sleep = sleep
        self._changed = asyncio.Event()  # set (and replaced) when a send starts or ends
        self._tickets = itertools.count()
        self._waiting: dict[int, tuple[SlidingWindow, int]] = {}  # by ticket: chat, weight

    async def acquire(self, address: str, weight: int, *, group: bool) -> None:
        """Waits until a message may go, and counts it as sent now."""
        async with self.sending(address, weight, group=group):
            pass

    @asynccontextmanager
    async def sending(self, address: str, weight: int, *, group: bool) -> AsyncIterator[None]:
        """Waits until a message may go; it counts as sent when the block ends (also when
        the send failed: the provider may have counted it)."""
        if weight <= 0:
            yield
            return
        window = self.chats.get(address)
        if window is None:
            window = self.chats[address] = SlidingWindow(
                self.group_limit if group else self.private_limit
            )
        ticket = next(self._tickets)
        self._waiting[ticket] = (window, weight)
        try:
            while True:
                now = self.clock()
                wait = max(self.overall.wait_for(weight, now), window.wait_for(weight, now))
                if wait <= 0 and self._older_ready(ticket, now):
                    wait = math.inf  # it takes the slot first; then look again
                if wait <= 0:
                    break
                if math.isinf(wait):
                    changed = self._changed
                    await changed.wait()
                else:
                    await self.sleep(wait)
        finally:
            del self._waiting[ticket]
            self._tell_waiting()
        self.overall.hold(weight)
        window.hold(weight)
        try:
            yield
        finally:
            ended_at = self.clock()
            self.overall.release(weight, ended_at)
            window.release(weight, ended_at)
            self._tell_waiting()

    def _older_ready(self, ticket: int, now: float) -> bool:
        """Whether a message that has waited longer may go now: the overall rate is
        shared oldest first. Otherwise a chat whose send just ended, asking at once, would
        take a freed slot before those waking up for it, get ahead of the others, and be
        left at the end with messages that can go only one a second."""
        for older, (window, weight) in self._waiting.items():  # in ticket order
            if older >= ticket:
                return False
            if window.wait_for(weight, now) <= 0 and self.overall.wait_for(weight, now) <= 0:
                return True
        return False

    def _tell_waiting(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
