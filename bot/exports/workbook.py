"""The recap and the single-case export as Excel workbooks (XLSX), written with xlsxwriter.

The recap workbook streams: xlsxwriter's `constant_memory` mode writes each row to a
temporary file as soon as the next one starts, so a year of a busy city (100 000+
cases) never sits in memory. That mode demands rows in order within a sheet, hence the
shape of `RecapWorkbook`: everything but the case list is written when it opens, and
the case list is appended to until it closes.

Every number is written as a number and every time as an Excel date-time in the
office's time zone, so people can sort, filter and sum without cleaning the file.
Citizens' text always goes in with `write_string`: a description starting with "="
stays text, never a formula.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from zoneinfo import ZoneInfo

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from bot.core.budget import BudgetUnit
from bot.core.model import Case, CaseEvent, Privacy
from bot.core.recap import CaseRow, Recap
from bot.core.texts import Texts
from bot.core.views import attachment_captions, for_staff, staff_location
from bot.exports.content import (
    HISTORY_COLUMNS,
    Measure,
    Value,
    category_name,
    entered_by,
    history_rows,
    label,
    local,
    shorten,
    source_name,
    summary_sections,
    unit_labels,
    unit_name,
    unit_names_of,
    working_value,
)

DATE_TIME_FORMAT = "dd/mm/yyyy hh:mm"
DATE_FORMAT = "dd/mm/yyyy"
NUMBER_FORMATS = {
    Measure.COUNT: "0",
    Measure.SHARE: "0%",
    Measure.DAYS: "0.0",
    Measure.HOURS: "0.0",
    Measure.MINUTES: "0.0",
    Measure.AVERAGE: "0.00",
}
EXCEL_MAX_ROWS = 1_048_576
SHEET_NAME_LIMIT = 31
SHEET_NAME_FORBIDDEN = "[]:*?/\\"

Cell = str | int | float | date | Value | None

# (header template, column width in characters) of each table sheet
UNIT_COLUMNS = (
    ("xlsx_col_unit_code", 12),
    ("xlsx_col_unit_name", 36),
    ("xlsx_col_received", 11),
    ("xlsx_col_answered", 11),
    ("xlsx_col_closed", 11),
    ("xlsx_col_returned", 13),
    ("xlsx_open_at_end", 15),
    ("xlsx_overdue_at_end", 15),
    ("xlsx_col_answer_median", 15),
    ("xlsx_col_answer_p90", 15),
    ("xlsx_col_answer_within", 14),
    ("xlsx_col_rating_average", 13),
    ("xlsx_rating_count", 13),
)
TURNBACK_COLUMNS = (
    ("xlsx_col_code", 14),
    ("xlsx_col_time", 17),
    ("xlsx_col_kind", 20),
    ("xlsx_col_unit", 32),
    ("xlsx_col_reason", 60),
    ("xlsx_col_by", 24),
)
CASE_COLUMNS = (
    ("xlsx_col_code", 14),
    ("xlsx_col_created", 17),
    ("xlsx_col_channel", 11),
    ("xlsx_col_privacy", 12),
    ("xlsx_col_status", 24),
    ("xlsx_col_category", 20),
    ("xlsx_col_unit", 32),
    ("xlsx_col_description", 60),
    ("xlsx_col_location", 30),
    ("xlsx_col_acknowledged", 17),
    ("xlsx_col_first_disposed", 17),
    ("xlsx_col_answered_at", 17),
    ("xlsx_col_closed_at", 17),
    ("xlsx_col_disposition_days", 14),
    ("xlsx_col_first_answer_days", 14),
    ("xlsx_col_closure_days", 14),
    ("xlsx_col_rating", 11),
    ("xlsx_col_source", 26),
    ("xlsx_col_lapor_number", 18),
    ("xlsx_col_merged_into", 14),
)
HISTORY_WIDTHS = (17, 24, 10, 24, 32, 24, 60, 10)
SUMMARY_WIDTHS = (58, 16, 16, 16, 16, 16, 16)
CASE_FIELD_WIDTHS = (24, 80)


class WorkbookFullError(ValueError):
    """More cases than one Excel sheet holds (1 048 575 below the header)."""


class _Cells:
    """The workbook's formats, and writing one value with the right cell type."""

    def __init__(self, book: Workbook) -> None:
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.bold = book.add_format({"bold": True})
        self.header = book.add_format(
            {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7", "border": 1}
        )
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.datetime = book.add_format({"num_format": DATE_TIME_FORMAT, "align": "left"})
        self.date = book.add_format({"num_format": DATE_FORMAT, "align": "left"})
        self.numbers = {m: book.add_format({"num_format": f}) for m, f in NUMBER_FORMATS.items()}

    def put(
        self, sheet: Worksheet, row: int, col: int, value: Cell, fmt: Format | None = None
    ) -> None:
        if value is None:
            return
        if isinstance(value, Value):
            if value.number is not None:
                sheet.write_number(row, col, value.number, self.numbers[value.measure])
        elif isinstance(value, datetime):
            sheet.write_datetime(row, col, value, fmt or self.datetime)
        elif isinstance(value, date):
            sheet.write_datetime(row, col, value, fmt or self.date)
        elif isinstance(value, str):
            if value:
                sheet.write_string(row, col, for_staff(value), fmt)
        else:
            sheet.write_number(row, col, value, fmt or self.numbers[Measure.COUNT])

    def header_row(self, sheet: Worksheet, row: int, headers: Sequence[str]) -> None:
        for col, text in enumerate(headers):
            sheet.write_string(row, col, text, self.header)


def sheet_name(text: str, fallback: str) -> str:
    """A template's text made a valid sheet name: the templates are edited by the
    office, and Excel refuses names over 31 characters or with [ ] : * ? / \\."""
    cleaned = "".join("-" if ch in SHEET_NAME_FORBIDDEN else ch for ch in text).strip(" '")
    return cleaned[:SHEET_NAME_LIMIT].strip() or fallback


def _widths(sheet: Worksheet, widths: Iterable[float]) -> None:
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)


