"""A complaint from WhatsApp through the whole cycle, with Telegram groups for the staff.

The real app over HTTP, with the Bot API stand-in for Telegram and the Twilio stand-in
(Messages API, media hosting behind a CDN that refuses credentials, signed webhooks).
"""

from __future__ import annotations

import io
import random
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from bot.core.model import CaseStatus, Channel
from bot.standins.telegram import SentMessage, TelegramStandIn
from bot.standins.twilio import TwilioStandIn, WhatsAppUser
from tests.e2e.conftest import (
    AGENCY,
    OFFICERS,
    YANKES,
    World,
    people,
    start_bot,
    stop_bot,
    twilio_settings,
)

ANSWER_SID = "HX" + "a1" * 16
# A 1x1 JPEG is enough for the pipeline; size and type are what the bot checks.
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f"
    "141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101"
    "011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403"
    "050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a1617"
    "18191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a83"
    "8485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7"
    "d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9"
)


def picture(width: int, height: int, kind: str = "JPEG") -> bytes:
    """A photo of noise (so it does not compress to nothing), the same on every run."""
    pixels = random.Random(width * height).randbytes(width * height * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), pixels).save(out, kind)
    return out.getvalue()


DESCRIPTION = "Obat untuk anak saya tidak tersedia di Puskesmas Kenanga sejak minggu lalu."
TEMPLATES = f"""
[whatsapp.templates.reporter_answered]
content_sid = "{ANSWER_SID}"
variables = ["code", "unit", "answer"]
"""


@dataclass
class Both:
    world: World
    tw: TwilioStandIn
    siti: WhatsAppUser

    async def expect(self, fragment: str) -> str:
        message = await self.tw.wait_for_text(self.siti, fragment, timeout=10.0)
        return message.text

    async def says(self, body: str) -> None:
        assert await self.tw.deliver(self.tw.text(self.siti, body)) == 200

    async def complaint(
        self, privacy: str = "1", *, files: Sequence[tuple[bytes, str]] = (), caption: str = ""
    ) -> str:
        before = len(self.tw.messages(self.siti))
        await self.says("halo")
        await self.expect("Ceritakan apa yang terjadi")
        await self.says(DESCRIPTION)
        await self.expect("Di mana kejadiannya")
        await self.tw.user_shares_location(self.siti, -6.9147, 107.6098)
        await self.expect("Kapan kejadiannya")
        await self.says("lewati")
        await self.expect("foto atau dokumen")
        for count, file in enumerate(files, start=1):  # one message per file, as WhatsApp
            await self.tw.user_sends_media(self.siti, [file], caption)
            await self.expect(f"Lampiran diterima ({count} berkas)")
        await self.says("selesai")
        await self.expect("Bagaimana identitas")
        await self.says(privacy)
        await self.expect("Siapa nama")
        await self.says("Siti Rahma")
        await self.expect("Apakah sudah benar")
        await self.says("1")
        ack = await self.tw.wait_for(
            lambda sent: any("Kode pelacakan" in m.text for m in sent[before:]),
            to=self.siti,
            timeout=10.0,
        )
        text = next(m.text for m in ack[before:] if "Kode pelacakan" in m.text)
        return text.split("Kode pelacakan: ")[1].split()[0]

    async def set_silent_for(self, hours: int) -> None:
        """The reporter last wrote `hours` ago (both for the bot and for WhatsApp)."""
        service = self.world.service
        await self.tw.callbacks_settled()  # what was sent before went out inside the window
        await service.processor.caught_up()
        at = service.clock.now() - timedelta(hours=hours)
        async with service.db.transaction() as uow:
            await uow.reporters.touch(
                await uow.reporters.get_or_create(Channel.WHATSAPP, self.siti.number, None), at
            )
        self.tw.set_last_inbound(self.siti, at)


@pytest.fixture
async def both(tg: TelegramStandIn, database_url: str, tmp_path: Path) -> AsyncIterator[Both]:
    async with TwilioStandIn() as tw:
        config = tmp_path / "agency.toml"
        config.write_text(AGENCY + TEMPLATES, encoding="utf-8")
        runner, settings = await start_bot(
            tg, database_url, tmp_path, ADUAN_CONFIG=str(config), **twilio_settings(tw, tmp_path)
        )
        tw.configure_webhooks(f"{settings.public_base_url}/webhook/whatsapp")
        tw.register_template(ANSWER_SID, "Tanggapan {{2}} atas pengaduan {{1}}: {{3}}")
        world = people(tg, runner, settings)
        try:
            yield Both(world, tw, WhatsAppUser("+6281298765432", "Siti R"))
        finally:
            await stop_bot(runner)


