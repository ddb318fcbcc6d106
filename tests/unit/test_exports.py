"""The exports: the recap workbook, CSV tables and chart, and the single-case files.

Files are written to a temporary folder and read back (openpyxl, csv, the PNG header)
so the checks are on what an officer's spreadsheet program will see: cell types,
number formats, frozen rows, widths, and the figures worked out here by hand.
"""

from __future__ import annotations

import csv
import io
import struct
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from matplotlib.image import imread
from openpyxl.utils import column_index_from_string
from openpyxl.worksheet.worksheet import Worksheet

from bot.core.model import (
    Actor,
    Attachment,
    AttachmentKind,
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    ContactDetails,
    EventKind,
    Intake,
    Location,
    Privacy,
)
from bot.core.office import (
    DEFAULT_SOURCES,
    AnswerReview,
    Deadlines,
    DispositionBy,
    Unit,
    Workflow,
)
from bot.core.recap import (
    CaseRow,
    Recap,
    RecapFigures,
    Turnback,
    UnitTally,
    build_recap,
    month_period,
)
from bot.core.texts import load_texts
from bot.exports.chart import (
    BAR_COLOUR,
    MAX_SOURCES,
    STAFF_COLOUR,
    deadline_bars,
    render_recap_chart,
    source_bars,
    unit_bars,
)
from bot.exports.content import Measure, Value
from bot.exports.tables import number, safe, write_case_csv, write_recap_csv
from bot.exports.workbook import (
    DATE_TIME_FORMAT,
    RecapWorkbook,
    sheet_name,
    write_case_workbook,
)
from tests.unit.sample import P2P, YANKES, sample_office

T = load_texts("id")
EN = load_texts("en")
OFFICE = sample_office(YANKES, P2P)
TZ = OFFICE.timezone  # Asia/Jakarta, UTC+7
GENERATED = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 08:00 in Jakarta
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# A working day is 8 hours (08:00-16:00): 480 working minutes.
FIGURES = RecapFigures(
    received=5,
    by_status={"selesai": 2, "didisposisi": 1, "baru": 1, "ditolak": 1},
    by_channel={"telegram": 3, "whatsapp": 2},
    by_unit={"YANKES": 3, "P2P": 1, "": 1},
    by_category={"obat": 3, "": 2},
    by_privacy={"biasa": 3, "anonim": 1, "rahasia": 1},
    ack_seconds=((30, 3), (1200, 1)),  # median 30 s; p90 30 + 1170 × 0.7 = 849 s
    disposition_minutes=((240, 3), (720, 1)),  # median 240 (0.5 d); p90 576 (1.2 d)
    first_answer_minutes=((1440, 3),),
    closure_minutes=((960, 2),),
    answer_after_disposition=((1200, 2), (3600, 1)),  # median 2.5 d; p90 3120 (6.5 d)
    closed_within_case_budget=2,
    open_at_end=4,
    overdue_at_end=1,
    ratings={5: 2, 4: 1, 1: 1},  # average 15 / 4 = 3.75
    rating_requests=5,
    units={
        "YANKES": UnitTally(
            received=3,
            answered=2,
            closed=2,
            returned=1,
            open_at_end=1,
            overdue_at_end=1,
            answer_minutes=((1200, 2), (3600, 1)),
            rating_sum=9,
            rating_count=2,
        ),
    },
    turnbacks=(
        Turnback(
            "ADU-AAA111",
            datetime(2026, 11, 10, 3, 30, tzinfo=UTC),
            "ditolak",
            None,
            "Bukan kewenangan dinas",
            "Sari",
        ),
        Turnback(
            "ADU-BBB222",
            datetime(2026, 11, 12, 8, 0, tzinfo=UTC),
            "dikembalikan",
            "P2P",
            "Salah unit",
            "Andi",
        ),
    ),
    turnback_counts={"ditolak": 1, "dikembalikan": 1},
)
SECRET = "Kepala puskesmas Pak X meminta uang pungutan di rumahnya, Jl. Rahasia 7."
LONG = "Jalan rusak parah " * 40  # 720 characters
RENAMED = {"P2P": "Bidang P2P (baru)"}  # the caller's unit names override the office's


