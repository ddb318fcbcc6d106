"""OfficerCheck, with a fake Bot: who is asked about, what Telegram's answers mean, what is
remembered, and that a failure refuses (the end-to-end side is tests/e2e/test_staff_entry.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import (
    ChatMember,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    User,
)
from telegram.error import ChatMigrated, NetworkError

from bot.channels.telegram import members
from bot.channels.telegram.members import OfficerCheck, is_member
from bot.core.office import LaporOptions
from bot.inbox.envelope import Standing
from tests.unit.sample import OFFICERS, YANKES, sample_office

OFFICE = sample_office(YANKES)
PERSON = User(7001, "Budi", is_bot=False)
UNTIL = datetime(2027, 1, 1, tzinfo=UTC)


def restricted(still_in: bool) -> ChatMember:
    """A restricted user as Telegram describes one (every permission taken)."""
    flags: dict[str, Any] = dict.fromkeys(
        (
            "can_change_info",
            "can_invite_users",
            "can_pin_messages",
            "can_send_messages",
            "can_send_polls",
            "can_send_other_messages",
            "can_add_web_page_previews",
            "can_manage_topics",
            "can_send_audios",
            "can_send_documents",
            "can_send_photos",
            "can_send_videos",
            "can_send_video_notes",
            "can_send_voice_notes",
            "can_edit_tag",
            "can_react_to_messages",
        ),
        False,
    )
    data = {"status": "restricted", "user": PERSON.to_dict(), "is_member": still_in}
    member = ChatMember.de_json({**data, **flags, "until_date": 0}, None)
    assert isinstance(member, ChatMemberRestricted)
    return member


class FakeBot:
    """Answers getChatMember with `answers`, in turn (an exception is raised)."""

    def __init__(self, *answers: ChatMember | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str | int, int]] = []

    async def get_chat_member(self, chat_id: str | int, user_id: int) -> ChatMember:
        self.asked.append((chat_id, user_id))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def message(text: str, *, chat_type: str = "private", user_id: int = 7001) -> dict[str, Any]:
    return {
        "update_id": 1,
        "message": {
            "message_id": 3,
            "chat": {"id": user_id if chat_type == "private" else -5, "type": chat_type},
            "from": {"id": user_id, "is_bot": False, "first_name": "Budi"},
            "text": text,
        },
    }


def checker(bot: FakeBot, clock: Clock | None = None, **office: Any) -> OfficerCheck:
    return OfficerCheck(bot, replace(OFFICE, **office), clock or Clock())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "update",
    [
        message("halo, jalan rusak"),
        message("/start"),  # a citizen's word, whoever types it
        message("/bantuan"),
        message("/tidakada"),  # no command at all
        message("/catat", chat_type="supergroup"),  # groups have their own check
        {"update_id": 1, "callback_query": {"id": "1"}},
    ],
)
async def test_only_a_staff_command_in_a_private_chat_is_asked_about(
    update: dict[str, Any],
) -> None:
    bot = FakeBot()
    assert await checker(bot).standing_of(update) is None
    assert bot.asked == []


@pytest.mark.parametrize(
    ("answer", "standing"),
    [
        (ChatMemberOwner(PERSON, is_anonymous=False), Standing.OFFICER),
        (ChatMemberMember(PERSON), Standing.OFFICER),
        (restricted(still_in=True), Standing.OFFICER),
        (restricted(still_in=False), Standing.NOT_OFFICER),
        (ChatMemberLeft(PERSON), Standing.NOT_OFFICER),
        (ChatMemberBanned(PERSON, until_date=UNTIL), Standing.NOT_OFFICER),
    ],
)
async def test_telegrams_answer(answer: ChatMember, standing: Standing) -> None:
    bot = FakeBot(answer)
    assert await checker(bot).standing_of(message("/catat")) is standing
    assert bot.asked == [(OFFICERS.address, 7001)]
    assert is_member(answer) is (standing is Standing.OFFICER)


async def test_an_answer_is_remembered_for_a_minute() -> None:
    clock = Clock()
    bot = FakeBot(ChatMemberMember(PERSON), ChatMemberLeft(PERSON))
    check = checker(bot, clock)
    assert await check.standing_of(message("/catat")) is Standing.OFFICER
    clock.now += members.REMEMBERED_SECONDS - 1
    assert await check.standing_of(message("/record")) is Standing.OFFICER
    assert len(bot.asked) == 1
    clock.now += 2  # left the group meanwhile
    assert await check.standing_of(message("/catat")) is Standing.NOT_OFFICER
    assert len(bot.asked) == 2


async def test_a_failure_is_unknown_and_not_remembered() -> None:
    bot = FakeBot(NetworkError("timed out"), ChatMemberMember(PERSON))
    check = checker(bot)
    assert await check.standing_of(message("/catat")) is Standing.UNKNOWN
    assert await check.standing_of(message("/catat")) is Standing.OFFICER


async def test_a_migrated_group_is_asked_at_its_new_id() -> None:
    bot = FakeBot(ChatMigrated(-100123), ChatMemberMember(PERSON))
    assert await checker(bot).standing_of(message("/catat")) is Standing.OFFICER
    assert bot.asked == [(OFFICERS.address, 7001), (-100123, 7001)]


async def test_listed_officers_need_no_asking() -> None:
    bot = FakeBot()
    check = checker(bot, officer_ids=frozenset({"7001"}))
    assert await check.standing_of(message("/catat")) is Standing.OFFICER
    assert await check.standing_of(message("/catat", user_id=7002)) is Standing.NOT_OFFICER
    assert bot.asked == []


async def test_a_liaison_is_asked_about_only_for_entering() -> None:
    bot = FakeBot(ChatMemberLeft(PERSON))
    check = checker(bot, lapor=LaporOptions(liaison_ids=frozenset({"7001"})))
    assert await check.standing_of(message("/lapor ADU-7K3Q9X")) is None
    assert bot.asked == []
    assert await check.standing_of(message("/catat")) is Standing.NOT_OFFICER


async def test_what_is_remembered_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(members, "REMEMBERED_PEOPLE", 2)
    bot = FakeBot(*(ChatMemberMember(PERSON) for _ in range(4)))
    check = checker(bot)
    for user_id in (1, 2, 3):
        await check.standing_of(message("/catat", user_id=user_id))
    await check.standing_of(message("/catat", user_id=1))  # forgotten: asked again
    assert [user for _, user in bot.asked] == [1, 2, 3, 1]
