"""Which case the running task is working on, so every log line about it names it.

The case desk sets it when it finds or files a case; the inbound processor, the outbox
sender and the report worker reset it for each update, message or job they take up.
`bot.logs` puts it on each log record. Plain Python (a context variable), no framework.
"""

from __future__ import annotations

from contextvars import ContextVar

CURRENT_CASE: ContextVar[str | None] = ContextVar("aduanbot_case", default=None)
