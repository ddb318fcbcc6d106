"""Staff entry (`/catat`) over the real webhook: an officer enters, from their private chat
with the bot, a complaint that reached the office another way, and it goes round the
same cycle as any other (SOP 001 step 2; SOP 002 steps 1–3).

Who is an officer is what Telegram says of the officers' group (getChatMember at the
stand-in), or the agency file's officer_ids when it lists any. The reporter of an
entered complaint is never the officer: one in no chat (Channel.MANUAL), whose news
another part of the issue turns into tasks for the officers (these tests do not wait for
that), or, when they agreed, the WhatsApp number they gave, which the bot reaches with
the approved templates at the Twilio stand-in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.core.model import CaseStatus, Channel
from bot.standins.telegram import TelegramStandIn, User
from bot.standins.twilio import TwilioStandIn
from tests.e2e.conftest import (
    AGENCY,
    OFFICERS,
    YANKES,
    World,
    people,
    running,
    shows,
    start_bot,
    stop_bot,
    twilio_settings,
)

WALK_IN = "Antrean pengambilan obat di Puskesmas Sukamaju lebih dari tiga jam setiap pagi."
FROM_LAPOR = "Ambulans desa tidak bisa dipakai warga karena sopirnya tidak pernah ada di tempat."
ACK_SID = "HX" + "ac" * 16
DISPOSED_SID = "HX" + "d1" * 16
TEMPLATES = f"""
[whatsapp.templates.acknowledgement]
content_sid = "{ACK_SID}"
variables = ["code"]

[whatsapp.templates.reporter_disposed]
content_sid = "{DISPOSED_SID}"
variables = ["code", "unit"]
"""
WALK_IN_SOURCE = "1"  # Datang langsung/loket, the first of the default sources
LAPOR_SOURCE = "6"  # SP4N-LAPOR!


@dataclass
class Entering:
    """The officer's side of `/catat`: answers given in order, each awaited."""

    world: World
    officer: User

    async def answer(self, text: str, prompt: str) -> None:
        before = len(self.world.tg.messages(self.officer.id))
        await self.world.says(self.officer, text)
        await self.world.tg.wait_for(
            shows(prompt, before), chat_id=self.officer.id, timeout=10.0, what=prompt
        )

    async def enter(
        self,
        description: str = WALK_IN,
        *,
        source: str = WALK_IN_SOURCE,
        lapor_number: str | None = None,
        photo: bool = False,
        name: str = "Pak Darto",
        whatsapp: str | None = None,
        agreed: bool = False,
    ) -> str:
        """Enters a complaint from start to Kirim; returns its code."""
        tg, officer = self.world.tg, self.officer
        await self.answer("/catat", "Dari mana pengaduan ini diterima")
        await self.answer(source, "Tanggal pengaduan diterima")
        if lapor_number is not None:
            await self.answer("hari ini", "Nomor pelacakan SP4N-LAPOR!")
            await self.answer(lapor_number, "Isi pengaduan")
        else:
            await self.answer("hari ini", "Isi pengaduan")
        await self.answer(description, "Di mana kejadiannya")
        await self.answer("Puskesmas Sukamaju", "Kapan kejadiannya")
        await self.answer("lewati", "Ada berkas pendukung")
        if photo:  # the scanned letter
            before = len(tg.messages(officer.id))
            await tg.user_sends_photo(officer)
            await tg.wait_for(shows("Lampiran diterima (1 berkas)", before), chat_id=officer.id)
        await self.answer("selesai", "Bagaimana identitas pelapor")
        await self.answer("1", "Nama pelapor")
        await self.answer(name, "Nomor telepon pelapor")
        await self.answer("0812-3456-7890", "Nomor WhatsApp pelapor")
        if whatsapp is None:
            await self.answer("tidak ada", "Email pelapor")
        else:
            await self.answer(whatsapp, "Apakah pelapor setuju")
            await self.answer("ya" if agreed else "tidak", "Email pelapor")
        await self.answer("lewati", "Alamat pelapor")
        await self.answer("lewati", "Sudah benar?")
        before = len(tg.messages(officer.id))
        await self.world.says(officer, "kirim")
        sent = await tg.wait_for(
            shows("Pengaduan tercatat dengan kode", before), chat_id=officer.id, timeout=10.0
        )
        done = next(m for m in sent[before:] if "Pengaduan tercatat" in m.content)
        return done.content.split("dengan kode ")[1].split()[0]


async def stored(world: World, code: str) -> tuple[CaseStatus, Channel, str]:
    """The case's status, and its reporter's channel and address."""
    async with world.service.db.transaction() as uow:
        case = await uow.cases.get_by_code(code)
        assert case is not None
        reporter = await uow.reporters.get(case.reporter_id)
    assert reporter is not None
    return case.status, reporter.channel, reporter.address


