"""Staff on WhatsApp (issue 22), over the real webhooks against the Twilio and Bot API
stand-ins: each staff member is a number in a private chat with the office's WhatsApp
number, gets what their role's group would, acts with words and numbered choices, and
answers a case by replying to the bot's case message.

- SOP 002 with every person on WhatsApp: the citizen reports, an officer proposes the
  disposition by a numbered reply, the atasan approves, the unit answers by replying to
  its case message, an officer approves the answer, the case is closed and rated;
- the officers on Telegram and one unit on WhatsApp;
- numbers outside WhatsApp's 24-hour window: the staff templates, and what cannot be
  delivered in /macet and in the officers' Telegram group.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.standins.telegram import TelegramStandIn
from bot.standins.twilio import SentMessage as WhatsAppMessage
from bot.standins.twilio import TwilioStandIn, WhatsAppUser
from tests.e2e.conftest import (
    AGENCY,
    GENEROUS_LIMITS,
    OFFICERS,
    YANKES,
    World,
    people,
    settled,
    start_bot,
    stop_bot,
    twilio_settings,
)
from tests.e2e.test_whatsapp import Both

BUDI = WhatsAppUser("+6281100000001", "Budi Petugas")
ANI = WhatsAppUser("+6281100000002", "Ani Petugas")
KADIS = WhatsAppUser("+6281100000009", "Kepala Dinas")
RINA = WhatsAppUser("+6281100000010", "Rina Yankes")
CITIZEN = WhatsAppUser("+6281377001122", "Ibu Marlina")
ANSWER = "Obat sudah dikirim ke Puskesmas Kenanga hari ini, silakan diambil."
NEW_CASE_SID = "HX" + "b2" * 16
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ALL_ON_WHATSAPP = f"""
[agency]
name = "Dinas Kesehatan Kabupaten OKU Selatan"
timezone = "Asia/Jakarta"

[groups]
officers_whatsapp = ["{BUDI.number}", "{ANI.number}"]
supervisor_whatsapp = ["{KADIS.number}"]

[[units]]
code = "YANKES"
name = "Bidang Pelayanan Kesehatan"
whatsapp = ["{RINA.number}"]

[[units]]
code = "P2P"
name = "Bidang Pencegahan dan Pengendalian Penyakit"
whatsapp = ["+6281100000011"]

[workflow]
disposition_by = "supervisor"
answer_review = "officers"

[deadlines]
digest_time = ""

