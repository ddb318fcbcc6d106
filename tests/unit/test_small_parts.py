"""Tracking codes, text splitting, citizen command words, config validation, rate limits."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.agency import TelegramOptions, parse_health, parse_office, parse_telegram
from bot.channels.telegram.sender import telegram_limits
from bot.channels.textsplit import split_text, utf16_len
from bot.core import views
from bot.core.budget import Budget
from bot.core.calendar import WorkingCalendar
from bot.core.codes import find_code, new_code
from bot.core.files import ALL_TYPES, names_of
from bot.core.model import Channel, Recipient, Step, TaskKind
from bot.core.office import AnswerReview, Deadlines, DispositionBy, Workflow, is_lapor_source
from bot.core.ports import DeliveryTrouble
from bot.core.reception import citizen_command
from bot.ratelimit import Limit, RateLimiter
from bot.settings import ConfigError, load_settings
from tests.unit.sample import OFFICERS, YANKES, T, sample_office

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
    assert office.is_officer("7001")  # no list: every member of the officers' group
    assert (office.limits.messages_per_minute, office.limits.cases_per_day) == (30, 5)
    assert office.retention_days == 730
    assert parse_office({**OFFICE, "privacy": {"retention_days": 0}}).retention_days == 0
    limited = parse_office({**OFFICE, "limits": {"cases_per_day": 2}})
    assert (limited.limits.messages_per_minute, limited.limits.cases_per_day) == (30, 2)
    assert office.accepted_files == ALL_TYPES and len(ALL_TYPES) == 14
    strict = parse_office({**OFFICE, "files": {"accepted": ["JPG", "pdf"]}})
    assert strict.accepted_files == {"image/jpeg", "application/pdf"}
    assert names_of(strict.accepted_files) == "JPG, PDF"


def test_intake_sources_and_the_lapor_liaison() -> None:
    office = parse_office(OFFICE)
    assert office.intake_sources[0] == "Datang langsung/loket"
    assert [s for s in office.intake_sources if is_lapor_source(s)] == ["SP4N-LAPOR!"]
    assert not office.lapor.enter_all and office.lapor.liaison_chats() == ()
    own = parse_office(
        {
            **OFFICE,
            "intake": {"sources": [" Surat  masuk ", "Lapor.go.id"]},
            "lapor": {"enter_all": True, "liaison_ids": [7003, 7002]},
            "deadlines": {"liaison_days": 2, "lapor_monitor_days": 4, "inform_days": 3},
        }
    )
    assert own.intake_sources == ("Surat masuk", "Lapor.go.id")
    assert is_lapor_source("Lapor.go.id")
    assert own.lapor.enter_all and own.lapor.liaison_chats() == ("7002", "7003")
    assert own.is_liaison("7003") and not own.is_liaison("7001")
    assert own.deadlines.task_budget(TaskKind.LAPOR_ENTRY) == Budget(2)
    assert own.deadlines.task_budget(TaskKind.LAPOR_MONITOR) == Budget(4)
    assert own.deadlines.task_budget(TaskKind.INFORM) == Budget(3)
    chat = parse_office({**OFFICE, "lapor": {"enter_all": True, "liaison_chat_id": -300}})
    assert chat.lapor.liaison_chats() == ("-300",) and chat.is_liaison("-300")


def test_the_chain_of_command_defaults_to_the_bots_first_shape() -> None:
    office = parse_office(OFFICE)
    assert office.workflow == Workflow()
    assert office.workflow.answer_review is AnswerReview.NONE
    assert office.workflow.disposition_by is DispositionBy.OFFICERS
    assert office.review_chat_id == office.officers_chat_id
    groups = {"officers_chat_id": -100, "supervisor_chat_id": -300}
    table = {"answer_review": "none", "disposition_by": "supervisor", "follow_up_plan": True}
    chain = parse_office({**OFFICE, "groups": groups, "workflow": table})
    assert chain.workflow == Workflow(AnswerReview.NONE, DispositionBy.SUPERVISOR, True)
    assert chain.step_chat_id(Step.APPROVE, None) == "-300"
    assert chain.step_chat_id(Step.VERIFY, None) == "-100"
    reviewing = dataclasses.replace(chain, workflow=Workflow(AnswerReview.SUPERVISOR))
    assert reviewing.review_chat_id == "-300"
    lone = {"officers_chat_id": -100}
    with pytest.raises(ConfigError, match='disposition_by = "supervisor" needs'):
        parse_office({**OFFICE, "groups": lone, "workflow": {"disposition_by": "supervisor"}})
    for value, chat in (("officers", "-100"), ("supervisor", "-300")):
        reviewed = parse_office({**OFFICE, "groups": groups, "workflow": {"answer_review": value}})
        assert reviewed.workflow.answer_review is AnswerReview(value)
        assert reviewed.review_chat_id == chat == reviewed.step_chat_id(Step.REVIEW, "YANKES")
    with pytest.raises(ConfigError, match='answer_review = "supervisor" needs'):
        parse_office({**OFFICE, "groups": lone, "workflow": {"answer_review": "supervisor"}})


def test_listed_officers_are_the_only_officers() -> None:
    groups = {"officers_chat_id": -100, "officer_ids": [7001, 7002]}
    office = parse_office({**OFFICE, "groups": groups})
    assert office.is_officer("7001") and office.is_officer("7002")
    assert not office.is_officer("7999")


@pytest.mark.parametrize(
    ("patch", "named"),
    [
        ({"agency": {"name": "D", "timezone": "Mars/Olympus"}}, "timezone"),
        ({"groups": {}}, "officers_chat_id"),
        ({"units": []}, "units"),
        ({"units": [{"code": "A B", "name": "x", "chat_id": -5}]}, "code"),
        ({"units": [{"code": "A", "name": "x", "chat_id": -100}]}, "chat_id"),
        ({"groups": {"officers_chat_id": -100, "officer_ids": [7001, "7002"]}}, "officer_ids"),
        ({"groups": {"officers_chat_id": -100, "officer_ids": 7001}}, "officer_ids"),
        ({"limits": {"messages_per_minute": 0}}, "messages_per_minute"),
        ({"limits": {"cases_per_day": "5"}}, "cases_per_day"),
        ({"limits": {"per_hour": 5}}, "per_hour"),
        ({"privacy": {"retention_days": -1}}, "retention_days"),
        ({"privacy": {"keep": True}}, "keep"),
        ({"files": {"accepted": ["jpg", "exe"]}}, "unknown type 'exe'; known: jpg, png"),
        ({"files": {"accepted": []}}, "accepted must be a list"),
        ({"files": {"accepted": "pdf"}}, "accepted must be a list"),
        ({"files": {"types": ["pdf"]}}, "types"),
        ({"intake": {"sources": []}}, r"\[intake\] sources must be a list"),
        ({"intake": {"sources": ["Telepon", " telepon "]}}, "listed twice"),
        ({"intake": {"sources": ["x" * 41]}}, "longer than 40"),
        ({"intake": {"channels": ["Telepon"]}}, "channels"),
        ({"lapor": {"enter_all": "yes"}}, "enter_all must be true or false"),
        ({"lapor": {"enter_all": True}}, "needs the liaison"),
        ({"lapor": {"liaison_ids": ["7001"]}}, "liaison_ids"),
        ({"lapor": {"liaison_chat_id": "grup"}}, "liaison_chat_id"),
        ({"deadlines": {"inform_days": 0}}, "inform_days"),
        ({"workflow": {"answer_review": "atasan"}}, 'answer_review must be "none"'),
        ({"workflow": {"disposition_by": "unit"}}, "disposition_by must be"),
        ({"workflow": {"follow_up_plan": "ya"}}, "follow_up_plan must be true or false"),
        ({"workflow": {"review": "officers"}}, "unknown keys review"),
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


async def test_rate_limiter_serves_the_message_that_waited_longest_first() -> None:
    now = [0.0]
    sleeping: list[asyncio.Future[None]] = []

    async def fake_sleep(seconds: float) -> None:  # until the test moves the clock on
        woken = asyncio.get_running_loop().create_future()
        sleeping.append(woken)
        await woken

    async def move_clock_to(moment: float) -> None:
        now[0] = moment
        for woken in sleeping:
            woken.set_result(None)
        sleeping.clear()
        for _ in range(10):  # what woke up runs
            await asyncio.sleep(0)

    limiter = RateLimiter(
        Limit(1, 1.0), Limit(20, 60.0), Limit(10, 1.0), clock=lambda: now[0], sleep=fake_sleep
    )
    order: list[str] = []

    async def send(chat: str) -> None:
        async with limiter.sending(chat, 1, group=False):
            order.append(chat)

    await send("a")  # the one message of this second
    b = asyncio.create_task(send("b"))  # waits for the next second
    await asyncio.sleep(0)
    now[0] = 1.0
    a = asyncio.create_task(send("a"))  # asks as the second ends, before b has woken up
    await move_clock_to(1.0)
    await move_clock_to(2.0)
    await move_clock_to(3.0)
    assert a.done() and b.done()
    assert order == ["a", "b", "a"]


# --- the agency file's [calendar] and [deadlines] --------------------------------------

MONDAY = date(2026, 3, 2)
INDEPENDENCE_DAY = date(2026, 8, 17)  # a Monday, a national holiday


def test_calendar_and_deadlines_default_when_their_tables_are_absent() -> None:
    office = parse_office(OFFICE)
    calendar, limits = office.calendar, office.deadlines
    assert limits == Deadlines()
    assert (
        limits.verify_days,
        limits.answer_days,
        limits.complete_days,
        limits.confirm_days,
        limits.case_days,
    ) == (1, 5, 10, 10, 60)
    assert (limits.escalate_factor, limits.repeat_days, limits.remind_days_before) == (2.0, 1, 2)
    assert (limits.digest_at, limits.tick_seconds) == (time(8, 0), 60.0)
    assert isinstance(calendar, WorkingCalendar)
    assert calendar.timezone == ZoneInfo("Asia/Jakarta")
    assert (calendar.office_start, calendar.office_end) == (time(8, 0), time(16, 0))
    assert calendar.is_working_day(MONDAY)
    assert not calendar.is_working_day(MONDAY + timedelta(days=5))  # Saturday
    assert not calendar.is_working_day(INDEPENDENCE_DAY)
    assert calendar.holiday_name(INDEPENDENCE_DAY) == "Hari Kemerdekaan Republik Indonesia"
    assert calendar.holiday_name(MONDAY) is None
    # Empty tables are the same as none.
    empty = parse_office({**OFFICE, "calendar": {}, "deadlines": {}})
    assert empty.deadlines == Deadlines()
    assert (empty.calendar.office_start, empty.calendar.office_end) == (time(8), time(16))


AGENCY_FILE = """
[agency]
name = "Dinas Kesehatan"
timezone = "Asia/Makassar"
language = "en"

