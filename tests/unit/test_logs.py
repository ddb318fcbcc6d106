"""Log lines name the case they are about, as text or as JSON lines."""

from __future__ import annotations

import io
import json
import logging

from bot.core.tracing import CURRENT_CASE
from bot.logs import TEXT_FORMAT, CaseFilter, JsonFormatter, hide, redact, tag_records


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


def test_secrets_and_phone_numbers_never_reach_a_log_line() -> None:
    tag_records()
    token = "123456789:AAE-secret-token-for-the-log-test"
    hide(token, None, "")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("aduanbot.test.redaction")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("GET https://api.telegram.org/bot%s/getMe for %s", token, "+6281298765432")
        try:
            raise RuntimeError(f"whatsapp:+6281298765432 refused with bot{token}")
        except RuntimeError:
            logger.exception("outbox: message to %s failed", "081234567890")
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    written = stream.getvalue()
    assert token not in written and "secret-token" not in written
    assert "6281298765432" not in written and "081234567890" not in written
    assert lines[0]["message"] == "GET https://api.telegram.org/bot***/getMe for …5432"
    assert lines[1]["message"] == "outbox: message to …7890 failed"
    assert "whatsapp:…5432 refused with bot***" in lines[1]["error"]
    assert redact("kode ADU-7KQ2M, chat -1001000000001, user 5001") == (
        "kode ADU-7KQ2M, chat -1001000000001, user 5001"  # ids and codes are left alone
    )


def test_international_numbers_are_cut_too_but_ordinary_numbers_stay() -> None:
    assert redact("from whatsapp:+4915123456789 and +14155550123") == (
        "from whatsapp:…6789 and …0123"
    )
    assert redact("to whatsapp:+447911123456, sg +6591234567") == "to whatsapp:…3456, sg …4567"
    ordinary = (
        "12 cases, update 100000002, chat -1001000000001, user 5001, "
        "on 2024-03-05 10:00:00+07:00, took 1234567 ms, +3 more, id 4915123456789"
    )
    assert redact(ordinary) == ordinary
