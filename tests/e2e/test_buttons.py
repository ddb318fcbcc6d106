"""Buttons of steps that are done: an old message's button never acts silently.

The officers' message of a new case keeps its buttons for hours; by the time one is
tapped the case may have moved on. The tap then says what happened and by whom, a
disposition tap on a case a unit holds asks before moving it, and the message's
buttons follow the case (the holding unit marked, none once it is closed).
`old` copies of messages stand for a phone that has not yet shown an edit.
"""

from __future__ import annotations

import copy

from bot.core.model import CaseStatus
from bot.standins.telegram import SentMessage, User
from tests.e2e.conftest import OFFICERS, P2P, YANKES, World, settled

DESCRIPTION = "Lampu jalan di depan Puskesmas Sukamaju mati sejak seminggu."
ANDI = User(7002, "Andi", "Piket")  # a second officer in the same group


async def case_of(world: World, code: str) -> tuple[CaseStatus, str | None]:
    async with world.service.db.transaction() as uow:
        case = await uow.cases.get_by_code(code)
    assert case is not None
    return case.status, case.unit_code


def labels_now(world: World, message: SentMessage) -> list[str]:
    """The labels the message's buttons have now, after any edits."""
    current = next(
        m for m in world.tg.messages(message.chat_id) if m.message_id == message.message_id
    )
    return [label for label, _ in current.buttons]


async def nth(world: World, chat_id: int, fragment: str, n: int) -> SentMessage:
    """The `n`-th message (from 1) the bot sent to the chat containing `fragment`."""
    sent = await world.tg.wait_for(
        lambda messages: sum(fragment in m.content for m in messages) >= n,
        chat_id=chat_id,
        timeout=10.0,
        what=f"message {n} with {fragment!r}",
    )
    return [m for m in sent if fragment in m.content][n - 1]


def told_disposed(world: World, code: str) -> list[str]:
    return [t for t in world.tg.texts(world.citizen.id) if f"{code} sudah diteruskan" in t]


async def test_old_disposition_button_asks_before_moving_the_case(world: World) -> None:
    tg = world.tg
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    old = copy.deepcopy(relay)

    await tg.user_taps(world.officer, relay, "➡️ YANKES")
    await world.expect(YANKES, f"Disposisi {code}")

    # a second officer taps the other unit on the old message: nothing moves yet
    await tg.user_taps(ANDI, old, "➡️ P2P")
    question = await world.expect(OFFICERS, f"Pindahkan {code} ke")
    assert (
        f"{code} sudah didisposisi ke Bidang Pelayanan Kesehatan (YANKES) oleh Budi Petugas"
        in question.content
    )
    await settled(world)
    assert await case_of(world, code) == (CaseStatus.DISPOSED, "YANKES")
    assert not any(code in t for t in tg.texts(P2P))
    assert len(told_disposed(world, code)) == 1
    # the message marks where the case went; the other unit's button stays
    assert labels_now(world, relay) == ["✅ YANKES", "➡️ P2P", "❓ Minta kelengkapan", "⛔ Tolak"]

    # "no": it stays, and the question's buttons go
    await tg.user_taps(ANDI, question, "✖️ Tetap di YANKES")
    await world.expect(OFFICERS, f"{code} tetap di Bidang Pelayanan Kesehatan (YANKES)")
    await settled(world)
    assert labels_now(world, question) == []
    assert await case_of(world, code) == (CaseStatus.DISPOSED, "YANKES")

    # asked again, "yes": it moves, and the reporter hears it once
    await tg.user_taps(ANDI, old, "➡️ P2P")
    again = await nth(world, OFFICERS, f"Pindahkan {code} ke", 2)
    await tg.user_taps(ANDI, again, "➡️ Ya, ke P2P")
    await world.expect(P2P, f"Disposisi {code}")
    await world.expect(YANKES, f"{code} dialihkan ke unit lain")
    await settled(world)
    assert await case_of(world, code) == (CaseStatus.DISPOSED, "P2P")
    moved = told_disposed(world, code)
    assert len(moved) == 2 and "Pencegahan dan Pengendalian Penyakit" in moved[1]
    assert labels_now(world, again) == []
    assert labels_now(world, relay) == ["➡️ YANKES", "✅ P2P", "❓ Minta kelengkapan", "⛔ Tolak"]

    # the typed command still moves a case at once, as it always did
    await world.says(world.officer, f"/disposisi {code} YANKES", chat=world.officers)
    await nth(world, YANKES, f"Disposisi {code}", 2)
    assert await case_of(world, code) == (CaseStatus.DISPOSED, "YANKES")