async def test_whatsapp_complaint_travels_the_whole_cycle(both: Both) -> None:
    world, tw, tg = both.world, both.tw, both.world.tg
    code = await both.complaint(privacy="2", files=[(JPEG, "image/jpeg")])
    assert code.startswith("ADU-")
    summary = [m.text for m in tw.messages(both.siti) if "Ringkasan pengaduan" in m.text][-1]
    assert "Kontak: +6281298765432" in summary  # the WhatsApp number: not asked again
    confirm = [m.text for m in tw.messages(both.siti) if "Apakah sudah benar" in m.text][-1]
    assert "1. Kirim\n2. Ubah\n3. Batal" in confirm  # choices as a numbered list

    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    assert "Saluran: WhatsApp" in relay.content and "+6281298765432" in relay.content
    photo = await tg.wait_for(
        lambda s: any(m.kind == "photo" for m in s), chat_id=OFFICERS, timeout=10
    )
    relayed_photo = next(m for m in photo if m.kind == "photo")
    assert tg.file_bytes(relayed_photo.file_id or "") == JPEG  # the reporter's photo itself
    assert tw.credentials_sent_to_cdn == 0

    await tg.user_taps(world.officer, relay, "➡️ YANKES")
    unit_case = await world.expect(YANKES, f"Disposisi {code}")
    assert "+6281298765432" not in unit_case.content and "Siti" not in unit_case.content
    await tg.wait_for(lambda s: any(m.kind == "photo" for m in s), chat_id=YANKES, timeout=10)
    assert "Dalam Proses" in await both.expect("Dalam Proses")

    reply = tg.photo_update(
        world.unit_staff,
        caption="Stok sudah datang hari ini.",
        chat=world.yankes,
        reply_to=unit_case,
    )
    await tg.deliver(reply)
    assert "Stok sudah datang hari ini." in await both.expect(
        "Tanggapan Bidang Pelayanan Kesehatan"
    )
    media = await tw.wait_for(lambda s: any(m.media_urls for m in s), to=both.siti, timeout=10)
    url = next(m.media_urls[0] for m in media if m.media_urls)
    data, content_type = await tw.fetch_media(url)  # Twilio fetches the photo from the bot
    assert content_type == "image/jpeg"
    assert data == tg.file_bytes(reply["message"]["photo"][-1]["file_id"])

    await world.says(world.officer, f"/selesai {code}", chat=world.officers)
    await both.expect(f"Pengaduan {code} telah Selesai")
    await both.expect("Seberapa puas")
    await both.says("4")
    await both.expect("Terima kasih atas penilaian Bapak/Ibu (4/5)")
    await world.expect(OFFICERS, f"Pelapor {code} memberi penilaian 4/5")

    await tw.callbacks_settled()
    sid = tw.last_message(both.siti).sid
    await world.service.processor.caught_up()
    async with world.service.db.transaction() as uow:
        case = await uow.cases.get_by_code(code)
        status = await uow.sending.delivery_status("whatsapp", sid)
    assert case is not None and case.status is CaseStatus.CLOSED and case.rating == 4
    assert status is not None and status[0] in ("sent", "delivered")


async def test_a_photos_words_and_the_shared_pin_reach_officers_and_unit(both: Both) -> None:
    world = both.world
    code = await both.complaint(files=[(JPEG, "image/jpeg")], caption="ruang tunggu penuh")
    map_link = "Peta: https://www.openstreetmap.org/?mlat=-6.91470&mlon=107.60980#map=17/-6.91470/107.60980"
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    assert "Lampiran: 1 berkas\n• berkas 1: ruang tunggu penuh" in relay.content
    assert f"lokasi dibagikan (-6.91470, 107.60980)\n{map_link}" in relay.content
    await world.tg.user_taps(world.officer, relay, "➡️ YANKES")
    unit_case = await world.expect(YANKES, f"Disposisi {code}")
    assert "• berkas 1: ruang tunggu penuh" in unit_case.content
    assert map_link in unit_case.content


async def test_status_and_help_words(both: Both) -> None:
    code = await both.complaint()
    await both.says("status")
    listing = await both.expect("Pengaduan Bapak/Ibu:")
    assert code in listing
    await both.says(f"STATUS {code.lower()}")
    detail = await both.expect("Status: Baru")
    assert DESCRIPTION in detail
    await both.says("bantuan")
    await both.expect("/status")


