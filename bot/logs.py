"""Log lines: plain text by default, JSON lines with `LOG_FORMAT=json`; each line about a
case carries its code (`bot.core.tracing.CURRENT_CASE`), in both forms.

Whatever handler writes them, log records never carry the service's secrets (the bot
token, the Twilio token, the webhook secret: `hide`) nor a whole phone number: the
message and any traceback are redacted when the record is made.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from bot.core.tracing import CURRENT_CASE

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(case_tag)s: %(message)s"
_tagging = False
_secrets: set[str] = set()
# Indonesian mobile numbers, local (08…) or international (+628… / 628…), and any
# international number written with its "+" (E.164, as WhatsApp addresses are:
# "whatsapp:+4915…"). Ids, counts and dates carry no "+" and stay.
PHONE = re.compile(r"(?<![\w+])(?:(?:\+?62|0)8\d{6,12}|\+[1-9]\d{6,14})(?!\d)")
SHORTEST_SECRET = 6  # shorter values would blank out ordinary words


def hide(*secrets: str | None) -> None:
    """Registers values no log line may show (they are replaced by "***")."""
    _secrets.update(s for s in secrets if s and len(s) >= SHORTEST_SECRET)


def redact(text: str) -> str:
    """The text without registered secrets, and phone numbers (Indonesian in any form,
    others with their "+") cut to their last 4 digits."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return PHONE.sub(lambda m: "…" + m.group()[-4:], text)


def tag_records() -> None:
    """Makes every log record carry `case` (the code of the case the task works on, or
    None) and its message and traceback redacted, whichever handler receives it.
    Idempotent; the composition root calls it."""
    global _tagging
    if _tagging:
        return
    _tagging = True
    make = logging.getLogRecordFactory()
    tracebacks = logging.Formatter()

    def tagged(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        record.case = CURRENT_CASE.get()
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: logging reports it later
            return record
        record.msg, record.args = redact(message), ()
        if record.exc_info:
            record.exc_text = redact(tracebacks.formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(tagged)


class CaseFilter(logging.Filter):
    """Adds `case_tag` (" [ADU-…]" or "") for the text format."""

    def filter(self, record: logging.LogRecord) -> bool:
        case = getattr(record, "case", None)
        record.case_tag = f" [{case}]" if case else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, case, error."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        case = getattr(record, "case", None)
        if case:
            entry["case"] = case
        if record.exc_info:
            entry["error"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(fmt: str = "text", level: int = logging.INFO) -> None:
    """Sets up the root logger for the service: `fmt` is "text" or "json"."""
    tag_records()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(CaseFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