[recaps]
send_time = ""
{GENEROUS_LIMITS}"""


@dataclass
class Office:
    """The running bot, the Twilio stand-in, and the people on WhatsApp."""

    world: World
    tw: TwilioStandIn

    async def says(
        self, user: WhatsAppUser, body: str, reply_to: WhatsAppMessage | None = None
    ) -> None:
        params = self.tw.text(user, body, reply_to=reply_to)
        assert await self.tw.deliver(params) == 200

    async def expect(self, user: WhatsAppUser, fragment: str) -> WhatsAppMessage:
        return await self.tw.wait_for_text(user, fragment, timeout=10.0)

    def said(self, user: WhatsAppUser, fragment: str) -> list[str]:
        return [m.text for m in self.tw.messages(user) if fragment in m.text]


@pytest.fixture
async def on_whatsapp(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> AsyncIterator[Office]:
    async with TwilioStandIn() as tw:
        runner, settings = await start_bot(
            tg, database_url, tmp_path, agency=ALL_ON_WHATSAPP, **twilio_settings(tw, tmp_path)
        )
        tw.configure_webhooks(f"{settings.public_base_url}/webhook/whatsapp")
        try:
            yield Office(people(tg, runner, settings), tw)
        finally:
            await stop_bot(runner)


async def test_sop_002_with_every_person_on_whatsapp(on_whatsapp: Office) -> None:
    office, tw = on_whatsapp, on_whatsapp.tw
    # Each staff member writes to the office's number once (WhatsApp's window opens);
    # "bantuan" gives their role's commands, typed without "/".
    for person, role in (
        (BUDI, "Perintah grup petugas"),
        (ANI, "Perintah grup petugas"),
        (KADIS, "Perintah chat atasan"),
        (RINA, "Perintah grup unit Bidang Pelayanan Kesehatan"),
    ):
        await office.says(person, "bantuan")
        await office.expect(person, role)
        await office.expect(person, "Di WhatsApp perintah boleh tanpa garis miring")
    assert not office.said(BUDI, "/catat")  # a Telegram private chat's command
    assert not office.world.tg.messages(OFFICERS)  # no Telegram group is involved

    # 1.-3. The citizen reports on WhatsApp and is answered at once; every officer's
    # number gets the case with its choices (there are no buttons on WhatsApp).
    citizen = Both(office.world, tw, CITIZEN)
    code = await citizen.complaint()
    relay = await office.expect(BUDI, f"Pengaduan baru {code}")
    assert "1. ➡️ YANKES\n2. ➡️ P2P\n3. ❓ Minta kelengkapan\n4. ⛔ Tolak" in relay.text
    assert "Balas (reply) pesan ini dengan nomor pilihan" in relay.text
    ani_relay = await office.expect(ANI, f"Pengaduan baru {code}")

    # 5. Budi picks YANKES by replying "1" to the case: a proposal to the atasan; Ani
    #    is told who did what, once.
    await office.says(BUDI, "1", reply_to=relay)
    proposal = await office.expect(KADIS, f"Usulan disposisi {code}")
    assert "1. ✅ Setujui YANKES" in proposal.text
    told = await office.expect(ANI, f"{code} diusulkan ke Bidang Pelayanan Kesehatan")
    assert "oleh Budi Petugas" in told.text
    # Ani picks the same a moment later: nothing changes, and she is told why.
    await office.says(ANI, "1", reply_to=ani_relay)
    await office.expect(ANI, f"{code} sudah diusulkan ke Bidang Pelayanan Kesehatan (YANKES)")

    # 6. The atasan approves with a bare "1" (the only choices he has); the unit gets
    #    the case, the citizen hears Dalam Proses.
    await office.says(KADIS, "1")
    case_message = await office.expect(RINA, f"Disposisi {code}")
    assert "Jawab dengan membalas pesan ini" in case_message.text
    await citizen.expect("Dalam Proses")
    await office.expect(BUDI, f"Disposisi {code} ke Bidang Pelayanan Kesehatan (YANKES) disetujui")

    # 7. The unit answers the officer by replying to its case message.
    await office.says(RINA, ANSWER, reply_to=case_message)
    review = await office.expect(BUDI, f"untuk {code} menunggu tinjauan")
    assert ANSWER in review.text and "1. ✅ Setujui & kirim\n2. ✍️ Revisi" in review.text
    await office.expect(RINA, "diteruskan kepada petugas pengaduan untuk ditinjau")
    await settled(office.world)
    assert not citizen.world.tg.messages(OFFICERS)
    assert not [m for m in tw.messages(CITIZEN) if ANSWER in m.text]

    # 8. Ani approves with words; the citizen gets the answer in the office's name.
    await office.says(ANI, f"setujui {code}")
    answer = await citizen.expect(f"Tanggapan Bidang Pelayanan Kesehatan atas pengaduan {code}")
    assert ANSWER in answer
    await office.expect(RINA, f"Jawaban untuk {code} disetujui Ani Petugas")
    await office.expect(BUDI, "Disetujui oleh Ani Petugas")

    # The case is closed and rated; /kasus works as words.
    await office.says(BUDI, f"selesai {code} terima kasih")
    await citizen.expect(f"Seberapa puas Bapak/Ibu dengan penanganan pengaduan {code}")
    await citizen.says("5")
    await citizen.expect("Terima kasih atas penilaian Bapak/Ibu (5/5)")
    await office.expect(ANI, f"Pelapor {code} memberi penilaian 5/5")
    await office.says(ANI, f"kasus {code}")
    detail = await office.expect(ANI, f"Kasus {code}")
    assert detail.text.startswith(f"Kasus {code} — Selesai") and "— penilaian" in detail.text

    # The recap comes to every officer's number as files (the workbook and the chart).
    await office.says(BUDI, "rekap")
    await office.expect(BUDI, "sedang disiapkan")
    files = await tw.wait_for(
        lambda sent: sum(bool(m.media_urls) for m in sent) >= 2, to=ANI, timeout=30.0
    )
    fetched = set()
    async with aiohttp.ClientSession() as http:
        for url in (u for m in files for u in m.media_urls):
            async with http.get(url) as response:
                assert response.status == 200
                fetched.add(response.headers["Content-Type"])
    assert {"image/png", XLSX} <= fetched

    # A staff member's own complaint: "lapor" starts it, their messages are theirs.
    await office.says(ANI, "lapor")
    await office.expect(ANI, "Ceritakan apa yang terjadi")
    await office.says(ANI, "batal")
    await office.expect(ANI, "dibatalkan")
    await office.says(ANI, "halo semua")
    await office.expect(ANI, "Pesan ini bukan perintah")


MIXED = AGENCY.replace(
    "chat_id = -1001000000010\n", f'chat_id = -1001000000010\nwhatsapp = ["{RINA.number}"]\n'
)


async def test_officers_on_telegram_and_a_unit_on_whatsapp(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    assert MIXED != AGENCY
    async with TwilioStandIn() as tw:
        runner, settings = await start_bot(
            tg, database_url, tmp_path, agency=MIXED, **twilio_settings(tw, tmp_path)
        )
        tw.configure_webhooks(f"{settings.public_base_url}/webhook/whatsapp")
        office = Office(people(tg, runner, settings), tw)
        world = office.world
        try:
            await office.says(RINA, "antrian")  # units have no queue: a polite refusal
            await office.expect(RINA, "hanya dapat dipakai di grup petugas pengaduan")
            code = await world.file_complaint(world.citizen, "Lampu puskesmas mati sejak kemarin.")
            relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
            await tg.user_taps(world.officer, relay, "➡️ YANKES")
            in_group = await world.expect(YANKES, f"Disposisi {code}")
            on_phone = await office.expect(RINA, f"Disposisi {code}")
            assert in_group.content == on_phone.text
            # the unit answers from WhatsApp with a photo, replying to the case message
            jpeg = bytes.fromhex("ffd8ffe000104a464946000101") + b"\0" * 64 + b"\xff\xd9"
            await tw.user_sends_media(
                RINA, [(jpeg, "image/jpeg")], "Sudah diganti lampunya.", reply_to=on_phone
            )
            answered = await world.expect(world.citizen.id, "Tanggapan Bidang Pelayanan")
            assert "Sudah diganti lampunya." in answered.content
            group = await world.expect(OFFICERS, f"Jawaban YANKES untuk {code}")
            assert "Sudah diganti lampunya." in group.content
            # what the unit's group shows, the unit's number gets too
            await world.expect(YANKES, f"Jawaban untuk {code} sudah dikirim")
            await office.expect(RINA, f"Jawaban untuk {code} sudah dikirim")
        finally:
            await stop_bot(runner)


WINDOW = (
    MIXED.replace("[groups]\n", f'[groups]\nofficers_whatsapp = ["{BUDI.number}"]\n')
    + f"""