async def test_duplicate_and_forged_webhooks(both: Both) -> None:
    tw, service = both.tw, both.world.service
    params = tw.text(both.siti, "halo")
    assert await tw.deliver(params) == 200
    assert await tw.deliver(params) == 200  # Twilio retried: same MessageSid
    assert await tw.deliver(tw.text(both.siti, "palsu"), signature="forged") == 403
    assert await tw.deliver(tw.text(both.siti, "palsu"), signed=False) == 403
    await both.expect("Ceritakan apa yang terjadi")
    await both.says("bantuan")
    await both.expect("/status")
    await tw.callbacks_settled()
    await service.processor.caught_up()
    bodies = tw.bodies(both.siti)
    assert sum("Selamat datang" in b for b in bodies) == 1  # the duplicate changed nothing
    # Had "palsu" been taken, it would have been answered as a too-short description.
    assert not any("Mohon ceritakan sedikit lebih lengkap" in b for b in bodies)
    async with service.db.transaction() as uow:
        assert await uow.inbound.backlog() == 0
    async with aiohttp.ClientSession() as http:
        url = f"{both.world.base_url}/webhook/whatsapp/status"
        async with http.post(url, data={"MessageSid": "SM1", "MessageStatus": "read"}) as r:
            assert r.status == 403
        oversized = io.BytesIO(b"MessageSid=SM2&Body=" + b"x" * (2 * 1024 * 1024))
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        whatsapp = f"{both.world.base_url}/webhook/whatsapp"
        async with http.post(whatsapp, data=oversized, headers=form) as r:
            assert r.status == 413  # far above any Twilio request; refused before the signature


async def test_media_limits_get_a_clear_answer(both: Both) -> None:
    tw = both.tw
    await both.says("halo")
    await both.expect("Ceritakan")
    too_big = b"\xff\xd8" + b"0" * (5 * 1024 * 1024 + 10)
    disguised = b"MZ\x90\x00" + b"\x00" * 60  # a Windows program sent as a photo
    await tw.user_sends_media(
        both.siti,
        [
            (too_big, "image/jpeg"),
            (b"MZ\x90", "application/x-msdownload"),
            (disguised, "image/jpeg"),
            (picture(640, 480)[:20_000], "image/jpeg"),  # cut off on the way
            (b"Ini bukan foto.\n", "image/jpeg"),  # a text that passed for a photo
        ],
    )
    await both.expect("Berkas ke-1 tidak dapat kami terima: ukurannya terlalu besar")
    accepted = "JPG, PNG, MP4, 3GP, OGG, MP3, M4A, AMR, PDF, DOC, DOCX, XLS, XLSX, TXT"
    program = f"berkas ini adalah program. Jenis berkas yang dapat dikirim: {accepted}."
    await both.expect(f"Berkas ke-2 tidak dapat kami terima: {program}")
    await both.expect("Berkas ke-3 tidak dapat kami terima: berkas ini adalah program, bukan JPG.")
    await both.expect(
        "Berkas ke-4 tidak dapat kami terima: berkasnya rusak atau tidak dapat dibuka"
    )
    await both.expect("Berkas ke-5 tidak dapat kami terima: berkas ini adalah teks, bukan JPG.")
    assert not any("kami terima: jenisnya" in m.text for m in tw.messages(both.siti))
    assert tw.credentials_sent_to_cdn == 0
    await both.says(DESCRIPTION)  # the dialogue goes on where it was
    await both.expect("Di mana kejadiannya")


async def album_in(tg: TelegramStandIn, chat_id: int, count: int) -> list[SentMessage]:
    """The items of the first album sent to the chat, once `count` of them arrived."""
    sent = await tg.wait_for(
        lambda s: sum(m.method == "sendMediaGroup" for m in s) >= count, chat_id=chat_id
    )
    return [m for m in sent if m.method == "sendMediaGroup"]


async def test_several_photos_reach_the_officers_and_the_unit_as_one_album(both: Both) -> None:
    world, tg = both.world, both.world.tg
    street, sign = picture(640, 480), picture(480, 640, "PNG")
    code = await both.complaint(files=[(street, "image/jpeg"), (sign, "image/png")])
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    album = await album_in(tg, OFFICERS, 2)
    assert [m.kind for m in album] == ["photo", "photo"]
    assert [tg.file_bytes(m.file_id or "") for m in album] == [street, sign]  # as they came

    await tg.user_taps(world.officer, relay, "➡️ YANKES")
    await world.expect(YANKES, f"Disposisi {code}")
    cleaned = await album_in(tg, YANKES, 2)  # re-encoded without metadata, the same pictures
    sizes = [Image.open(io.BytesIO(tg.file_bytes(m.file_id or ""))).size for m in cleaned]
    assert sizes == [(640, 480), (480, 640)]