[groups]
officers_chat_id = -100

[[units]]
code = "YANKES"
name = "Pelayanan Kesehatan"
chat_id = -200

[calendar]
office_start = 07:30:00
office_end = "15:30"
extra_holidays = [
  2026-03-03,
  "2026-03-04",
  { date = 2026-03-05, name = "HUT Kota" },
  { date = "2026-03-06", name = "Cuti bersama daerah" },
]
extra_working_days = [2026-03-07, "2026-08-17"]

[deadlines]
verify_days = 2
answer_days = 7
complete_days = 5
confirm_days = 3
case_days = 30
escalate_factor = 1.5
repeat_days = 2
remind_days_before = 4
digest_time = 07:15:00
tick_seconds = 30
"""


def test_calendar_and_deadlines_are_read_from_the_agency_file() -> None:
    office = parse_office(tomllib.loads(AGENCY_FILE))
    calendar = office.calendar
    assert calendar.timezone == ZoneInfo("Asia/Makassar")
    assert (calendar.office_start, calendar.office_end) == (time(7, 30), time(15, 30))
    assert calendar.working_day_length == timedelta(hours=8)
    tuesday, wednesday, thursday, friday, saturday = (
        MONDAY + timedelta(days=n) for n in range(1, 6)
    )
    assert calendar.is_working_day(MONDAY)
    for day in (tuesday, wednesday, thursday, friday):
        assert not calendar.is_working_day(day), day
    assert calendar.holiday_name(tuesday) == "Hari libur kantor"
    assert calendar.holiday_name(wednesday) == "Hari libur kantor"
    assert calendar.holiday_name(thursday) == "HUT Kota"
    assert calendar.holiday_name(friday) == "Cuti bersama daerah"
    # Extra working days: a Saturday, and a national holiday the office works on.
    assert calendar.is_working_day(saturday)
    assert calendar.is_working_day(INDEPENDENCE_DAY)
    assert calendar.holiday_name(INDEPENDENCE_DAY) is None
    # The agency's language names the national holidays.
    assert calendar.holiday_name(date(2026, 1, 1)) == "New Year's Day"
    # Office hours in the office's zone (WITA, UTC+8): Monday 07:30 is 23:30 UTC Sunday.
    assert calendar.is_working_time(datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    assert not calendar.is_working_time(datetime(2026, 3, 1, 23, 29, tzinfo=UTC))

    assert office.deadlines == Deadlines(
        verify_days=2,
        answer_days=7,
        complete_days=5,
        confirm_days=3,
        case_days=30,
        escalate_factor=1.5,
        repeat_days=2,
        remind_days_before=4,
        digest_at=time(7, 15),
        tick_seconds=30.0,
    )
    assert isinstance(office.deadlines.tick_seconds, float)


@pytest.mark.parametrize(
    ("deadlines", "expected"),
    [
        ({"answer_days": 3}, Deadlines(answer_days=3)),
        ({"digest_time": "06:45"}, Deadlines(digest_at=time(6, 45))),
        ({"digest_time": " 09:00 "}, Deadlines(digest_at=time(9, 0))),
        ({"digest_time": time(17, 0)}, Deadlines(digest_at=time(17, 0))),
        ({"digest_time": ""}, Deadlines(digest_at=None)),
        ({"escalate_factor": 3}, Deadlines(escalate_factor=3.0)),
        ({"tick_seconds": 0.5}, Deadlines(tick_seconds=0.5)),
        ({"remind_days_before": 0}, Deadlines(remind_days_before=0)),
        (
            {"complete_days": 1, "remind_days_before": 0},
            Deadlines(complete_days=1, remind_days_before=0),
        ),
    ],
)
def test_deadline_keys_left_out_keep_their_defaults(
    deadlines: dict[str, object], expected: Deadlines
) -> None:
    assert parse_office({**OFFICE, "deadlines": deadlines}).deadlines == expected


@pytest.mark.parametrize(
    ("calendar", "named"),
    [
        ({"office_hours": "08:00-16:00"}, "unknown key 'office_hours'"),
        ({"office_start": "jam 8"}, "office_start must be a time of day"),
        ({"office_start": 8}, "office_start must be a time of day"),
        ({"office_end": "25:00"}, "office_end must be a time of day"),
        ({"office_start": "16:00", "office_end": "08:00"}, "must be before office_end"),
        ({"office_start": "12:00", "office_end": "12:00"}, "must be before office_end"),
        ({"office_end": "07:00"}, "must be before office_end"),
        ({"extra_holidays": "2026-03-03"}, "extra_holidays must be a list"),
        ({"extra_holidays": ["2026-02-30"]}, "extra_holidays: '2026-02-30' is not a date"),
        ({"extra_holidays": [20260303]}, "extra_holidays: 20260303 is not a date"),
        ({"extra_holidays": [datetime(2026, 3, 3, tzinfo=UTC)]}, "extra_holidays: .* not a date"),
        ({"extra_holidays": [{"name": "HUT Kota"}]}, "extra_holidays date: None is not a date"),
        ({"extra_holidays": [{"date": "2026-03-03"}]}, "extra_holidays 2026-03-03 name"),
        ({"extra_working_days": ["besok"]}, "extra_working_days: 'besok' is not a date"),
        ({"extra_working_days": date(2026, 3, 7)}, "extra_working_days must be a list"),
        (
            {"extra_holidays": ["2026-03-03"], "extra_working_days": [date(2026, 3, 3)]},
            "both in extra_holidays and extra_working_days: 2026-03-03",
        ),
    ],
)
def test_calendar_errors_name_the_key(calendar: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=r"\[calendar\].*" + named):
        parse_office({**OFFICE, "calendar": calendar})


@pytest.mark.parametrize(
    ("deadlines", "named"),
    [
        ({"verify_hours": 8}, "unknown key 'verify_hours'"),
        ({"digest_at": "08:00"}, "unknown key 'digest_at'"),  # the field, not the key
        ({"verify_days": "1"}, "verify_days must be a whole number"),
        ({"answer_days": 1.5}, "answer_days must be a whole number"),
        ({"complete_days": True}, "complete_days must be a whole number"),
        ({"case_days": None}, "case_days must be a whole number"),
        ({"escalate_factor": "2"}, "escalate_factor must be a number"),
        ({"escalate_factor": False}, "escalate_factor must be a number"),
        ({"tick_seconds": "60"}, "tick_seconds must be a number"),
        ({"verify_days": 0}, "verify_days must be at least 1"),
        ({"answer_days": -5}, "answer_days must be at least 1"),
        ({"complete_days": 0, "remind_days_before": 0}, "complete_days must be at least 1"),
        ({"confirm_days": 0}, "confirm_days must be at least 1"),
        ({"case_days": 0}, "case_days must be at least 1"),
        ({"escalate_factor": 0.5}, "escalate_factor must be at least 1"),
        ({"escalate_factor": float("nan")}, "escalate_factor must be at least 1"),
        ({"escalate_factor": float("inf")}, "escalate_factor must be at least 1"),
        ({"repeat_days": 0}, "repeat_days must be at least 1"),
        ({"remind_days_before": 10}, "remind_days_before"),  # complete_days is 10
        ({"complete_days": 3, "remind_days_before": 3}, "remind_days_before"),
        ({"complete_days": 3, "remind_days_before": 5}, "remind_days_before"),
        ({"remind_days_before": -1}, "remind_days_before"),
        ({"tick_seconds": 0}, "tick_seconds must be more than 0"),
        ({"tick_seconds": 3601}, "tick_seconds must be more than 0 and at most 3600"),
        ({"digest_time": "8 pagi"}, "digest_time must be a time of day"),
        ({"digest_time": "24:00"}, "digest_time must be a time of day"),
        ({"digest_time": 8}, "digest_time must be a time of day"),
        ({"digest_time": True}, "digest_time must be a time of day"),
    ],
)
def test_deadline_errors_name_the_key(deadlines: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=r"\[deadlines\].*" + named):
        parse_office({**OFFICE, "deadlines": deadlines})


@pytest.mark.parametrize(
    ("patch", "named"),
    [
        ({"calendar": ["office_start"]}, r"\[calendar\] must be a table"),
        ({"deadlines": "none"}, r"\[deadlines\] must be a table"),
    ],
)
def test_calendar_and_deadlines_must_be_tables(patch: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        parse_office({**OFFICE, **patch})


def test_config_errors_name_the_file() -> None:
    with pytest.raises(ConfigError, match=r"^aduan\.toml \[deadlines\] verify_days"):
        parse_office({**OFFICE, "deadlines": {"verify_days": "x"}}, "aduan.toml")
    with pytest.raises(ConfigError, match=r"^aduan\.toml \[calendar\] office_start"):
        parse_office({**OFFICE, "calendar": {"office_start": "x"}}, "aduan.toml")


@pytest.mark.parametrize("value", ["08:00+07:00", "08:00Z", "01:00-05:00"])
def test_a_digest_time_with_a_utc_offset_is_refused(value: str) -> None:
    """The digest time is the office's wall-clock time, like office_start (which refuses
    an offset); an aware time cannot even be compared with it."""
    with pytest.raises(ConfigError, match=r"\[deadlines\] digest_time"):
        parse_office({**OFFICE, "deadlines": {"digest_time": value}})
    with pytest.raises(ConfigError, match=r"\[calendar\]"):
        parse_office({**OFFICE, "calendar": {"office_start": value}})


@pytest.mark.parametrize("value", [0, 0.0])
def test_a_zero_digest_time_is_refused_not_taken_for_no_digest(value: object) -> None:
    with pytest.raises(ConfigError, match=r"\[deadlines\] digest_time"):
        parse_office({**OFFICE, "deadlines": {"digest_time": value}})


def test_check_reports_the_example_agency_files_deadlines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from bot import cli

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    monkeypatch.setenv("ADUAN_CONFIG", str(Path(__file__).parents[2] / "aduan.example.toml"))
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ok: Dinas Kesehatan Kota Contoh, 3 units")
    assert out[1] == (
        "deadlines (working days, h/m of office time): verify 1, answer 5, complete 10, "
        "confirm 10; case 60 days; "
        "office hours 08:00-16:00 Asia/Jakarta; digest 08:00"
    )
    assert out[2] == (
        "recaps: automatic 08:00 on the first working day; categories: Pelayanan kesehatan, "
        "Obat dan alat kesehatan, Tenaga kesehatan, Sarana dan prasarana, Pungutan liar, Lainnya"
    )
    assert out[3] == (
        "workflow: disposition by officers, answers reviewed by none, follow-up plan no"
    )
    assert out[4].startswith("intake sources: Datang langsung/loket, Telepon, Surat,")
    assert out[4].endswith("; SP4N-LAPOR!: on request (/lapor), liaison none")


def test_health_calls_handling_stuck_after_five_minutes_unless_told() -> None:
    assert parse_health({}).stuck_after_seconds == 300
    assert parse_health({"health": {"stuck_after_seconds": 90.5}}).stuck_after_seconds == 90.5
    for bad in ("300", 0, 9, -1, True, float("nan")):
        with pytest.raises(ConfigError, match=r"\[health\] stuck_after_seconds must be"):
            parse_health({"health": {"stuck_after_seconds": bad}})
    with pytest.raises(ConfigError, match="unknown keys stuck_after"):
        parse_health({"health": {"stuck_after": 300}})


def test_telegram_limits_are_telegrams_own_unless_told() -> None:
    assert parse_telegram({}) == TelegramOptions(30, 20, 1)
    limiter = telegram_limits(parse_telegram({}))
    assert (limiter.overall.limit, limiter.group_limit, limiter.private_limit) == (
        Limit(30, 1.0),
        Limit(20, 60.0),
        Limit(3, 3.0),
    )
    generous = {"messages_per_second": 1000, "group_messages_per_minute": 600}
    assert parse_telegram({"telegram": generous}) == TelegramOptions(1000, 600, 1)
    for bad in ("20", 0, -1, 2.5, True):
        with pytest.raises(ConfigError, match=r"\[telegram\] group_messages_per_minute must be"):
            parse_telegram({"telegram": {"group_messages_per_minute": bad}})
    with pytest.raises(ConfigError, match="unknown keys per_group"):
        parse_telegram({"telegram": {"per_group": 20}})


def test_check_refuses_a_bad_health_threshold(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from bot import cli

    example = (Path(__file__).parents[2] / "aduan.example.toml").read_text(encoding="utf-8")
    bad = tmp_path / "aduan.toml"
    bad.write_text(example.replace("stuck_after_seconds = 300", "stuck_after_seconds = 0"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    monkeypatch.setenv("ADUAN_CONFIG", str(bad))
    assert cli.main(["check"]) == 2
    assert "[health] stuck_after_seconds" in capsys.readouterr().err


def test_chats_are_named_by_role_and_reporters_by_case_never_by_number() -> None:
    office = dataclasses.replace(sample_office(YANKES), supervisor_chat_id="-1009")

    def label(channel: Channel, address: str, code: str | None = None) -> str:
        return views.chat_label(office, T, Recipient(channel, address), code)

    assert label(Channel.TELEGRAM, OFFICERS.address) == "grup petugas"
    assert label(Channel.TELEGRAM, "-1009") == "chat atasan"
    assert label(Channel.TELEGRAM, YANKES.chat_id) == "grup YANKES"
    assert label(Channel.TELEGRAM, "-100777") == "grup -100777"
    assert label(Channel.WHATSAPP, "+6281298765432", "ADU-7") == "pelapor ADU-7 (WhatsApp)"
    assert label(Channel.WHATSAPP, "+6281298765432") == "pelapor …5432 (WhatsApp)"
    assert views.short_error(T, None) == "tanpa keterangan"
    assert views.short_error(T, "x" * 500).endswith("…")
    assert len(views.short_error(T, "x" * 500)) == views.TROUBLE_ERROR


def test_nothing_stuck_reads_as_all_clear() -> None:
    now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    text = views.trouble(sample_office(), T, DeliveryTrouble([], []), now, now)
    assert text == "✅ Tidak ada pesan yang tertahan; semua pesan sudah terkirim."
