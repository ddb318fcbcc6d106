"""Personal data over time, end to end: closed cases anonymised after the retention
period by the scheduler's round, and `aduanbot forget` on a reporter's request - the
officers still find the case and the recap still counts it, but nobody sees who it was.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import ExifTags, Image

from bot.standins.telegram import TelegramStandIn
from tests.e2e.conftest import AGENCY, OFFICERS, P2P, YANKES, World, bot_environment, running
from tests.fakes import FixedClock

WIB = ZoneInfo("Asia/Jakarta")
FAST = AGENCY.replace('digest_time = ""', 'digest_time = ""\ntick_seconds = 0.05')
DESCRIPTION = "Bidan di Puskesmas Melati meminta uang untuk surat kelahiran anak saya."
NAME, PHONE = "Siti Aminah", "081234567890"


async def case_as_officers_see_it(world: World, code: str) -> str:
    before = len(world.tg.messages(OFFICERS))
    await world.says(world.officer, f"/kasus {code}", chat=world.officers)
    sent = await world.tg.wait_for(
        lambda sent: any(f"Kasus {code}" in m.content for m in sent[before:]),
        chat_id=OFFICERS,
        timeout=10,
    )
    return next(m.content for m in sent[before:] if f"Kasus {code}" in m.content)


async def test_closed_cases_are_anonymised_after_the_retention_period(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    clock = FixedClock(datetime(2024, 3, 4, 10, 0, tzinfo=WIB))  # a Monday morning
    async with running(tg, database_url, tmp_path, agency=FAST, clock=clock) as world:
        code = await world.file_complaint(world.citizen, DESCRIPTION)
        await world.says(world.officer, f"/selesai {code}", chat=world.officers)
        await world.expect(world.citizen.id, f"Pengaduan {code} telah Selesai")
        before = await case_as_officers_see_it(world, code)
        assert NAME in before and PHONE in before and "Puskesmas Melati" in before

        clock.set(datetime(2025, 3, 5, 10, 0, tzinfo=WIB))  # a year on: kept
        async with asyncio.timeout(20):
            await world.service.scheduler.wait_for_ticks(2)
        assert NAME in await case_as_officers_see_it(world, code)

        clock.set(datetime(2026, 3, 5, 10, 0, tzinfo=WIB))  # two years on: anonymised
        async with asyncio.timeout(20):
            await world.service.scheduler.wait_for_ticks(2)
        after = await case_as_officers_see_it(world, code)
        assert "[dihapus: data pribadi tidak disimpan lagi]" in after
        assert NAME not in after and PHONE not in after and "Puskesmas Melati" not in after
        assert "Selesai" in after  # the status and the history's steps stay

        await world.says(world.officer, "/rekap 2024-03", chat=world.officers)
        summary = await world.expect(OFFICERS, "Periode: Maret 2024")
        assert "Diterima: 1" in summary.content  # the recap still counts it

        await world.says(world.citizen, "/status")  # the reporter was forgotten too
        await world.expect(world.citizen.id, "Bapak/Ibu belum memiliki pengaduan")


async def test_aduanbot_forget_erases_a_reporter_on_request(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    async with running(tg, database_url, tmp_path) as world:
        code = await world.file_complaint(world.citizen, DESCRIPTION)
        env = {
            **os.environ,
            **bot_environment(tg, database_url, tmp_path, world.settings.port),
            "MEDIA_DIR": str(tmp_path / "media"),
        }

        def forget(who: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "bot.cli", "forget", who],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )

        still_open = await asyncio.to_thread(forget, f"telegram:{world.citizen.id}")
        assert still_open.returncode == 1 and code in still_open.stderr
        assert NAME in await case_as_officers_see_it(world, code)

        await world.says(world.officer, f"/selesai {code}", chat=world.officers)
        await world.expect(world.citizen.id, f"Pengaduan {code} telah Selesai")
        done = await asyncio.to_thread(forget, code)
        assert done.returncode == 0, done.stderr
        assert f"forgotten: 1 cases anonymised ({code})" in done.stdout

        after = await case_as_officers_see_it(world, code)
        assert NAME not in after and PHONE not in after and "[dihapus" in after
        unknown = await asyncio.to_thread(forget, "ADU-TIDAKADA")
        assert unknown.returncode == 1 and "no reporter known" in unknown.stderr


async def test_an_anonymous_reporters_identity_reaches_a_unit_only_when_an_officer_gives_it(
    world: World,
) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION, privacy="2")  # anonim
    officers_saw = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    assert NAME in officers_saw.content and PHONE in officers_saw.content

    await world.says(world.officer, f"/identitas {code} perlu cek lapangan", chat=world.officers)
    await world.expect(OFFICERS, f"Kasus {code} tidak sedang ditangani unit")

    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    relay = await world.expect(YANKES, f"Disposisi {code}")
    assert NAME not in relay.content and PHONE not in relay.content

    reason = "bidan perlu menghubungi pelapor untuk akta kelahiran"
    await world.says(world.officer, f"/identitas {code} {reason}", chat=world.officers)
    given = await world.expect(YANKES, f"Identitas pelapor {code}")
    assert NAME in given.content and PHONE in given.content and reason in given.content
    told = await world.expect(OFFICERS, f"Identitas pelapor {code} diberikan kepada YANKES")
    assert "Budi Petugas" in told.content
    # nobody else heard it: not the other unit, and the unit only through that message
    assert not any(NAME in t for t in world.tg.texts(P2P))
    assert [t for t in world.tg.texts(YANKES) if NAME in t] == [given.content]

    history = await case_as_officers_see_it(world, code)
    assert "identitas pelapor diberikan kepada unit (Budi Petugas)" in history


@pytest.mark.parametrize(("choice", "label"), [("2", "anonim"), ("3", "rahasia")])
async def test_a_unit_never_sees_who_an_anonim_or_rahasia_reporter_is(
    world: World, choice: str, label: str
) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION, privacy=choice)
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    relay = await world.expect(YANKES, f"Disposisi {code}")
    assert DESCRIPTION in relay.content and label in relay.content

    await world.says(world.unit_staff, f"/kasus {code}", chat=world.yankes)
    await world.expect(YANKES, f"Kasus {code}")
    await world.says(world.officer, f"/lengkapi {code} Kapan tepatnya?", chat=world.officers)
    await world.expect(world.citizen.id, "Kapan tepatnya?")
    await world.says(world.citizen, "Senin pagi, saya Siti yang melapor")  # her own words
    await world.expect(OFFICERS, "Senin pagi")
    for text in world.tg.texts(YANKES) + world.tg.texts(P2P):
        assert NAME not in text and PHONE not in text and str(world.citizen.id) not in text
    officers = await case_as_officers_see_it(world, code)
    assert NAME in officers and PHONE in officers  # the officers know who it is


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 20), "red")
    exif = Image.Exif()
    exif[ExifTags.Base.Artist] = NAME
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "S", 2: (6.0, 54.0, 0.0), 3: "E"})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


async def test_an_image_reaches_the_unit_without_its_metadata(world: World) -> None:
    tg, citizen = world.tg, world.citizen
    await world.says(citizen, "/start")
    for text in (DESCRIPTION, "Puskesmas Melati", "lewati"):
        await world.says(citizen, text)
    await world.expect(citizen.id, "foto atau dokumen")
    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as image:  # where the photo was taken, and by whom
        assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo)[1] == "S"
    await tg.deliver(
        tg.document_update(citizen, data=original, file_name="bukti.jpg", mime_type="image/jpeg")
    )
    await world.expect(citizen.id, "Lampiran diterima")
    for text in ("selesai", "1", "Siti", "lewati", "kirim"):
        await world.says(citizen, text)
    ack = await world.expect(citizen.id, "Kode pelacakan")
    code = ack.content.split("Kode pelacakan: ")[1].split()[0]

    def documents(chat_id: int) -> list[bytes]:
        sent = [m for m in tg.messages(chat_id) if m.method == "sendDocument" and m.file_id]
        return [tg.file_bytes(m.file_id) for m in sent if m.file_id]

    await tg.wait_for(lambda sent: any(m.method == "sendDocument" for m in sent), chat_id=OFFICERS)
    assert documents(OFFICERS) == [original]  # the officers get the file as it came
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    await tg.wait_for(lambda sent: any(m.method == "sendDocument" for m in sent), chat_id=YANKES)
    (relayed,) = documents(YANKES)
    with Image.open(io.BytesIO(relayed)) as image:
        assert image.size == (40, 20) and image.format == "JPEG"
        exif = image.getexif()
        assert not exif and not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert NAME.encode() not in relayed and NAME.encode() in original


async def test_status_and_follow_ups_reach_only_the_cases_own_reporter(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    joko = world.other_citizen
    await world.says(joko, f"status {code}")
    refused = await world.expect(joko.id, f"Pengaduan {code} tidak ditemukan")
    assert DESCRIPTION not in refused.content and NAME not in refused.content
    await world.says(joko, f"/status {code}")
    await world.says(joko, "/status")
    await world.expect(joko.id, "Bapak/Ibu belum memiliki pengaduan")

    # the unit's answer goes to Siti alone
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    await world.expect(YANKES, f"Disposisi {code}")
    await world.says(world.unit_staff, f"/jawab {code} Bidan sudah ditegur.", chat=world.yankes)
    await world.expect(world.citizen.id, "Bidan sudah ditegur.")
    joko_saw = world.tg.texts(joko.id)
    assert not any("ditegur" in t or DESCRIPTION in t or NAME in t for t in joko_saw)