async def test_a_long_screenshot_telegram_refuses_as_a_photo_arrives_as_a_file(
    both: Both,
) -> None:
    world, tg = both.world, both.world.tg
    chat = picture(200, 4100, "PNG")  # a chat history: longer than the 1:20 Telegram allows
    code = await both.complaint(files=[(JPEG, "image/jpeg"), (chat, "image/png")])
    await world.expect(OFFICERS, f"Pengaduan baru {code}")
    album = await album_in(tg, OFFICERS, 2)
    assert [m.kind for m in album] == ["document", "document"]
    assert [tg.file_bytes(m.file_id or "") for m in album] == [JPEG, chat]


async def test_media_that_cannot_be_fetched_is_asked_again(both: Both) -> None:
    tw = both.tw
    await both.says("halo")
    await both.expect("Ceritakan")
    params = tw.media(both.siti, [(JPEG, "image/jpeg")], body=DESCRIPTION)
    params["MediaUrl0"] = params["MediaUrl0"].rsplit("/", 1)[0] + "/ME" + "0" * 32  # gone
    assert await tw.deliver(params) == 200
    await both.expect("Berkas ke-1 tidak dapat kami terima: berkas tidak dapat diunduh")
    await both.expect("Di mana kejadiannya")  # the text of the same message was still taken


async def test_outside_the_window_the_answer_goes_as_the_approved_template(both: Both) -> None:
    world, tw = both.world, both.tw
    code = await both.complaint()
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    unit_case = await world.expect(YANKES, f"Disposisi {code}")
    await both.expect("Dalam Proses")
    await both.set_silent_for(hours=30)
    await world.says(
        world.unit_staff, "Stok sudah tersedia lagi.", chat=world.yankes, reply_to=unit_case
    )
    template = await tw.wait_for(lambda s: any(m.is_template for m in s), to=both.siti, timeout=10)
    sent = next(m for m in template if m.is_template)
    assert sent.content_sid == ANSWER_SID
    assert sent.content_variables == {
        "1": code,
        "2": "Bidang Pelayanan Kesehatan",
        "3": "Stok sudah tersedia lagi.",
    }
    assert (
        sent.text
        == f"Tanggapan Bidang Pelayanan Kesehatan atas pengaduan {code}: Stok sudah tersedia lagi."
    )

    # No template for the closing sentence: the officers hear the reporter was not reached.
    await world.says(world.officer, f"/selesai {code}", chat=world.officers)
    failed = await world.expect(OFFICERS, f"Pesan untuk pelapor {code} tidak dapat terkirim")
    assert "24-hour window" in failed.content


async def test_a_63016_failure_is_resent_as_the_template(both: Both) -> None:
    world, tw = both.world, both.tw
    code = await both.complaint()
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    unit_case = await world.expect(YANKES, f"Disposisi {code}")
    await both.expect("Dalam Proses")
    # The bot still thinks the window is open; WhatsApp knows better (63016).
    tw.set_last_inbound(both.siti, tw.now() - timedelta(hours=25))
    await world.says(
        world.unit_staff, "Sudah kami tindak lanjuti.", chat=world.yankes, reply_to=unit_case
    )
    resent = await tw.wait_for(lambda s: any(m.is_template for m in s), to=both.siti, timeout=10)
    free_form = next(
        m for m in tw.messages(both.siti) if "Sudah kami tindak lanjuti." in (m.body or "")
    )
    assert free_form.status == "failed" and free_form.error_code == 63016
    template = next(m for m in resent if m.is_template)
    assert template.content_variables["3"] == "Sudah kami tindak lanjuti."


async def test_a_failed_delivery_is_shown_to_the_officers(both: Both) -> None:
    world, tw = both.world, both.tw
    code = await both.complaint()
    tw.fail_delivery(both.siti, code=63003)
    await world.says(
        world.officer, f"/lengkapi {code} Mohon kirim foto resep.", chat=world.officers
    )
    shown = await world.expect(OFFICERS, f"Pesan untuk pelapor {code} tidak dapat terkirim")
    assert "63003" in shown.content


async def test_twilio_429_and_5xx_are_retried_in_order(both: Both) -> None:
    tw = both.tw
    tw.fail_next(status=429, code=20429, to=both.siti)
    tw.fail_next(status=503, to=both.siti)
    await both.says("halo")
    await both.expect("Ceritakan apa yang terjadi")
    bodies = tw.bodies(both.siti)
    assert bodies[0].startswith("Selamat datang")  # the welcome still comes first
    assert tw.too_many_requests == 1
    assert [c.status for c in tw.api_calls if c.status >= 400] == [429, 503]


