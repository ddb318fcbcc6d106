"""Budgets in working days or in office time (issue 21): how the agency file writes them,
what it may not, how they add up on the working calendar, and how people read them.

The calendar is WIB 08:00-16:00 (480 office minutes a day). Friday 6 March 2026 is a
working day, Monday 9 March the next; the office is closed from Wednesday 18 to Tuesday
24 March 2026 (Nyepi, Idul Fitri and their cuti bersama).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.agency import parse_office
from bot.core.budget import Budget, BudgetUnit, case_limit, coarsest, parse_budget, words
from bot.core.calendar import WorkingCalendar
from bot.core.model import Step, TaskKind
from bot.core.office import BUDGET_KEYS, Deadlines
from bot.core.texts import load_texts
from bot.settings import ConfigError

WIB = ZoneInfo("Asia/Jakarta")
CAL = WorkingCalendar(WIB)
ID, EN = load_texts("id"), load_texts("en")
OFFICE = {
    "agency": {"name": "Dinas", "timezone": "Asia/Jakarta"},
    "groups": {"officers_chat_id": -100},
    "units": [{"code": "yankes", "name": "Yankes", "chat_id": -200}],
}
MINUTES, HOURS, DAYS = BudgetUnit.MINUTES, BudgetUnit.HOURS, BudgetUnit.DAYS


def wib(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIB)


# -- what the agency file may write -------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "budget"),
    [
        (1, Budget(1)),
        (60, Budget(60)),
        ("1d", Budget(1)),
        ("4h", Budget(4, HOURS)),
        ("30m", Budget(30, MINUTES)),
        ("5m", Budget(5, MINUTES)),  # SOP 001: "5 menit"
        (" 5 M ", Budget(5, MINUTES)),
        ("366d", Budget(366)),
        (Budget(2, HOURS), Budget(2, HOURS)),
    ],
)
def test_budgets_the_agency_file_may_write(written: object, budget: Budget) -> None:
    assert parse_budget(written) == budget


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("5x", 'a whole number of working days \\(1\\) or a time such as "1d", "4h" or "30m"'),
        ("5 menit", "a whole number of working days"),
        ("1", "a whole number of working days"),  # days? say so: 1 or "1d"
        ("", "a whole number of working days"),
        ("-1d", "a whole number of working days"),
        ("1d4h", "a whole number of working days"),
        (True, "a whole number of working days"),
        (None, "a whole number of working days"),
        ("1.5d", 'must be a whole number: write a fraction in a smaller unit \\("12h", "90m"\\)'),
        ("0,5h", "must be a whole number: write a fraction in a smaller unit"),
        (1.5, "must be a whole number: write a fraction in a smaller unit"),
        (0, "must be at least 1 working day"),
        (-1, "must be at least 1 working day"),
        ("0m", "must be at least 1 minute"),
        ("0h", "must be at least 1 hour"),
        ("367d", "must be at most a year \\(366d\\)"),
        ("999999m", "must be at most a year \\(527040m\\)"),
    ],
)
def test_budgets_it_may_not(written: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_budget(written)


def test_only_the_reminder_may_be_zero() -> None:
    assert parse_budget(0, zero=True) == Budget(0)
    assert parse_budget("0m", zero=True) == Budget(0, MINUTES)
    with pytest.raises(ValueError, match="must be 0 \\(none\\) or more"):
        parse_budget(-1, zero=True)


@pytest.mark.parametrize(
    ("deadlines", "line"),
    [
        ({"verify_days": "5x"}, r"\[deadlines\] verify_days must be a whole number of working"),
        ({"answer_days": "0m"}, r"\[deadlines\] answer_days must be at least 1 minute"),
        ({"repeat_days": -1}, r"\[deadlines\] repeat_days must be at least 1 working day"),
        ({"inform_days": "1.5d"}, r"\[deadlines\] inform_days must be a whole number: write"),
        ({"review_days": "2 jam"}, r"\[deadlines\] review_days must be a whole number"),
        ({"approve_days": False}, r"\[deadlines\] approve_days must be a whole number"),
        ({"remind_days_before": "-2h"}, r"\[deadlines\] remind_days_before must be a whole"),
        ({"case_days": "60d"}, r"\[deadlines\] case_days must be a whole number"),
        ({"case_days_working": "ya"}, r"\[deadlines\] case_days_working must be true or false"),
        # a reminder must come before the closure it announces, in any units
        ({"complete_days": "4h", "remind_days_before": "4h"}, r"\[deadlines\]: remind_days_"),
        ({"complete_days": "30m", "remind_days_before": "1h"}, r"\[deadlines\]: remind_days_"),
        ({"complete_days": "8h", "remind_days_before": 1}, r"\[deadlines\]: remind_days_"),
        ({"complete_days": 1, "remind_days_before": "480m"}, r"\[deadlines\]: remind_days_"),
    ],
)
def test_a_bad_budget_is_one_line_naming_the_table_and_key(
    deadlines: dict[str, Any], line: str
) -> None:
    with pytest.raises(ConfigError, match=r"^aduan\.toml " + line) as refused:
        parse_office({**OFFICE, "deadlines": deadlines}, "aduan.toml")
    assert "\n" not in str(refused.value)


def test_every_budget_key_takes_a_time_and_keeps_its_name() -> None:
    written = dict.fromkeys(BUDGET_KEYS, "30m") | {"complete_days": "2h", "remind_days_before": 0}
    d = parse_office({**OFFICE, "deadlines": written}).deadlines
    assert d.budget(Step.VERIFY) == d.budget(Step.ANSWER) == Budget(30, MINUTES)
    assert d.budget(Step.APPROVE) == d.budget(Step.REVIEW) == Budget(30, MINUTES)
    assert d.budget(Step.CONFIRM) == Budget(30, MINUTES)
    assert d.budget(Step.COMPLETE) == Budget(2, HOURS)
    assert {d.task_budget(kind) for kind in TaskKind} == {Budget(30, MINUTES)}
    assert d.repeat == Budget(30, MINUTES) and d.remind_before == Budget(0)
    assert d.reminder_budget(480) is None  # 0: no reminder
    # the escalation: twice the budget, in its unit
    assert d.escalation_budget(Step.VERIFY) == Budget(60, MINUTES)


def test_whole_numbers_stay_working_days_and_equal_their_written_form() -> None:
    ints = parse_office({**OFFICE, "deadlines": {"verify_days": 2, "answer_days": 3}})
    strings = parse_office({**OFFICE, "deadlines": {"verify_days": "2d", "answer_days": "3D"}})
    assert ints.deadlines == strings.deadlines == Deadlines(verify_days=2, answer_days=3)
    assert ints.deadlines.verify_days == 2  # the key keeps what the file wrote
    assert ints.deadlines.budget(Step.VERIFY) == Budget(2)
    assert Deadlines(verify_days="5m") != Deadlines(verify_days=5)
    assert hash(Deadlines(verify_days="1d")) == hash(Deadlines())
    assert not Deadlines().case_days_working
    assert parse_office({**OFFICE, "deadlines": {"case_days_working": True}}).deadlines == (
        Deadlines(case_days_working=True)
    )


# -- how budgets add up --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("budget", "start", "due"),
    [
        (Budget(1), wib(3, 6, 15, 58), wib(3, 9, 15, 58)),  # days: the same time of day
        (Budget(5, MINUTES), wib(3, 6, 15, 58), wib(3, 9, 8, 3)),  # minutes: office time
        (Budget(5, MINUTES), wib(3, 6, 10, 0), wib(3, 6, 10, 5)),
        (Budget(4, HOURS), wib(3, 6, 14, 0), wib(3, 9, 10, 0)),
        (Budget(30, MINUTES), wib(3, 17, 15, 45), wib(3, 25, 8, 15)),  # over Idul Fitri
        (Budget(1), wib(3, 7, 10, 0), wib(3, 10, 8, 0)),  # filed on Saturday
    ],
)
def test_a_budget_runs_out_on_the_working_calendar(
    budget: Budget, start: datetime, due: datetime
) -> None:
    assert budget.after(CAL, start) == due.astimezone(UTC)


def test_budget_arithmetic() -> None:
    assert Budget(1).scaled(2.0) == Budget(2)
    assert Budget(5, MINUTES).scaled(1.5) == Budget(8, MINUTES)  # rounded up
    assert Budget(10).less(Budget(2), 480) == Budget(8)
    assert Budget(10).less(Budget(10), 480) is None
    assert Budget(2, HOURS).less(Budget(30, MINUTES), 480) == Budget(90, MINUTES)
    assert Budget(1).less(Budget(4, HOURS), 480) == Budget(240, MINUTES)
    assert Budget(1).less(Budget(8, HOURS), 480) is None
    assert [Budget(1, u).office_minutes(480) for u in BudgetUnit] == [480, 60, 1]
    assert coarsest(Budget(5, MINUTES), Budget(1, HOURS)) is HOURS
    assert coarsest(Budget(5, MINUTES), Budget(1)) is DAYS
    assert str(Budget(30, MINUTES)) == "30m" and str(Budget(1)) == "1d"


def test_elapsed_time_is_shown_in_the_budgets_unit_rounded_down() -> None:
    start = wib(3, 6, 15, 50)
    assert Budget(5, MINUTES).elapsed(CAL, start, wib(3, 9, 8, 7)) == Budget(17, MINUTES)
    assert Budget(4, HOURS).elapsed(CAL, start, wib(3, 9, 12, 0)) == Budget(4, HOURS)
    assert Budget(1).elapsed(CAL, start, wib(3, 10, 15, 49)) == Budget(1)
    assert Budget(1).elapsed(CAL, start, wib(3, 10, 15, 50)) == Budget(2)


# -- how people read them ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("budget", "indonesian", "english"),
    [
        (Budget(1), "1 hari kerja", "1 working day"),
        (Budget(5), "5 hari kerja", "5 working days"),
        (Budget(1, HOURS), "1 jam", "1 hour"),
        (Budget(4, HOURS), "4 jam", "4 hours"),
        (Budget(1, MINUTES), "1 menit", "1 minute"),
        (Budget(30, MINUTES), "30 menit", "30 minutes"),
    ],
)
def test_budgets_in_words(budget: Budget, indonesian: str, english: str) -> None:
    assert (words(ID, budget), words(EN, budget)) == (indonesian, english)


def test_the_whole_cases_limit_in_words() -> None:
    assert case_limit(ID, 60, False) == "60 hari"
    assert case_limit(ID, 60, True) == "60 hari kerja"
    assert case_limit(EN, 1, False) == "1 day"
    assert case_limit(EN, 60, True) == "60 working days"


def test_lunchless_office_hours_of_an_agency_file_count_whole() -> None:
    office = parse_office(
        {**OFFICE, "calendar": {"office_start": "07:30", "office_end": "15:30"}}
        | {"deadlines": {"verify_days": "5m"}}
    )
    assert office.calendar.office_start == time(7, 30)
    budget = office.deadlines.budget(Step.VERIFY)
    assert budget.after(office.calendar, wib(3, 6, 15, 28)) == wib(3, 9, 7, 33).astimezone(UTC)
    assert budget.after(office.calendar, wib(3, 6, 12, 0)) == wib(3, 6, 12, 5).astimezone(UTC)


def test_a_minute_completion_needs_a_reminder_that_fits_it() -> None:
    """The default reminder (2 working days before) cannot precede a 2-hour completion:
    the line says which values clash and what to write instead."""
    with pytest.raises(ConfigError) as refused:
        parse_office({**OFFICE, "deadlines": {"complete_days": "2h"}}, "aduan.toml")
    assert str(refused.value) == (
        "aduan.toml [deadlines]: remind_days_before (2d) must be shorter than complete_days "
        '(2h): set it in their units, e.g. "30m", or 0 for no reminder'
    )
    fits = {"complete_days": "2h", "remind_days_before": "30m"}
    d = parse_office({**OFFICE, "deadlines": fits}).deadlines
    assert d.reminder_budget(480) == Budget(90, MINUTES)


def test_check_reports_budgets_in_their_units(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from bot import cli

    example = (Path(__file__).parents[2] / "aduan.example.toml").read_text()
    agency = tmp_path / "agency.toml"
    agency.write_text(
        example.replace("verify_days = 1 ", 'verify_days = "5m"').replace(
            "case_days_working = false", "case_days_working = true"
        )
    )
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    monkeypatch.setenv("ADUAN_CONFIG", str(agency))
    assert cli.main(["check"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "deadlines (working days, h/m of office time): verify 5m, answer 5, complete 10, "
        "confirm 10; "
        "case 60 working days; office hours 08:00-16:00 Asia/Jakarta; digest 08:00"
    )
    agency.write_text(example.replace("verify_days = 1 ", 'verify_days = "5 menit"'))
    assert cli.main(["check"]) != 0
    assert "[deadlines] verify_days must be a whole number of working days" in (
        capsys.readouterr().err
    )
