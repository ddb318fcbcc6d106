"""The limits the stand-in enforces, as Twilio and WhatsApp do: the body's length, media per
message, the 24-hour customer-service window, how long Twilio waits for the bot's answers,
what a template variable may hold, and (with ``enforce_rate``) messages per second per sender.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from datetime import timedelta

__all__ = ["MAX_BODY_LENGTH", "SESSION_WINDOW", "SenderRate"]

MAX_BODY_LENGTH = 1600
MAX_MEDIA_URLS = 10
SESSION_WINDOW = timedelta(hours=24)
"""How long after a person's last message free-form messages to them are delivered."""
WEBHOOK_TIMEOUT = 15.0
"""Seconds Twilio waits for a webhook or status callback answer."""
BAD_VARIABLE_RE = re.compile(r"[\n\t]| {5,}")
"""What WhatsApp refuses in a template variable: a newline, a tab, more than four spaces."""


class SenderRate:
    """At most so many messages a second per sender, over a sliding 1-second window."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._sends: dict[str, deque[float]] = {}

    def admit(self, sender: str, per_second: float) -> bool:
        """Counts one message from `sender`, unless it is over `per_second` (then False)."""
        now = self._clock()
        window = self._sends.setdefault(sender, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= per_second:
            return False
        window.append(now)
        return True
