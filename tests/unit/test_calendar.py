"""The working-day calendar, checked against the `holidays` package's 2026–2027 data.

Real 2026 calendar facts used below (1 January 2026 is a Thursday):

* Nyepi and Idul Fitri 1447 H: Wed 18 Mar (cuti bersama Nyepi), Thu 19 Mar (Nyepi),
  Fri 20 Mar (cuti bersama), Sat 21 + Sun 22 Mar (Idul Fitri), Mon 23 + Tue 24 Mar (cuti
  bersama): the office is closed from Wed 18 to Tue 24 March; Wed 25 March is the first
  working day after Tue 17 March.
* Year end: Thu 24 Dec 2026 (cuti bersama Natal), Fri 25 Dec (Natal), Fri 1 Jan 2027
  (Tahun Baru), Tue 5 Jan 2027 (Isra Mikraj 1448 H).
* 2026 has 365 - 104 weekend days - 21 weekday holidays/cuti bersama = 240 working days.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.calendar import WIB, WIT, WITA, WorkingCalendar

HOUR = 3_600_000_000  # microseconds

# The package's 2026 list (categories public + government), in Indonesian.
HOLIDAYS_2026 = {
    date(2026, 1, 1): "Tahun Baru Masehi",
    date(2026, 1, 16): "Isra Mikraj Nabi Muhammad",
    date(2026, 2, 16): "Cuti Bersama Tahun Baru Imlek",
    date(2026, 2, 17): "Tahun Baru Imlek",
    date(2026, 3, 18): "Cuti Bersama Hari Suci Nyepi",
    date(2026, 3, 19): "Hari Suci Nyepi",
    date(2026, 3, 20): "Cuti Bersama Hari Raya Idul Fitri",
    date(2026, 3, 21): "Hari Raya Idul Fitri",
    date(2026, 3, 22): "Hari kedua dari Hari Raya Idul Fitri",
    date(2026, 3, 23): "Cuti Bersama Hari Raya Idul Fitri",
    date(2026, 3, 24): "Cuti Bersama Hari Raya Idul Fitri",
    date(2026, 4, 3): "Wafat Yesus Kristus",
    date(2026, 4, 5): "Kebangkitan Yesus Kristus",
    date(2026, 5, 1): "Hari Buruh Internasional",
    date(2026, 5, 14): "Kenaikan Yesus Kristus",
    date(2026, 5, 15): "Cuti Bersama Kenaikan Yesus Kristus",
    date(2026, 5, 27): "Hari Raya Idul Adha",
    date(2026, 5, 28): "Cuti Bersama Hari Raya Idul Adha",
    date(2026, 5, 31): "Hari Raya Waisak",
    date(2026, 6, 1): "Hari Lahir Pancasila",
    date(2026, 6, 16): "Tahun Baru Islam",
    date(2026, 8, 17): "Hari Kemerdekaan Republik Indonesia",
    date(2026, 8, 25): "Maulid Nabi Muhammad",
    date(2026, 12, 24): "Cuti Bersama Hari Raya Natal",
    date(2026, 12, 25): "Hari Raya Natal",
}
CUTI_BERSAMA_2026 = {d for d, name in HOLIDAYS_2026.items() if name.startswith("Cuti Bersama")}


def at(tz: ZoneInfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=tz)


def wib(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return at(WIB, y, mo, d, h, mi, s)


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar(WIB)


CALENDARS = {tz.key: WorkingCalendar(tz) for tz in (WIB, WITA, WIT)}


# -- the package data this module relies on ----------------------------------------------


def test_package_lists_2026_national_holidays_and_cuti_bersama() -> None:
    found = holidays.country_holidays(
        "ID", years=2026, categories=("public", "government"), language="id"
    )
    assert dict(found) == HOLIDAYS_2026
    assert len(CUTI_BERSAMA_2026) == 8


def test_government_category_is_what_adds_cuti_bersama() -> None:
    public = holidays.country_holidays("ID", years=2026, language="id")
    government = holidays.country_holidays(
        "ID", years=2026, categories=("government",), language="id"
    )
    assert set(government) == CUTI_BERSAMA_2026
    assert set(public) == set(HOLIDAYS_2026) - CUTI_BERSAMA_2026


def test_2026_dates_fall_on_the_weekdays_the_tests_assume() -> None:
    assert date(2026, 1, 1).strftime("%A") == "Thursday"
    assert date(2026, 3, 17).strftime("%A") == "Tuesday"
    assert date(2026, 3, 25).strftime("%A") == "Wednesday"
    assert date(2026, 12, 24).strftime("%A") == "Thursday"
    assert date(2027, 1, 5).strftime("%A") == "Tuesday"


# -- working days and holiday names --------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 3, 2), True),  # Monday
        (date(2026, 3, 6), True),  # Friday
        (date(2026, 3, 7), False),  # Saturday
        (date(2026, 3, 8), False),  # Sunday
        (date(2026, 3, 17), True),  # Tuesday before Nyepi
        (date(2026, 3, 18), False),  # cuti bersama Nyepi
        (date(2026, 3, 19), False),  # Nyepi
        (date(2026, 3, 20), False),  # cuti bersama Idul Fitri
        (date(2026, 3, 23), False),  # cuti bersama Idul Fitri
        (date(2026, 3, 24), False),  # cuti bersama Idul Fitri
        (date(2026, 3, 25), True),
        (date(2026, 12, 24), False),  # cuti bersama Natal
        (date(2026, 12, 25), False),  # Natal
        (date(2026, 12, 31), True),
        (date(2027, 1, 1), False),  # Tahun Baru
        (date(2027, 1, 4), True),
        (date(2027, 1, 5), False),  # Isra Mikraj 1448 H
        (date(2028, 12, 26), True),  # the package has no cuti bersama for 2028
    ],
)
def test_is_working_day(cal: WorkingCalendar, day: date, working: bool) -> None:
    assert cal.is_working_day(day) is working


def test_holiday_name_in_indonesian(cal: WorkingCalendar) -> None:
    assert cal.holiday_name(date(2026, 3, 20)) == "Cuti Bersama Hari Raya Idul Fitri"
    assert cal.holiday_name(date(2026, 3, 21)) == "Hari Raya Idul Fitri"  # a Saturday
    assert cal.holiday_name(date(2026, 8, 17)) == "Hari Kemerdekaan Republik Indonesia"
    assert cal.holiday_name(date(2026, 3, 7)) is None  # a plain Saturday is no holiday
    assert cal.holiday_name(date(2026, 3, 17)) is None


def test_holiday_name_in_english() -> None:
    english = WorkingCalendar(WIB, language="en_US")
    assert english.holiday_name(date(2026, 3, 20)) == "Eid al-Fitr Joint Holiday"
    assert english.holiday_name(date(2026, 12, 25)) == "Christmas Day"


def test_every_listed_2026_weekday_holiday_is_a_day_off(cal: WorkingCalendar) -> None:
    for day, name in HOLIDAYS_2026.items():
        assert not cal.is_working_day(day)
        assert cal.holiday_name(day) == name


def test_aware_datetime_for_a_date_means_the_office_local_date() -> None:
    new_year_eve_utc = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # 00:30 WIB, 02:30 WIT
    assert CALENDARS["Asia/Jakarta"].holiday_name(new_year_eve_utc) == "Tahun Baru Masehi"
    evening_utc = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)  # 22:30 WIB, 00:30 WIT
    assert CALENDARS["Asia/Jakarta"].holiday_name(evening_utc) is None
    assert CALENDARS["Asia/Jakarta"].is_working_day(evening_utc)
    assert CALENDARS["Asia/Jayapura"].holiday_name(evening_utc) == "Tahun Baru Masehi"
    assert not CALENDARS["Asia/Jayapura"].is_working_day(evening_utc)


# -- clock start ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filed", "starts"),
    [
        (wib(2026, 3, 2, 10, 15), wib(2026, 3, 2, 10, 15)),  # within hours
        (wib(2026, 3, 2, 8, 0), wib(2026, 3, 2, 8, 0)),  # at opening
        (wib(2026, 3, 2, 15, 59, 59), wib(2026, 3, 2, 15, 59, 59)),
        (wib(2026, 3, 2, 6, 30), wib(2026, 3, 2, 8, 0)),  # before office hours
        (wib(2026, 3, 2, 0, 0), wib(2026, 3, 2, 8, 0)),  # midnight
        (wib(2026, 3, 2, 16, 0), wib(2026, 3, 3, 8, 0)),  # at closing
        (wib(2026, 3, 2, 21, 0), wib(2026, 3, 3, 8, 0)),  # at night
        (wib(2026, 3, 6, 20, 0), wib(2026, 3, 9, 8, 0)),  # Friday night
        (wib(2026, 3, 7, 11, 0), wib(2026, 3, 9, 8, 0)),  # Saturday
        (wib(2026, 3, 8, 9, 0), wib(2026, 3, 9, 8, 0)),  # Sunday
        (wib(2026, 5, 1, 10, 0), wib(2026, 5, 4, 8, 0)),  # Hari Buruh, a Friday
        (wib(2026, 3, 17, 16, 30), wib(2026, 3, 25, 8, 0)),  # eve of Nyepi + Idul Fitri
        (wib(2026, 3, 21, 10, 0), wib(2026, 3, 25, 8, 0)),  # on Idul Fitri
        (wib(2026, 12, 24, 10, 0), wib(2026, 12, 28, 8, 0)),  # cuti bersama Natal
        (wib(2026, 12, 31, 19, 0), wib(2027, 1, 4, 8, 0)),  # New Year's Eve
    ],
)
def test_clock_start(cal: WorkingCalendar, filed: datetime, starts: datetime) -> None:
    assert cal.clock_start(filed) == starts


def test_results_are_utc(cal: WorkingCalendar) -> None:
    filed = wib(2026, 3, 2, 10, 0)
    results = [
        cal.clock_start(filed),
        cal.clock_start(wib(2026, 3, 7, 10, 0)),
        cal.add_working_days(filed, 0),
        cal.add_working_days(filed, 3),
        cal.add_working_hours(filed, 0.5),
        cal.next_working_day_at(date(2026, 3, 7), time(8, 0)),
    ]
    for result in results:
        assert result.tzinfo is UTC
    assert cal.clock_start(filed) == datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def test_is_working_time(cal: WorkingCalendar) -> None:
    assert cal.is_working_time(wib(2026, 3, 2, 8, 0))
    assert cal.is_working_time(wib(2026, 3, 2, 15, 59))
    assert not cal.is_working_time(wib(2026, 3, 2, 16, 0))
    assert not cal.is_working_time(wib(2026, 3, 2, 7, 59))
    assert not cal.is_working_time(wib(2026, 3, 7, 10, 0))
    assert not cal.is_working_time(wib(2026, 3, 23, 10, 0))


# -- deadlines in working days -----------------------------------------------------------


@pytest.mark.parametrize(
    ("filed", "n", "due"),
    [
        (wib(2026, 3, 2, 10, 0), 0, wib(2026, 3, 2, 10, 0)),
        (wib(2026, 3, 2, 10, 0), 1, wib(2026, 3, 3, 10, 0)),  # Monday → Tuesday
        (wib(2026, 3, 6, 10, 0), 1, wib(2026, 3, 9, 10, 0)),  # Friday → Monday
        (wib(2026, 3, 7, 10, 0), 0, wib(2026, 3, 9, 8, 0)),  # Saturday: clock starts Monday
        (wib(2026, 3, 7, 10, 0), 1, wib(2026, 3, 10, 8, 0)),  # … → Tuesday 08:00
        (wib(2026, 3, 8, 22, 0), 1, wib(2026, 3, 10, 8, 0)),  # Sunday night
        (wib(2026, 3, 2, 21, 0), 1, wib(2026, 3, 4, 8, 0)),  # Monday night
        (wib(2026, 3, 2, 6, 0), 1, wib(2026, 3, 3, 8, 0)),  # before office hours
        (wib(2026, 3, 2, 10, 0), 5, wib(2026, 3, 9, 10, 0)),  # a working week
        (wib(2026, 5, 1, 9, 0), 1, wib(2026, 5, 5, 8, 0)),  # on Hari Buruh
    ],
)
def test_add_working_days_across_weekends(
    cal: WorkingCalendar, filed: datetime, n: int, due: datetime
) -> None:
    assert cal.add_working_days(filed, n) == due


@pytest.mark.parametrize(
    ("filed", "n", "due"),
    [
        (wib(2026, 3, 17, 10, 0), 1, wib(2026, 3, 25, 10, 0)),  # last day before the break
        (wib(2026, 3, 16, 10, 0), 1, wib(2026, 3, 17, 10, 0)),
        (wib(2026, 3, 16, 10, 0), 2, wib(2026, 3, 25, 10, 0)),
        (wib(2026, 3, 16, 9, 0), 5, wib(2026, 3, 30, 9, 0)),  # 17, 25, 26, 27, 30
        (wib(2026, 3, 17, 19, 0), 1, wib(2026, 3, 26, 8, 0)),  # filed at night before
        (wib(2026, 3, 20, 10, 0), 1, wib(2026, 3, 26, 8, 0)),  # filed on cuti bersama
        (wib(2026, 3, 13, 14, 0), 3, wib(2026, 3, 25, 14, 0)),  # 16, 17, 25
    ],
)
def test_add_working_days_over_nyepi_and_idul_fitri_2026(
    cal: WorkingCalendar, filed: datetime, n: int, due: datetime
) -> None:
    assert cal.add_working_days(filed, n) == due


@pytest.mark.parametrize(
    ("filed", "n", "due"),
    [
        (wib(2026, 12, 23, 10, 0), 1, wib(2026, 12, 28, 10, 0)),  # over 24–27 Dec
        (wib(2026, 12, 23, 10, 0), 4, wib(2026, 12, 31, 10, 0)),
        (wib(2026, 12, 23, 10, 0), 5, wib(2027, 1, 4, 10, 0)),  # over New Year
        (wib(2026, 12, 23, 10, 0), 6, wib(2027, 1, 6, 10, 0)),  # over Isra Mikraj 5 Jan
        (wib(2026, 12, 24, 10, 0), 1, wib(2026, 12, 29, 8, 0)),  # filed on cuti bersama
        (wib(2026, 12, 31, 15, 0), 1, wib(2027, 1, 4, 15, 0)),
        (wib(2026, 12, 31, 16, 30), 1, wib(2027, 1, 6, 8, 0)),
        (wib(2026, 12, 22, 10, 0), 14, wib(2027, 1, 15, 10, 0)),  # 23, 28–31 Dec; 4, 6–8, 11–15 Jan
    ],
)
def test_add_working_days_over_the_2026_year_end(
    cal: WorkingCalendar, filed: datetime, n: int, due: datetime
) -> None:
    assert cal.add_working_days(filed, n) == due


def test_add_working_days_rejects_negative(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="n must be"):
        cal.add_working_days(wib(2026, 3, 2, 10, 0), -1)


# -- time zones ----------------------------------------------------------------------------


def test_same_instant_in_each_zone() -> None:
    # 07:30 UTC on Tue 17 Mar 2026: 14:30 WIB, 15:30 WITA, 16:30 WIT (after hours).
    instant = datetime(2026, 3, 17, 7, 30, tzinfo=UTC)
    jakarta, makassar, jayapura = (CALENDARS[tz.key] for tz in (WIB, WITA, WIT))

    assert jakarta.clock_start(instant) == instant
    assert makassar.clock_start(instant) == instant
    assert jayapura.clock_start(instant) == at(WIT, 2026, 3, 25, 8, 0)

    assert jakarta.add_working_days(instant, 1) == at(WIB, 2026, 3, 25, 14, 30)
    assert makassar.add_working_days(instant, 1) == at(WITA, 2026, 3, 25, 15, 30)
    assert jayapura.add_working_days(instant, 1) == at(WIT, 2026, 3, 26, 8, 0)
    assert jayapura.add_working_days(instant, 1) == datetime(2026, 3, 25, 23, 0, tzinfo=UTC)


def test_same_instant_is_a_different_local_day_in_jayapura() -> None:
    # 16:30 UTC on Sun 15 Mar 2026 is Sunday 23:30 in Jakarta but Monday 01:30 in Jayapura.
    instant = datetime(2026, 3, 15, 16, 30, tzinfo=UTC)
    jakarta, makassar, jayapura = (CALENDARS[tz.key] for tz in (WIB, WITA, WIT))

    assert not jakarta.is_working_day(instant)
    assert makassar.is_working_day(instant)  # 00:30 WITA on Monday
    assert jayapura.is_working_day(instant)

    assert jakarta.clock_start(instant) == at(WIB, 2026, 3, 16, 8, 0)
    assert makassar.clock_start(instant) == at(WITA, 2026, 3, 16, 8, 0)
    assert jayapura.clock_start(instant) == at(WIT, 2026, 3, 16, 8, 0)
    assert jayapura.clock_start(instant) == datetime(2026, 3, 15, 23, 0, tzinfo=UTC)
    assert makassar.clock_start(instant) == datetime(2026, 3, 16, 0, 0, tzinfo=UTC)
    assert jakarta.clock_start(instant) == datetime(2026, 3, 16, 1, 0, tzinfo=UTC)


def test_input_zone_does_not_matter_only_the_instant() -> None:
    jakarta = CALENDARS["Asia/Jakarta"]
    in_wib = wib(2026, 3, 17, 10, 0)
    for tz in (UTC, WITA, WIT, ZoneInfo("Europe/Amsterdam")):
        assert jakarta.add_working_days(in_wib.astimezone(tz), 1) == wib(2026, 3, 25, 10, 0)


def test_next_working_day_at_in_jayapura() -> None:
    jayapura = CALENDARS["Asia/Jayapura"]
    assert jayapura.next_working_day_at(date(2026, 3, 16), time(8, 0)) == datetime(
        2026, 3, 15, 23, 0, tzinfo=UTC
    )


# -- office's own holidays and working days -----------------------------------------------


def test_extra_holidays_close_the_office() -> None:
    city_anniversary = date(2026, 3, 26)  # a Thursday
    cal = WorkingCalendar(WIB, extra_holidays=[city_anniversary])
    assert not cal.is_working_day(city_anniversary)
    assert cal.holiday_name(city_anniversary) == "Hari libur kantor"
    assert cal.add_working_days(wib(2026, 3, 25, 10, 0), 1) == wib(2026, 3, 27, 10, 0)
    assert cal.clock_start(wib(2026, 3, 26, 10, 0)) == wib(2026, 3, 27, 8, 0)


def test_extra_holidays_with_names_add_future_cuti_bersama() -> None:
    plain = WorkingCalendar(WIB)
    cuti_2028 = date(2028, 12, 26)  # Tuesday after Natal (Monday 25 Dec 2028)
    assert plain.is_working_day(cuti_2028)
    cal = WorkingCalendar(WIB, extra_holidays={cuti_2028: "Cuti Bersama Hari Raya Natal"})
    assert not cal.is_working_day(cuti_2028)
    assert cal.holiday_name(cuti_2028) == "Cuti Bersama Hari Raya Natal"
    assert cal.add_working_days(wib(2028, 12, 22, 10, 0), 1) == wib(2028, 12, 27, 10, 0)


def test_package_name_wins_over_a_redundant_extra_holiday() -> None:
    cal = WorkingCalendar(WIB, extra_holidays={date(2026, 12, 24): "Cuti"})
    assert cal.holiday_name(date(2026, 12, 24)) == "Cuti Bersama Hari Raya Natal"


def test_extra_working_days_open_a_saturday() -> None:
    saturday = date(2026, 3, 28)
    cal = WorkingCalendar(WIB, extra_working_days=[saturday])
    assert cal.is_working_day(saturday)
    assert cal.add_working_days(wib(2026, 3, 27, 10, 0), 1) == wib(2026, 3, 28, 10, 0)
    assert cal.clock_start(wib(2026, 3, 28, 7, 0)) == wib(2026, 3, 28, 8, 0)
    assert cal.working_days_between(wib(2026, 3, 27, 8, 0), wib(2026, 3, 30, 8, 0)) == 2.0


def test_extra_working_days_cancel_a_holiday() -> None:
    cal = WorkingCalendar(WIB, extra_working_days=[date(2026, 12, 24)])
    assert cal.is_working_day(date(2026, 12, 24))
    assert cal.holiday_name(date(2026, 12, 24)) is None
    assert cal.add_working_days(wib(2026, 12, 23, 10, 0), 1) == wib(2026, 12, 24, 10, 0)


def test_a_date_cannot_be_both_extra_holiday_and_extra_working_day() -> None:
    with pytest.raises(ValueError, match="2026-03-28"):
        WorkingCalendar(
            WIB, extra_holidays=[date(2026, 3, 28)], extra_working_days=[date(2026, 3, 28)]
        )


def test_extra_days_must_be_dates_not_datetimes() -> None:
    with pytest.raises(TypeError):
        WorkingCalendar(WIB, extra_holidays=[wib(2026, 3, 26)])


def test_custom_office_hours_and_workdays() -> None:
    # A six-day service office, 07:30–14:00.
    cal = WorkingCalendar(
        WITA, office_start=time(7, 30), office_end=time(14, 0), workdays=frozenset(range(6))
    )
    assert cal.working_day_length == timedelta(hours=6, minutes=30)
    assert cal.is_working_day(date(2026, 3, 7))  # Saturday
    assert cal.clock_start(at(WITA, 2026, 3, 6, 15, 0)) == at(WITA, 2026, 3, 7, 7, 30)
    assert cal.add_working_days(at(WITA, 2026, 3, 7, 9, 0), 1) == at(WITA, 2026, 3, 9, 9, 0)
    assert cal.working_hours_between(at(WITA, 2026, 3, 6, 13, 0), at(WITA, 2026, 3, 7, 8, 0)) == 1.5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"office_start": time(16, 0), "office_end": time(8, 0)},
        {"office_start": time(8, 0), "office_end": time(8, 0)},
        {"office_start": time(8, 0, tzinfo=UTC)},
        {"workdays": frozenset()},
        {"workdays": frozenset({7})},
    ],
)
def test_invalid_configuration(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case fails for its own reason
        WorkingCalendar(WIB, **kwargs)  # type: ignore[arg-type]


# -- naive datetimes -----------------------------------------------------------------------

NAIVE = wib(2026, 3, 2, 10, 0).replace(tzinfo=None)
AWARE = wib(2026, 3, 2, 10, 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.clock_start(NAIVE),
        lambda c: c.add_working_days(NAIVE, 1),
        lambda c: c.add_working_hours(NAIVE, 1.0),
        lambda c: c.working_days_between(NAIVE, AWARE),
        lambda c: c.working_days_between(AWARE, NAIVE),
        lambda c: c.working_hours_between(NAIVE, AWARE),
        lambda c: c.working_hours_between(AWARE, NAIVE),
        lambda c: c.is_working_time(NAIVE),
        lambda c: c.is_working_day(NAIVE),
        lambda c: c.holiday_name(NAIVE),
        lambda c: c.next_working_day_at(NAIVE, time(8, 0)),
    ],
)
def test_naive_datetimes_are_rejected(
    cal: WorkingCalendar, call: Callable[[WorkingCalendar], object]
) -> None:
    with pytest.raises(ValueError, match="time-zone-aware"):
        call(cal)


def test_next_working_day_at_rejects_an_aware_time(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="tzinfo"):
        cal.next_working_day_at(date(2026, 3, 2), time(8, 0, tzinfo=WIB))


# -- working hours -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filed", "hours", "due"),
    [
        (wib(2026, 3, 2, 10, 0), 0, wib(2026, 3, 2, 10, 0)),
        (wib(2026, 3, 2, 10, 0), 20 / 60, wib(2026, 3, 2, 10, 20)),  # "20 minutes"
        (wib(2026, 3, 2, 15, 50), 20 / 60, wib(2026, 3, 3, 8, 10)),
        (wib(2026, 3, 2, 8, 0), 8, wib(2026, 3, 2, 16, 0)),  # runs out at closing time
        (wib(2026, 3, 2, 15, 0), 2, wib(2026, 3, 3, 9, 0)),
        (wib(2026, 3, 6, 15, 0), 2, wib(2026, 3, 9, 9, 0)),  # over the weekend
        (wib(2026, 3, 2, 21, 0), 0.5, wib(2026, 3, 3, 8, 30)),  # filed at night
        (wib(2026, 3, 7, 12, 0), 8, wib(2026, 3, 9, 16, 0)),  # filed on Saturday
        (wib(2026, 3, 17, 15, 0), 2, wib(2026, 3, 25, 9, 0)),  # over Idul Fitri
        (wib(2026, 3, 2, 10, 0), 40, wib(2026, 3, 9, 10, 0)),  # five working days
    ],
)
def test_add_working_hours(
    cal: WorkingCalendar, filed: datetime, hours: float, due: datetime
) -> None:
    assert cal.add_working_hours(filed, hours) == due


@pytest.mark.parametrize("hours", [-1.0, float("nan"), float("inf")])
def test_add_working_hours_rejects_bad_budgets(cal: WorkingCalendar, hours: float) -> None:
    with pytest.raises(ValueError, match="hours must be"):
        cal.add_working_hours(wib(2026, 3, 2, 10, 0), hours)


# -- office minutes (budgets such as SOP 001's "5 menit") ---------------------------------


@pytest.mark.parametrize(
    ("filed", "minutes", "due"),
    [
        (wib(2026, 3, 2, 10, 0), 0, wib(2026, 3, 2, 10, 0)),
        (wib(2026, 3, 2, 10, 0), 5, wib(2026, 3, 2, 10, 5)),
        (wib(2026, 3, 2, 10, 0, 30), 5, wib(2026, 3, 2, 10, 5, 30)),  # to the second
        (wib(2026, 3, 2, 11, 58), 5, wib(2026, 3, 2, 12, 3)),  # no lunch break
        (wib(2026, 3, 2, 15, 55), 5, wib(2026, 3, 2, 16, 0)),  # runs out at closing time
        (wib(2026, 3, 2, 15, 58), 5, wib(2026, 3, 3, 8, 3)),  # the evening does not count
        (wib(2026, 3, 6, 15, 58), 5, wib(2026, 3, 9, 8, 3)),  # Friday → Monday
        (wib(2026, 3, 2, 19, 0), 30, wib(2026, 3, 3, 8, 30)),  # filed in the evening
        (wib(2026, 3, 3, 6, 0), 30, wib(2026, 3, 3, 8, 30)),  # filed before opening
        (wib(2026, 3, 7, 10, 0), 5, wib(2026, 3, 9, 8, 5)),  # filed on Saturday
        (wib(2026, 3, 17, 15, 50), 20, wib(2026, 3, 25, 8, 10)),  # over Idul Fitri
        (wib(2026, 3, 19, 9, 0), 5, wib(2026, 3, 25, 8, 5)),  # filed on Nyepi
        (wib(2026, 3, 2, 10, 0), 4 * 60, wib(2026, 3, 2, 14, 0)),  # "4h"
        (wib(2026, 3, 2, 13, 0), 4 * 60, wib(2026, 3, 3, 9, 0)),
        (wib(2026, 3, 2, 10, 0), 5 * 480, wib(2026, 3, 9, 10, 0)),  # five working days
    ],
)
def test_add_working_minutes(
    cal: WorkingCalendar, filed: datetime, minutes: int, due: datetime
) -> None:
    assert cal.add_working_minutes(filed, minutes) == due
    assert cal.add_working_minutes(filed, minutes).tzinfo is UTC


def test_add_working_minutes_in_other_office_hours() -> None:
    """07:30-15:30 WITA: the minutes run in that zone's office hours."""
    cal = WorkingCalendar(WITA, office_start=time(7, 30), office_end=time(15, 30))
    friday = at(WITA, 2026, 3, 6, 15, 28)
    assert cal.add_working_minutes(friday, 5) == at(WITA, 2026, 3, 9, 7, 33)
    assert cal.working_day_minutes == 480
    short = WorkingCalendar(WIB, office_start=time(8, 0), office_end=time(12, 30))
    assert short.working_day_minutes == 270
    assert short.add_working_minutes(wib(2026, 3, 2, 12, 0), 45) == wib(2026, 3, 3, 8, 15)


