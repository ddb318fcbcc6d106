"""Pacing outgoing messages within a provider's limits (overall, per group, per chat)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
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
        self.sent: deque[float] = deque()

    def wait_for(self, weight: int, now: float) -> float:
        while self.sent and self.sent[0] <= now - self.limit.period:
            self.sent.popleft()
        weight = min(weight, self.limit.count)
        if len(self.sent) + weight <= self.limit.count:
            return 0.0
        # wait until enough old sends leave the window
        oldest_needed = self.sent[len(self.sent) + weight - self.limit.count - 1]
        return oldest_needed + self.limit.period - now

    def record(self, weight: int, now: float) -> None:
        self.sent.extend([now] * weight)


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

    async def acquire(self, address: str, weight: int, *, group: bool) -> None:
        if weight <= 0:
            return
        window = self.chats.get(address)
        if window is None:
            window = self.chats[address] = SlidingWindow(
                self.group_limit if group else self.private_limit
            )
        while True:
            now = self.clock()
            wait = max(self.overall.wait_for(weight, now), window.wait_for(weight, now))
            if wait <= 0:
                self.overall.record(weight, now)
                window.record(weight, now)
                return
            await self.sleep(wait)


def telegram_limits() -> RateLimiter:
    """Telegram's documented limits: 30 msg/s overall, 20 msg/min per group, ~1 msg/s per chat."""
    return RateLimiter(
        overall=Limit(30, 1.0),
        group=Limit(20, 60.0),
        private=Limit(3, 3.0),  # a short burst (an answer and the next question), ~1/s sustained
    )
