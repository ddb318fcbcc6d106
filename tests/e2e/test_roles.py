"""Who may do what, where: every cell of the README's table, tried over the webhook.

Each command is typed by each kind of person in their own chat. Where the table says
yes, the command does its work (without arguments: its usage line, or its answer);
where it says no, the person gets the refusal that names where the command belongs.
Then an agency file that lists its officers: the other members of the officers' group
are refused every action there, by command, button or reply.
"""

from __future__ import annotations

from pathlib import Path

from bot.core.model import Actor, EventKind
from bot.standins.telegram import Chat, SentMessage, TelegramStandIn, User
from tests.e2e.conftest import AGENCY, OFFICERS, SUPERVISOR, World, running

CITIZEN, OFFICER_PRIVATE, OFFICERS_GROUP, UNIT, SUPERVISOR_CHAT, LIAISON, STRANGER = (
    "citizen",
    "officer in a private chat",
    "officers",
    "unit",
    "supervisor",
    "liaison group",
    "stranger",
)
LIAISON_CHAT = -1001000000003
# The liaison for SP4N-LAPOR! works in a group of their own.
WITH_LIAISON = AGENCY + f"\n[lapor]\nliaison_chat_id = {LIAISON_CHAT}\n"
# The README's table ("Who may do what"): where each command is honoured.
TABLE: dict[str, set[str]] = {
    "/disposisi": {OFFICERS_GROUP},
    "/lengkapi": {OFFICERS_GROUP},
    "/tolak": {OFFICERS_GROUP},
    "/selesai": {OFFICERS_GROUP},
    "/antrian": {OFFICERS_GROUP},
    "/kategori": {OFFICERS_GROUP},
    "/ekspor": {OFFICERS_GROUP},
    "/lapor": {OFFICERS_GROUP, OFFICER_PRIVATE, LIAISON},
    "/blokir": {OFFICERS_GROUP},
    "/bukablokir": {OFFICERS_GROUP},
    "/identitas": {OFFICERS_GROUP},
    "/dikabari": {OFFICERS_GROUP, OFFICER_PRIVATE},
    "/kasus": {OFFICERS_GROUP, OFFICER_PRIVATE, UNIT, SUPERVISOR_CHAT, LIAISON},
    "/cari": {OFFICERS_GROUP, OFFICER_PRIVATE, UNIT, SUPERVISOR_CHAT},
    "/catat": {OFFICER_PRIVATE},
    "/gabung": {OFFICERS_GROUP},
    "/rekap": {OFFICERS_GROUP, SUPERVISOR_CHAT},
    "/macet": {OFFICERS_GROUP, SUPERVISOR_CHAT},
    "/jawab": {UNIT},
    # a unit returns its case to the officers; the officers return one to the supervisor
    "/kembalikan": {UNIT, OFFICERS_GROUP},
    "/alihkan": {OFFICERS_GROUP, SUPERVISOR_CHAT},
    "/bantuan": {CITIZEN, OFFICER_PRIVATE, OFFICERS_GROUP, UNIT, SUPERVISOR_CHAT, LIAISON},
}
# What a command that is honoured answers when typed without arguments.
ANSWER = {
    "/antrian": "Tidak ada kasus terbuka",
    "/rekap": "sedang disiapkan",
    "/macet": "Tidak ada pesan yang tertahan",
    "/catat": "Catat pengaduan yang diterima di luar bot",  # the entry starts (then cancelled)
}
HELP = {
    CITIZEN: "Layanan pengaduan",
    OFFICER_PRIVATE: "Layanan pengaduan",  # an officer may complain as a citizen too
    LIAISON: "Perintah pejabat penghubung",
    OFFICERS_GROUP: "Perintah grup petugas",
    UNIT: "Perintah grup unit",
    SUPERVISOR_CHAT: "Perintah chat atasan",
}


def refusal(command: str, role: str) -> str:
    """The refusal a person in `role` gets for `command` (the table says no)."""
    if role == STRANGER:
        return "Grup ini belum terdaftar"
    allowed = TABLE[command]
    if allowed == {OFFICER_PRIVATE}:
        return "hanya dapat dipakai petugas di chat pribadi dengan bot"
    if allowed == {UNIT}:
        return "hanya dapat dipakai di grup unit yang menangani"
    if allowed == {UNIT, OFFICERS_GROUP}:
        return "hanya dapat dipakai di grup unit atau grup petugas pengaduan"
    if SUPERVISOR_CHAT in allowed:
        return "hanya dapat dipakai di grup petugas pengaduan atau chat atasan"
    return "hanya dapat dipakai di grup petugas pengaduan."


def answer(command: str, role: str) -> str:
    if command == "/bantuan":
        return HELP[role]
    return ANSWER.get(command, f"Cara pakai: {command}")