@pytest.mark.parametrize("minutes", [-1, 1.5, True])
def test_add_working_minutes_takes_whole_minutes(cal: WorkingCalendar, minutes: object) -> None:
    with pytest.raises(ValueError, match="minutes must be a whole number"):
        cal.add_working_minutes(wib(2026, 3, 2, 10, 0), minutes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        (wib(2026, 3, 2, 10, 0), wib(2026, 3, 2, 10, 5), 5.0),
        (wib(2026, 3, 2, 11, 30), wib(2026, 3, 2, 13, 30), 120.0),  # over midday
        (wib(2026, 3, 2, 15, 58), wib(2026, 3, 2, 22, 0), 2.0),  # the evening is not counted
        (wib(2026, 3, 6, 15, 58), wib(2026, 3, 9, 8, 3), 5.0),  # nor the weekend
        (wib(2026, 3, 17, 15, 50), wib(2026, 3, 25, 8, 10), 20.0),  # nor Idul Fitri
        (wib(2026, 3, 2, 10, 0, 0), wib(2026, 3, 2, 10, 0, 30), 0.5),
        (wib(2026, 3, 2, 10, 5), wib(2026, 3, 2, 10, 0), 0.0),  # end before start
    ],
)
def test_working_minutes_between(
    cal: WorkingCalendar, start: datetime, end: datetime, minutes: float
) -> None:
    assert cal.working_minutes_between(start, end) == minutes