async def test_tap_on_the_unit_holding_the_case_says_who_sent_it_there(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    old = copy.deepcopy(relay)
    await world.tg.user_taps(world.officer, relay, "➡️ YANKES")
    await world.expect(YANKES, f"Disposisi {code}")
    await world.tg.user_taps(ANDI, old, "➡️ YANKES")
    said = await world.expect(OFFICERS, f"{code} sudah didisposisi ke")
    assert "(YANKES) oleh Budi Petugas pada " in said.content
    assert not said.buttons
    await settled(world)
    assert len(told_disposed(world, code)) == 1


async def test_refuse_button_on_a_closed_case_says_who_closed_it(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")
    old = copy.deepcopy(relay)
    await world.says(world.officer, f"/selesai {code} sudah diperbaiki", chat=world.officers)
    await world.expect(world.citizen.id, f"Pengaduan {code} telah Selesai")

    await world.tg.user_taps(ANDI, old, "⛔ Tolak")
    said = await world.expect(OFFICERS, f"{code} sudah ditutup (Selesai) oleh Budi Petugas")
    assert "tidak berlaku" in said.content
    await world.tg.user_taps(ANDI, old, "❓ Minta kelengkapan")
    await nth(world, OFFICERS, f"{code} sudah ditutup (Selesai)", 2)
    await settled(world)
    assert not any("Balas pesan ini" in t for t in world.tg.texts(OFFICERS))
    assert labels_now(world, relay) == []  # a closed case's message has no buttons left


def code_spans(message: SentMessage) -> list[str]:
    """The pieces of the message shown as code (one tap copies them)."""
    text = message.content.encode("utf-16-le")
    return [
        text[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in message.entities
        if e["type"] == "code"
    ]


async def test_prompts_offer_the_command_to_copy(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")

    await world.tg.user_taps(world.officer, relay, "❓ Minta kelengkapan")
    prompt = await world.expect(OFFICERS, f"diminta dari pelapor {code}")
    assert code_spans(prompt) == [f"/lengkapi {code} "]
    await world.says(world.officer, f"/lengkapi {code} Mohon kirim fotonya.", chat=world.officers)
    await world.expect(world.citizen.id, "Mohon kirim fotonya.")

    await world.tg.user_taps(world.officer, relay, "⛔ Tolak")
    prompt = await world.expect(OFFICERS, f"alasan penolakan {code}")
    assert code_spans(prompt) == [f"/tolak {code} "]
    # replying to the prompt still works
    await world.says(world.officer, "Bukan kewenangan dinas.", chat=world.officers, reply_to=prompt)
    await world.expect(world.citizen.id, "Bukan kewenangan dinas.")


async def test_rating_buttons_go_once_rated(world: World) -> None:
    code = await world.file_complaint(world.citizen, DESCRIPTION)
    await world.says(world.officer, f"/selesai {code}", chat=world.officers)
    rating = await world.expect(world.citizen.id, "Seberapa puas")
    old = copy.deepcopy(rating)
    await world.tg.user_taps(world.citizen, rating, "5")
    await world.expect(world.citizen.id, "(5/5)")
    await settled(world)
    assert labels_now(world, rating) == []
    await world.tg.user_taps(world.citizen, old, "2")
    await world.expect(world.citizen.id, f"sudah memberi penilaian 5/5 untuk pengaduan {code}")
