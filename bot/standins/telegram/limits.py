"""The limits the stand-in enforces, as Telegram does: sizes of texts, captions, buttons and
files, and (with ``enforce_limits``) the broadcast rates, answered with 429 Too Many Requests
and ``retry_after``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

__all__ = [
    "GLOBAL_MESSAGES_PER_SECOND",
    "GROUP_MESSAGES_PER_MINUTE",
    "PRIVATE_BURST",
    "PRIVATE_MESSAGES_PER_SECOND",
    "RateLimiter",
]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_PHOTO_UPLOAD_BYTES = 10 * 1024 * 1024
# A photo's width and height together at most 10000, and their ratio at most 20
# (a long screenshot is refused as a photo; it can still go as a document).
MAX_PHOTO_SIDES = 10_000
MAX_PHOTO_RATIO = 20
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

GLOBAL_MESSAGES_PER_SECOND = 30
"""With ``enforce_limits``: at most this many messages in any 1-second window, all chats."""
GROUP_MESSAGES_PER_MINUTE = 20
"""With ``enforce_limits``: at most this many messages to one group in any 60-second window."""
PRIVATE_MESSAGES_PER_SECOND = 1.0
PRIVATE_BURST = 3
"""With ``enforce_limits``, each private chat has a token bucket holding `PRIVATE_BURST`
messages that refills at `PRIVATE_MESSAGES_PER_SECOND`: three quick messages pass, the fourth
within the same second answers 429. A media group of N items is admitted when the bucket holds
``min(N, PRIVATE_BURST)`` tokens and then takes N, possibly going below zero (borrowing from
the coming seconds)."""


class RateLimiter:
    """Telegram's broadcast limits; see `GLOBAL_MESSAGES_PER_SECOND` and friends."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._global: deque[float] = deque()
        self._groups: dict[int, deque[float]] = {}
        self._private: dict[int, tuple[float, float]] = {}  # chat -> (tokens, at)

    @staticmethod
    def _wait(window: deque[float], now: float, span: float, limit: int, count: int) -> float:
        while window and window[0] <= now - span:
            window.popleft()
        excess = len(window) + count - limit
        if excess <= 0:
            return 0.0
        if excess > len(window):
            return span
        return window[excess - 1] + span - now

    def acquire(self, chat_id: int, count: int) -> int | None:
        """Takes `count` messages' worth for `chat_id`; the retry_after in seconds if over."""
        now = self._clock()
        waits = [self._wait(self._global, now, 1.0, GLOBAL_MESSAGES_PER_SECOND, count)]
        tokens = 0.0
        if chat_id < 0:
            window = self._groups.setdefault(chat_id, deque())
            waits.append(self._wait(window, now, 60.0, GROUP_MESSAGES_PER_MINUTE, count))
        else:
            held, at = self._private.get(chat_id, (float(PRIVATE_BURST), now))
            tokens = min(float(PRIVATE_BURST), held + (now - at) * PRIVATE_MESSAGES_PER_SECOND)
            need = min(count, PRIVATE_BURST)
            if tokens < need:
                waits.append((need - tokens) / PRIVATE_MESSAGES_PER_SECOND)
        longest = max(waits)
        if longest > 0:
            return max(1, math.ceil(longest))
        self._global.extend([now] * count)
        if chat_id < 0:
            self._groups[chat_id].extend([now] * count)
        else:
            self._private[chat_id] = (tokens - count, now)
        return None