# -- elapsed working time ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (wib(2026, 3, 2, 10, 0), wib(2026, 3, 2, 14, 0), 0.5),  # same day
        (wib(2026, 3, 2, 6, 0), wib(2026, 3, 2, 20, 0), 1.0),  # only office hours count
        (wib(2026, 3, 2, 17, 0), wib(2026, 3, 3, 7, 0), 0.0),  # overnight, no office hours
        (wib(2026, 3, 6, 14, 0), wib(2026, 3, 9, 10, 0), 0.5),  # over the weekend
        (wib(2026, 3, 6, 10, 0), wib(2026, 3, 9, 10, 0), 1.0),
        (wib(2026, 3, 7, 10, 0), wib(2026, 3, 8, 10, 0), 0.0),  # within the weekend
        (wib(2026, 5, 13, 12, 0), wib(2026, 5, 18, 12, 0), 1.0),  # over Kenaikan + cuti
        (wib(2026, 3, 17, 12, 0), wib(2026, 3, 25, 12, 0), 1.0),  # over Idul Fitri
        (wib(2026, 3, 20, 12, 0), wib(2026, 3, 25, 12, 0), 0.5),  # from cuti bersama
        (wib(2026, 12, 23, 16, 0), wib(2027, 1, 6, 8, 0), 5.0),  # over the year end
        (wib(2026, 1, 1), wib(2027, 1, 1), 240.0),  # the whole of 2026
        (wib(2026, 3, 3, 10, 0), wib(2026, 3, 2, 10, 0), 0.0),  # end before start
        (wib(2026, 3, 2, 10, 0), wib(2026, 3, 2, 10, 0), 0.0),
    ],
)
def test_working_days_between(
    cal: WorkingCalendar, start: datetime, end: datetime, days: float
) -> None:
    assert cal.working_days_between(start, end) == days
    assert cal.working_hours_between(start, end) == days * 8


