"""Log lines: plain text by default, JSON lines with `LOG_FORMAT=json`; each line about a
case carries its code (`bot.core.tracing.CURRENT_CASE`), in both forms."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from bot.core.tracing import CURRENT_CASE

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(case_tag)s: %(message)s"
_tagging = False


def tag_records() -> None:
    """Makes every log record carry `case`: the code of the case the task works on (or
    None), whichever handler receives it. Idempotent; the composition root calls it."""
    global _tagging
    if _tagging:
        return
    _tagging = True
    make = logging.getLogRecordFactory()

    def tagged(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        record.case = CURRENT_CASE.get()
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
            entry["error"] = self.formatException(record.exc_info)
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