def wall(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Jakarta wall-clock time as the files hold it: no tzinfo (Excel has none)."""
    return datetime(year, month, day, hour, minute)  # noqa: DTZ001


def _recap(figures: RecapFigures = FIGURES) -> Recap:
    return build_recap(OFFICE, month_period(2026, 11), figures, GENERATED)


def _case_row(code: str, **changes: Any) -> CaseRow:
    fields: dict[str, Any] = {
        "code": code,
        "created_at": datetime(2026, 11, 3, 2, 15, tzinfo=UTC),
        "channel": "telegram",
        "privacy": "biasa",
        "status": "selesai",
        "category": "obat",
        "unit_code": "YANKES",
        "description": "Obat habis di puskesmas.",
        "location_text": "Puskesmas Sukamaju",
        "acknowledged_at": datetime(2026, 11, 3, 2, 16, tzinfo=UTC),
        "first_disposed_at": datetime(2026, 11, 3, 5, 0, tzinfo=UTC),
        "answered_at": datetime(2026, 11, 5, 4, 0, tzinfo=UTC),
        "closed_at": datetime(2026, 11, 6, 4, 0, tzinfo=UTC),
        "disposition_minutes": 240,
        "first_answer_minutes": 1200,
        "closure_minutes": 1920,
        "rating": 5,
    }
    fields.update(changes)
    return CaseRow(**fields)


CASE_ROWS = [
    _case_row("ADU-0001"),
    _case_row(
        "ADU-0002",
        privacy="rahasia",
        description=SECRET,
        location_text="Jl. Rahasia 7",
        location=Location(-6.12345, 106.54321),
        unit_code=None,
        category=None,
        status="baru",
        first_disposed_at=None,
        answered_at=None,
        closed_at=None,
        disposition_minutes=None,
        first_answer_minutes=None,
        closure_minutes=None,
        rating=None,
    ),
    _case_row(
        "ADU-0003",
        description=LONG,
        unit_code="HAPUS",
        channel="whatsapp",
        location_text=None,
        location=Location(-6.91474, 107.60981, "RSUD Kota"),
    ),
]


def _write_recap(
    path: Path,
    texts: Any = T,
    rows: list[CaseRow] = CASE_ROWS,
    names: Mapping[str, str] = RENAMED,
) -> list[int]:
    counts = []
    with RecapWorkbook(path, _recap(), texts, TZ, names) as book:
        counts.append(book.add_cases(rows[:2]))
        counts.append(book.add_cases(iter(rows[2:])))
    return counts


@pytest.fixture
def workbook(tmp_path: Path) -> openpyxl.Workbook:
    path = tmp_path / "rekap.xlsx"
    assert _write_recap(path) == [2, 3]
    return openpyxl.load_workbook(path)


def _width(sheet: Worksheet, letter: str) -> float:
    """The width set for a column (xlsxwriter writes equal neighbours as one range)."""
    index = column_index_from_string(letter)
    for dimension in sheet.column_dimensions.values():
        if dimension.min is not None and dimension.min <= index <= dimension.max:
            return float(dimension.width)
    raise AssertionError(f"no width set for column {letter}")


def _line(sheet: Worksheet, label: str, after: str | None = None) -> list[Any]:
    """The summary row whose first cell is `label` (after the section `after`)."""
    seen = after is None
    for row in sheet.iter_rows(values_only=True):
        if row[0] == after:
            seen = True
        elif seen and row[0] == label:
            return list(row[1:])
    raise AssertionError(f"no row {label!r}")


# ---------------------------------------------------------------------------- workbook


def test_recap_workbook_layout(workbook: openpyxl.Workbook) -> None:
    assert workbook.sheetnames == [
        "Ringkasan",
        "Per Unit",
        "Ditolak & Dikembalikan",
        "Daftar Pengaduan",
    ]
    summary, units, turnbacks, cases = (workbook[name] for name in workbook.sheetnames)
    assert summary.freeze_panes == "A2"
    assert units.freeze_panes == "C2"  # header row, code and name stay in view
    assert turnbacks.freeze_panes == "A2"
    assert cases.freeze_panes == "B2"  # header row and the case code
    assert cases.auto_filter.ref == "A1:T4"
    assert _width(summary, "A") >= 58
    assert _width(cases, "H") >= 60  # the description
    assert 14 <= _width(cases, "A") < 16
    assert _width(turnbacks, "E") >= 60
    for sheet in (units, turnbacks, cases):
        header = next(sheet.iter_rows(max_row=1))
        assert all(cell.font.b for cell in header)
    assert summary["A1"].font.b


def test_summary_sheet_figures(workbook: openpyxl.Workbook) -> None:
    sheet = workbook["Ringkasan"]
    assert sheet["A1"].value == "Rekap pengaduan Dinas Kesehatan Kota Contoh — November 2026"
    assert sheet["B2"].value == wall(2026, 12, 1, 8, 0)
    assert sheet["B2"].number_format == DATE_TIME_FORMAT
    assert sheet["B3"].value == wall(2026, 11, 1)
    assert _line(sheet, "Diterima dalam periode") == [5, None, None, None, None, None]
    assert _line(sheet, "Selesai", after="Menurut status")[:2] == [2, 0.4]
    assert _line(sheet, "Perlu dilengkapi")[:2] == [0, 0]
    assert _line(sheet, "WhatsApp")[:2] == [2, 0.4]
    assert _line(sheet, "Bidang P2P (baru)")[:2] == [1, 0.2]  # the caller's name wins
    assert _line(sheet, "belum didisposisi")[:2] == [1, 0.2]
    assert _line(sheet, "tanpa kategori")[:2] == [2, 0.4]
    assert _line(sheet, "rahasia")[:2] == [1, 0.2]
    assert _line(sheet, "Terbuka di akhir periode")[0] == 4
    assert _line(sheet, "Terlambat di akhir periode")[0] == 1
    assert _line(sheet, "Rata-rata (1–5)")[0] == pytest.approx(3.75)
    assert _line(sheet, "Jumlah penilaian")[0] == 4
    assert _line(sheet, "Tingkat respons")[0] == pytest.approx(0.8)
    assert [_line(sheet, f"Nilai {score}")[0] for score in range(1, 6)] == [1, 0, 0, 1, 2]
    assert _line(sheet, "ditolak")[0] == 1
    assert _line(sheet, "dikembalikan unit")[0] == 1


def test_summary_timings_are_numbers(workbook: openpyxl.Workbook) -> None:
    sheet = workbook["Ringkasan"]
    header = _line(sheet, "Waktu penanganan")
    assert header[:6] == [
        "Jumlah mencapai",
        "Median",
        "Persentil ke-90",
        "Tenggat",
        "Tepat waktu (jumlah)",
        "Tepat waktu (%)",
    ]
    expected = {
        "Tanda terima (menit)": [4, 0.5, 14.15, 10, 3, 0.75],
        "Disposisi sejak diterima (hari kerja)": [4, 0.5, 1.2, 1, 3, 0.75],
        "Jawaban pertama sejak diterima (hari kerja)": [3, 3.0, 3.0, 6, 3, 1.0],
        "Jawaban unit sejak disposisi (hari kerja)": [3, 2.5, 6.5, 5, 2, 2 / 3],
        "Selesai sejak diterima (hari kerja; tenggat dalam hari kalender)": [
            2,
            2.0,
            2.0,
            60,
            2,
            1.0,
        ],
    }
    for label, values in expected.items():
        assert _line(sheet, label) == pytest.approx(values), label
    row = next(r for r in sheet.iter_rows() if r[0].value == "Tanda terima (menit)")
    assert all(isinstance(cell.value, int | float) for cell in row[1:])
    assert row[2].number_format == "0.0"
    assert row[6].number_format == "0%"
    disposition = next(r for r in sheet.iter_rows() if str(r[0].value).startswith("Disposisi"))
    assert disposition[2].number_format == "0.0"


# The period's cases by source (issue 20): 6 the reporters sent, 5 officers entered
# (one from a source since taken off the agency file's list), 2 duplicates merged.
BY_SOURCE = replace(
    FIGURES,
    received=11,
    by_channel={"telegram": 4, "whatsapp": 3, "manual": 4},
    self_reported={"telegram": 4, "whatsapp": 2},
    staff_entered={"Telepon": 2, "Surat": 1, "SP4N-LAPOR!": 1, "Loket lama": 1},
    lapor_linked=3,
    informed_tasks=6,
    merged=2,
)


def test_summary_sheet_by_source(tmp_path: Path) -> None:
    path = tmp_path / "rekap.xlsx"
    with RecapWorkbook(path, _recap(BY_SOURCE), T, TZ, {}) as book:
        book.add_cases([])
    sheet = openpyxl.load_workbook(path)["Ringkasan"]
    source = "Menurut sumber"
    assert _line(sheet, source)[:2] == ["Jumlah", "%"]
    lines = {
        name: _line(sheet, name, after=source)[:2]
        for name in (
            "Telegram (lapor sendiri)",
            "WhatsApp (lapor sendiri)",
            *DEFAULT_SOURCES,
            "Loket lama",
        )
    }
    assert lines == {
        "Telegram (lapor sendiri)": [4, pytest.approx(4 / 11)],
        "WhatsApp (lapor sendiri)": [2, pytest.approx(2 / 11)],
        "Datang langsung/loket": [0, 0],  # every source of the office, even without cases
        "Telepon": [2, pytest.approx(2 / 11)],
        "Surat": [1, pytest.approx(1 / 11)],
        "Email": [0, 0],
        "Media sosial": [0, 0],
        "SP4N-LAPOR!": [1, pytest.approx(1 / 11)],
        "Aplikasi daerah (LAKSA)": [0, 0],
        "Lainnya": [0, 0],
        "Loket lama": [1, pytest.approx(1 / 11)],
    }
    rows = [row[0].value for row in sheet.iter_rows()]
    start = rows.index(source)
    assert rows[start + 1 : start + 13] == [
        "Telegram (lapor sendiri)",
        "WhatsApp (lapor sendiri)",
        *DEFAULT_SOURCES,
        "Loket lama",
        None,
    ]
    intake = "Lapor sendiri & dicatat petugas"
    assert _line(sheet, "Lapor sendiri lewat bot", after=intake)[:2] == [6, pytest.approx(6 / 11)]
    assert _line(sheet, "Dicatat petugas", after=intake)[:2] == [5, pytest.approx(5 / 11)]
    assert _line(sheet, "Terhubung SP4N-LAPOR! (ada nomornya)")[:2] == [3, pytest.approx(3 / 11)]
    assert _line(sheet, "Pelapor dikabari petugas (tidak di chat)")[:2] == [
        4,
        pytest.approx(4 / 11),
    ]
    assert _line(sheet, "Kabar yang disampaikan petugas dalam periode")[:2] == [6, None]
    assert _line(sheet, "Laporan ganda digabung (tidak dihitung di atas)")[:2] == [2, None]
    # the same figures in the CSV
    write_recap_csv(tmp_path / "rekap.csv", _recap(BY_SOURCE), T)
    values = {(section, item): value for section, item, value in _csv(tmp_path / "rekap.csv")[1:]}
    assert values[source, "Telepon – Jumlah"] == "2"
    assert values[source, "Datang langsung/loket – Jumlah"] == "0"
    assert values[intake, "Terhubung SP4N-LAPOR! (ada nomornya) – %"] == "27.3"
    by_hand = "Kabar lewat petugas & laporan ganda"
    assert values[by_hand, "Laporan ganda digabung (tidak dihitung di atas)"] == "2"


def test_unit_sheet(workbook: openpyxl.Workbook) -> None:
    rows = list(workbook["Per Unit"].iter_rows(values_only=True))
    assert rows[0][:3] == ("Kode unit", "Nama unit", "Diterima")
    assert rows[1] == pytest.approx(
        ("YANKES", "Bidang Pelayanan Kesehatan", 3, 2, 2, 1, 1, 1, 2.5, 6.5, 2 / 3, 4.5, 2)
    )
    # A unit without cases: counts are zero, times and averages left empty (not "–").
    assert rows[2] == (
        "P2P",
        "Bidang Pencegahan Penyakit",
        0,
        0,
        0,
        0,
        0,
        0,
        None,
        None,
        None,
        None,
        0,
    )
    cells = next(workbook["Per Unit"].iter_rows(min_row=2, max_row=2))
    assert cells[8].number_format == "0.0"
    assert cells[10].number_format == "0%"


def test_turnback_sheet(workbook: openpyxl.Workbook) -> None:
    rows = list(workbook["Ditolak & Dikembalikan"].iter_rows(values_only=True))
    assert rows[0] == ("Kode", "Waktu", "Jenis", "Unit", "Alasan", "Oleh")
    assert rows[1:] == [
        (
            "ADU-AAA111",
            wall(2026, 11, 10, 10, 30),
            "ditolak",
            None,
            "Bukan kewenangan dinas",
            "Sari",
        ),
        (
            "ADU-BBB222",
            wall(2026, 11, 12, 15, 0),
            "dikembalikan unit",
            "Bidang P2P (baru)",
            "Salah unit",
            "Andi",
        ),
    ]


def test_case_list(workbook: openpyxl.Workbook) -> None:
    sheet = workbook["Daftar Pengaduan"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:8] == (
        "Kode",
        "Diterima",
        "Kanal",
        "Jenis identitas",
        "Status",
        "Kategori",
        "Unit",
        "Uraian",
    )
    first, secret, long = rows[1:]
    assert first == (
        "ADU-0001",
        wall(2026, 11, 3, 9, 15),
        "Telegram",
        "biasa",
        "Selesai",
        "obat",
        "Bidang Pelayanan Kesehatan",
        "Obat habis di puskesmas.",
        "Puskesmas Sukamaju",
        wall(2026, 11, 3, 9, 16),
        wall(2026, 11, 3, 12, 0),
        wall(2026, 11, 5, 11, 0),
        wall(2026, 11, 6, 11, 0),
        0.5,
        2.5,
        4.0,
        5,
        "Telegram (lapor sendiri)",  # where it came from: the reporter wrote the bot
        None,
        None,
    )
    assert secret[:9] == (
        "ADU-0002",
        wall(2026, 11, 3, 9, 15),
        "Telegram",
        "rahasia",
        "Baru (menunggu verifikasi)",
        "tanpa kategori",
        "belum didisposisi",
        "(rahasia)",
        "(rahasia)",
    )
    assert secret[10:17] == (None,) * 7
    assert all(SECRET not in str(cell) and "Rahasia 7" not in str(cell) for cell in secret)
    assert not any("6.12345" in str(cell) for cell in secret)  # nor its pin
    assert long[2] == "WhatsApp"
    assert long[8] == (  # a shared pin: its name and a link to the map
        "RSUD Kota\nPeta: https://www.openstreetmap.org/"
        "?mlat=-6.91474&mlon=107.60981#map=17/-6.91474/107.60981"
    )
    assert long[6] == "HAPUS"  # a unit no longer in the office: its code
    assert len(long[7]) == 500
    assert long[7].endswith("…")
    assert LONG.startswith(long[7][:-1])
    cells = next(sheet.iter_rows(min_row=2, max_row=2))
    assert cells[1].is_date and cells[1].number_format == DATE_TIME_FORMAT
    assert cells[13].data_type == "n" and cells[13].number_format == "0.0"
    assert cells[16].data_type == "n"


def test_case_list_says_where_each_case_came_from(tmp_path: Path) -> None:
    path = tmp_path / "rekap.xlsx"
    rows = [
        _case_row("ADU-0005", channel="manual", source="Surat", lapor_number="4123987"),
        _case_row("ADU-0006", channel="whatsapp", source="Telepon", merged_into="ADU-0005"),
    ]
    _write_recap(path, rows=rows)
    sheet = openpyxl.load_workbook(path)["Daftar Pengaduan"]
    cells = list(sheet.iter_rows(values_only=True))
    assert cells[0][17:] == ("Sumber", "Nomor SP4N-LAPOR!", "Digabung ke")
    assert cells[1][2] == "Dikabari petugas"  # the channel: an officer tells the reporter
    assert cells[1][17:] == ("Surat", "4123987", None)
    assert cells[2][17:] == ("Telepon", None, "ADU-0005")
    assert sheet.auto_filter.ref == "A1:T3"
    assert _width(sheet, "R") >= 24


def test_case_list_keeps_formulas_as_text(tmp_path: Path) -> None:
    path = tmp_path / "rekap.xlsx"
    _write_recap(path, rows=[_case_row("ADU-0004", description='=HYPERLINK("x")')])
    cell = openpyxl.load_workbook(path)["Daftar Pengaduan"]["H2"]
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("x")'


def test_recap_workbook_in_english(tmp_path: Path) -> None:
    path = tmp_path / "recap.xlsx"
    _write_recap(path, texts=EN)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "By Unit", "Rejected & Returned", "Complaints"]
    assert (
        book["Summary"]["A1"].value == "Complaint recap Dinas Kesehatan Kota Contoh — November 2026"
    )
    assert book["Complaints"]["A1"].value == "Code"
    assert book["Complaints"]["H3"].value == "(confidential)"
    assert book["Complaints"]["G3"].value == "not yet forwarded"


def test_empty_recap_workbook(tmp_path: Path) -> None:
    path = tmp_path / "kosong.xlsx"
    with RecapWorkbook(path, _recap(RecapFigures()), T, TZ, {}) as book:
        assert book.add_cases([]) == 0
    wb = openpyxl.load_workbook(path)
    sheet = wb["Ringkasan"]
    assert _line(sheet, "Diterima dalam periode")[0] == 0
    assert _line(sheet, "Tanda terima (menit)")[:6] == [0, None, None, 10, 0, None]
    assert _line(sheet, "Rata-rata (1–5)")[0] is None
    assert wb["Daftar Pengaduan"].max_row == 1


def test_sheet_names_from_the_templates_are_made_valid() -> None:
    assert sheet_name("Rekap: Jan/Feb [2026]?", "x") == "Rekap- Jan-Feb -2026--"
    assert len(sheet_name("a" * 40, "x")) == 31
    assert sheet_name("''", "Ringkasan") == "Ringkasan"


# ---------------------------------------------------------------------------- CSV


def _csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM spreadsheet programs look for
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_recap_csv(tmp_path: Path) -> None:
    path = tmp_path / "rekap.csv"
    write_recap_csv(path, _recap(), T)
    rows = _csv(path)
    assert rows[0] == ["bagian", "rincian", "nilai"]
    assert all(len(row) == 3 for row in rows)
    values = {(section, item): value for section, item, value in rows[1:]}
    assert values["Rekap", "Kantor"] == "Dinas Kesehatan Kota Contoh"
    assert values["Rekap", "Periode"] == "November 2026"
    assert values["Rekap", "Awal periode"] == "2026-11-01"
    assert values["Pengaduan diterima", "Diterima dalam periode"] == "5"
    assert values["Menurut status", "Selesai – Jumlah"] == "2"
    assert values["Menurut status", "Selesai – %"] == "40"
    assert values["Menurut unit", "Bidang Pelayanan Kesehatan – Jumlah"] == "3"
    assert values["Menurut unit", "belum didisposisi – Jumlah"] == "1"
    assert values["Menurut kategori", "tanpa kategori – Jumlah"] == "2"
    timing = "Waktu penanganan"
    assert values[timing, "Tanda terima (menit) – Median"] == "0.5"
    assert values[timing, "Tanda terima (menit) – Persentil ke-90"] == "14.15"  # '.' not ','
    assert values[timing, "Disposisi sejak diterima (hari kerja) – Persentil ke-90"] == "1.2"
    assert values[timing, "Jawaban unit sejak disposisi (hari kerja) – Tepat waktu (%)"] == "66.7"
    assert values["Keadaan di akhir periode", "Terlambat di akhir periode"] == "1"
    assert values["Penilaian pelapor", "Rata-rata (1–5)"] == "3.75"
    assert values["Penilaian pelapor", "Tingkat respons (%)"] == "80"
    assert values["Sebaran penilaian", "Nilai 5 – Jumlah"] == "2"
    assert values["Ditolak & dikembalikan", "dikembalikan unit"] == "1"


def test_recap_csv_covers_the_summary_sheet(tmp_path: Path) -> None:
    """Every labelled row of the summary sheet has its figures in the CSV."""
    _write_recap(tmp_path / "rekap.xlsx", names={})  # the CSV knows the office's names
    write_recap_csv(tmp_path / "rekap.csv", _recap(), T)
    items = {item for _, item, _ in _csv(tmp_path / "rekap.csv")[1:]}
    sheet = openpyxl.load_workbook(tmp_path / "rekap.xlsx")["Ringkasan"]
    headers = {
        row[0].value for row in sheet.iter_rows() if row[0].font.b and row[0].value is not None
    }
    labels = [
        row[0].value
        for row in sheet.iter_rows(min_row=5)
        if row[0].value is not None and row[0].value not in headers
    ]
    assert len(labels) > 30
    for label in labels:
        assert any(item == label or item.startswith(f"{label} ") for item in items), label


def test_csv_numbers() -> None:
    assert number(Value(3)) == "3"
    assert number(Value(1234567)) == "1234567"
    assert number(Value(2 / 3, Measure.SHARE)) == "66.7"
    assert number(Value(1.0, Measure.SHARE)) == "100"
    assert number(Value(1.25, Measure.DAYS)) == "1.25"
    assert number(Value(None, Measure.DAYS)) == ""
    assert safe("=1+1") == "'=1+1"
    assert safe("-2.5") == "-2.5"
    assert safe("biasa") == "biasa"


# ---------------------------------------------------------------------------- chart


def _png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_SIGNATURE)
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _has_colour(png: bytes, colour: str) -> bool:
    pixels = imread(io.BytesIO(png), format="png")
    target = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    rgb = pixels[..., :3]
    close = (abs(rgb - target) < 0.02).all(axis=-1)
    return bool(close.sum() > 500)


def test_recap_chart() -> None:
    png = render_recap_chart(_recap(), T, {})
    assert _png_size(png) == (1200, 1200)
    assert _has_colour(png, BAR_COLOUR)  # the bars are drawn


def test_the_chart_shows_every_unit_of_the_agency_also_without_cases() -> None:
    quiet = Unit("GIZI", "Seksi Gizi Masyarakat", "-2003")
    figures = RecapFigures(received=3, by_unit={"YANKES": 3}, by_status={"baru": 3})
    recap = build_recap(
        sample_office(YANKES, P2P, quiet), month_period(2026, 11), figures, GENERATED
    )
    bars = unit_bars(recap, T, {})
    assert [(name, text) for name, text, _ in bars] == [
        ("Bidang Pelayanan Kesehatan", "3"),
        ("Bidang Pencegahan Penyakit", "0"),
        ("Seksi Gizi Masyarakat", "0"),
    ]
    assert _has_colour(render_recap_chart(recap, T, {}), BAR_COLOUR)


def test_the_chart_has_a_bar_per_source_those_entered_by_staff_in_their_own_colour() -> None:
    bars = source_bars(_recap(BY_SOURCE), T)
    assert [(name, text, colour) for name, text, _, colour in bars] == [
        ("Telegram\n(lapor sendiri)", "4", BAR_COLOUR),
        ("WhatsApp\n(lapor sendiri)", "2", BAR_COLOUR),
        ("Datang langsung/loket", "0", STAFF_COLOUR),
        ("Telepon", "2", STAFF_COLOUR),
        ("Surat", "1", STAFF_COLOUR),
        ("Email", "0", STAFF_COLOUR),
        ("Media sosial", "0", STAFF_COLOUR),
        ("SP4N-LAPOR!", "1", STAFF_COLOUR),
        ("Aplikasi daerah (LAKSA)", "0", STAFF_COLOUR),
        ("Lainnya", "0", STAFF_COLOUR),
        ("Loket lama", "1", STAFF_COLOUR),
    ]
    png = render_recap_chart(_recap(BY_SOURCE), T, {})
    assert _png_size(png) == (1200, 1200)
    assert _has_colour(png, STAFF_COLOUR)
    # an agency listing many sources: the busiest keep a bar, the rest share one
    many = {f"Sumber {n:02}": n for n in range(1, 16)}
    crowded = replace(BY_SOURCE, staff_entered=many)
    bars = source_bars(_recap(crowded), T)
    assert len(bars) == MAX_SOURCES
    assert [name for name, _, _, _ in bars[2:5]] == ["Sumber 15", "Sumber 14", "Sumber 13"]
    assert bars[-1][:2] == ("14 sumber lainnya", "21")  # 01 to 06, and the 8 without cases
    assert sum(length for _, _, length, _ in bars) == 6 + sum(many.values())


def test_empty_recap_chart() -> None:
    png = render_recap_chart(_recap(RecapFigures()), EN, {})
    assert _png_size(png) == (1200, 1200)
    assert not _has_colour(png, BAR_COLOUR)  # a notice, no bars


# ---------------------------------------------------------------------------- one case

STAFF = Actor("staff", "501", "Rina", "-1001")
REPORTER = Actor("reporter", "62812", "Budi")
PHOTO = Attachment(AttachmentKind.PHOTO, "file-1", Channel.TELEGRAM, caption="antre sampai luar")
CASE = Case(
    code="ADU-7K3Q9X",
    reporter_id=1,
    channel=Channel.WHATSAPP,
    description="Obat di puskesmas habis.",
    created_at=datetime(2026, 11, 3, 2, 0, tzinfo=UTC),
    privacy=Privacy.ANONYMOUS,
    status=CaseStatus.CLOSED,
    location_text="Puskesmas Sukamaju",
    location=Location(-6.2, 106.816666),
    occurred_text="kemarin sore",
    reporter_name="Budi",
    reporter_contact="081234567890",
    unit_code="YANKES",
    disposed_at=datetime(2026, 11, 3, 4, 0, tzinfo=UTC),
    first_disposed_at=datetime(2026, 11, 3, 4, 0, tzinfo=UTC),
    answered_at=datetime(2026, 11, 4, 3, 0, tzinfo=UTC),
    closed_at=datetime(2026, 11, 5, 3, 0, tzinfo=UTC),
    rating=4,
    attachments=[PHOTO],
    category="obat",
)
EVENTS = [
    CaseEvent(
        EventKind.SUBMITTED,
        datetime(2026, 11, 3, 2, 0, tzinfo=UTC),
        REPORTER,
        status_after=CaseStatus.NEW,
        attachments=(PHOTO,),
    ),
    CaseEvent(
        EventKind.DISPOSED,
        datetime(2026, 11, 3, 4, 0, tzinfo=UTC),
        STAFF,
        note="=1+1 segera",
        status_after=CaseStatus.DISPOSED,
        unit_code="YANKES",
    ),
    CaseEvent(
        EventKind.ESCALATED,
        datetime(2026, 11, 3, 9, 0),  # noqa: DTZ001 (naive, as SQLite returns it: UTC)
        Actor("system", name="sistem"),
    ),
    CaseEvent(
        EventKind.CLOSED,
        datetime(2026, 11, 5, 3, 0, tzinfo=UTC),
        STAFF,
        status_after=CaseStatus.CLOSED,
    ),
]


def test_case_workbook(tmp_path: Path) -> None:
    path = tmp_path / "kasus.xlsx"
    write_case_workbook(path, CASE, EVENTS, T, TZ, {"YANKES": "Bidang Yankes"})
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Pengaduan", "Riwayat"]
    case, history = book["Pengaduan"], book["Riwayat"]
    assert case.freeze_panes == history.freeze_panes == "A2"
    assert _width(case, "B") >= 80
    assert _width(history, "G") >= 60
    fields = {row[0]: row[1] for row in case.iter_rows(min_row=2, values_only=True)}
    assert fields == {
        "Kode": "ADU-7K3Q9X",
        "Diterima": wall(2026, 11, 3, 9, 0),
        "Kanal": "WhatsApp",
        "Sumber": "WhatsApp (lapor sendiri)",
        "Tanggal diterima kantor": None,
        "Dicatat oleh": None,
        "Nomor SP4N-LAPOR!": None,
        "Digabung ke": None,
        "Jenis identitas": "anonim",
        "Status": "Selesai",
        "Kategori": "obat",
        "Unit": "Bidang Yankes",
        "Uraian": "Obat di puskesmas habis.",
        "Lokasi": "Puskesmas Sukamaju",
        "Koordinat": "-6.200000, 106.816666",
        "Peta": "https://www.openstreetmap.org/?mlat=-6.20000&mlon=106.81667#map=17/-6.20000/106.81667",
        "Waktu kejadian": "kemarin sore",
        "Nama pelapor": "Budi",
        "Kontak pelapor": "081234567890",
        "WhatsApp pelapor": None,
        "Email pelapor": None,
        "Alamat pelapor": None,
        "Tanda terima": None,
        "Disposisi pertama": wall(2026, 11, 3, 11, 0),
        "Disposisi terakhir": wall(2026, 11, 3, 11, 0),
        "Dijawab": wall(2026, 11, 4, 10, 0),
        "Ditutup": wall(2026, 11, 5, 10, 0),
        "Penilaian": 4,
        "Lampiran": 1,
        "Keterangan lampiran": "• berkas 1: antre sampai luar",
    }
    rows = list(history.iter_rows(values_only=True))
    assert rows[0] == (
        "Waktu",
        "Peristiwa",
        "Peran",
        "Nama",
        "Unit",
        "Status sesudahnya",
        "Catatan",
        "Lampiran",
    )
    assert rows[1:] == [
        (
            wall(2026, 11, 3, 9, 0),
            "pengaduan diterima",
            "pelapor",
            "Budi",
            None,
            "Baru (menunggu verifikasi)",
            None,
            1,
        ),
        (
            wall(2026, 11, 3, 11, 0),
            "disposisi",
            "staf",
            "Rina",
            "Bidang Yankes",
            "Dalam Proses",
            "=1+1 segera",
            0,
        ),
        (
            wall(2026, 11, 3, 16, 0),
            "eskalasi ke atasan",
            "sistem",
            None,
            None,
            None,
            None,
            0,
        ),
        (
            wall(2026, 11, 5, 10, 0),
            "selesai",
            "staf",
            "Rina",
            None,
            "Selesai",
            None,
            0,
        ),
    ]
    assert history["A2"].number_format == DATE_TIME_FORMAT
    assert history["G3"].data_type == "s"  # the note stays text, not a formula


STAFF_CASE = replace(
    CASE,
    channel=Channel.MANUAL,
    privacy=Privacy.NORMAL,
    intake=Intake("Surat", date(2026, 11, 2), "900", "Petugas Sari"),
    contacts=ContactDetails("081299990000", "budi@example.id", "Jl. Melati 7"),
    lapor_number="4123987",
    merged_into="ADU-MAIN01",
)


def test_case_workbook_of_a_staff_entered_case(tmp_path: Path) -> None:
    path = tmp_path / "kasus.xlsx"
    write_case_workbook(path, STAFF_CASE, EVENTS, T, TZ, {})
    fields = {
        row[0]: row[1]
        for row in openpyxl.load_workbook(path)["Pengaduan"].iter_rows(min_row=2, values_only=True)
    }
    assert {key: fields[key] for key in list(fields)[2:8]} == {
        "Kanal": "Dikabari petugas",
        "Sumber": "Surat",
        "Tanggal diterima kantor": wall(2026, 11, 2),
        "Dicatat oleh": "Petugas Sari",
        "Nomor SP4N-LAPOR!": "4123987",
        "Digabung ke": "ADU-MAIN01",
    }
    assert (
        fields["Nama pelapor"],
        fields["Kontak pelapor"],
        fields["WhatsApp pelapor"],
        fields["Email pelapor"],
        fields["Alamat pelapor"],
    ) == ("Budi", "081234567890", "081299990000", "budi@example.id", "Jl. Melati 7")
    cell = next(
        row[1]
        for row in openpyxl.load_workbook(path)["Pengaduan"].iter_rows()
        if row[0].value == "Tanggal diterima kantor"
    )
    assert cell.is_date and cell.number_format == "dd/mm/yyyy"


def test_case_csv_of_a_staff_entered_case(tmp_path: Path) -> None:
    path = tmp_path / "kasus.csv"
    write_case_csv(path, STAFF_CASE, EVENTS, T, TZ, {})
    rows = _csv(path)
    assert {tuple(row[9:]) for row in rows[1:]} == {
        ("Surat", "2026-11-02", "Petugas Sari", "4123987", "ADU-MAIN01")
    }
    assert not any("budi@" in cell or "Melati" in cell for row in rows for cell in row)


def test_case_csv(tmp_path: Path) -> None:
    path = tmp_path / "kasus.csv"
    write_case_csv(path, CASE, EVENTS, T, TZ, {"YANKES": "Bidang Yankes"})
    rows = _csv(path)
    # the history's columns, then where the case came from (the same on every row)
    assert [row[9:] for row in rows] == [
        ["Sumber", "Tanggal diterima kantor", "Dicatat oleh", "Nomor SP4N-LAPOR!", "Digabung ke"],
        *[["WhatsApp (lapor sendiri)", "", "", "", ""]] * 4,
    ]
    assert [row[:9] for row in rows] == [
        [
            "Kode",
            "Waktu",
            "Peristiwa",
            "Peran",
            "Nama",
            "Unit",
            "Status sesudahnya",
            "Catatan",
            "Lampiran",
        ],
        [
            "ADU-7K3Q9X",
            "2026-11-03 09:00:00",
            "pengaduan diterima",
            "pelapor",
            "Budi",
            "",
            "Baru (menunggu verifikasi)",
            "",
            "1",
        ],
        [
            "ADU-7K3Q9X",
            "2026-11-03 11:00:00",
            "disposisi",
            "staf",
            "Rina",
            "Bidang Yankes",
            "Dalam Proses",
            "'=1+1 segera",
            "0",
        ],
        [
            "ADU-7K3Q9X",
            "2026-11-03 16:00:00",
            "eskalasi ke atasan",
            "sistem",
            "",
            "",
            "",
            "",
            "0",
        ],
        ["ADU-7K3Q9X", "2026-11-05 10:00:00", "selesai", "staf", "Rina", "", "Selesai", "", "0"],
    ]


# ---------------------------------------------------------------- budgets per step (issue 21)
# SOP 001's clock: disposition within 5 minutes, proposed to the supervisor, who approves
# within 5; the unit's answer reviewed within 10; the whole case within 60 working days.
CHAIN_OFFICE = replace(
    OFFICE,
    supervisor_chat_id="-3001",
    deadlines=Deadlines(
        verify_days="5m", approve_days="5m", review_days="10m", case_days_working=True
    ),
    workflow=Workflow(
        answer_review=AnswerReview.SUPERVISOR, disposition_by=DispositionBy.SUPERVISOR
    ),
)
CHAIN_FIGURES = replace(
    FIGURES, approval_minutes=((2, 1), (12, 1)), review_minutes=((4, 1), (6, 1), (30, 1))
)


def _chain_recap() -> Recap:
    return build_recap(CHAIN_OFFICE, month_period(2026, 11), CHAIN_FIGURES, GENERATED)


def test_the_summary_sheet_times_each_configured_step_in_its_budgets_unit(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rekap.xlsx"
    with RecapWorkbook(path, _chain_recap(), T, TZ, {}) as book:
        book.add_cases([_case_row("ADU-1", disposition_minutes=4, first_answer_minutes=2400)])
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["Ringkasan"]
    timing = [
        row[0]
        for row in sheet.iter_rows(values_only=True)
        if row[0] and ("sejak" in row[0] or row[0].startswith("Tanda terima"))
    ]
    assert timing == [
        "Tanda terima (menit)",
        "Usulan disposisi sejak diterima (menit kerja)",
        "Persetujuan atasan sejak diusulkan (menit kerja)",
        "Jawaban pertama sejak diterima (hari kerja)",
        "Jawaban unit sejak disposisi (hari kerja)",
        "Tinjauan jawaban sejak diajukan (menit kerja)",
        "Selesai sejak diterima (hari kerja)",
    ]
    # FIGURES' dispositions: a median of half a working day, none within 5 minutes
    assert _line(sheet, "Usulan disposisi sejak diterima (menit kerja)") == pytest.approx(
        [4, 240, 576, 5, 0, 0]
    )
    assert _line(sheet, "Persetujuan atasan sejak diusulkan (menit kerja)") == pytest.approx(
        [2, 7, 11, 5, 1, 0.5]
    )
    assert _line(sheet, "Tinjauan jawaban sejak diajukan (menit kerja)")[3:] == pytest.approx(
        [10, 2, 2 / 3]
    )
    # the budget to a first answer: 5 + 5 minutes, 5 days, 10 minutes, shown in days
    first = _line(sheet, "Jawaban pertama sejak diterima (hari kerja)")
    assert first[3] == pytest.approx(5 + 20 / 480)
    assert _line(sheet, "Selesai sejak diterima (hari kerja)")[3] == 60
    row = next(r for r in sheet.iter_rows() if r[0].value and "(menit kerja)" in r[0].value)
    assert (row[1].number_format, row[2].number_format) == ("0", "0.0")
    # the case list and the units' sheet name their units
    cases = workbook["Daftar Pengaduan"]
    header = [cell.value for cell in cases[1]]
    assert "Lama disposisi (menit kerja)" in header
    assert "Lama jawaban pertama (hari kerja)" in header
    listed = [cell.value for cell in cases[2]]
    assert listed[header.index("Lama disposisi (menit kerja)")] == 4
    assert listed[header.index("Lama jawaban pertama (hari kerja)")] == 5
    units = [cell.value for cell in workbook["Per Unit"][1]]
    assert "Median jawaban (hari kerja)" in units


def test_the_csv_and_the_chart_carry_the_chains_steps(tmp_path: Path) -> None:
    path = tmp_path / "rekap.csv"
    write_recap_csv(path, _chain_recap(), T)
    values = {(section, item): value for section, item, value in _csv(path)[1:]}
    timing = "Waktu penanganan"
    assert values[timing, "Persetujuan atasan sejak diusulkan (menit kerja) – Median"] == "7"
    assert values[timing, "Tinjauan jawaban sejak diajukan (menit kerja) – Tenggat"] == "10"
    assert values[timing, "Usulan disposisi sejak diterima (menit kerja) – Tenggat"] == "5"
    assert [name for name, _ in deadline_bars(_chain_recap(), T)] == [
        "Tanda terima\n≤ 10 menit",
        "Usulan disposisi",
        "Persetujuan atasan",
        "Jawaban unit",
        "Tinjauan jawaban",
        "Selesai\n≤ 60 hari kerja",
    ]
    assert [name for name, _ in deadline_bars(_recap(), EN)] == [
        "Acknowledgement\n≤ 10 minutes",
        "Forwarding",
        "Unit answer",
        "Completed\n≤ 60 days",
    ]
    png = render_recap_chart(_chain_recap(), T, {})
    assert _png_size(png) == (1200, 1200)