def test_working_hours_between_is_exact_to_the_second(cal: WorkingCalendar) -> None:
    start, end = wib(2026, 3, 2, 10, 0, 0), wib(2026, 3, 2, 10, 0, 36)
    assert cal.working_hours_between(start, end) == 0.01
    assert cal.working_days_between(start, end) == 36 / (8 * 3600)


def test_working_days_between_over_a_decade_is_fast(cal: WorkingCalendar) -> None:
    expected = len(cal.working_days_in(date(2020, 1, 1), date(2029, 12, 31)))
    start, end = wib(2020, 1, 1), wib(2030, 1, 1)
    for _ in range(2000):
        assert cal.working_days_between(start, end) == expected


# -- days for scheduling -------------------------------------------------------------------


def test_working_days_in(cal: WorkingCalendar) -> None:
    assert cal.working_days_in(date(2026, 3, 16), date(2026, 3, 27)) == [
        date(2026, 3, 16),
        date(2026, 3, 17),
        date(2026, 3, 25),
        date(2026, 3, 26),
        date(2026, 3, 27),
    ]
    assert cal.working_days_in(date(2026, 3, 7), date(2026, 3, 8)) == []
    assert cal.working_days_in(date(2026, 3, 9), date(2026, 3, 2)) == []
    assert len(cal.working_days_in(date(2026, 1, 1), date(2026, 12, 31))) == 240


