"""Whatever arrives at the webhook gets a clear outcome and is logged, and the service
carries on: bodies that are too big or not updates, update types the bot does not use,
an update it cannot read, a ten-photo album, edits, and replies to old messages."""

from __future__ import annotations

import io
import json
import logging

import aiohttp
import pytest

from bot.channels.telegram.webhook import MAX_BODY
from tests.e2e.conftest import OFFICERS, SECRET, TOKEN, YANKES, World

DESCRIPTION = "Pungutan liar saat pengambilan hasil laboratorium di Puskesmas Sukamaju."


async def post(world: World, body: bytes, content_type: str = "application/json") -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": content_type}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{world.base_url}/webhook/telegram", data=io.BytesIO(body), headers=headers
        ) as answer,
    ):
        return answer.status


async def test_bodies_that_are_not_updates_are_refused_and_nothing_is_recorded(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.channels.telegram.webhook")
    update = {"update_id": 1, "message": {"text": "x" * (MAX_BODY + 1)}}
    assert await post(world, json.dumps(update).encode()) == 413
    assert await post(world, b"{not json") == 400
    assert await post(world, b"[1, 2, 3]") == 400
    assert await post(world, json.dumps({"message": {}}).encode()) == 400
    assert await post(world, json.dumps({"update_id": "7"}).encode()) == 400
    messages = [r.getMessage() for r in caplog.records]
    assert sum("refused" in m for m in messages) == 5
    async with world.service.db.transaction(readonly=True) as uow:
        assert await uow.inbound.pending(10) == []
    await world.says(world.citizen, "/start")  # and the service carries on
    await world.expect(world.citizen.id, "Ceritakan apa yang terjadi")


@pytest.mark.parametrize(
    "body",
    [
        b'{"update_id": 5, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",  # RecursionError
        b'{"update_id": 6, "message": ' + b'{"a": ' * 500 + b"1" + b"}" * 500 + b"}",
        b'{"update_id": true, "message": {}}',  # a bool is an int in Python
        b'{"update_id": ' + b"7" * 4000 + b', "message": {}}',
        json.dumps({"update_id": 2**63, "message": {}}).encode(),  # beyond 64 bits
        json.dumps({"update_id": 0, "message": {}}).encode(),
        json.dumps({"update_id": -8, "message": {}}).encode(),
    ],
    ids=["nested-deep", "nested-500", "bool", "4000-digits", "2**63", "zero", "negative"],
)
async def test_an_update_too_deep_or_with_an_impossible_update_id_is_refused(
    world: World, body: bytes
) -> None:
    assert await post(world, body) == 400
    async with world.service.db.transaction(readonly=True) as uow:
        assert await uow.inbound.pending(10) == []
    await world.says(world.citizen, "/start")  # and the service carries on
    await world.expect(world.citizen.id, "Ceritakan apa yang terjadi")


async def test_unknown_and_unreadable_updates_are_logged_and_do_not_stop_later_ones(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    private = {"id": world.citizen.id, "type": "private"}
    reaction = {
        "update_id": 900001,
        "message_reaction": {
            "chat": private,
            "message_id": 1,
            "user": world.citizen.to_dict(),
            "date": 1,
            "old_reaction": [],
            "new_reaction": [{"type": "emoji", "emoji": "👍"}],
        },
    }
    future = {"update_id": 900003, "kind_from_a_later_bot_api": {"chat": private}}
    unreadable = {"update_id": 900002, "message": {"message_id": 5, "text": "tanpa chat"}}
    for update in (reaction, future, unreadable):
        # recorded and answered 200, so that Telegram does not deliver it again and again
        assert await post(world, json.dumps(update).encode()) == 200
    await world.says(world.citizen, "/start")
    await world.expect(world.citizen.id, "Ceritakan apa yang terjadi")
    await world.service.processor.caught_up()

    logged = [r.getMessage() for r in caplog.records]
    assert any("ignored telegram update 900001 of kind message_reaction" in m for m in logged)
    assert any("update 900003 of kind kind_from_a_later_bot_api" in m for m in logged)
    assert any("telegram update 900002 failed" in m for m in logged)
    async with world.service.db.transaction(readonly=True) as uow:
        assert await uow.inbound.pending(10) == []  # the failed one is not retried forever
        assert await uow.inbound.backlog() == 0
    welcome = [t for t in world.tg.texts(world.citizen.id) if "Selamat datang" in t]
    assert len(welcome) == 1  # only /start was answered
    # Bot API URLs hold the token: never in a log line
    assert TOKEN not in caplog.text


async def test_an_album_of_ten_photos_reaches_the_officers_whole(world: World) -> None:
    tg, citizen = world.tg, world.citizen
    await world.says(citizen, "/start")
    for text in (DESCRIPTION, "Puskesmas Sukamaju", "lewati"):
        await world.says(citizen, text)
    await world.expect(citizen.id, "foto atau dokumen")
    await tg.user_sends_album(citizen, 10)
    await world.expect(citizen.id, "Lampiran diterima")
    for text in ("selesai", "1", "Siti", "lewati"):
        await world.says(citizen, text)
    summary = await world.expect(citizen.id, "Ringkasan pengaduan")
    assert "Lampiran: 10 berkas" in summary.content
    await world.says(citizen, "kirim")
    await world.expect(citizen.id, "Kode pelacakan")
    album = await tg.wait_for(
        lambda sent: sum(m.method == "sendMediaGroup" for m in sent) == 10,
        chat_id=OFFICERS,
        timeout=10,
    )
    photos = [m for m in album if m.method == "sendMediaGroup"]
    assert len({m.media_group_id for m in photos}) == 1  # one album of ten
    assert sum("Lampiran diterima" in t for t in tg.texts(citizen.id)) == 1


async def test_an_edited_message_gets_an_answer_from_citizens_and_none_in_groups(
    world: World,
) -> None:
    tg, citizen = world.tg, world.citizen
    await world.says(citizen, "/start")
    await world.expect(citizen.id, "Ceritakan apa yang terjadi")
    first = tg.text_update(citizen, "Pungutan liar di loket")
    await tg.deliver(first)
    await world.expect(citizen.id, "Di mana kejadiannya")
    await tg.deliver(tg.edited_message_update(first, "Pungutan liar di loket pendaftaran"))
    told = await world.expect(citizen.id, "Perubahan pada pesan")
    assert "kirim sebagai pesan baru" in told.content

    chatter = tg.text_update(world.officer, "rapat jam 10", chat=world.officers)
    await tg.deliver(chatter)
    before = len(tg.messages(OFFICERS))
    await tg.deliver(tg.edited_message_update(chatter, "rapat jam 11"))
    await tg.user_says(citizen, "Puskesmas Sukamaju")  # the dialogue goes on where it was
    await world.expect(citizen.id, "Kapan kejadiannya")
    await world.service.processor.caught_up()
    await world.service.sender.drain()
    assert len(tg.messages(OFFICERS)) == before


async def test_replies_to_old_messages_of_a_closed_case(world: World) -> None:
    tg = world.tg
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    relay = await world.expect(YANKES, f"Disposisi {code}")
    await world.says(world.unit_staff, f"/jawab {code} Sudah ditertibkan.", chat=world.yankes)
    await world.expect(world.citizen.id, "Sudah ditertibkan.")
    await world.says(world.officer, f"/selesai {code}", chat=world.officers)
    closed = await world.expect(world.citizen.id, f"Pengaduan {code} telah Selesai")

    # the unit replies to the case message days later: told, nothing reaches the reporter
    reporter_before = len(tg.messages(world.citizen.id))
    unit_before = len(tg.messages(YANKES))
    await world.says(world.unit_staff, "Tambahan jawaban", chat=world.yankes, reply_to=relay)
    refusal = (await tg.wait_for(unit_before + 1, chat_id=YANKES, timeout=10))[unit_before]
    assert code in refusal.content and "Selesai" in refusal.content
    # the reporter replies to the closing message: the case stays closed, and what they
    # wrote starts a new complaint (its story), which goes on to ask where it happened
    await world.says(world.citizen, "Masih terjadi lagi hari ini", reply_to=closed)
    await tg.wait_for(
        lambda sent: any("Di mana kejadiannya" in m.content for m in sent[reporter_before:]),
        chat_id=world.citizen.id,
        timeout=10,
        what="the new complaint's next question",
    )
    texts = tg.texts(world.citizen.id)[reporter_before:]
    assert not any("Tambahan jawaban" in t for t in texts)
    assert sum("Selamat datang" in t for t in texts) == 1


async def test_officers_see_a_story_without_the_characters_that_reorder_or_hide_it(
    world: World,
) -> None:
    story = "Pungutan liar \u202e000.05 pR\u202c di loket\u200b lab Puskesmas Sukamaju."
    code = await world.file_complaint(world.citizen, story)
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    assert "Pungutan liar 000.05 pR di loket lab Puskesmas Sukamaju." in relay.content
    assert "\u202e" not in relay.content and "\u200b" not in relay.content
    await world.says(world.citizen, "Nama petugasnya \u202eodraW\u202c\u2060 di loket 2")
    follow_up = await world.expect(OFFICERS, f"Pesan tambahan pelapor untuk {code}")
    assert "Nama petugasnya odraW di loket 2" in follow_up.content  # in the order typed
    async with world.service.db.transaction(readonly=True) as uow:
        case = await uow.cases.get_by_code(code)
    assert case is not None and case.description == story  # the record keeps what came