async def test_signatures_hold_behind_a_tls_proxy(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    """Twilio signs the public https URL; the app sees http on loopback behind the proxy."""
    public = "https://aduan.example.go.id"
    async with TwilioStandIn() as tw:
        runner, settings = await start_bot(
            tg, database_url, tmp_path, PUBLIC_BASE_URL=public, **twilio_settings(tw, tmp_path)
        )
        try:
            tw.configure_webhooks(
                f"{public}/webhook/whatsapp",
                forward_to=f"http://{settings.host}:{settings.port}",
            )
            siti = WhatsAppUser("+6281211112222", "Siti")
            assert await tw.deliver(tw.text(siti, "halo")) == 200
            await tw.wait_for_text(siti, "Ceritakan apa yang terjadi", timeout=10)
            await tw.callbacks_settled()
            callbacks = tw.callbacks()
            assert len(callbacks) >= 2  # sent and delivered for each message so far
            assert all(c.ok for c in callbacks)  # status callbacks accepted too
        finally:
            await stop_bot(runner)


async def test_web_pages_sent_as_text_are_refused(both: Both) -> None:
    tw = both.tw
    await both.says("halo")
    await both.expect("Ceritakan")
    page = b"<html><body><script>fetch('/media')</script></body></html>"
    drawing = b'<?xml version="1.0"?><svg><script>alert(1)</script></svg>'
    await tw.user_sends_media(both.siti, [(page, "text/plain"), (drawing, "text/plain")])
    refused = "tidak dapat kami terima: berkas skrip atau halaman web"
    await both.expect(f"Berkas ke-1 {refused}")
    await both.expect(f"Berkas ke-2 {refused}")


async def test_text_declared_as_a_pdf_is_passed_on_as_text(both: Both) -> None:
    world = both.world
    text = b"Kronologi: 3 Mei petugas loket meminta Rp50.000.\n"
    await both.complaint(files=[(text, "application/pdf")])  # declared a PDF, is text
    await world.tg.wait_for(
        lambda sent: any(m.method == "sendDocument" for m in sent), chat_id=OFFICERS, timeout=10
    )
    (sent,) = [m for m in world.tg.messages(OFFICERS) if m.method == "sendDocument"]
    assert str(sent.raw["document"]["file_name"]).endswith(".txt")
    assert world.tg.file_bytes(sent.file_id or "") == text


TAP_WORDS = re.compile(r"\b(ketuk|tombol)", re.IGNORECASE)


async def test_a_whatsapp_reporter_is_never_told_to_tap_and_is_spoken_to_one_way(
    both: Both,
) -> None:
    """Every sentence of a whole complaint on WhatsApp, the detours included: no button
    to tap (WhatsApp shows numbered choices) and "Bapak/Ibu" throughout, never "Anda"."""
    world, tw = both.world, both.tw
    await both.says("bantuan")
    await both.expect("/status")
    await both.says("status")
    await both.expect("belum memiliki pengaduan")
    for body, answer in (
        ("halo", "Ceritakan apa yang terjadi"),
        (DESCRIPTION, "Di mana kejadiannya"),
        ("Puskesmas Kenanga", "Kapan kejadiannya"),
        ("kemarin pagi", "foto atau dokumen"),
    ):
        await both.says(body)
        await both.expect(answer)
    await tw.user_sends_media(both.siti, [(JPEG, "image/jpeg"), (b"MZ\x90", "image/jpeg")])
    await both.expect("Lampiran diterima (1 berkas)")
    for body, answer in (
        ("selesai", "Bagaimana identitas"),
        ("9", "Silakan pilih salah satu"),  # not one of the choices
        ("1", "Siapa nama"),
        ("Siti Rahma", "Apakah sudah benar"),
        ("1", "Kode pelacakan"),
        ("status", "Pengaduan Bapak/Ibu:"),
        ("Tambahan: apotek tutup sejak pukul 10.", "sudah ditambahkan ke pengaduan"),
    ):
        await both.says(body)
        await both.expect(answer)
    code = (await both.expect("Kode pelacakan")).split("Kode pelacakan: ")[1].split()[0]
    await world.says(world.officer, f"/selesai {code}", chat=world.officers)
    await both.expect("Seberapa puas")
    await both.says("4")
    await both.expect("Terima kasih atas penilaian Bapak/Ibu (4/5)")

    await tw.callbacks_settled()
    received = tw.bodies(both.siti)
    assert len(received) >= 15
    assert [text for text in received if TAP_WORDS.search(text)] == []
    assert [text for text in received if re.search(r"\bAnda\b", text)] == []