@pytest.mark.parametrize(
    ("year", "month", "first"),
    [
        (2026, 1, date(2026, 1, 2)),  # 1 Jan is Tahun Baru
        (2026, 2, date(2026, 2, 2)),  # 1 Feb is a Sunday
        (2026, 3, date(2026, 3, 2)),
        (2026, 4, date(2026, 4, 1)),
        (2026, 5, date(2026, 5, 4)),  # Hari Buruh on Friday 1 May
        (2026, 6, date(2026, 6, 2)),  # Hari Lahir Pancasila on Monday 1 June
        (2026, 8, date(2026, 8, 3)),  # 1 Aug is a Saturday
        (2026, 11, date(2026, 11, 2)),
        (2026, 12, date(2026, 12, 1)),
        (2027, 1, date(2027, 1, 4)),  # Tahun Baru on Friday, then the weekend
    ],
)
def test_first_working_day_of_month(
    cal: WorkingCalendar, year: int, month: int, first: date
) -> None:
    assert cal.first_working_day_of_month(year, month) == first


def test_next_working_day_at(cal: WorkingCalendar) -> None:
    digest = time(8, 0)
    assert cal.next_working_day_at(date(2026, 3, 2), digest) == wib(2026, 3, 2, 8, 0)
    assert cal.next_working_day_at(date(2026, 3, 7), digest) == wib(2026, 3, 9, 8, 0)
    assert cal.next_working_day_at(date(2026, 3, 18), digest) == wib(2026, 3, 25, 8, 0)
    assert cal.next_working_day_at(date(2026, 12, 24), time(7, 0)) == wib(2026, 12, 28, 7, 0)