async def reply_to(
    world: World, user: User, chat: Chat | None, text: str, *, replying: SentMessage | None = None
) -> str:
    """What the bot says next in that chat after `user` types `text` there."""
    chat_id = chat.id if chat is not None else user.id
    before = len(world.tg.messages(chat_id))
    await world.says(user, text, chat=chat, reply_to=replying)
    sent = await world.tg.wait_for(before + 1, chat_id=chat_id, timeout=10)
    if text == "/rekap" and "sedang disiapkan" in sent[before].content:
        # the recap itself follows (summary, XLSX, chart): let it arrive before going on
        await world.tg.wait_for(
            lambda all_sent: any(m.method == "sendPhoto" for m in all_sent[before:]),
            chat_id=chat_id,
            timeout=30,
            what="the recap's chart",
        )
    return sent[before].content


async def test_every_command_in_every_kind_of_chat(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    async with running(tg, database_url, tmp_path, agency=WITH_LIAISON) as world:
        await every_command_in_every_kind_of_chat(world)


async def every_command_in_every_kind_of_chat(world: World) -> None:
    world.tg.add_member(OFFICERS, world.officer)  # what makes their private chat staff's
    people: dict[str, tuple[User, Chat | None]] = {
        CITIZEN: (world.citizen, None),
        OFFICER_PRIVATE: (world.officer, None),
        LIAISON: (User(7002, "Lina", "Penghubung"), Chat.group(LIAISON_CHAT, "Penghubung")),
        OFFICERS_GROUP: (world.officer, world.officers),
        UNIT: (world.unit_staff, world.yankes),
        SUPERVISOR_CHAT: (User(9001, "Kepala", "Dinas"), Chat.group(SUPERVISOR, "Atasan")),
        STRANGER: (world.officer, Chat.group(-1009999999999, "Grup lain")),
    }
    tried = 0
    for command, allowed in TABLE.items():
        for role, (user, chat) in people.items():
            said = await reply_to(world, user, chat, command)
            expected = answer(command, role) if role in allowed else refusal(command, role)
            assert expected in said, (command, role, said)
            if command == "/catat" and role in allowed:
                await world.expect(user.id, "Dari mana pengaduan ini diterima")
                assert "dibatalkan" in await reply_to(world, user, chat, "/batal")
            tried += 1
    assert tried == len(TABLE) * len(people)
    stranger = await reply_to(world, world.officer, people[STRANGER][1], "/bantuan")
    assert "-1009999999999" in stranger  # a group to register learns its id


async def test_only_the_listed_officers_act_in_the_officers_group(
    tg: TelegramStandIn, database_url: str, tmp_path: Path
) -> None:
    agency = AGENCY.replace("supervisor_chat_id =", "officer_ids = [7001]\nsupervisor_chat_id =")
    async with running(tg, database_url, tmp_path, agency=agency) as world:
        member = User(7999, "Tamu", "Grup")
        code = await world.file_complaint(world.citizen, "Antrean obat di apotek puskesmas.")
        relay = await world.expect(OFFICERS, f"Pengaduan baru {code}")

        refused = "hanya petugas yang terdaftar"
        for text in (f"/disposisi {code} YANKES", "/antrian", f"/tolak {code} bukan kita"):
            said = await reply_to(world, member, world.officers, text)
            assert refused in said and "7999" in said
        before = len(tg.messages(OFFICERS))
        await tg.user_taps(member, relay, "➡️ YANKES")
        assert refused in (await tg.wait_for(before + 1, chat_id=OFFICERS, timeout=10))[-1].content
        assert "Perintah grup petugas" in await reply_to(world, member, world.officers, "/bantuan")

        # the listed officer asks for a reason with the button; the member's reply is refused
        await tg.user_taps(world.officer, relay, "⛔ Tolak")
        prompt = await world.expect(OFFICERS, f"alasan penolakan {code}")
        said = await reply_to(world, member, world.officers, "bukan wewenang", replying=prompt)
        assert refused in said

        # the officer disposes; the trail says who, from which chat
        said = await reply_to(world, world.officer, world.officers, f"/disposisi {code} YANKES")
        assert f"{code} didisposisi ke" in said
        async with world.service.db.transaction(readonly=True) as uow:
            case = await uow.cases.get_by_code(code)
            assert case is not None and case.id is not None
            events = await uow.cases.events(case.id)
        disposed = [e for e in events if e.kind is EventKind.DISPOSED]
        assert [e.actor for e in disposed] == [
            Actor("staff", "7001", "Budi Petugas", str(OFFICERS))
        ]
        assert not any(e.actor.user_id == "7999" for e in events)
