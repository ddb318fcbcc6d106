"""The recap and a case's history as CSV, for tools that do not read XLSX.

The files are UTF-8 with a byte-order mark, which is how Excel and LibreOffice tell
UTF-8 from the local code page (Indonesian names and "–" survive); numbers use "."
and no thousands separator whatever the language, so any program parses them.

Cells a spreadsheet would take for a formula (text starting with = + - @) get a
leading apostrophe: a citizen's note must never run as a formula on an officer's
computer ("CSV injection").
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.core.model import Case, CaseEvent
from bot.core.recap import Recap
from bot.core.texts import Texts
from bot.core.views import for_staff
from bot.exports.content import (
    HISTORY_COLUMNS,
    Measure,
    Value,
    entered_by,
    history_rows,
    source_name,
    summary_sections,
    unit_names_of,
)

ENCODING = "utf-8-sig"  # UTF-8 with the byte-order mark
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # office wall-clock time; ISO order parses everywhere
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DECIMALS = {
    Measure.COUNT: 0,
    Measure.SHARE: 1,
    Measure.DAYS: 2,
    Measure.HOURS: 2,
    Measure.MINUTES: 2,
}
AVERAGE_DECIMALS = 2
# The case's own facts, after the history's columns on every row of a case's CSV.
CASE_FACT_COLUMNS = (
    "xlsx_col_source",
    "xlsx_field_received_on",
    "xlsx_field_entered_by",
    "xlsx_col_lapor_number",
    "xlsx_col_merged_into",
)


def number(value: Value) -> str:
    """A value as CSV text: shares as percentages, others rounded; nothing for None."""
    if value.number is None:
        return ""
    amount = value.number * 100 if value.measure is Measure.SHARE else value.number
    places = DECIMALS.get(value.measure, AVERAGE_DECIMALS)
    text = f"{amount:.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def safe(text: str) -> str:
    """The text as staff may read it (`for_staff`), defused if a spreadsheet would read
    it as a formula (a negative number stays a number)."""
    text = for_staff(text)
    if not text.startswith(FORMULA_STARTS):
        return text
    try:
        float(text)
    except ValueError:
        return "'" + text
    return text


def _write(path: Path, rows: Iterable[Sequence[str]]) -> None:
    with path.open("w", encoding=ENCODING, newline="") as fh:
        writer = csv.writer(fh)
        for row in rows:
            writer.writerow([safe(cell) for cell in row])


def write_recap_csv(path: Path, recap: Recap, t: Texts) -> None:
    """Every figure of the summary sheet, one per row: [bagian, rincian, nilai].

    A line with several values (a timing: median, 90th percentile…) gives one row per
    value, named "line – column". Shares are percentages (75 for 75%).
    """
    header = t("csv_recap")
    rows: list[Sequence[str]] = [
        (t("csv_section"), t("csv_item"), t("csv_value")),
        (header, t("csv_office"), recap.office_name),
        (header, t("csv_period"), recap.period.title(t)),
        (header, t("xlsx_period_first"), recap.period.first.isoformat()),
        (header, t("xlsx_period_last"), recap.period.last.isoformat()),
        (header, t("xlsx_generated"), recap.generated_at.isoformat(timespec="seconds")),
    ]
    for section in summary_sections(recap, t, unit_names_of(recap, {})):
        for line in section.lines:
            for column, value in zip(section.columns, line.values, strict=True):
                item = line.label if len(section.columns) == 1 else f"{line.label} – {column}"
                if value.measure is Measure.SHARE and "%" not in item:
                    item += " (%)"
                rows.append((section.title, item, number(value)))
    _write(path, rows)


def write_case_csv(
    path: Path,
    case: Case,
    events: Sequence[CaseEvent],
    t: Texts,
    tz: ZoneInfo,
    unit_names: Mapping[str, str],
) -> None:
    """A case's whole history, one event a row, the case code first on every row (so
    several cases' files can be joined into one table) and where the case came from last
    (source, day received, who entered it, its SP4N-LAPOR! number, the main case of a
    duplicate). Like the history, no reporter identity: the XLSX file carries that."""
    intake = case.intake
    facts = (
        source_name(t, case.channel.value, intake.source if intake else None),
        intake.received_on.isoformat() if intake else "",
        entered_by(intake) or "",
        case.lapor_number or "",
        case.merged_into or "",
    )
    rows: list[Sequence[str]] = [
        (
            t("xlsx_col_code"),
            *(t(key) for key in HISTORY_COLUMNS),
            *(t(key) for key in CASE_FACT_COLUMNS),
        )
    ]
    for line in history_rows(events, t, tz, unit_names):
        rows.append(
            (
                case.code,
                line.at.strftime(TIME_FORMAT),
                line.event,
                line.role,
                line.actor,
                line.unit,
                line.status_after,
                line.note,
                str(line.attachments),
                *facts,
            )
        )
    _write(path, rows)