[whatsapp.templates.staff_new_case]
content_sid = "{NEW_CASE_SID}"
variables = ["code", "text"]
"""
)


async def test_numbers_outside_the_window_get_templates_or_are_reported(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    """Budi (an officer) and Rina (a unit) never wrote to the office's number. A new case
    and a disposition reach them as the approved staff template; the news after it has
    no template here, so it is not delivered: the officers' Telegram group is told once
    a day per number, and /macet lists it."""
    async with TwilioStandIn() as tw:
        tw.register_template(NEW_CASE_SID, "Ada pengaduan {{1}} untuk ditangani: {{2}}")
        runner, settings = await start_bot(
            tg, database_url, tmp_path, agency=WINDOW, **twilio_settings(tw, tmp_path)
        )
        tw.configure_webhooks(f"{settings.public_base_url}/webhook/whatsapp")
        world = people(tg, runner, settings)
        try:
            code = await world.file_complaint(world.citizen, "Antrean puskesmas sangat panjang.")
            sent = await tw.wait_for(lambda m: any(x.is_template for x in m), to=BUDI, timeout=10)
            template = next(m for m in sent if m.is_template)
            assert template.content_sid == NEW_CASE_SID
            assert template.content_variables["1"] == code
            assert f"Pengaduan baru {code}" in template.content_variables["2"]
            await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
            await world.expect(YANKES, f"Disposisi {code}")
            sent = await tw.wait_for(lambda m: any(x.is_template for x in m), to=RINA, timeout=10)
            assert [m.content_variables["1"] for m in sent if m.is_template] == [code]
            # "didisposisi" has no template of its own: Budi cannot get it
            failed = await world.expect(OFFICERS, f"WhatsApp {BUDI.number} tidak terkirim")
            assert "petugas pengaduan" in failed.content and "staff_update" in failed.content
            await world.says(world.officer, f"/kategori {code} Antrean", chat=world.officers)
            await world.expect(OFFICERS, "Antrean")
            await world.says(world.officer, "/macet", chat=world.officers)
            stuck = await world.expect(OFFICERS, "Gagal terkirim")
            assert f"grup petugas, WhatsApp {BUDI.number}" in stuck.content
            await settled(world)
            notices = [t for t in tg.texts(OFFICERS) if "tidak terkirim" in t]
            assert len(notices) == 1  # once a day per number, however many fail
            assert tw.messages(RINA) and all(m.is_template for m in tw.messages(RINA))
        finally:
            await stop_bot(runner)
