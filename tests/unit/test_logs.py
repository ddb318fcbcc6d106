"""Log lines name the case they are about, as text or as JSON lines."""

from __future__ import annotations

import io
import json
import logging

from bot.core.tracing import CURRENT_CASE
from bot.logs import TEXT_FORMAT, CaseFilter, JsonFormatter, tag_records


def _logged(formatter: logging.Formatter, case: str | None) -> str:
    tag_records()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CaseFilter())
    handler.setFormatter(formatter)
    logger = logging.getLogger("aduanbot.test.logs")
    logger.propagate = False
    logger.addHandler(handler)
    token = CURRENT_CASE.set(case)
    try:
        logger.warning("outbox: message %s failed", 7)
    finally:
        CURRENT_CASE.reset(token)
        logger.removeHandler(handler)
    return stream.getvalue().strip()


def test_text_lines_carry_the_case_code_when_there_is_one() -> None:
    text = logging.Formatter("%(name)s%(case_tag)s: %(message)s")
    assert _logged(text, "ADU-7KQ2M") == "aduanbot.test.logs [ADU-7KQ2M]: outbox: message 7 failed"
    assert _logged(text, None) == "aduanbot.test.logs: outbox: message 7 failed"
    assert "%(case_tag)s" in TEXT_FORMAT


def test_json_lines_are_one_object_each_with_the_case() -> None:
    entry = json.loads(_logged(JsonFormatter(), "ADU-7KQ2M"))
    assert entry["case"] == "ADU-7KQ2M"
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "WARNING",
        "aduanbot.test.logs",
        "outbox: message 7 failed",
    )
    assert entry["time"].endswith("+00:00")
    assert "case" not in json.loads(_logged(JsonFormatter(), None))