def test_no_working_day_at_all_is_reported() -> None:
    everything = [date(2026, 1, 1) + timedelta(days=i) for i in range(4000)]
    cal = WorkingCalendar(WIB, extra_holidays=everything)
    with pytest.raises(ValueError, match="no working day"):
        cal.clock_start(wib(2026, 1, 1, 10, 0))


# -- properties ----------------------------------------------------------------------------

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_US = 4 * 366 * 24 * HOUR  # 2025 – 2028
instants = st.integers(min_value=0, max_value=SPAN_US).map(
    lambda us: EPOCH + timedelta(microseconds=us)
)
calendars = st.sampled_from(list(CALENDARS.values()))
PROPERTY = settings(database=None, deadline=None, max_examples=300)


@PROPERTY
@given(cal=calendars, x=instants, n=st.integers(min_value=0, max_value=40))
def test_round_trip_working_days(cal: WorkingCalendar, x: datetime, n: int) -> None:
    due = cal.add_working_days(x, n)
    assert cal.working_days_between(cal.clock_start(x), due) == n
    assert cal.working_days_between(x, due) == n
    assert cal.is_working_time(due)


@PROPERTY
@given(cal=calendars, x=instants, minutes=st.integers(min_value=0, max_value=60 * 8 * 30))
def test_round_trip_working_hours(cal: WorkingCalendar, x: datetime, minutes: int) -> None:
    hours = minutes / 60
    due = cal.add_working_hours(x, hours)
    assert cal.working_hours_between(x, due) == hours
    assert due >= cal.clock_start(x)