def _table(
    sheet: Worksheet,
    cells: _Cells,
    t: Texts,
    columns: Sequence[tuple[str, int]],
    units: Mapping[str, str] | None = None,
) -> None:
    """A table sheet's header: labels (with the `units` some name), widths, and the
    header row frozen in place."""
    cells.header_row(sheet, 0, [t(key, **(units or {})) for key, _ in columns])
    _widths(sheet, (width for _, width in columns))
    sheet.freeze_panes(1, 0)


class RecapWorkbook:
    """A period's recap as an XLSX file: summary, units, turnbacks, then the case list.

    Use as a context manager, or call `close()`: the file is complete only then.
    """

    def __init__(
        self, path: Path, recap: Recap, t: Texts, tz: ZoneInfo, unit_names: Mapping[str, str]
    ) -> None:
        self._recap = recap
        self._t = t
        self._tz = tz
        self._names = unit_names_of(recap, unit_names)
        self._book = Workbook(str(path), {"constant_memory": True})
        self._cells = _Cells(self._book)
        self._closed = False
        self._count = 0
        self._write_summary()
        self._write_units()
        self._write_turnbacks()
        self._cases = self._book.add_worksheet(
            sheet_name(t("xlsx_sheet_cases"), "Daftar Pengaduan")
        )
        _table(self._cases, self._cells, t, CASE_COLUMNS, unit_labels(t, recap))
        self._cases.freeze_panes(1, 1)

    def __enter__(self) -> RecapWorkbook:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def case_count(self) -> int:
        return self._count

    def add_cases(self, rows: Iterable[CaseRow]) -> int:
        """Appends cases to the case list; returns how many it holds so far."""
        for row in rows:
            if self._count + 1 >= EXCEL_MAX_ROWS:
                raise WorkbookFullError(f"an Excel sheet holds at most {EXCEL_MAX_ROWS - 1} cases")
            self._count += 1
            self._write_case(self._count, row)
        return self._count

    def omit_cases(self, note: str) -> None:
        """Leaves the case list empty but for `note` (why, and where to find the cases)."""
        if self._count:
            raise ValueError("cases are already listed")
        self._cases.write_string(1, 0, note)

    def close(self) -> None:
        """Finishes the file; calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        self._cases.autofilter(0, 0, self._count, len(CASE_COLUMNS) - 1)
        self._book.close()

    # -- sheets ------------------------------------------------------------------------

    def _write_summary(self) -> None:
        t, recap, cells = self._t, self._recap, self._cells
        sheet = self._book.add_worksheet(sheet_name(t("xlsx_sheet_summary"), "Ringkasan"))
        _widths(sheet, SUMMARY_WIDTHS)
        title = t("xlsx_title", office=recap.office_name, period=recap.period.title(t))
        sheet.write_string(0, 0, title, cells.title)
        sheet.freeze_panes(1, 0)
        cells.put(sheet, 1, 0, t("xlsx_generated"), cells.bold)
        cells.put(sheet, 1, 1, local(recap.generated_at, self._tz))
        cells.put(sheet, 2, 0, t("xlsx_period_first"), cells.bold)
        cells.put(sheet, 2, 1, recap.period.first)
        cells.put(sheet, 3, 0, t("xlsx_period_last"), cells.bold)
        cells.put(sheet, 3, 1, recap.period.last)
        row = 5
        for section in summary_sections(recap, t, self._names):
            cells.header_row(sheet, row, [section.title, *section.columns])
            for line in section.lines:
                row += 1
                cells.put(sheet, row, 0, line.label)
                for col, value in enumerate(line.values, start=1):
                    cells.put(sheet, row, col, value)
            row += 2

    def _write_units(self) -> None:
        t, cells, day = self._t, self._cells, self._recap.day_minutes
        sheet = self._book.add_worksheet(sheet_name(t("xlsx_sheet_units"), "Per Unit"))
        _table(sheet, cells, t, UNIT_COLUMNS, unit_labels(t, self._recap))
        sheet.freeze_panes(1, 2)
        for row, unit in enumerate(self._recap.units, start=1):
            tally, answer = unit.tally, unit.answer
            values: tuple[Cell, ...] = (
                unit.code,
                unit.name,
                tally.received,
                tally.answered,
                tally.closed,
                tally.returned,
                tally.open_at_end,
                tally.overdue_at_end,
                working_value(answer.median, answer.unit, day),
                working_value(answer.p90, answer.unit, day),
                Value(answer.share_within, Measure.SHARE),
                Value(unit.rating_average, Measure.AVERAGE),
                tally.rating_count,
            )
            for col, value in enumerate(values):
                cells.put(sheet, row, col, value)
        sheet.autofilter(0, 0, len(self._recap.units), len(UNIT_COLUMNS) - 1)

    def _write_turnbacks(self) -> None:
        t, cells = self._t, self._cells
        sheet = self._book.add_worksheet(
            sheet_name(t("xlsx_sheet_turnbacks"), "Ditolak & Dikembalikan")
        )
        _table(sheet, cells, t, TURNBACK_COLUMNS)
        turnbacks = self._recap.figures.turnbacks
        for row, turnback in enumerate(turnbacks, start=1):
            values: tuple[Cell, ...] = (
                turnback.code,
                local(turnback.at, self._tz),
                label(t, f"event_{turnback.kind}", turnback.kind),
                self._names.get(turnback.unit_code, turnback.unit_code)
                if turnback.unit_code
                else None,
                turnback.reason,
                turnback.actor_name,
            )
            for col, value in enumerate(values):
                cells.put(sheet, row, col, value)
        sheet.autofilter(0, 0, len(turnbacks), len(TURNBACK_COLUMNS) - 1)

    def _write_case(self, row: int, case: CaseRow) -> None:
        t, tz, day, recap = self._t, self._tz, self._recap.day_minutes, self._recap
        confidential = case.privacy == Privacy.CONFIDENTIAL.value
        hidden = t("xlsx_confidential")
        place = None
        if case.location_text or case.location:
            place = staff_location(t, case.location_text, case.location)
        values: tuple[Cell, ...] = (
            case.code,
            local(case.created_at, tz),
            label(t, f"channel_{case.channel}", case.channel),
            label(t, f"privacy_{case.privacy}", case.privacy),
            label(t, f"status_{case.status}", case.status),
            category_name(t, case.category),
            unit_name(t, case.unit_code, self._names),
            # A confidential report is confidential whole: its place can name the reporter.
            hidden if confidential else shorten(case.description),
            hidden if confidential and place else place,
            _local_or_none(case.acknowledged_at, tz),
            _local_or_none(case.first_disposed_at, tz),
            _local_or_none(case.answered_at, tz),
            _local_or_none(case.closed_at, tz),
            working_value(case.disposition_minutes, recap.disposition.unit, day),
            working_value(case.first_answer_minutes, recap.first_answer.unit, day),
            working_value(case.closure_minutes, BudgetUnit.DAYS, day),
            case.rating,
            source_name(t, case.channel, case.source),
            case.lapor_number,
            case.merged_into,
        )
        for col, value in enumerate(values):
            self._cells.put(self._cases, row, col, value)


def _local_or_none(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    return None if moment is None else local(moment, tz)


def write_case_workbook(
    path: Path,
    case: Case,
    events: Sequence[CaseEvent],
    t: Texts,
    tz: ZoneInfo,
    unit_names: Mapping[str, str],
) -> None:
    """One case and its whole history, for the file or a formal request.

    Everything stored is written, reporter included: the caller decides what `case`
    carries (blank the name and contact before calling for a reader who may not see them).
    """
    book = Workbook(str(path))
    cells = _Cells(book)
    sheet = book.add_worksheet(sheet_name(t("xlsx_sheet_case"), "Pengaduan"))
    cells.header_row(sheet, 0, [t("xlsx_col_field"), t("xlsx_col_value")])
    _widths(sheet, CASE_FIELD_WIDTHS)
    sheet.freeze_panes(1, 0)
    location = case.location
    intake = case.intake
    fields: tuple[tuple[str, Cell], ...] = (
        ("xlsx_col_code", case.code),
        ("xlsx_col_created", local(case.created_at, tz)),
        ("xlsx_col_channel", label(t, f"channel_{case.channel.value}", case.channel.value)),
        ("xlsx_col_source", source_name(t, case.channel.value, intake.source if intake else None)),
        ("xlsx_field_received_on", intake.received_on if intake else None),
        ("xlsx_field_entered_by", entered_by(intake)),
        ("xlsx_col_lapor_number", case.lapor_number),
        ("xlsx_col_merged_into", case.merged_into),
        ("xlsx_col_privacy", label(t, f"privacy_{case.privacy.value}", case.privacy.value)),
        ("xlsx_col_status", label(t, f"status_{case.status.value}", case.status.value)),
        ("xlsx_col_category", category_name(t, case.category)),
        ("xlsx_col_unit", unit_name(t, case.unit_code, unit_names)),
        ("xlsx_col_description", case.description),
        ("xlsx_col_location", case.location_text),
        (
            "xlsx_field_coordinates",
            f"{location.latitude:.6f}, {location.longitude:.6f}" if location else None,
        ),
        ("xlsx_field_map", location.map_url if location else None),
        ("xlsx_field_occurred", case.occurred_text),
        ("xlsx_field_reporter_name", case.reporter_name),
        ("xlsx_field_reporter_contact", case.reporter_contact),
        ("xlsx_field_reporter_whatsapp", case.contacts.whatsapp),
        ("xlsx_field_reporter_email", case.contacts.email),
        ("xlsx_field_reporter_address", case.contacts.address),
        ("xlsx_col_acknowledged", _local_or_none(case.acknowledged_at, tz)),
        ("xlsx_col_first_disposed", _local_or_none(case.first_disposed_at, tz)),
        ("xlsx_field_last_disposed", _local_or_none(case.disposed_at, tz)),
        ("xlsx_col_answered_at", _local_or_none(case.answered_at, tz)),
        ("xlsx_col_closed_at", _local_or_none(case.closed_at, tz)),
        ("xlsx_col_rating", case.rating),
        ("xlsx_col_attachments", len(case.attachments)),
        ("xlsx_field_captions", "\n".join(attachment_captions(t, case)) or None),
    )
    # The chain of command's ([workflow]): the follow-up plan, the agency it went to.
    chain = (("xlsx_field_plan", case.plan), ("xlsx_field_forwarded_to", case.forwarded_to))
    fields += tuple((key, value) for key, value in chain if value)
    for row, (key, value) in enumerate(fields, start=1):
        cells.put(sheet, row, 0, t(key), cells.bold)
        cells.put(sheet, row, 1, value, cells.wrap if isinstance(value, str) else None)

    history = book.add_worksheet(sheet_name(t("xlsx_sheet_history"), "Riwayat"))
    cells.header_row(history, 0, [t(key) for key in HISTORY_COLUMNS])
    _widths(history, HISTORY_WIDTHS)
    history.freeze_panes(1, 0)
    lines = history_rows(events, t, tz, unit_names)
    for row, line in enumerate(lines, start=1):
        values: tuple[Cell, ...] = (
            line.at,
            line.event,
            line.role,
            line.actor,
            line.unit,
            line.status_after,
            line.note,
            line.attachments,
        )
        for col, value in enumerate(values):
            fmt = cells.wrap if col == HISTORY_COLUMNS.index("xlsx_col_note") else None
            cells.put(history, row, col, value, fmt)
    history.autofilter(0, 0, len(lines), len(HISTORY_COLUMNS) - 1)
    book.close()
