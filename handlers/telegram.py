"""Telegram updates → the audience handlers. Only translation happens here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import ChatMemberUpdated, Message, Update

from bot.core import views
from bot.core.cases import CaseDesk, Refusal
from bot.core.commands import CITIZEN_WORDS, STAFF_WORDS
from bot.core.dialogue import CitizenInput, Rejected
from bot.core.model import Attachment, AttachmentKind, Channel, Location, OutgoingMessage, Recipient
from bot.core.permissions import Action, Audience, audience_of, refusal_for
from bot.core.reception import CitizenMessage
from bot.inbox.envelope import Standing
from handlers import citizens, entry, officers, roles, units
from handlers.staff import StaffMessage, parse_command, private_staff_command

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BotIdentity:
    id: int
    username: str


async def handle_update(
    desk: CaseDesk,
    data: dict[str, Any],
    me: BotIdentity,
    original_chat: Callable[[str], Awaitable[str]],
    rejected: tuple[Rejected, ...] = (),
    standing: Standing | None = None,
) -> None:
    """Translates one Telegram update and hands it to the handler of its audience.

    `original_chat` maps a group that migrated to a supergroup back to the id the
    agency file knows it by; `rejected` names the citizen's files refused before (the
    update no longer carries them); `standing` says whether the sender of a staff
    command in a private chat is an officer (found out before the transaction).
    """
    update = Update.de_json(data, None)
    if update.callback_query is not None:
        query = update.callback_query
        await desk.uow.outbox.enqueue(
            tap_notice(Recipient(Channel.TELEGRAM, str(query.from_user.id)), query.id)
        )
        if query.message is None or not isinstance(query.message, Message):
            return
        await _route(desk, query.message, me, original_chat, tap=query.data or "", tapper=query)
        return
    if update.my_chat_member is not None:
        await _membership(desk, update.my_chat_member, original_chat)
        return
    if update.edited_message is not None:
        edited = update.edited_message
        sender = edited.from_user
        if edited.chat.type == "private" and sender is not None and not sender.is_bot:
            # The bot read the first version; a silent edit would be lost on the reporter.
            chat = Recipient(Channel.TELEGRAM, str(edited.chat.id))
            await desk.tell(chat, desk.t("citizen_edit_ignored"))
        log.info("telegram: edited message %s in %s ignored", edited.message_id, edited.chat.id)
        return
    message = update.message
    if message is None:
        kind = next((k for k in data if k != "update_id"), "unknown")
        log.info("ignored telegram update %s of kind %s", update.update_id, kind)
        return
    await _route(
        desk,
        message,
        me,
        original_chat,
        tap=None,
        tapper=None,
        rejected=rejected,
        standing=standing,
    )


GONE = frozenset({"left", "kicked"})  # chat member statuses of a bot no longer in the chat


async def _membership(
    desk: CaseDesk, change: ChatMemberUpdated, original_chat: Callable[[str], Awaitable[str]]
) -> None:
    """The bot was added to or removed from a chat (or blocked by a user).

    A staff group that removes the bot keeps its messages waiting (the outbox retries
    them) and the officers are told; when the bot is added back they go out at once.
    An unknown group that adds the bot is told its id, for the agency file.
    """
    chat = change.chat
    gone = change.new_chat_member.status in GONE
    by = change.from_user.full_name if change.from_user else "?"
    if chat.type == "private":
        log.info("telegram: user %s %s the bot", chat.id, "blocked" if gone else "unblocked")
        return
    current = Recipient(Channel.TELEGRAM, str(chat.id))
    chat_id = await original_chat(current.address)
    audience = audience_of(desk.office, chat_id, private=False)
    if audience is Audience.STRANGER:
        log.info("telegram: bot %s unknown group %s", "left" if gone else "added to", chat.id)
        if not gone:
            await desk.tell(current, desk.t("err_unregistered_chat", chat_id=chat.id))
        return
    label = views.chat_label(desk.office, desk.t, Recipient(Channel.TELEGRAM, chat_id), None)
    if gone:
        log.warning("telegram: %s removed the bot from %s (%s)", by, label, chat.id)
        told = desk.office.officers_chat_id
        if audience is Audience.OFFICERS:
            told = desk.office.supervisor_chat_id or ""
        if told:
            notice = desk.t("officers_bot_removed", chat=label, name=by)
            await desk.tell(Recipient(Channel.TELEGRAM, told), notice)
        return
    waiting = await desk.uow.outbox.resume(current)
    log.info("telegram: bot back in %s (%s); %s messages waiting", label, chat.id, waiting)
    if waiting:
        await desk.tell(current, desk.t("group_bot_back", count=waiting))


async def _route(
    desk: CaseDesk,
    message: Message,
    me: BotIdentity,
    original_chat: Callable[[str], Awaitable[str]],
    *,
    tap: str | None,
    tapper: Any,
    rejected: tuple[Rejected, ...] = (),
    standing: Standing | None = None,
) -> None:
    user = tapper.from_user if tapper is not None else message.from_user
    if user is None or user.is_bot:
        return
    private = message.chat.type == "private"
    chat_id = str(message.chat.id) if private else await original_chat(str(message.chat.id))
    if private and chat_id == desk.office.supervisor_chat_id:
        private = False  # the supervisor is one person: their chat is the supervisor chat
    staff = StaffMessage(
        chat_id=chat_id,
        user_id=str(user.id),
        user_name=user.full_name or (user.username or str(user.id)),
        text=(message.text or message.caption or "").strip() if tap is None else "",
        attachments=attachments_of(message) if tap is None else (),
        album_id=message.media_group_id if tap is None else None,
    )
    if private:
        inp = citizen_input(message, tap, rejected)
        if await _staff_private(desk, staff, inp, standing):
            return
        command = parse_command(inp.text or "") if inp.text else None
        if command is not None and command.name not in CITIZEN_WORDS:
            action = STAFF_WORDS.get(command.name)
            key = refusal_for(action, Audience.CITIZEN) if action else "err_unknown_command"
            await desk.tell(staff.chat, desk.t(key or "err_unknown_command"))
            return
        await citizens.on_message(
            desk, CitizenMessage(Channel.TELEGRAM, chat_id, user.full_name or None, inp)
        )
        return
    audience = audience_of(desk.office, chat_id, private=private)
    try:
        await _staff(desk, staff, audience, message, me, tap)
    except Refusal as refusal:
        await desk.tell(staff.chat, desk.t(refusal.key, **refusal.params))


async def _staff(
    desk: CaseDesk,
    msg: StaffMessage,
    audience: Audience,
    message: Message,
    me: BotIdentity,
    tap: str | None,
) -> None:
    if tap is not None:
        await roles.on_tap(desk, msg, audience, tap)
        return
    command = parse_command(msg.text)
    if command is not None:
        if command.addressed_to and command.addressed_to.lower() != me.username.lower():
            return  # a command for another bot in the same group
        if command.action is None:
            if audience is not Audience.STRANGER:
                raise Refusal("err_unknown_command")
            return
        await roles.on_command(desk, msg, audience, command)
        return
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != me.id:
        if audience is Audience.UNIT and msg.album_id is not None:
            unit = desk.office.unit_for_chat(msg.chat_id)
            assert unit is not None
            await units.on_album_item(desk, msg, unit)
        return  # group chatter not meant for the bot
    ref = await desk.uow.outbox.find_sent(msg.chat, str(replied.message_id))
    if ref is not None:
        await roles.on_reply(desk, msg, audience, ref)


async def _staff_private(
    desk: CaseDesk, msg: StaffMessage, inp: CitizenInput, standing: Standing | None
) -> bool:
    """A private chat as an officer's or a liaison's (`Audience.STAFF_PRIVATE`): their
    staff commands, and every message of their complaint entry under way. False: the
    message is the citizen's (an officer may complain as a citizen too).

    An officer is listed in `officer_ids` when the agency file lists any, else a member
    of the officers' group (`standing`, asked of Telegram before the transaction); a
    liaison is listed in `[lapor] liaison_ids`. /catat is an officer's alone.
    """
    office = desk.office
    command = private_staff_command(msg.text) if inp.action is None else None
    if command is None or command.action is None:
        if not await entry.in_progress(desk, msg.chat_id):
            return False
        desk.staff_chats.add(msg.chat)
        await entry.on_input(desk, msg, inp)
        return True
    if office.officer_ids:
        officer = msg.user_id in office.officer_ids
    else:
        officer = standing is Standing.OFFICER
    liaison = office.is_liaison(msg.chat_id)
    unknown = standing is Standing.UNKNOWN
    if not officer and not liaison and not unknown:
        return False  # the citizen's chat: staff words get the citizen's refusal
    try:
        if not officer and not liaison:
            raise Refusal("entry_check_failed")
        key = refusal_for(command.action, Audience.STAFF_PRIVATE)
        if key is not None:
            raise Refusal(key, chat_id=msg.chat_id)
        desk.staff_chats.add(msg.chat)
        if command.action is Action.ENTER:
            if not officer:  # a liaison who is not an officer
                raise Refusal("entry_check_failed" if unknown else "err_staff_private_only")
            await entry.begin(desk, msg)
        else:
            await officers.on_command(desk, msg, command.action, command.args)
    except Refusal as refusal:
        await desk.tell(msg.chat, desk.t(refusal.key, **refusal.params))
    return True


def citizen_input(
    message: Message, tap: str | None, rejected: tuple[Rejected, ...]
) -> CitizenInput:
    """What a person sent in their private chat, channel-free."""
    text = message.text or message.caption if tap is None else None
    contact = None
    if tap is None and message.contact is not None:
        contact = message.contact.phone_number
    location = None
    if tap is None and message.location is not None:
        loc = message.location
        label = message.venue.title if message.venue is not None else None
        location = Location(loc.latitude, loc.longitude, label)
    supported = bool(text or contact or location or attachments_of(message))
    return CitizenInput(
        text=text,
        attachments=attachments_of(message) if tap is None else (),
        location=location,
        contact=contact,
        action=tap,
        album_id=message.media_group_id if tap is None else None,
        unsupported=tap is None and not supported,
        rejected=rejected,
    )


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    """The files a message carries, as references Telegram can send again (file_id)."""
    found: list[Attachment] = []
    if message.photo:
        largest = message.photo[-1]
        found.append(
            Attachment(
                AttachmentKind.PHOTO, largest.file_id, Channel.TELEGRAM, size=largest.file_size
            )
        )
    for kind, media in (
        (AttachmentKind.DOCUMENT, message.document),
        (AttachmentKind.VIDEO, message.video),
        (AttachmentKind.AUDIO, message.audio),
        (AttachmentKind.VOICE, message.voice),
    ):
        if media is not None:
            found.append(
                Attachment(
                    kind,
                    media.file_id,
                    Channel.TELEGRAM,
                    file_name=getattr(media, "file_name", None),
                    mime_type=getattr(media, "mime_type", None),
                    size=media.file_size,
                )
            )
    return tuple(found)


def tap_notice(recipient: Recipient, tap_id: str) -> OutgoingMessage:
    return OutgoingMessage(recipient=recipient, answers_tap=tap_id)