# ---------------------------------------------------------------------- SOP 001 step 2
async def test_a_walk_in_entered_by_an_officer_goes_round_the_whole_cycle(world: World) -> None:
    """SOP 001 step 2, "Memasukan pengaduan dari masyarakat": the operator enters a
    walk-in complaint (with a scanned letter) from their private chat; it is disposed,
    answered and closed like any other, and the officer is never its reporter. The
    reporter, who is in no chat, is told each news by hand (SOP 002 step 8): the officers'
    group gets "Kabari pelapor" with what to say, and `/dikabari` records it done."""
    tg, officer = world.tg, world.officer
    tg.add_member(OFFICERS, officer)
    code = await Entering(world, officer).enter(photo=True)

    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    assert "📝 Dicatat oleh Budi Petugas · Sumber: Datang langsung/loket" in relay.content
    assert "Diterima: " in relay.content and "Saluran: Dikabari petugas" in relay.content
    assert "Pak Darto" in relay.content and "081234567890" in relay.content
    assert WALK_IN in relay.content
    assert [label for label, _ in relay.buttons][:2] == ["➡️ YANKES", "➡️ P2P"]
    [photo] = [m for m in tg.messages(OFFICERS) if m.kind == "photo"]
    assert photo.file_id is not None
    assert await stored(world, code) == (CaseStatus.NEW, Channel.MANUAL, code)
    # The acknowledgement with its tracking code is the entering officer's to pass on.
    task = await world.expect(OFFICERS, f"📞 Kabari pelapor {code} (dicatat oleh Budi Petugas)")
    assert "Pelapor: Pak Darto" in task.content and "Telepon: 081234567890" in task.content
    assert f"Kode pelacakan: {code}" in task.content
    await world.says(officer, f"/dikabari {code} telepon, kode dibacakan", chat=world.officers)
    await world.expect(OFFICERS, f"✅ Pelapor {code} sudah dikabari oleh Budi Petugas")

    await tg.user_taps(officer, relay, "➡️ YANKES")
    unit_case = await world.expect(YANKES, f"Disposisi {code}")
    assert WALK_IN in unit_case.content and "081234567890" not in unit_case.content
    await world.says(
        world.unit_staff,
        f"/jawab {code} Loket obat ditambah satu mulai Senin depan.",
        chat=world.yankes,
    )
    await world.expect(OFFICERS, f"Jawaban YANKES untuk {code}")
    # Two news wait now (in process, then the answer); one call tells both.
    told = await world.tg.wait_for(
        lambda sent: any(
            "Loket obat ditambah" in m.content and "Kabari" in m.content for m in sent
        ),
        chat_id=OFFICERS,
        timeout=10.0,
        what="the answer to pass on",
    )
    assert any("Dalam Proses" in m.content and "Kabari" in m.content for m in told)
    await world.says(officer, f"/dikabari {code} telepon", chat=world.officers)
    await world.expect(OFFICERS, "(2 kabar, tercatat di riwayat)")
    await world.says(officer, f"/selesai {code} loket sudah ditambah", chat=world.officers)
    await world.expect(OFFICERS, f"{code} ditutup (Selesai)")
    assert (await stored(world, code))[0] is CaseStatus.CLOSED
    closed = await world.expect(OFFICERS, "telah Selesai")
    assert f"Kabari pelapor {code}" in closed.content
    assert "Seberapa puas" not in closed.content  # no rating asked of one in no chat
    await world.says(officer, f"/dikabari {code} datang langsung ke loket", chat=world.officers)
    await world.expect(OFFICERS, "(1 kabar, tercatat di riwayat)")
    await world.says(officer, f"/kasus {code}", chat=world.officers)
    history = await world.expect(OFFICERS, "Riwayat")
    assert history.content.count("pelapor dikabari petugas") == 3
    assert "datang langsung ke loket" in history.content

    # The officer's own chat heard only the entry: no acknowledgement, no news, no
    # rating request; the code is not theirs.
    mine = tg.texts(officer.id)
    assert not any("Kode pelacakan" in t or "Dalam Proses" in t for t in mine)
    assert not any("Seberapa puas" in t or "Tanggapan" in t for t in mine)
    await world.says(officer, "/status")
    await world.expect(officer.id, "belum memiliki pengaduan")


async def test_six_entries_in_a_day_are_all_accepted(world: World) -> None:
    """An officer entering complaints all day is nobody's daily allowance (five)."""
    world.tg.add_member(OFFICERS, world.officer)
    entering = Entering(world, world.officer)
    codes = [await entering.enter(name=f"Pelapor {n}") for n in range(6)]

    assert len(set(codes)) == 6
    for code in codes:
        await world.expect(OFFICERS, f"Pengaduan baru {code}")
    assert not any("pengaduan hari ini" in t for t in world.tg.texts(world.officer.id))
    # and as a citizen the officer may still file their own
    await world.says(world.officer, "/start")
    await world.expect(world.officer.id, "Ceritakan apa yang terjadi")


