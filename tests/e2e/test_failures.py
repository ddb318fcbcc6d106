"""What real bots hit: duplicates, forged webhooks, provider errors, wrong places, hostile text."""

from __future__ import annotations

import aiohttp

from bot.core.model import CaseStatus
from bot.standins.telegram import Chat, SentMessage, User
from tests.e2e.conftest import OFFICERS, SECRET, YANKES, World

DESCRIPTION = "Antrean di loket pendaftaran RSUD sangat panjang dan petugas tidak ada sejak pagi."


async def count_cases(world: World) -> int:
    async with world.service.db.transaction() as uow:
        cases = await uow.cases.open_cases(1000)
    return len(cases)


async def test_duplicate_update_is_processed_once(world: World) -> None:
    tg, citizen = world.tg, world.citizen
    await world.says(citizen, "/start")
    for text in (DESCRIPTION, "RSUD Kota", "lewati", "selesai", "1", "Joko", "lewati"):
        await world.says(citizen, text)
    await world.expect(citizen.id, "Apakah sudah benar")
    send = tg.text_update(citizen, "kirim")
    assert await tg.deliver(send) == 200
    assert await tg.deliver(send) == 200  # Telegram redelivers: same update_id
    await world.expect(citizen.id, "Kode pelacakan")
    await world.service.sender.drain()
    await world.says(citizen, "/bantuan")  # a later message proves the queue moved past it
    await world.expect(citizen.id, "Layanan pengaduan")
    assert sum("Kode pelacakan" in t for t in tg.texts(citizen.id)) == 1
    assert await count_cases(world) == 1


async def test_forged_webhook_is_refused_and_not_processed(world: World) -> None:
    update = world.tg.text_update(world.citizen, "/start")
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with http.post(
                f"{world.base_url}/webhook/telegram", json=update, headers=headers
            ) as r:
                assert r.status == 403
        good = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with http.post(
            f"{world.base_url}/webhook/telegram", data=b"{not json", headers=good
        ) as r:
            assert r.status == 400
        async with http.get(f"{world.base_url}/healthz") as r:
            assert r.status == 200
    async with world.service.db.transaction() as uow:
        assert await uow.inbound.backlog() == 0
    assert world.tg.messages(world.citizen.id) == []


async def test_telegram_429_and_5xx_are_retried(world: World) -> None:
    tg, citizen = world.tg, world.citizen
    tg.fail_next("sendMessage", status=429, retry_after=1, chat_id=citizen.id)
    tg.fail_next("sendMessage", status=502, description="Bad Gateway", chat_id=citizen.id, times=2)
    await world.says(citizen, "/start")
    welcome = await world.expect(citizen.id, "Selamat datang")
    assert welcome is tg.messages(citizen.id)[0]  # order kept: the welcome still comes first
    await world.expect(citizen.id, "Ceritakan apa yang terjadi")
    failed = [c for c in tg.calls("sendMessage") if c.status != 200]
    assert [c.status for c in failed] == [429, 502, 502]


async def test_blocked_reporter_is_reported_to_officers(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    world.tg.block(world.citizen.id)
    await world.says(world.officer, f"/tolak {code} bukan kewenangan kami", chat=world.officers)
    warning = await world.expect(OFFICERS, f"Pesan untuk pelapor {code} tidak dapat terkirim")
    assert "blocked" in warning.content


async def test_commands_are_honoured_only_where_they_belong(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    # an officers' command in a unit group
    await world.says(world.unit_staff, f"/disposisi {code} YANKES", chat=world.yankes)
    await world.expect(YANKES, "hanya dapat dipakai di grup petugas")
    # a unit command in the officers' group
    await world.says(world.officer, f"/jawab {code} sudah beres", chat=world.officers)
    await world.expect(OFFICERS, "hanya dapat dipakai di grup unit")
    # a citizen trying an officers' command in private
    await world.says(world.citizen, f"/selesai {code}")
    await world.expect(world.citizen.id, "hanya dapat dipakai di grup petugas")
    # the other unit answering a case that is not theirs
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    await world.expect(YANKES, f"Disposisi {code}")
    await world.says(User(8002, "Dedi"), f"/jawab {code} kami jawab", chat=world.p2p)
    await world.expect(world.p2p.id, f"Kasus {code} tidak didisposisi ke unit ini")
    # a group the agency file does not know
    stranger = Chat.group(-1009999999999, "Grup lain")
    await world.says(world.officer, f"/selesai {code}", chat=stranger)
    await world.expect(stranger.id, "belum terdaftar")
    # a usage mistake is explained
    await world.says(world.officer, "/disposisi", chat=world.officers)
    await world.expect(OFFICERS, "Cara pakai: /disposisi KODE UNIT [catatan]")
    async with world.service.db.transaction() as uow:
        case = await uow.cases.get_by_code(code)
    assert case is not None and case.status is CaseStatus.DISPOSED  # nothing else changed it
    assert not any("Tanggapan" in t for t in world.tg.texts(world.citizen.id))


async def test_hostile_and_long_text_never_breaks_a_message(world: World) -> None:
    hostile = "<b>Obat</b> & _vaksin_ *habis* [link](x) `kode` <script> &amp; di puskesmas"
    code = await world.file_complaint(world.citizen, hostile)
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    assert hostile in relay.content
    long_follow_up = "Keluhan tambahan yang panjang sekali. " * 200  # ~7,600 characters
    await world.says(world.citizen, long_follow_up)
    await world.expect(OFFICERS, f"teks lengkap di /kasus {code}")  # relayed cut short
    await world.says(world.officer, f"/kasus {code}", chat=world.officers)  # the whole of it

    def detail(sent: list[SentMessage]) -> list[str]:
        return [m.content for m in sent[2:] if "Keluhan tambahan" in m.content]

    parts = await world.tg.wait_for(
        lambda sent: " ".join(detail(sent)).count("Keluhan tambahan") >= 200,  # nothing lost
        chat_id=OFFICERS,
        timeout=10,
    )
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in detail(parts))
    assert [c for c in world.tg.calls() if c.status >= 400] == []


async def test_group_upgraded_to_supergroup_keeps_working(world: World) -> None:
    new_id = -1002000000001
    await world.tg.migrate(OFFICERS, new_id)
    code = await world.file_complaint_no_wait(world.citizen, DESCRIPTION)
    relay = await world.expect(new_id, f"Pengaduan baru {code}")
    moved = Chat.group(new_id, "Petugas Pengaduan")
    await world.tg.user_taps(world.officer, relay, "➡️ YANKES")
    await world.expect(YANKES, f"Disposisi {code}")
    await world.says(world.officer, "/antrian", chat=moved)
    queue = await world.expect(new_id, "Kasus terbuka (1)")
    assert code in queue.content