@PROPERTY
@given(cal=calendars, x=instants, minutes=st.integers(min_value=0, max_value=480 * 30))
def test_round_trip_working_minutes(cal: WorkingCalendar, x: datetime, minutes: int) -> None:
    due = cal.add_working_minutes(x, minutes)
    assert cal.working_minutes_between(x, due) == minutes
    assert due == cal.add_working_hours(x, minutes / 60)
    assert due >= cal.clock_start(x)


@PROPERTY
@given(cal=calendars, x=instants)
def test_clock_start_is_working_time_and_idempotent(cal: WorkingCalendar, x: datetime) -> None:
    start = cal.clock_start(x)
    assert start >= x
    assert cal.is_working_time(start)
    assert cal.clock_start(start) == start
    assert cal.working_hours_between(x, start) == 0


def reference_working_micros(cal: WorkingCalendar, start: datetime, end: datetime) -> int:
    """Sum office hours day by day, the slow and obvious way."""
    tz = cal.timezone
    a, b = start.astimezone(tz), end.astimezone(tz)
    total = timedelta()
    day = a.date()
    while day <= b.date():
        if cal.is_working_day(day):
            opening = datetime.combine(day, cal.office_start, tzinfo=tz)
            closing = datetime.combine(day, cal.office_end, tzinfo=tz)
            lo, hi = max(a, opening), min(b, closing)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total // timedelta(microseconds=1)


@PROPERTY
@given(cal=calendars, a=instants, b=instants)
def test_between_matches_day_by_day_reference(
    cal: WorkingCalendar, a: datetime, b: datetime
) -> None:
    expected = reference_working_micros(cal, a, b)
    assert cal.working_hours_between(a, b) == expected / HOUR
    assert cal.working_days_between(a, b) == expected / (8 * HOUR)


@PROPERTY
@given(cal=calendars, a=instants, b=instants, c=instants)
def test_between_is_additive(cal: WorkingCalendar, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    whole = cal.working_hours_between(a, c)
    parts = cal.working_hours_between(a, b) + cal.working_hours_between(b, c)
    assert whole == pytest.approx(parts, abs=1e-9)
