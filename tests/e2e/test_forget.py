"""`aduanbot forget` leaves nothing that names the reporter, end to end.

A WhatsApp reporter goes through the real cycle (a cancelled dialogue with a photo, a
case disposed to a unit that answers quoting the story with a photo, an /ekspor, the
delivery callbacks); once the case is closed and the reporter forgotten, the whole
database (every table and column, whatever its type) and every file under MEDIA_DIR are
searched for the name, the number in any form and the story, and the links Twilio was
given no longer answer.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
from PIL import ExifTags, Image
from sqlalchemy import MetaData, select

from bot.cli import _forget
from bot.core.model import CaseStatus
from bot.standins.telegram import TelegramStandIn
from bot.standins.twilio import TwilioStandIn, WhatsAppUser
from storage.database import Database
from tests.e2e.conftest import (
    OFFICERS,
    YANKES,
    people,
    start_bot,
    stop_bot,
    twilio_settings,
)

NAME = "Kartika Wulandari"
NUMBER = "+6281377712345"
STORY = "Kepala Puskesmas Anggrek menahan ijazah keponakan saya sejak Maret."
# What names her: the name, the number without its country or trunk prefix (so +62…,
# 62… and 08… all match), and the story's telling words.
TRACES = ("Kartika", "Wulandari", "81377712345", "ijazah keponakan")


def photo_signed_by(name: str) -> bytes:
    """A JPEG whose EXIF names its author, as phones write it."""
    exif = Image.Exif()
    exif[ExifTags.Base.Artist] = name
    out = io.BytesIO()
    Image.new("RGB", (32, 16), "blue").save(out, "JPEG", exif=exif)
    return out.getvalue()


def as_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


async def database_traces(url: str) -> list[str]:
    """Every (table, column, value) in the database that names the reporter."""
    db = Database(url)
    found: list[str] = []
    try:
        async with db.engine.connect() as conn:
            metadata = MetaData()
            await conn.run_sync(metadata.reflect)
            assert "inbound_updates" in metadata.tables and "cases" in metadata.tables
            for table in metadata.sorted_tables:
                for row in (await conn.execute(select(table))).all():
                    for column, value in zip(table.columns, row, strict=True):
                        text = as_text(value)
                        # JSON written with ASCII escapes is searched as it reads
                        decoded = text.encode().decode("unicode_escape", errors="replace")
                        if any(t in text or t in decoded for t in TRACES):
                            found.append(f"{table.name}.{column.name}: {text[:200]}")
    finally:
        await db.dispose()
    return found


def file_traces(folder: Path) -> list[str]:
    """Every file under `folder` (and member of a zip such as an XLSX) naming her."""
    found: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        parts = [data]
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                parts += [archive.read(member) for member in archive.namelist()]
        if any(t.encode() in part for part in parts for t in TRACES):
            found.append(str(path.relative_to(folder)))
    return found


async def test_forget_leaves_nothing_that_names_the_reporter(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    async with TwilioStandIn() as tw:
        runner, settings = await start_bot(
            tg, database_url, tmp_path, **twilio_settings(tw, tmp_path)
        )
        tw.configure_webhooks(f"{settings.public_base_url}/webhook/whatsapp")
        world = people(tg, runner, settings)
        kartika = WhatsAppUser(NUMBER, NAME)

        async def says(body: str, expect: str) -> None:
            before = len(tw.messages(kartika))
            assert await tw.deliver(tw.text(kartika, body)) == 200
            await tw.wait_for(
                lambda sent: any(expect in m.text for m in sent[before:]), to=kartika, timeout=10
            )

        try:
            # A first attempt with a photo, cancelled: the photo was kept all the same.
            await says("halo", "Ceritakan apa yang terjadi")
            await says(STORY, "Di mana kejadiannya")
            await says("Puskesmas Anggrek", "Kapan kejadiannya")
            await says("lewati", "foto atau dokumen")
            await tw.user_sends_media(kartika, [(photo_signed_by(NAME), "image/jpeg")])
            await tw.wait_for_text(kartika, "Lampiran diterima (1 berkas)", timeout=10)
            await says("batal", "Pengaduan dibatalkan")
            assert file_traces(media), "the cancelled dialogue's photo was not kept"

            # The complaint itself.
            await says("halo", "Ceritakan apa yang terjadi")
            await says(STORY, "Di mana kejadiannya")
            await says("Puskesmas Anggrek", "Kapan kejadiannya")
            await says("lewati", "foto atau dokumen")
            await says("selesai", "Bagaimana identitas")
            await says("1", "Siapa nama")
            await says(NAME, "Apakah sudah benar")
            await says("1", "Kode pelacakan")
            ack = next(m.text for m in tw.messages(kartika) if "Kode pelacakan" in m.text)
            code = ack.split("Kode pelacakan: ")[1].split()[0]
            await world.expect(OFFICERS, f"Pengaduan baru {code}")

            # Disposed; the unit answers with a photo, quoting the story.
            await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
            disposed = await world.expect(YANKES, f"Disposisi {code}")
            await tg.deliver(
                tg.photo_update(
                    world.unit_staff,
                    caption="Soal ijazah keponakan Bu Kartika: sudah kami serahkan kembali.",
                    chat=world.yankes,
                    reply_to=disposed,
                )
            )
            sent = await tw.wait_for(lambda s: any(m.media_urls for m in s), to=kartika, timeout=10)
            links = [url for m in sent for url in m.media_urls]
            async with aiohttp.ClientSession() as http:
                for link in links:
                    async with http.get(link) as response:
                        assert response.status == 200

            # An officer exports the case; it is closed; every callback has come in.
            await world.says(world.officer, f"/ekspor {code}", chat=world.officers)
            await tg.wait_for(
                lambda s: any(m.method == "sendDocument" for m in s), chat_id=OFFICERS, timeout=20
            )
            await world.says(world.officer, f"/selesai {code}", chat=world.officers)
            await tw.wait_for_text(kartika, f"Pengaduan {code} telah Selesai", timeout=10)
            await tw.wait_for_text(kartika, "Seberapa puas", timeout=10)
            await tw.callbacks_settled()
            await world.service.processor.caught_up()
            assert await database_traces(database_url)  # the search does find her

            assert await _forget(database_url, "id", NUMBER, media) == 0

            left = await database_traces(database_url)
            assert left == [], "\n".join(left)
            assert file_traces(media) == []
            async with aiohttp.ClientSession() as http:
                for link in links:
                    async with http.get(link) as response:
                        assert response.status == 404, link
            # What the SOP keeps: the case, anonymised.
            async with world.service.db.transaction() as uow:
                case = await uow.cases.get_by_code(code)
            assert case is not None and case.status is CaseStatus.CLOSED
            assert case.unit_code == "YANKES" and "[dihapus" in case.description
        finally:
            await stop_bot(runner)
