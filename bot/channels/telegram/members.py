"""Who is an officer, for a staff command typed in a private chat (`/catat`): listed in
the agency file's `officer_ids` when it lists any, else a member of the officers' group,
as the Bot API's getChatMember tells. Asked before the handling transaction (the answer
travels in the `Envelope`), only for such a command, and remembered briefly."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from telegram import Bot, ChatMember
from telegram.error import ChatMigrated, TelegramError

from bot.core.office import Office, has_telegram_chat
from bot.core.permissions import Action
from bot.inbox.envelope import Standing
from handlers.staff import private_staff_command

log = logging.getLogger(__name__)

REMEMBERED_SECONDS = 60.0  # an answer is reused this long (someone may join or leave)
REMEMBERED_PEOPLE = 1024  # answers kept at most; the oldest go first
MEMBERS = frozenset({ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER})


def is_member(member: ChatMember) -> bool:
    """Whether getChatMember's answer says the user is in the group: its creator, an
    administrator, a member, or restricted but still a member."""
    if member.status in MEMBERS:
        return True
    return member.status == ChatMember.RESTRICTED and bool(getattr(member, "is_member", False))


class OfficerCheck:
    """Finds out whether the sender of a private staff command is an officer.

    An answer of the Bot API is remembered for REMEMBERED_SECONDS; a failed call is
    `Standing.UNKNOWN` and not remembered (the handler refuses, and asks to try again).
    """

    def __init__(
        self, bot: Bot, office: Office, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.bot = bot
        self.office = office
        self.clock = clock
        self._known: dict[str, tuple[float, Standing]] = {}

    async def standing_of(self, payload: dict[str, Any]) -> Standing | None:
        """The sender's standing, for a staff command in a private chat (else None)."""
        message = payload.get("message")
        if not isinstance(message, dict) or (message.get("chat") or {}).get("type") != "private":
            return None
        text = message.get("text") or message.get("caption")
        command = private_staff_command(text) if isinstance(text, str) else None
        sender = message.get("from")
        if command is None or not isinstance(sender, dict) or sender.get("is_bot"):
            return None
        user_id = str(sender.get("id", ""))
        if self.office.officer_ids:
            listed = user_id in self.office.officer_ids
            return Standing.OFFICER if listed else Standing.NOT_OFFICER
        if self.office.is_liaison(user_id) and command.action is not Action.ENTER:
            return None  # a listed liaison may use it whether or not an officer
        return await self._asked(user_id)

    async def _asked(self, user_id: str) -> Standing:
        now = self.clock()
        known = self._known.get(user_id)
        if known is not None and known[0] > now:
            return known[1]
        if not has_telegram_chat(self.office.officers_chat_id):
            return Standing.NOT_OFFICER  # officers on WhatsApp only: officer_ids, if any
        try:
            member = await self._member(int(user_id))
        except (TelegramError, ValueError) as exc:
            log.warning("telegram: is %s in the officers' group? unknown: %s", user_id, exc)
            return Standing.UNKNOWN
        standing = Standing.OFFICER if is_member(member) else Standing.NOT_OFFICER
        self._remember(user_id, now + REMEMBERED_SECONDS, standing)
        return standing

    async def _member(self, user_id: int) -> ChatMember:
        chat = self.office.officers_chat_id
        try:
            return await self.bot.get_chat_member(chat, user_id)
        except ChatMigrated as moved:  # the group became a supergroup
            return await self.bot.get_chat_member(moved.new_chat_id, user_id)

    def _remember(self, user_id: str, until: float, standing: Standing) -> None:
        self._known.pop(user_id, None)
        self._known[user_id] = (until, standing)
        while len(self._known) > REMEMBERED_PEOPLE:
            del self._known[next(iter(self._known))]
