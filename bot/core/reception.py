"""What happens to a citizen's message: a command, a step of the intake dialogue, a
rating, or more information for a case already filed. One path for every channel.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.core import buttons, views
from bot.core.buttons import Tap
from bot.core.cases import CaseDesk, Refusal
from bot.core.codes import PATTERN, find_code
from bot.core.commands import CITIZEN_WORDS
from bot.core.dialogue import (
    CHOOSE_CASE,
    IDLE,
    Choice,
    CitizenInput,
    IntakeDialogue,
    Outcome,
    Rejected,
    Reply,
    is_emergency,
    match_choice,
    remember_album,
)
from bot.core.files import BY_MIME, content_kind, names_of
from bot.core.model import Attachment, Button, Case, CaseStatus, Channel, Reporter
from bot.core.office import Office
from bot.core.ports import DialogueState, UnitOfWork
from bot.core.texts import Texts

log = logging.getLogger(__name__)

RATE_WINDOW = timedelta(minutes=1)  # the window of `Limits.messages_per_minute`
MAX_REMEMBERED_ALBUM_CASES = 20

_COMMAND = re.compile(r"^/?([a-z]+)(?:@\w+)?(?:\s+(.*))?$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class CitizenMessage:
    """A message from a citizen in a private chat, as the channel adapters give it."""

    channel: Channel
    address: str
    profile_name: str | None
    input: CitizenInput
    channel_contact: str | None = None  # known contact (a WhatsApp number)


def citizen_command(text: str) -> tuple[str, str] | None:
    """Recognises `status ADU-XXXX`, `/batal`, `bantuan`… as (command, argument)."""
    match = _COMMAND.match(text.strip())
    if not match:
        return None
    command = CITIZEN_WORDS.get(match.group(1).lower())
    argument = (match.group(2) or "").strip()
    if command is None:
        return None
    if command == "status" and argument and not PATTERN.search(argument.upper()):
        return None  # "status jalan rusak…" is a sentence, not the command
    if command in ("cancel", "help") and argument:
        return None
    if command == "start" and not text.strip().startswith("/") and argument:
        return None  # "baru saja terjadi…" is a sentence; "/start payload" is a deep link
    return command, argument


async def turns_away(
    uow: UnitOfWork,
    office: Office,
    channel: Channel,
    address: str,
    album_id: str | None,
    now: datetime,
) -> bool:
    """Whether `Reception.receive` will ignore the chat's next message unseen: its
    reporter is blocked, or has used up the minute's messages. Read-only: a channel asks
    before fetching a message's files, so that nobody's files are downloaded and kept
    for a message no one will look at. (Should the answer be out of date by the time
    the message is handled, the reporter is asked to send those files again.)"""
    reporter = await uow.reporters.find(channel, address)
    if reporter is None or reporter.id is None:
        return False
    if reporter.blocked_at is not None:
        return True
    state = await uow.dialogues.load(reporter.id) or DialogueState(IDLE, {})
    if not _counted(album_id, state):
        return False
    sent = await uow.reporters.messages_in_window(reporter.id, now, RATE_WINDOW) + 1
    return sent > office.limits.messages_per_minute


def _counted(album_id: str | None, state: DialogueState) -> bool:
    """Whether a message counts against the minute's allowance: a later item of an
    album already seen does not."""
    return album_id is None or album_id not in state.data.get("albums", [])


class Reception:
    """Routes one citizen message; everything it says goes to the outbox."""

    def __init__(self, desk: CaseDesk) -> None:
        self.desk = desk
        self.t = desk.t
        self.dialogue = IntakeDialogue(desk.t, desk.office.name)

    async def receive(self, message: CitizenMessage) -> None:
        uow = self.desk.uow
        inp = message.input
        where = (message.channel, message.address)
        state = await uow.dialogues.in_chat(*where) or DialogueState(IDLE, {})
        sent: int | None = None
        if _counted(inp.album_id, state):
            reporter, sent = await uow.reporters.arrived_counted(
                *where, message.profile_name, self.desk.now, RATE_WINDOW
            )
        else:
            reporter = await uow.reporters.arrived(*where, message.profile_name, self.desk.now)
        assert reporter.id is not None
        if reporter.blocked_at is not None:
            log.info("reporter %s is blocked: message ignored", reporter.id)
            return
        if sent is not None:
            limit = self.desk.office.limits.messages_per_minute
            if sent > limit:
                log.info("reporter %s: message %s this minute, ignored", reporter.id, sent)
                if sent == limit + 1:  # told once a minute, not at every message
                    await self.say(reporter, Reply(self.t("rate_limited")))
                return
        for rejected in inp.rejected:
            await self.say(reporter, Reply(self._rejection(rejected)))
        if inp.rejected and inp.unsupported:
            return  # nothing but refused files: the reporter has been told
        try:
            await self._route(reporter, message, inp, state)
        except Refusal as refusal:
            await self.say(reporter, Reply(self.t(refusal.key, **refusal.params)))

    def _rejection(self, rejected: Rejected) -> str:
        return rejection_text(self.t, self.desk.office, rejected)

    async def _route(
        self, reporter: Reporter, message: CitizenMessage, inp: CitizenInput, state: DialogueState
    ) -> None:
        assert reporter.id is not None
        command = citizen_command(inp.text) if inp.text and not inp.attachments else None
        if command is not None:
            await self._command(reporter, message, state, *command)
            return
        if inp.action and buttons.kind_of(inp.action) is Tap.RATING:
            await self._rate_tapped(reporter, inp.action)
            return
        if state.step not in (IDLE, CHOOSE_CASE):
            outcome = self.dialogue.advance(state, strip_choice(inp))
            await self._finish_dialogue(reporter, outcome)
            return
        if state.step == CHOOSE_CASE:  # "2" here picks a case; it is not a rating
            await self._choose_case(reporter, state, inp)
            return
        if await self._typed_rating(reporter, inp):
            return
        await self._outside_dialogue(reporter, message, inp, state)

    # ------------------------------------------------------------------ commands
    async def _command(
        self,
        reporter: Reporter,
        message: CitizenMessage,
        state: DialogueState,
        command: str,
        argument: str,
    ) -> None:
        assert reporter.id is not None
        dialogues = self.desk.uow.dialogues
        if command == "start":
            if await self._filed_enough_today(reporter):
                return
            outcome = self.dialogue.begin(
                profile_name=message.profile_name,
                channel_contact=message.channel_contact,
                albums=state.data.get("albums"),
            )
            await self._finish_dialogue(reporter, outcome)
        elif command == "cancel":
            if state.step == IDLE:  # in CHOOSE_CASE, cancelling drops the pending message
                await self.say(reporter, Reply(self.t("nothing_to_cancel")))
            else:
                await dialogues.save(reporter.id, _idle(state))
                await self.say(reporter, Reply(self.t("cancelled")))
        elif command == "help":
            await self.say(reporter, Reply(self.t("help_citizen", agency=self.desk.office.name)))
        else:
            await self._status(reporter, argument)

    async def _status(self, reporter: Reporter, argument: str) -> None:
        """Shows the reporter their own cases (never anyone else's)."""
        assert reporter.id is not None
        t, office = self.t, self.desk.office
        code = find_code(argument) if argument else None
        if code is not None:
            case = await self.desk.uow.cases.get_by_code(code)
            if case is None or case.reporter_id != reporter.id:
                await self.say(reporter, Reply(t("status_not_found", code=code)))
                return
            unit = office.unit(case.unit_code) if case.unit_code else None
            text = t(
                "status_detail",
                code=case.code,
                status=self._status_of(case),
                date=views.local_time(office, t, case.created_at),
                description=case.description,
                unit_line=t("status_unit_line", unit=unit.name) if unit else "",
                lapor_line=(
                    t("status_lapor_line", number=case.lapor_number) if case.lapor_number else ""
                ),
            )
            await self.say(reporter, Reply(text))
            return
        cases = await self.desk.uow.cases.recent_cases_of_reporter(reporter.id, 10)
        if not cases:
            await self.say(reporter, Reply(t("status_none")))
            return
        lines = [t("status_header")] + [
            t(
                "status_line",
                code=c.code,
                status=self._status_of(c),
                date=views.local_time(office, t, c.created_at),
            )
            for c in cases
        ]
        await self.say(reporter, Reply("\n".join(lines)))

    def _status_of(self, case: Case) -> str:
        """The case's status for its reporter; a duplicate names the case it joined."""
        status = self.t(f"status_{case.status.value}")
        if case.merged_into is None:
            return status
        return self.t("merged_status", status=status, main=case.merged_into)

    async def _filed_enough_today(self, reporter: Reporter) -> bool:
        """Whether the reporter filed the day's allowance of complaints (they are told)."""
        assert reporter.id is not None
        office, now = self.desk.office, self.desk.now
        local = now.astimezone(office.timezone)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        filed = await self.desk.uow.cases.count_filed_since(reporter.id, midnight)
        if filed < office.limits.cases_per_day:
            return False
        await self.say(reporter, Reply(self.t("daily_case_limit", count=filed)))
        return True

    # ------------------------------------------------------------------ dialogue
    async def _finish_dialogue(self, reporter: Reporter, outcome: Outcome) -> None:
        assert reporter.id is not None
        for reply in outcome.replies:
            await self.say(reporter, reply)
        if outcome.state is not None:
            await self.desk.uow.dialogues.save(reporter.id, outcome.state)
            return
        await self.desk.uow.dialogues.save(reporter.id, DialogueState(IDLE, {"albums": []}))
        if outcome.submission is not None:
            await self.desk.submit(reporter, outcome.submission)

    # ------------------------------------------------------------------ ratings
    async def _rate_tapped(self, reporter: Reporter, action: str) -> None:
        code, value = buttons.fields(action, 2)
        case = await self.desk.uow.cases.get_by_code(code)
        if case is None or not value.isdigit() or not 1 <= int(value) <= 5:
            raise Refusal("err_button_expired")
        await self.desk.rate(case, reporter, int(value))

    async def _typed_rating(self, reporter: Reporter, inp: CitizenInput) -> bool:
        text = inp.clean_text
        if inp.attachments or len(text) != 1 or text not in "12345":
            return False
        assert reporter.id is not None
        case = await self.desk.uow.cases.awaiting_rating(reporter.id)
        if case is None:
            return False
        await self.desk.rate(case, reporter, int(text))
        return True

    # ------------------------------------------------------------------ after filing
    async def _outside_dialogue(
        self, reporter: Reporter, message: CitizenMessage, inp: CitizenInput, state: DialogueState
    ) -> None:
        """A message with no intake in progress: it starts one, or goes to an open case."""
        assert reporter.id is not None
        uow = self.desk.uow
        album_cases: dict[str, str] = state.data.setdefault("album_cases", {})
        if inp.album_id in album_cases:  # a later item of an album already routed to a case
            case = await uow.cases.get_by_code(album_cases[inp.album_id or ""])
            if case is not None:
                await uow.dialogues.save(reporter.id, state)
                await self._add(reporter, case, inp, first_of_album=False)
                return
        if inp.action or (inp.unsupported and not inp.clean_text):
            await uow.dialogues.save(reporter.id, state)
            key = "err_button_expired" if inp.action else "unsupported_input"
            help_text = self.t("help_citizen", agency=self.desk.office.name)
            await self.say(reporter, Reply(self.t(key) + "\n\n" + help_text))
            return
        open_cases = await self._open_cases(reporter)
        waiting = [c for c in open_cases if c.status is CaseStatus.NEEDS_INFO]
        targets = waiting if len(waiting) == 1 else open_cases
        if not targets:  # the dialogue gives the 112 advice and remembers the album itself
            if await self._filed_enough_today(reporter):
                await uow.dialogues.save(reporter.id, state)
                return
            outcome = self.dialogue.begin(
                profile_name=message.profile_name,
                channel_contact=message.channel_contact,
                first=inp,
                albums=state.data.get("albums"),
            )
            await self._finish_dialogue(reporter, outcome)
            return
        if inp.clean_text and is_emergency(self.t, inp.clean_text):
            await self.say(reporter, Reply(self.t("emergency")))
        first_of_album = remember_album(state.data, inp.album_id)
        if len(targets) == 1:
            case = targets[0]
            if inp.album_id:
                _remember_album_case(album_cases, inp.album_id, case.code)
            await uow.dialogues.save(reporter.id, state)
            await self._add(reporter, case, inp, first_of_album=first_of_album)
            return
        state.step = CHOOSE_CASE
        state.data["pending"] = _pending(inp)
        state.data["pending_album"] = inp.album_id
        state.data["choices"] = [c.code for c in targets[:8]]
        await uow.dialogues.save(reporter.id, state)
        await self.say(reporter, Reply(self.t("followup_choose_case"), self._case_choices(state)))

    async def _choose_case(
        self, reporter: Reporter, state: DialogueState, inp: CitizenInput
    ) -> None:
        assert reporter.id is not None
        uow = self.desk.uow
        if inp.album_id and inp.album_id == state.data.get("pending_album"):
            state.data["pending"]["attachments"] += [a.to_dict() for a in inp.attachments]
            await uow.dialogues.save(reporter.id, state)
            return
        choices = self._case_choices(state)
        action = buttons.value_of(inp.action, Tap.CASE_CHOICE)
        code = match_choice(choices, CitizenInput(text=inp.text, action=action))
        if code is None and inp.text:
            found = find_code(inp.text)
            code = found if found in state.data.get("choices", []) else None
        if code is None:  # not a choice: keep it with the waiting message, ask again
            if inp.clean_text and is_emergency(self.t, inp.clean_text):
                await self.say(reporter, Reply(self.t("emergency")))
            more = _pending(inp)
            waiting = state.data["pending"]
            waiting["text"] = "\n".join(t for t in (waiting.get("text"), more["text"]) if t)
            waiting["attachments"] += more["attachments"]
            await uow.dialogues.save(reporter.id, state)
            listed = ", ".join(f"{n}. {c.label}" for n, c in enumerate(choices, 1))
            await self.say(reporter, Reply(self.t("choose_one", options=listed), choices))
            return
        case = await uow.cases.get_by_code(code)
        pending: dict[str, Any] = state.data.pop("pending", {})
        album = state.data.pop("pending_album", None)
        state.data.pop("choices", None)
        state.step = IDLE
        if album:
            _remember_album_case(state.data.setdefault("album_cases", {}), album, code)
        await uow.dialogues.save(reporter.id, state)
        if case is None or not case.status.is_open:
            await self.say(reporter, Reply(self.t("followup_closed_case", code=code)))
            return
        restored = CitizenInput(
            text=pending.get("text"),
            attachments=tuple(Attachment.from_dict(a) for a in pending.get("attachments", [])),
            album_id=album,
        )
        await self._add(reporter, case, restored, first_of_album=True)

    async def _open_cases(self, reporter: Reporter) -> list[Case]:
        """The open cases the reporter's message may be for, newest first: their own,
        and the main cases their duplicates were merged into (`/gabung`), whose news
        they get."""
        assert reporter.id is not None
        cases = self.desk.uow.cases
        own = await cases.open_cases_of_reporter(reporter.id)
        codes = {c.code for c in own}
        joined = [c for c in await cases.mains_of_reporter(reporter.id) if c.code not in codes]
        if not joined:
            return own
        return sorted([*own, *joined], key=lambda c: (c.created_at, c.id or 0), reverse=True)

    def _case_choices(self, state: DialogueState) -> tuple[Choice, ...]:
        return tuple(Choice(code, code) for code in state.data.get("choices", []))

    async def _add(
        self, reporter: Reporter, case: Case, inp: CitizenInput, *, first_of_album: bool
    ) -> None:
        text = _with_pin(inp)
        if not text and not inp.attachments:
            await self.say(reporter, Reply(self.t("unsupported_input")))
            return
        via = None
        if case.reporter_id != reporter.id:  # a main case their duplicate was merged into
            duplicates = await self.desk.uow.cases.merged_into(case.code)
            via = next((d for d in duplicates if d.reporter_id == reporter.id), None)
            if via is None:  # never someone else's case
                await self.say(reporter, Reply(self.t("followup_closed_case", code=case.code)))
                return
        await self.desk.add_from_reporter(
            case, reporter, text, inp.attachments, inp.album_id, first_of_album, via
        )

    # ------------------------------------------------------------------ output
    async def say(self, reporter: Reporter, reply: Reply) -> None:
        kind = (
            Tap.CASE_CHOICE
            if reply.choices and all(PATTERN.fullmatch(c.value) for c in reply.choices)
            else Tap.CHOICE
        )
        await self.desk.tell(reporter.recipient, reply.text, buttons=choice_rows(reply, kind))


def rejection_text(t: Texts, office: Office, rejected: Rejected) -> str:
    """Why a file was refused, saying what it really is: "berkas ini adalah program,
    bukan PDF" (not the accepted types, PDF among them, to whoever sent a ".pdf")."""
    key = rejected.reason
    if key == "media_type_not_allowed" and rejected.claimed:
        key = "media_type_disguised"
    reason = t(
        key,
        accepted=names_of(office.accepted_files),
        actual=_kind_of(t, rejected.actual),
        claimed=(rejected.claimed or "").upper(),
    )
    if rejected.name:
        return t("media_rejected_named", name=rejected.name, reason=reason)
    return t("media_rejected", number=rejected.number, reason=reason)


def _kind_of(t: Texts, mime: str | None) -> str:
    kind, found = content_kind(mime), BY_MIME.get(mime or "")
    if found is not None and kind != "text":
        return t("file_kind_named", name=found.name.upper())
    return t(f"file_kind_{kind}")


def choice_rows(reply: Reply, kind: Tap = Tap.CHOICE) -> tuple[tuple[Button, ...], ...]:
    """A reply's choices as buttons (numbered choices on WhatsApp)."""
    rows = tuple((Button(c.label, buttons.data(kind, c.value)),) for c in reply.choices)
    return _compact(rows)


def _compact(rows: tuple[tuple[Button, ...], ...]) -> tuple[tuple[Button, ...], ...]:
    """Puts short choices side by side (up to three a row), long ones alone."""
    flat = [b for row in rows for b in row]
    if all(len(b.label) <= 12 for b in flat):
        return tuple(tuple(flat[i : i + 3]) for i in range(0, len(flat), 3))
    return rows


def strip_choice(inp: CitizenInput) -> CitizenInput:
    """A tapped dialogue choice ("c:value") as the value the dialogue offered."""
    value = buttons.value_of(inp.action, Tap.CHOICE)
    return inp if value is None else replace(inp, action=value)


def _with_pin(inp: CitizenInput) -> str:
    """A follow-up's text, with the pin it shares as coordinates and a map link."""
    text = (inp.text or "").strip()
    if inp.location is None:
        return text
    where = f"{inp.location.latitude:.5f}, {inp.location.longitude:.5f}"
    return f"{text}\n📍 {where}\n{inp.location.map_url}".strip()


def _pending(inp: CitizenInput) -> dict[str, Any]:
    return {"text": _with_pin(inp), "attachments": [a.to_dict() for a in inp.attachments]}


def _idle(state: DialogueState) -> DialogueState:
    return DialogueState(IDLE, {"albums": state.data.get("albums", [])})


def _remember_album_case(album_cases: dict[str, str], album_id: str, code: str) -> None:
    album_cases[album_id] = code
    for old in list(album_cases)[:-MAX_REMEMBERED_ALBUM_CASES]:
        del album_cases[old]
