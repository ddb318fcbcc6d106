"""Tracking codes, text splitting, citizen command words, config validation, rate limits."""

from __future__ import annotations

import re

import pytest

from bot.channels.textsplit import split_text, utf16_len
from bot.config import ConfigError, load_settings, parse_office
from bot.core.codes import find_code, new_code
from bot.core.reception import citizen_command
from bot.ratelimit import Limit, RateLimiter

CONTRACT = re.compile(r"\b[A-Z]{2,6}(-[0-9A-Z]{2,10}){1,3}\b")


def test_codes_match_contract_and_are_not_sequential() -> None:
    codes = [new_code("ADU") for _ in range(2000)]
    assert all(CONTRACT.fullmatch(c) for c in codes)
    assert len(set(codes)) == len(codes)
    assert codes != sorted(codes)
    assert find_code("tolong cek adu-7k3q9x ya") == "ADU-7K3Q9X"
    with pytest.raises(ValueError, match="prefix"):
        new_code("adu")


def test_split_text_respects_utf16_limit_and_keeps_everything() -> None:
    text = ("Kalimat panjang 😀 dengan emoji. " * 400).strip()
    chunks = split_text(text, 4096)
    assert len(chunks) > 1
    assert all(utf16_len(c) <= 4096 for c in chunks)
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")


def test_split_text_without_spaces() -> None:
    chunks = split_text("x" * 5000, 1600, utf16=False)
    assert [len(c) for c in chunks] == [1600, 1600, 1600, 200]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/start", ("start", "")),
        ("status", ("status", "")),
        ("STATUS adu-7k3q9x", ("status", "adu-7k3q9x")),
        ("/batal", ("cancel", "")),
        ("bantuan", ("help", "")),
        ("status jalan di depan rumah rusak parah", None),
        ("baru saja terjadi kecelakaan", None),
        ("batal karena apa", None),
    ],
)
def test_citizen_command_words(text: str, expected: tuple[str, str] | None) -> None:
    assert citizen_command(text) == expected


OFFICE = {
    "agency": {"name": "Dinas", "timezone": "Asia/Jakarta"},
    "groups": {"officers_chat_id": -100},
    "units": [{"code": "yankes", "name": "Yankes", "chat_id": -200}],
}


def test_office_parses_and_upper_cases_unit_codes() -> None:
    office = parse_office(OFFICE)
    assert office.unit("YANKES") is not None and office.unit_for_chat("-200") is not None


@pytest.mark.parametrize(
    ("patch", "named"),
    [
        ({"agency": {"name": "D", "timezone": "Mars/Olympus"}}, "timezone"),
        ({"groups": {}}, "officers_chat_id"),
        ({"units": []}, "units"),
        ({"units": [{"code": "A B", "name": "x", "chat_id": -5}]}, "code"),
        ({"units": [{"code": "A", "name": "x", "chat_id": -100}]}, "chat_id"),
    ],
)
def test_office_errors_name_the_key(patch: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        parse_office({**OFFICE, **patch})


def test_settings_name_the_missing_or_bad_variable(tmp_path: object) -> None:
    from pathlib import Path

    none = Path(str(tmp_path)) / "none.env"
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        load_settings({}, env_file=none)
    good = {"TELEGRAM_BOT_TOKEN": "123:" + "a" * 30}
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings({**good, "PUBLIC_BASE_URL": "https://x.example"}, env_file=none)
    with pytest.raises(ConfigError, match="PORT"):
        load_settings({**good, "PORT": "http"}, env_file=none)
    settings = load_settings(good, env_file=none)
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.telegram_api_base_url == "https://api.telegram.org"


async def test_rate_limiter_paces_a_group_with_a_fake_clock() -> None:
    now = [0.0]
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(
        Limit(30, 1.0), Limit(20, 60.0), Limit(1, 1.0), clock=lambda: now[0], sleep=fake_sleep
    )
    for _ in range(21):
        await limiter.acquire("-1", 1, group=True)
    assert waits == [60.0]  # the 21st message to a group waits for the minute to pass
    await limiter.acquire("42", 1, group=False)
    await limiter.acquire("42", 1, group=False)
    assert waits == [60.0, 1.0]  # a private chat: one a second