async def test_an_entry_under_way_survives_a_restart(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    officer = User(7001, "Budi", "Petugas")
    tg.add_member(OFFICERS, officer)
    async with running(tg, database_url, tmp_path) as world:
        entering = Entering(world, officer)
        await entering.answer("/catat", "Dari mana pengaduan ini diterima")
        await entering.answer("Telepon", "Tanggal pengaduan diterima")
    async with running(tg, database_url, tmp_path) as world:
        entering = Entering(world, officer)
        await entering.answer("kemarin", "Isi pengaduan")  # where it was
        await entering.answer("/catat", "Pencatatan pengaduan sedang berjalan")
        await world.expect(officer.id, "Isi pengaduan")
        await entering.answer("/batal", "Pencatatan dibatalkan")


# ---------------------------------------------------------------------- who may
async def test_a_citizen_or_a_former_member_is_refused(world: World) -> None:
    tg, citizen, officer = world.tg, world.citizen, world.officer
    await world.says(citizen, "/catat")
    await world.expect(citizen.id, "hanya dapat dipakai petugas di chat pribadi")
    await world.says(citizen, "/record")  # the English word alike
    first, second = await tg.wait_for(2, chat_id=citizen.id)
    assert first.content == second.content
    # still a citizen in every other way
    await world.says(citizen, "/start")
    await world.expect(citizen.id, "Ceritakan apa yang terjadi")

    await world.says(officer, "/antrian", chat=world.officers)  # posting makes them a member
    await world.expect(OFFICERS, "Tidak ada kasus terbuka")
    tg.remove_member(OFFICERS, officer)
    await world.says(officer, "/catat")
    await world.expect(officer.id, "hanya dapat dipakai petugas di chat pribadi")
    asked = [c.params for c in tg.calls("getChatMember")]
    assert [(str(p["chat_id"]), str(p["user_id"])) for p in asked] == [
        (str(OFFICERS), str(citizen.id)),  # /catat; /record was remembered (one minute)
        (str(OFFICERS), str(officer.id)),
    ]


async def test_telegram_failing_to_say_is_a_refusal_to_try_again(world: World) -> None:
    tg, officer = world.tg, world.officer
    tg.add_member(OFFICERS, officer)
    tg.fail_next("getChatMember", status=500, description="Internal Server Error")
    await world.says(officer, "/catat")
    await world.expect(officer.id, "tidak dapat diperiksa saat ini. Mohon coba lagi")
    await world.says(officer, "/catat")
    await world.expect(officer.id, "Dari mana pengaduan ini diterima")


async def test_only_listed_officers_may_when_officer_ids_lists_any(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    listed, unlisted = User(7001, "Budi", "Petugas"), User(7002, "Tono")
    tg.add_member(OFFICERS, listed)
    tg.add_member(OFFICERS, unlisted)  # in the group, but not on the list
    agency = AGENCY.replace("[groups]\n", "[groups]\nofficer_ids = [7001]\n")
    async with running(tg, database_url, tmp_path, agency=agency) as world:
        await world.says(unlisted, "/catat")
        await world.expect(unlisted.id, "hanya dapat dipakai petugas di chat pribadi")
        await world.says(listed, "/catat")
        await world.expect(listed.id, "Dari mana pengaduan ini diterima")
    assert tg.calls("getChatMember") == []  # the list says it all


async def test_staff_commands_in_an_officers_private_chat(world: World) -> None:
    """An officer's private chat takes the staff commands allowed there (/kasus,
    /lapor…), refuses the group's own, and is a citizen's chat for everything else."""
    tg, officer = world.tg, world.officer
    tg.add_member(OFFICERS, officer)
    code = await world.file_complaint(world.citizen, WALK_IN)

    await world.says(officer, f"/kasus {code}")
    detail = await world.expect(officer.id, f"Kasus {code}")
    assert "Siti Aminah" in detail.content
    await world.says(officer, f"/lapor {code}")
    await world.expect(officer.id, f"Form manual SP4N-LAPOR! — {code}")
    await world.says(officer, f"/disposisi {code} YANKES")
    await world.expect(officer.id, "hanya dapat dipakai di grup petugas pengaduan")
    await world.says(officer, "/kasus ADU-7K3Q9X")
    await world.expect(officer.id, "Kasus ADU-7K3Q9X tidak ditemukan")
    await world.says(officer, "/catat", chat=world.officers)  # entering is done in private
    await world.expect(OFFICERS, "hanya dapat dipakai petugas di chat pribadi")

    # A plain message is the officer's own complaint beginning; an entry meanwhile sets
    # it aside, and it carries on where it was once the entry is done.
    entering = Entering(world, officer)
    await entering.answer("halo", "Ceritakan apa yang terjadi")
    await entering.answer("/catat", "Dari mana pengaduan ini diterima")
    await entering.answer("/batal", "Pencatatan dibatalkan")
    await entering.answer(
        "Jalan di depan kantor kelurahan rusak parah sejak banjir.", "Di mana kejadiannya"
    )


async def test_a_liaison_may_use_lapor_but_not_enter(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    liaison = User(7300, "Wati", "Penghubung")  # not in the officers' group
    agency = AGENCY + "\n[lapor]\nliaison_ids = [7300]\n"
    async with running(tg, database_url, tmp_path, agency=agency) as world:
        code = await world.file_complaint(world.citizen, WALK_IN)
        await world.says(liaison, f"/lapor {code}")
        await world.expect(liaison.id, f"Form manual SP4N-LAPOR! — {code}")
        await world.says(liaison, "/catat")
        await world.expect(liaison.id, "hanya dapat dipakai petugas di chat pribadi")
    # /lapor needed no membership; /catat did
    assert len(tg.calls("getChatMember")) == 1


# ---------------------------------------------------------------------- SOP 002 steps 1–3
@pytest.fixture
async def with_whatsapp(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[World, TwilioStandIn]]:
    async with TwilioStandIn() as tw:
        config = tmp_path / "agency.toml"
        config.write_text(AGENCY + TEMPLATES, encoding="utf-8")
        runner, settings = await start_bot(
            tg, database_url, tmp_path, ADUAN_CONFIG=str(config), **twilio_settings(tw, tmp_path)
        )
        tw.configure_webhooks(f"{settings.public_base_url}/webhook/whatsapp")
        tw.register_template(ACK_SID, "Baik, pengaduan Bapak/Ibu kami terima. Kode: {{1}}")
        tw.register_template(DISPOSED_SID, "Pengaduan {{1}} diteruskan ke {{2}}.")
        try:
            yield people(tg, runner, settings), tw
        finally:
            await stop_bot(runner)


async def test_sop_002_a_lapor_complaint_entered_and_acknowledged_by_whatsapp_template(
    with_whatsapp: tuple[World, TwilioStandIn],
) -> None:
    """SOP 002: step 1, a complaint reaches the office from lapor.go.id; step 2,
    "Pencatatan dan Pendataan": the officer records it, with its source and its
    SP4N-LAPOR! tracking number; step 3, the reporter is acknowledged at once — here by
    the approved WhatsApp template, since they never wrote to the bot — and later news
    (the disposition) reaches them the same way."""
    world, tw = with_whatsapp
    tg, officer = world.tg, world.officer
    tg.add_member(OFFICERS, officer)
    number = "+6285712345678"

    # Steps 1-2: entered from the officer's private chat, source SP4N-LAPOR!.
    code = await Entering(world, officer).enter(
        FROM_LAPOR,
        source=LAPOR_SOURCE,
        lapor_number="4123456",
        whatsapp="0857-1234-5678",
        agreed=True,
    )
    done = await world.expect(officer.id, f"dengan kode {code}")
    assert f"lewat WhatsApp ({number})" in done.content
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    assert "Sumber: SP4N-LAPOR!" in relay.content
    assert "Nomor SP4N-LAPOR!: 4123456" in relay.content
    assert "Saluran: WhatsApp" in relay.content

    # Step 3: the acknowledgement, as the approved template (the 24 hours never opened).
    ack = await tw.wait_for_text(number, f"Kode: {code}", timeout=10.0)
    assert ack.is_template and ack.content_sid == ACK_SID
    assert await stored(world, code) == (CaseStatus.NEW, Channel.WHATSAPP, number)

    # Later news by template too: the disposition.
    await tg.user_taps(officer, relay, "➡️ YANKES")
    news = await tw.wait_for_text(number, f"Pengaduan {code} diteruskan ke", timeout=10.0)
    assert news.is_template and news.content_sid == DISPOSED_SID
    assert "Bidang Pelayanan Kesehatan" in news.text
    assert all(m.is_template for m in tw.messages(number))
    assert not any(code in t and "Kode pelacakan" in t for t in tg.texts(officer.id))


async def test_a_reporter_who_did_not_agree_is_not_written_to(
    with_whatsapp: tuple[World, TwilioStandIn],
) -> None:
    world, tw = with_whatsapp
    world.tg.add_member(OFFICERS, world.officer)
    code = await Entering(world, world.officer).enter(whatsapp="085712345678", agreed=False)
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    assert "Saluran: Dikabari petugas" in relay.content
    assert await stored(world, code) == (CaseStatus.NEW, Channel.MANUAL, code)
    assert tw.messages("+6285712345678") == []
