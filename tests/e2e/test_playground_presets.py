"""`aduanbot playground --agency FILE`: an example agency of examples/agencies/ played in
the browser, as a newcomer runs it, with that office's panes: its units, its supervisor
(the Sekretaris of SOP 004, who approves dispositions) and its SP4N-LAPOR! liaison (SOP
003). The files are used as they are: their placeholder chat ids become the stand-in's
chats, and Telegram's own pacing applies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from playwright.async_api import Browser, expect

from bot.playground import AGENCY
from tests.e2e.test_playground import (
    DESCRIPTION,
    Site,
    _environment,
    _file_a_complaint,
    _fits,
    _playground_process,
    browser,
)

__all__ = ["browser"]  # the fixture, shared with the playground's own tests

ROOT = Path(__file__).parents[2]
PRESETS = ROOT / "examples" / "agencies"
PASURUAN = PRESETS / "sop004-dinkes-kabupaten-pasuruan.toml"
TANAH_LAUT = PRESETS / "sop003-diskominfo-tanah-laut.toml"
OKU_SELATAN = PRESETS / "sop002-dinkes-oku-selatan.toml"
CITIZENS_AND_OFFICERS = ["citizen-telegram", "citizen-whatsapp", "officers", "officer-private"]


def panes(url: str) -> list[dict[str, object]]:
    with urllib.request.urlopen(f"{url}/playground/api/panes", timeout=10) as response:
        found: list[dict[str, object]] = json.load(response)
        return found


async def test_pasuruan_is_played_with_its_bidang_and_the_sekretaris_approving(
    browser: Browser, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("PLAYGROUND_SCREENSHOTS") or tmp_path)  # a folder to look at
    plan = "Rapat tim Senin; cek stok obat hipertensi di gudang farmasi."
    # the flag wins over ADUAN_CONFIG (here: the playground's own example office)
    async with _playground_process(
        tmp_path, "--agency", str(PASURUAN), ADUAN_CONFIG=str(AGENCY)
    ) as url:
        shown = panes(url)
        assert [p["id"] for p in shown] == [
            *CITIZENS_AND_OFFICERS,
            "unit-YANKES",
            "unit-KESMAS",
            "unit-P2P",
            "supervisor",
        ]
        titles = {p["id"]: p["title"] for p in shown}
        assert titles["unit-YANKES"] == "Unit Bidang Pelayanan dan Sumber Daya Kesehatan"
        site = Site(url, await browser.new_page(viewport={"width": 1366, "height": 900}))
        await site.page.goto(f"{url}/playground")
        # the empty panes say what this office's chain asks of each person
        await expect(site.pane("officers").locator(".messages .empty")).to_contain_text(
            "/disposisi KODE UNIT rencana tindak lanjut"
        )
        await expect(site.pane("supervisor").locator(".messages .empty")).to_contain_text(
            "✅ Setujui"
        )
        await expect(site.pane("unit-KESMAS").locator(".messages .empty")).to_contain_text(
            "laporkan hasilnya"
        )

        code = await _file_a_complaint(site)
        assert code.startswith("DKP-")  # the office's own prefix
        await site.sees("officers", f"Pengaduan baru {code}")
        await site.type("officers", f"/disposisi {code} KESMAS {plan}")
        proposal = await site.sees("supervisor", f"Usulan disposisi {code}")
        assert plan in await proposal.inner_text()
        await site.taps("supervisor", "✅ Setujui KESMAS")
        case = await site.sees("unit-KESMAS", f"Disposisi {code}")
        assert plan in await case.inner_text()
        await site.sees("citizen-telegram", "Dalam Proses")

        await _fits(site, 1366, shots, "sop004-all")
        await _fits(site, 390, shots, "sop004-citizen")
        await site.page.locator("#tabs .tab", has_text="Atasan").click()
        await expect(site.pane("supervisor")).to_be_visible()
        await _fits(site, 390, shots, "sop004-supervisor")
        await site.page.close()
    # this office's cases and chats are its own, beside the playground's usual ones
    kept = tmp_path / "data" / PASURUAN.stem
    assert (kept / "playground.sqlite3").is_file()
    assert (kept / "playground-chats.pickle").is_file()
    assert not (tmp_path / "data" / "playground.sqlite3").exists()


async def test_tanah_laut_is_played_with_the_liaison_s_pane(
    browser: Browser, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("PLAYGROUND_SCREENSHOTS") or tmp_path)
    async with _playground_process(tmp_path, "--agency", str(TANAH_LAUT)) as url:
        shown = panes(url)
        assert [p["id"] for p in shown] == [
            *CITIZENS_AND_OFFICERS,
            "unit-IKP",
            "unit-APTIKA",
            "unit-STATSAN",
            "supervisor",
            "liaison",
        ]
        liaison = next(p for p in shown if p["id"] == "liaison")
        assert liaison["title"] == "Pejabat penghubung (SP4N-LAPOR!)" and liaison["group"]
        site = Site(url, await browser.new_page(viewport={"width": 1366, "height": 900}))
        await site.page.goto(f"{url}/playground")
        await expect(site.pane("liaison").locator(".messages .empty")).to_contain_text(
            "/lapor KODE NOMOR"
        )

        code = await _file_a_complaint(site)
        assert code.startswith("TALA-")
        await site.sees("officers", f"Pengaduan baru {code}")
        await site.taps("officers", "➡️ IKP")
        await site.sees("unit-IKP", f"Disposisi {code}")
        form = await site.sees("liaison", f"Form manual SP4N-LAPOR! — {code}")
        assert DESCRIPTION in await form.inner_text()
        await site.type("liaison", f"/lapor {code} 4551209")
        await site.sees("officers", f"{code} tercatat di SP4N-LAPOR! dengan nomor 4551209")

        await _fits(site, 1366, shots, "sop003-all")
        await site.page.set_viewport_size({"width": 390, "height": 844})
        await site.page.locator("#tabs .tab", has_text="Penghubung").click()
        await expect(site.pane("liaison")).to_be_visible()
        await expect(site.pane("officers")).to_be_hidden()
        await _fits(site, 390, shots, "sop003-liaison")
        await site.page.close()


async def test_oku_selatan_is_played_with_the_officers_reviewing_the_answer(
    browser: Browser, tmp_path: Path
) -> None:
    """SOP 002 steps 5-8 in the browser: the atasan approves the disposition, the unit
    answers, the petugas review the answer and one tap informs the reporter."""
    shots = Path(os.environ.get("PLAYGROUND_SCREENSHOTS") or tmp_path)
    async with _playground_process(tmp_path, "--agency", str(OKU_SELATAN)) as url:
        site = Site(url, await browser.new_page(viewport={"width": 1366, "height": 900}))
        await site.page.goto(f"{url}/playground")
        await expect(site.pane("officers").locator(".messages .empty")).to_contain_text(
            "Jawaban unit ditinjau di sini dulu"
        )
        await expect(site.pane("unit-YANKES").locator(".messages .empty")).to_contain_text(
            "Jawaban ditinjau petugas sebelum sampai ke pelapor"
        )
        code = await _file_a_complaint(site)
        await site.sees("officers", f"Pengaduan baru {code}")
        await site.taps("officers", "➡️ YANKES")
        await site.sees("supervisor", f"Usulan disposisi {code}")
        await site.taps("supervisor", "✅ Setujui YANKES")
        await site.sees("unit-YANKES", f"Disposisi {code}")
        answer = "Obat hipertensi sudah dikirim ke Puskesmas Sukamaju hari ini."
        await site.type("unit-YANKES", f"/jawab {code} {answer}")
        review = await site.sees("officers", f"untuk {code} menunggu tinjauan")
        assert answer in await review.inner_text()
        await site.sees("unit-YANKES", "diteruskan kepada petugas pengaduan untuk ditinjau")
        await _fits(site, 1366, shots, "sop002-review")
        await site.taps("officers", "✅ Setujui & kirim")
        told = await site.sees("citizen-telegram", "Tanggapan Bidang Pelayanan Kesehatan")
        assert answer in await told.inner_text()
        await site.sees("unit-YANKES", f"Jawaban untuk {code} disetujui")
        await site.page.set_viewport_size({"width": 390, "height": 844})
        await site.page.locator("#tabs .tab", has_text="Unit YANKES").click()
        await expect(site.pane("unit-YANKES")).to_be_visible()
        await _fits(site, 390, shots, "sop002-unit")
        await site.page.close()


def test_a_missing_or_broken_agency_file_is_one_line_and_nothing_starts(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text("[agency\n", encoding="utf-8")
    (tmp_path / "no-groups.toml").write_text(
        '[agency]\nname = "Dinas Contoh"\ntimezone = "Asia/Jakarta"\n', encoding="utf-8"
    )
    (tmp_path / "folder.toml").mkdir()
    expected = {
        "nowhere.toml": "--agency: agency file nowhere.toml: no such file (the example "
        "agencies are in examples/agencies/: aduanbot playground --agency "
        "examples/agencies/sop000-dinkes-kota-tangerang.toml)",
        "folder.toml": "--agency: agency file folder.toml: not a file",
        "broken.toml": "--agency broken.toml is not valid TOML",
        "no-groups.toml": "--agency no-groups.toml: the [groups] table is missing",
    }
    for name, message in expected.items():
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "playground", "--agency", name],
            cwd=tmp_path,
            env=_environment(tmp_path, PYTHONPATH=str(ROOT)),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, (name, done.stderr)
        [line] = done.stderr.splitlines()
        assert line.startswith(f"aduanbot: configuration error: {message}"), line
        assert done.stdout == ""  # no banner: nothing started
    assert not (tmp_path / "data").exists()
