"""The case lifecycle the SOPs prescribe: submit, dispose, ask for more, answer, close.

Each step changes the case, writes its audit trail and queues what every person must
be told, all in the caller's unit of work (one transaction). Steps that a person may
not take raise `Refusal`, which the caller turns into a polite reply.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.core import budget, buttons, deadlines, mirror, recap, review, tasks, views
from bot.core.buttons import Tap
from bot.core.codes import new_code
from bot.core.dialogue import Submission
from bot.core.entry import Entry
from bot.core.lifecycle import Move, allows
from bot.core.model import (
    SYSTEM,
    Actor,
    Attachment,
    Button,
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    ContactDetails,
    EventKind,
    Intake,
    OutgoingMessage,
    Recipient,
    Relays,
    Reporter,
    Step,
    TaskKind,
)
from bot.core.office import (
    MAX_CATEGORY,
    AnswerReview,
    DispositionBy,
    Office,
    Unit,
    is_lapor_source,
)
from bot.core.ports import UnitOfWork
from bot.core.texts import Texts
from bot.core.tracing import CURRENT_CASE

log = logging.getLogger(__name__)

CASE_MESSAGE = "case"  # a message people answer by replying to it
ACKNOWLEDGEMENT = "acknowledgement"  # the SOP acknowledgement; its sending time is recorded
PROMPT_INFO = "prompt:lengkapi"
PROMPT_REFUSE = "prompt:tolak"
CONFIRM_MOVE = "confirm:pindah"  # asks before a tap moves a disposed case to another unit
RATING = "rating"  # the reporter's 1–5 buttons
PROMPT_PLAN = "prompt:rencana"  # asks the officers for a case's follow-up plan
PROPOSAL = "proposal"  # a case waiting for the supervisor's decision, with its buttons
REVIEW = "review"  # a unit's answer waiting for the reviewer, with its buttons
PROMPT_REVISE = "prompt:revisi"  # asks the reviewer for the note of a revision
PLAN_LIMIT = 2000  # characters of a follow-up plan
AGENCY_LIMIT = 200  # characters of the agency a case is transferred to
REVIEW_CONTEXT = 300  # characters of the complaint quoted to the reviewer of its answer
# The steps after which the buttons of the case's message in the officers' group change:
# the unit holding it is marked, or the case is closed and they go.
RESHAPES_BUTTONS = {
    EventKind.DISPOSED,
    EventKind.RETURNED,
    EventKind.REFUSED,
    EventKind.CLOSED,
    EventKind.EXPIRED,
    EventKind.MERGED,
    EventKind.PROPOSED,
    EventKind.RETURNED_UP,
    EventKind.FORWARDED,
}
CLOSING = (
    EventKind.CLOSED,
    EventKind.REFUSED,
    EventKind.EXPIRED,
    EventKind.MERGED,
    EventKind.FORWARDED,
)
# The steps that take a case out of the supervisor's hands (`[workflow]`): the buttons of
# the supervisor's message about it go.
DECIDES_PROPOSAL = frozenset(
    {
        EventKind.DISPOSED,
        EventKind.REFUSED,
        EventKind.CLOSED,
        EventKind.MERGED,
        EventKind.FORWARDED,
    }
)

# What one case can push into a staff group: its reporter's text follow-ups beyond
# RELAYS_PER_MINUTE in a minute wait, and go as one digest when the minute is over.
RELAY_WINDOW = timedelta(minutes=1)
RELAYS_PER_MINUTE = 3
DIGEST_ITEMS = 10  # follow-ups quoted in a digest (the rest are counted)
DIGEST_TEXT = 200  # characters quoted of each


class Refusal(Exception):
    """A step the person may not take now; `key` names the template that says why."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class CaseDesk:
    """The complaint desk for one transaction: changes cases and tells people."""

    def __init__(self, uow: UnitOfWork, office: Office, texts: Texts, now: datetime) -> None:
        self.uow = uow
        self.office = office
        self.t = texts
        self.now = now
        # "Kabari pelapor" messages kept back instead of sent (text, command to copy):
        # the patrol sends them within its one message per chat of a round.
        self.held_informs: list[tuple[str, str]] | None = None
        # Result reports of cases closed (`[workflow] follow_up_plan`) kept back likewise:
        # the patrol sends them within the supervisor's one message of a round.
        self.held_reports: list[str] | None = None
        # Private chats found to be a staff member's in this transaction (an officer's or
        # a liaison's, `Audience.STAFF_PRIVATE`): what they get is read as staff read it.
        self.staff_chats: set[Recipient] = set()

    # ------------------------------------------------------------------ helpers
    @property
    def officers(self) -> Recipient:
        return Recipient(Channel.TELEGRAM, self.office.officers_chat_id)

    def unit_chat(self, unit: Unit) -> Recipient:
        return Recipient(Channel.TELEGRAM, unit.chat_id)

    @property
    def supervisor(self) -> Recipient:
        """The chat that approves dispositions: the supervisor's (the officers' without one)."""
        return Recipient(Channel.TELEGRAM, self.office.step_chat_id(Step.APPROVE, None))

    async def tell(
        self,
        recipient: Recipient,
        text: str,
        case: Case | None = None,
        *,
        purpose: str | None = None,
        buttons: tuple[tuple[Button, ...], ...] = (),
        attachments: tuple[Attachment, ...] = (),
        album_key: str | None = None,
        template: str | None = None,
        params: tuple[tuple[str, str], ...] = (),
        urgent: bool = False,
        copyable: tuple[str, ...] = (),
    ) -> None:
        if not text and not attachments:
            return
        if recipient.channel is Channel.MANUAL:  # a reporter in no chat: an officer tells them
            await self._inform_by_hand(recipient, text, case, template, bool(attachments))
            return
        if views.staff_chat(self.office, recipient) or recipient in self.staff_chats:
            text = views.for_staff(text)
        await self.uow.outbox.enqueue(
            OutgoingMessage(
                recipient=recipient,
                text=text,
                buttons=buttons,
                attachments=attachments,
                case_id=case.id if case else None,
                case_code=case.code if case else None,
                purpose=purpose,
                album_key=album_key,
                template=template,
                params=params,
                urgent=urgent,
                copyable=copyable,
            )
        )

    async def edit_buttons(
        self,
        recipient: Recipient,
        case: Case,
        purpose: str,
        buttons: tuple[tuple[Button, ...], ...] = (),
    ) -> None:
        """Sets the buttons of the case's messages with that purpose in the chat (none:
        removes them), so that a done step's buttons are not tapped again."""
        if recipient.channel is not Channel.TELEGRAM:
            return  # WhatsApp lists choices as text; nothing to edit
        await self.uow.outbox.enqueue(
            OutgoingMessage(
                recipient=recipient,
                buttons=buttons,
                case_id=case.id,
                case_code=case.code,
                purpose=purpose,
                edits_buttons=True,
            )
        )

    async def tell_reporter(
        self,
        reporter: Reporter,
        key: str,
        case: Case,
        *,
        buttons: tuple[tuple[Button, ...], ...] = (),
        attachments: tuple[Attachment, ...] = (),
        album_key: str | None = None,
        purpose: str | None = None,
        to_merged: bool = True,
        **params: object,
    ) -> None:
        """Tells the reporter one of the templates (which the channel may need to know).

        News of a case reaches the reporters of the duplicates merged into it as well
        (`merged_reporters`), unless `to_merged` is False: the answer to what this
        reporter just did. Buttons (the rating) are the case's own reporter's alone.
        """
        await self._tell_reporter(
            reporter, key, case, buttons, attachments, album_key, purpose, params
        )
        if not to_merged or buttons:
            return
        for other, duplicate in await self.merged_reporters(case):
            await self._tell_reporter(
                other, key, duplicate, (), attachments, album_key, None, params
            )

    async def _tell_reporter(
        self,
        reporter: Reporter,
        key: str,
        case: Case,
        buttons: tuple[tuple[Button, ...], ...],
        attachments: tuple[Attachment, ...],
        album_key: str | None,
        purpose: str | None,
        params: dict[str, object],
    ) -> None:
        await self.tell(
            reporter.recipient,
            self.t(key, **params),
            case,
            purpose=purpose,
            buttons=buttons,
            attachments=attachments,
            album_key=album_key,
            template=key,
            params=tuple((name, str(value)) for name, value in params.items()),
        )

    async def merged_reporters(self, case: Case) -> list[tuple[Reporter, Case]]:
        """The reporters of the duplicates merged into the case, each with their
        duplicate, once each and without the case's own reporter."""
        seen = {case.reporter_id}
        found: list[tuple[Reporter, Case]] = []
        for duplicate in await self.uow.cases.merged_into(case.code):
            if duplicate.reporter_id in seen:
                continue
            seen.add(duplicate.reporter_id)
            found.append((await self.reporter_of(duplicate), duplicate))
        return found

    async def reporter_of(self, case: Case) -> Reporter:
        reporter = await self.uow.reporters.get(case.reporter_id)
        if reporter is None:  # the foreign key makes this impossible short of corruption
            raise LookupError(f"case {case.code} has no reporter {case.reporter_id}")
        return reporter

    async def _inform_by_hand(
        self,
        recipient: Recipient,
        text: str,
        case: Case | None,
        template: str | None,
        with_files: bool,
    ) -> None:
        """What the bot would tell a reporter in no chat becomes an INFORM task, and a
        "Kabari pelapor" message in the officers' group: the sentence, how to reach the
        reporter, who entered the case, and `/dikabari KODE cara` to record it done."""
        if not text or template in tasks.NOT_BY_HAND:
            return
        if case is None:  # every sentence for a reporter is about a case; for safety
            log.warning("a message for %s without a case was not turned into a task", recipient)
            return
        owner = await self._case_of(recipient, case)
        assert owner.id is not None
        task = tasks.new_task(self.office, owner, TaskKind.INFORM, self.now, text)
        await self.uow.tasks.add(task)
        waiting = await self.uow.tasks.open_of_case(owner.id, TaskKind.INFORM)
        message = tasks.inform_message(
            self.office, self.t, owner, task, earlier=len(waiting) - 1, with_files=with_files
        )
        command = self.t("command_informed", code=owner.code)
        if self.held_informs is not None:
            self.held_informs.append((message, command))
        else:
            await self.tell(self.officers, message, owner, copyable=(command,))

    async def _case_of(self, recipient: Recipient, case: Case) -> Case:
        """The case whose reporter `recipient` is: `case`, or, for news of a main case
        that reaches the reporter of a duplicate merged into it, that reporter's latest."""
        reporter = await self.uow.reporters.get(case.reporter_id)
        if reporter is not None and reporter.recipient == recipient:
            return case
        found = await self.uow.reporters.find(recipient.channel, recipient.address)
        if found is None or found.id is None:
            return case
        theirs = await self.uow.cases.recent_cases_of_reporter(found.id, 1)
        return theirs[0] if theirs else case

    async def find(self, code: str) -> Case:
        case = await self.uow.cases.get_by_code(code.upper())
        if case is None:
            raise Refusal("err_unknown_case", code=code.upper())
        CURRENT_CASE.set(case.code)
        return case

    def _require(self, case: Case, move: Move) -> None:
        if case.merged_into is not None:
            raise Refusal("err_case_merged", code=case.code, main=case.merged_into)
        if not allows(case.status, move):
            raise Refusal(
                "err_bad_status", code=case.code, status=self.t(f"status_{case.status.value}")
            )

    async def _record(
        self,
        case: Case,
        kind: EventKind,
        actor: Actor,
        note: str | None = None,
        attachments: tuple[Attachment, ...] = (),
        *,
        unit_code: str | None = None,
    ) -> None:
        """Saves the case and records the event (`unit_code`: the unit it names, when not
        the case's own, as a proposal's); restarts the step's clock; and reshapes the
        buttons the step leaves behind."""
        assert case.id is not None
        CURRENT_CASE.set(case.code)
        case.updated_at = self.now
        # The clock still shows the step the case was in before this event.
        was_in_review = case.watch is not None and case.watch.step is Step.REVIEW
        deadlines.follow(self.office, case, kind, self.now)
        recap.mark_milestones(self.office.calendar, case)
        await self.uow.cases.update(case)
        await self.uow.cases.add_event(
            case.id,
            CaseEvent(
                kind=kind,
                at=self.now,
                actor=actor,
                note=note,
                status_after=case.status,
                unit_code=unit_code or case.unit_code,
                attachments=attachments,
            ),
        )
        if kind in RESHAPES_BUTTONS:
            buttons = views.officers_case_buttons(self.office, self.t, case)
            await self.edit_buttons(self.officers, case, CASE_MESSAGE, buttons)
            await self.edit_buttons(self.officers, case, CONFIRM_MOVE)  # the questions are moot
        if kind in DECIDES_PROPOSAL and await self._was_proposed(case):
            await self.edit_buttons(self.supervisor, case, PROPOSAL)
        if was_in_review and case.status is not CaseStatus.IN_REVIEW:
            await self.edit_buttons(self.reviewer, case, REVIEW)  # approved, revised, closed

    async def _was_proposed(self, case: Case) -> bool:
        """Whether the case waited for the supervisor until the event just recorded."""
        assert case.id is not None
        if self.office.supervisor_chat_id is None:
            return False
        events = await self.uow.cases.events(case.id)
        return len(events) > 1 and events[-2].status_after is CaseStatus.PROPOSED

    async def _new_code(self) -> str:
        while True:
            code = new_code(self.office.code_prefix)
            if not await self.uow.cases.code_exists(code):
                return code

    # ------------------------------------------------------------------ SOP steps
    async def submit(self, reporter: Reporter, submission: Submission) -> Case:
        """Stores a confirmed complaint, acknowledges it and relays it to the officers."""
        assert reporter.id is not None
        case = Case(
            code=await self._new_code(),
            reporter_id=reporter.id,
            channel=reporter.channel,
            description=submission.description,
            created_at=self.now,
            updated_at=self.now,
            privacy=submission.privacy,
            location_text=submission.location_text,
            location=submission.location,
            occurred_text=submission.occurred_text,
            reporter_name=submission.name,
            reporter_contact=submission.contact,
            attachments=list(submission.attachments),
        )
        actor = Actor("reporter", reporter.address, submission.name)
        return await self._open(case, reporter, actor)

    async def enter(self, entry: Entry, officer: Actor, chat: Recipient) -> Case:
        """Records a complaint an officer entered from their private chat (`/catat`, SOP
        001 step 2) and starts its cycle as `submit` does: the officers' group gets it
        with who entered it, from which source, received when and its SP4N-LAPOR!
        number; the officer gets its code in `chat`.

        The officer is never its reporter. A reporter who agreed to news by WhatsApp is
        the WhatsApp reporter of that number (the acknowledgement and all later news go
        there as approved templates: they never wrote, so WhatsApp's window is shut);
        any other is a reporter of their own in no chat (Channel.MANUAL, one per case),
        told by an officer by hand. Nothing here counts against a reporter's limits.
        """
        code = await self._new_code()
        number = entry.lapor_number if is_lapor_source(entry.source) else None
        taken = await self.uow.cases.code_with_lapor_number(number) if number else None
        if taken is not None:  # the same LAPOR complaint again: kept, without the number
            number = None
        if entry.whatsapp and entry.whatsapp_news and Channel.WHATSAPP in self.office.reachable:
            reporter = await self.uow.reporters.get_or_create(
                Channel.WHATSAPP, entry.whatsapp, entry.name
            )
        else:
            reporter = await self.uow.reporters.get_or_create(Channel.MANUAL, code, entry.name)
        assert reporter.id is not None
        case = Case(
            code=code,
            reporter_id=reporter.id,
            channel=reporter.channel,
            description=entry.description,
            created_at=self.now,
            updated_at=self.now,
            privacy=entry.privacy,
            location_text=entry.location_text,
            location=entry.location,
            occurred_text=entry.occurred_text,
            reporter_name=entry.name,
            reporter_contact=entry.phone,
            attachments=list(entry.attachments),
            intake=Intake(
                source=entry.source,
                received_on=entry.received_on,
                entered_by_id=officer.user_id or "",
                entered_by_name=officer.describe(),
            ),
            contacts=ContactDetails(entry.whatsapp, entry.email, entry.address),
            lapor_number=number,
        )
        received = entry.received_on.strftime(self.t("date_only_format"))
        note = self.t("entry_event_note", source=entry.source, received=received)
        await self._open(case, reporter, officer, note)
        if reporter.channel is Channel.WHATSAPP:
            line = self.t("entry_done_whatsapp", number=reporter.address)
        else:
            line = self.t("entry_done_manual")
        if taken is not None:
            line += self.t(
                "entry_lapor_taken", number=entry.lapor_number, other=taken, code=case.code
            )
        await self.tell(chat, self.t("entry_done", code=case.code, reporter_line=line), case)
        return case

    async def _open(
        self, case: Case, reporter: Reporter, actor: Actor, note: str | None = None
    ) -> Case:
        """Stores a new case, records its submission, acknowledges it to the reporter (the
        SOP's sentence, with the code) and relays it to the officers."""
        deadlines.follow(self.office, case, EventKind.SUBMITTED, self.now)
        recap.mark_milestones(self.office.calendar, case)
        CURRENT_CASE.set(case.code)
        await self.uow.cases.add(case)
        assert case.id is not None
        await self.uow.cases.add_event(
            case.id,
            CaseEvent(EventKind.SUBMITTED, self.now, actor, note=note, status_after=case.status),
        )
        await self.tell_reporter(
            reporter,
            "acknowledgement",
            case,
            purpose=ACKNOWLEDGEMENT,
            to_merged=False,  # a new case has no duplicates yet
            code=case.code,
        )
        await self.tell(
            self.officers,
            views.officers_case_message(self.office, self.t, case),
            case,
            purpose=CASE_MESSAGE,
            buttons=views.officers_case_buttons(self.office, self.t, case),
            attachments=tuple(case.attachments),
            urgent=True,  # ahead of the follow-ups waiting in the group
            template=mirror.STAFF_NEW_CASE,  # to an officer's WhatsApp after 24 hours
        )
        return case

    async def dispose(self, code: str, unit_code: str, note: str | None, actor: Actor) -> Case:
        """Routes the case to a unit (disposisi); the reporter hears it is in process.

        The agency's chain of command (`[workflow]`) may come first: with a follow-up plan
        the note is the plan (without one, and none given before, the officers are asked
        for it and the disposition waits for it: `plan`); where the supervisor decides,
        the officers' disposition is a proposal (`propose`) that the supervisor approves
        (`approve_disposition`).
        """
        case = await self.find(code)
        unit = self._unit(unit_code)
        self._require(case, Move.DISPOSE)
        if case.status is CaseStatus.DISPOSED and case.unit_code == unit.code:
            raise Refusal("err_bad_status", code=case.code, status=self.t("status_didisposisi"))
        by_supervisor = self.office.workflow.disposition_by is DispositionBy.SUPERVISOR
        if by_supervisor and case.status is CaseStatus.PROPOSED and case.proposed_unit == unit.code:
            raise Refusal(
                "proposal_kept", code=case.code, unit=views.unit_label(self.office, unit.code)
            )
        if self.office.workflow.follow_up_plan:
            if note:  # the note is the plan
                plan = _plan_text(note)
                if len(plan) > PLAN_LIMIT:
                    raise Refusal("err_plan_too_long", limit=PLAN_LIMIT)
                await self._set_plan(case, plan, actor)
                note = None
            elif not case.plan:
                await self._ask_for_plan(case, unit)
                return case
        if by_supervisor:
            return await self.propose(case, unit, note, actor)
        return await self._dispose(case, unit, note, actor)

    async def _dispose(
        self,
        case: Case,
        unit: Unit,
        note: str | None,
        actor: Actor,
        officers_text: str | None = None,
    ) -> Case:
        """The disposition itself: the unit gets the case (with its plan, if any), the
        unit it leaves is told, the officers (`officers_text`, else who disposed it), and
        the reporter hears it is in process; a first disposition is its verification
        (SP4N-LAPOR!'s liaison gets it, where every case is entered there)."""
        previous = self.office.unit(case.unit_code) if case.unit_code else None
        verified = case.first_disposed_at is None  # its first disposition by the officers
        case.status = CaseStatus.DISPOSED
        case.unit_code = unit.code
        case.disposed_at = self.now
        case.proposed_unit = case.pending_unit = None
        if verified:
            case.first_disposed_at = self.now
        await self._record(case, EventKind.DISPOSED, actor, note)
        if previous is not None and previous.code != unit.code:
            await self.tell(
                self.unit_chat(previous), self.t("unit_case_moved", code=case.code), case
            )
        await self.tell(
            self.unit_chat(unit),
            views.unit_case_message(self.office, self.t, case, note),
            case,
            purpose=CASE_MESSAGE,
            attachments=tuple(case.attachments),
            template=mirror.STAFF_NEW_CASE,
        )
        await self.tell(
            self.officers,
            officers_text
            or self.t(
                "officers_disposed",
                code=case.code,
                unit=views.unit_label(self.office, unit.code),
                actor=actor.describe(),
                note_line=views.note_line(self.t, note),
            ),
            case,
        )
        reporter = await self.reporter_of(case)
        await self.tell_reporter(
            reporter, "reporter_disposed", case, code=case.code, unit=unit.name
        )
        if verified and tasks.needs_lapor_entry(self.office, case):
            await self._hand_to_liaison(case)
        return case

    async def dispose_by_tap(self, code: str, unit_code: str, actor: Actor) -> Case:
        """A disposition button: disposes a case no unit holds. A case a unit holds (an
        old message's button) is not moved by one tap: the officers are told where it is
        and asked whether to move it (`move_by_tap`); the typed /disposisi moves it."""
        case = await self.open_case(code)
        unit = self._unit(unit_code)
        held = views.holding_unit(case)
        if held is None:
            return await self.dispose(case.code, unit.code, None, actor)
        if held == unit.code or not allows(case.status, Move.DISPOSE):
            raise await self.moved_on(case)
        where = await self.moved_on(case)
        question = self.t(
            "confirm_move", code=case.code, unit=views.unit_label(self.office, unit.code)
        )
        await self.tell(
            self.officers,
            self.t(where.key, **where.params) + "\n" + question,
            case,
            purpose=CONFIRM_MOVE,
            buttons=views.move_buttons(self.t, case, unit.code),
        )
        return case

    async def move_by_tap(self, code: str, from_unit: str, to_unit: str, actor: Actor) -> Case:
        """The yes to `dispose_by_tap`'s question: moves the case if it is still where it
        was when asked (else says what happened since)."""
        case = await self.open_case(code)
        if views.holding_unit(case) != from_unit or not allows(case.status, Move.DISPOSE):
            raise await self.moved_on(case)
        return await self.dispose(case.code, to_unit, None, actor)

    async def keep_by_tap(self, code: str, actor: Actor) -> Case:
        """The no to `dispose_by_tap`'s question: the case stays; the question goes."""
        case = await self.find(code)
        await self.edit_buttons(self.officers, case, CONFIRM_MOVE)
        if not case.status.is_open:
            raise await self.moved_on(case)
        unit = views.unit_label(self.office, case.unit_code)
        kept = self.t("move_kept", code=case.code, unit=unit, actor=actor.describe())
        await self.tell(self.officers, kept, case)
        return case

    async def open_case(self, code: str) -> Case:
        """The case, for a button on it: a closed case's buttons say who closed it."""
        case = await self.find(code)
        if not case.status.is_open:
            raise await self.moved_on(case)
        return case

    async def moved_on(self, case: Case) -> Refusal:
        """What became of the case, and who did it when: the answer to a tap on a button
        of a step that is done."""
        assert case.id is not None
        events = await self.uow.cases.events(case.id)

        def last(*kinds: EventKind) -> CaseEvent | None:
            return next((e for e in reversed(events) if e.kind in kinds), None)

        status = self.t(f"status_{case.status.value}")
        held = views.holding_unit(case)
        event = last(*CLOSING) if not case.status.is_open else None
        key = "tap_closed"
        if event is None and held is not None:
            event, key = last(EventKind.DISPOSED), "tap_disposed"
        if event is None:
            event = next((e for e in reversed(events) if e.status_after == case.status), None)
            key = "tap_moved_on"
        if event is None:  # a case always has its submission; this is for safety
            return Refusal("err_bad_status", code=case.code, status=status)
        return Refusal(
            key,
            code=case.code,
            status=status,
            unit=views.unit_label(self.office, held),
            event=self.t(f"event_{event.kind.value}"),
            actor=views.event_actor(self.t, event),
            time=views.local_time(self.office, self.t, event.at),
        )

    async def categorize(self, code: str, category: str, actor: Actor) -> Case:
        """Files the case under a category (the agency file's list, if it has one)."""
        case = await self.find(code)
        name = self.office.category(category)
        if name is None and not self.office.categories:
            raise Refusal("err_category_too_long", limit=MAX_CATEGORY)
        if name is None:
            raise Refusal(
                "err_unknown_category",
                category=category[:MAX_CATEGORY],
                categories=", ".join(self.office.categories),
            )
        case.category = name
        await self._record(case, EventKind.CATEGORIZED, actor, name)
        await self.tell(
            self.officers,
            self.t("officers_categorized", code=case.code, category=name, actor=actor.describe()),
            case,
        )
        return case

    async def reveal_identity(self, code: str, reason: str, actor: Actor) -> Case:
        """Gives the unit holding the case the reporter's name and contact, on purpose and
        on the record (units never see them otherwise; anonim and rahasia not even the
        name)."""
        case = await self.find(code)
        unit = self.office.unit(case.unit_code) if case.unit_code else None
        # a unit whose case waits for the supervisor to move it holds it no longer
        if unit is None or not case.status.is_open or case.status is CaseStatus.PROPOSED:
            raise Refusal("err_reveal_no_unit", code=case.code)
        reporter = await self.reporter_of(case)
        contact = case.reporter_contact or (
            reporter.address if reporter.channel is Channel.WHATSAPP else None
        )
        dash = self.t("not_specified")
        await self._record(case, EventKind.REVEALED, actor, f"{unit.code}: {reason}")
        await self.tell(
            self.unit_chat(unit),
            self.t(
                "unit_identity_revealed",
                code=case.code,
                actor=actor.describe(),
                name=case.reporter_name or reporter.display_name or dash,
                contact=contact or dash,
                reason=reason,
            ),
            case,
        )
        await self.tell(
            self.officers,
            self.t(
                "officers_identity_revealed", code=case.code, unit=unit.code, actor=actor.describe()
            ),
            case,
        )
        return case

    async def block_reporter(self, code: str, reason: str | None, actor: Actor) -> Case:
        """Blocks the reporter of the case: their later messages are ignored (abuse)."""
        case = await self.find(code)
        await self.uow.reporters.set_blocked(case.reporter_id, self.now)
        await self._record(case, EventKind.BLOCKED, actor, reason)
        text = self.t("officers_blocked", code=case.code, actor=actor.describe())
        await self.tell(self.officers, text + views.note_line(self.t, reason), case)
        return case

    async def unblock_reporter(self, code: str, actor: Actor) -> Case:
        """Lifts the block on the case's reporter."""
        case = await self.find(code)
        await self.uow.reporters.set_blocked(case.reporter_id, None)
        await self._record(case, EventKind.UNBLOCKED, actor)
        text = self.t("officers_unblocked", code=case.code, actor=actor.describe())
        await self.tell(self.officers, text, case)
        return case

    async def request_info(self, code: str, message: str, actor: Actor) -> Case:
        """Asks the reporter to complete the report (minta kelengkapan); the case waits."""
        case = await self.find(code)
        self._require(case, Move.REQUEST_INFO)
        if case.status is not CaseStatus.NEEDS_INFO:
            case.status_before_info_request = case.status
        case.status = CaseStatus.NEEDS_INFO
        await self._record(case, EventKind.INFO_REQUESTED, actor, message)
        reporter = await self.reporter_of(case)
        await self.tell_reporter(
            reporter, "reporter_info_requested", case, code=case.code, message=message
        )
        await self.tell(
            self.officers,
            self.t(
                "officers_info_requested", code=case.code, actor=actor.describe(), message=message
            ),
            case,
        )
        return case

    async def refuse(self, code: str, reason: str, actor: Actor) -> Case:
        """Refuses a case outside the office's authority and tells the reporter why."""
        case = await self.find(code)
        self._require(case, Move.REFUSE)
        holder = self.office.unit(case.unit_code) if case.unit_code else None
        case.status = CaseStatus.REFUSED
        case.closed_at = self.now
        await self._record(case, EventKind.REFUSED, actor, reason)
        reporter = await self.reporter_of(case)
        await self.tell_reporter(reporter, "reporter_refused", case, code=case.code, reason=reason)
        await self.tell(
            self.officers,
            self.t("officers_refused", code=case.code, actor=actor.describe(), reason=reason),
            case,
        )
        if holder is not None:
            await self.tell(
                self.unit_chat(holder), self.t("unit_case_closed", code=case.code), case
            )
        return case

    async def close(self, code: str, note: str | None, actor: Actor) -> Case:
        """Closes the case (Selesai), tells the reporter and asks for a 1–5 rating."""
        case = await self.find(code)
        self._require(case, Move.CLOSE)
        holder = self.office.unit(case.unit_code) if case.unit_code else None
        reporter = await self.reporter_of(case)
        case.status = CaseStatus.CLOSED
        case.closed_at = self.now
        # A reporter in no chat has no buttons to rate with (`tasks.NOT_BY_HAND`).
        case.rating_requested = reporter.channel is not Channel.MANUAL
        await self._record(case, EventKind.CLOSED, actor, note)
        note_text = self.t("reporter_closed_note", note=note) if note else ""
        await self.tell_reporter(
            reporter, "reporter_closed", case, code=case.code, note_line=note_text
        )
        await self.tell_reporter(
            reporter,
            "rating_request",
            case,
            code=case.code,
            purpose=RATING,
            buttons=(
                tuple(
                    Button(self.t("btn_rating", rating=n), buttons.data(Tap.RATING, case.code, n))
                    for n in range(1, 6)
                ),
            ),
        )
        await self.tell(
            self.officers,
            self.t(
                "officers_closed",
                code=case.code,
                actor=actor.describe(),
                note_line=views.note_line(self.t, note),
            ),
            case,
        )
        if holder is not None:
            await self.tell(
                self.unit_chat(holder), self.t("unit_case_closed", code=case.code), case
            )
        await self._report_result(case, actor.describe())
        return case

    async def merge(self, duplicate_code: str, main_code: str, actor: Actor) -> Case:
        """Joins a duplicate report to the main case (`/gabung`): the duplicate is closed
        as merged, both histories name the other, and from now on the duplicate's
        reporter hears the main case's news (`tell_reporter`). Returns the duplicate."""
        if duplicate_code.upper() == main_code.upper():
            raise Refusal("err_merge_same", code=duplicate_code.upper())
        duplicate = await self.find(duplicate_code)
        main = await self.find(main_code)
        if duplicate.merged_into is not None:
            raise Refusal("err_merge_already", code=duplicate.code, main=duplicate.merged_into)
        if not duplicate.status.is_open:
            status = self.t(f"status_{duplicate.status.value}")
            raise Refusal("err_merge_closed", code=duplicate.code, status=status)
        if main.merged_into == duplicate.code:
            raise Refusal("err_merge_into_own_duplicate", code=main.code, duplicate=duplicate.code)
        if main.merged_into is not None:
            raise Refusal(
                "err_merge_main_merged",
                code=main.code,
                main=main.merged_into,
                duplicate=duplicate.code,
            )
        if not main.status.is_open:
            status = self.t(f"status_{main.status.value}")
            raise Refusal("err_merge_main_closed", code=main.code, status=status)
        holder = views.holding_unit(duplicate)
        # The duplicate's own duplicates follow it: their reporters hear the main's news.
        for earlier in await self.uow.cases.merged_into(duplicate.code):
            earlier.merged_into = main.code
            await self._record(earlier, EventKind.MERGED, actor, main.code)
            await self._record(main, EventKind.MERGED_IN, actor, earlier.code)
            await self._tell_merged(earlier, main)
        duplicate.status = CaseStatus.CLOSED
        duplicate.closed_at = self.now
        duplicate.status_before_info_request = None
        duplicate.merged_into = main.code
        await self._record(duplicate, EventKind.MERGED, actor, main.code)
        await self._record(main, EventKind.MERGED_IN, actor, duplicate.code)
        await self._tell_merged(duplicate, main)
        unit = self.office.unit(holder) if holder else None
        if unit is not None:
            text = self.t("unit_case_merged", code=duplicate.code, main=main.code)
            await self.tell(self.unit_chat(unit), text, duplicate)
        await self.tell(
            self.officers,
            self.t(
                "officers_merged",
                code=duplicate.code,
                main=main.code,
                actor=actor.describe(),
                status=self.t(f"status_{main.status.value}"),
                unit=views.unit_label(self.office, views.holding_unit(main)),
            ),
            duplicate,
        )
        CURRENT_CASE.set(duplicate.code)
        return duplicate

    async def _tell_merged(self, duplicate: Case, main: Case) -> None:
        reporter = await self.reporter_of(duplicate)
        await self.tell_reporter(
            reporter,
            "reporter_merged",
            duplicate,
            to_merged=False,
            code=duplicate.code,
            main=main.code,
        )

    async def answer(
        self,
        code: str,
        unit: Unit,
        text: str,
        attachments: tuple[Attachment, ...],
        actor: Actor,
        album_id: str | None = None,
    ) -> Case:
        """Takes the unit's answer to the reporter and the officers (status dijawab), or,
        where answers are reviewed (`[workflow] answer_review`), to the reviewer."""
        case = await self.find(code)
        if case.unit_code != unit.code:
            raise Refusal("err_not_your_case", code=case.code)
        self._require(case, Move.ANSWER)
        if self.office.workflow.answer_review is not AnswerReview.NONE:
            return await self._submit_answer(case, unit, text, attachments, actor, album_id)
        album_key = f"answer:{case.id}:{album_id}" if album_id else None
        await self._send_answer(case, unit, text, attachments, actor, album_key)
        if text or album_id is None:
            reporter = await self.reporter_of(case)
            by_hand = reporter.channel is Channel.MANUAL
            sent = "unit_answer_by_hand" if by_hand else "unit_answer_sent"
            await self.tell(self.unit_chat(unit), self.t(sent, code=case.code), case)
        return case

    async def _send_answer(
        self,
        case: Case,
        unit: Unit,
        text: str,
        attachments: tuple[Attachment, ...],
        actor: Actor,
        album_key: str | None,
        approved_by: Actor | None = None,
    ) -> None:
        """The answer reaches the reporter (and those of merged duplicates) and the
        officers; the case is answered (dijawab). `approved_by`: the reviewer who let it
        go, named to the officers."""
        case.status = CaseStatus.ANSWERED
        if case.answered_at is None:
            case.answered_at = self.now
        await self._record(
            case, EventKind.ANSWERED, actor, text or None, attachments, unit_code=unit.code
        )
        body = text or self.t("not_specified")
        reporter = await self.reporter_of(case)
        if text:
            await self.tell_reporter(
                reporter,
                "reporter_answered",
                case,
                attachments=attachments,
                album_key=album_key and f"{album_key}:r",
                code=case.code,
                unit=unit.name,
                answer=body,
            )
        else:  # more files of an album whose text came with its first item
            for told, about in [(reporter, case), *await self.merged_reporters(case)]:
                await self.tell(
                    told.recipient,
                    "",
                    about,
                    attachments=attachments,
                    album_key=album_key and f"{album_key}:r",
                )
        by_hand = reporter.channel is Channel.MANUAL  # the officers pass it on ("Kabari")
        said = ""
        if text:
            said = self.t(self._answered_key(by_hand), code=case.code, unit=unit.code, answer=body)
            if approved_by is not None:
                said += self.t("answer_approved_line", actor=approved_by.describe())
        await self.tell(
            self.officers,
            said,
            case,
            attachments=attachments,
            album_key=album_key and f"{album_key}:o",
        )

    async def return_to_officers(self, code: str, unit: Unit, reason: str, actor: Actor) -> Case:
        """The unit sends the case back (not its authority); officers must re-dispose."""
        case = await self.find(code)
        if case.unit_code != unit.code:
            raise Refusal("err_not_your_case", code=case.code)
        self._require(case, Move.RETURN)
        case.status = CaseStatus.RETURNED
        await self._record(case, EventKind.RETURNED, actor, reason)
        await self.tell(
            self.officers,
            self.t("officers_returned", code=case.code, unit=unit.code, reason=reason),
            case,
            purpose=CASE_MESSAGE,  # its buttons change with the case's, like the first's
            buttons=views.officers_case_buttons(self.office, self.t, case),
        )
        await self.tell(self.unit_chat(unit), self.t("unit_returned", code=case.code), case)
        return case

    # ------------------------------------------------------------------ chain of command
    # The agency's [workflow]: the supervisor approves dispositions, a disposition carries
    # a follow-up plan, and officers return a case up the chain or transfer it.
    @property
    def _reports_results(self) -> bool:
        """Whether closures send the supervisor a result report (SOP 004 step 6)."""
        return self.office.workflow.follow_up_plan and self.office.supervisor_chat_id is not None

    def _answered_key(self, by_hand: bool) -> str:
        """The officers' sentence for a unit's answer: with a follow-up plan it is the
        unit's result report (laporan hasil) to the team."""
        if self.office.workflow.follow_up_plan:
            return "officers_result_by_hand" if by_hand else "officers_result"
        return "officers_answered_by_hand" if by_hand else "officers_answered"

    async def propose(self, case: Case, unit: Unit, note: str | None, actor: Actor) -> Case:
        """An officer's disposition where the supervisor decides (`disposition_by =
        "supervisor"`, SOP 002 steps 5–6): the case waits for the supervisor, who gets it
        with its files and the proposal, to approve with one tap or pick another unit.
        The reporter hears nothing yet; a unit holding the case stops; a second proposal
        replaces the first."""
        held = self.office.unit(views.holding_unit(case) or "")
        case.status = CaseStatus.PROPOSED
        case.proposed_unit = unit.code
        case.pending_unit = None
        await self._record(case, EventKind.PROPOSED, actor, note, unit_code=unit.code)
        label = views.unit_label(self.office, unit.code)
        if held is not None:
            text = self.t("unit_case_proposed_away", code=case.code)
            await self.tell(self.unit_chat(held), text, case)
        header = self.t(
            "supervisor_proposal",
            code=case.code,
            unit=label,
            actor=actor.describe(),
            note_line=views.note_line(self.t, note),
        )
        await self._to_supervisor(case, header)
        text = self.t(
            "officers_proposed",
            code=case.code,
            unit=label,
            actor=actor.describe(),
            note_line=views.note_line(self.t, note),
        )
        await self.tell(self.officers, text, case)
        return case

    async def _to_supervisor(self, case: Case, header: str) -> None:
        """The case for the supervisor's decision, with its files and a button per choice
        (an earlier such message's buttons go)."""
        await self.edit_buttons(self.supervisor, case, PROPOSAL)
        command = self.t("command_approve", code=case.code)
        await self.tell(
            self.supervisor,
            views.supervisor_case_message(self.office, self.t, case, header),
            case,
            purpose=PROPOSAL,
            buttons=views.supervisor_buttons(self.office, self.t, case),
            attachments=tuple(case.attachments),
            copyable=(command,) if case.proposed_unit else (),
        )

    async def approve_disposition(
        self, code: str, actor: Actor, unit: str | None = None, note: str | None = None
    ) -> Case:
        """The supervisor's decision on a case waiting for them (`/setujui KODE [UNIT]`,
        the supervisor's `/disposisi KODE UNIT [catatan]`, or a button): disposed to the
        proposed unit, or to `unit`, exactly as the officers' disposition is otherwise.
        Where the supervisor decides dispositions they may also dispose a case that no one
        proposed."""
        case = await self.find(code)
        by_supervisor = self.office.workflow.disposition_by is DispositionBy.SUPERVISOR
        if case.status is CaseStatus.PROPOSED:
            self._require(case, Move.APPROVE_DISPOSITION)
        elif unit is not None and by_supervisor:
            self._require(case, Move.DISPOSE)
        elif case.merged_into is not None:
            raise Refusal("err_case_merged", code=case.code, main=case.merged_into)
        else:
            status = self.t(f"status_{case.status.value}")
            raise Refusal("err_not_proposed", code=case.code, status=status)
        if unit is None:
            if case.proposed_unit is None:
                raise Refusal("err_approve_no_unit", code=case.code, units=self.unit_codes())
            target = self._unit(case.proposed_unit)
        else:
            target = self._unit(unit)
            if case.status is CaseStatus.DISPOSED and case.unit_code == target.code:
                status = self.t("status_didisposisi")
                raise Refusal("err_bad_status", code=case.code, status=status)
        if self.office.workflow.follow_up_plan and not case.plan:
            command = self.t("command_plan", code=case.code)
            raise Refusal("err_approve_needs_plan", code=case.code, command=command)
        proposed = case.proposed_unit if case.status is CaseStatus.PROPOSED else None
        combined = await self._proposal_note(case)
        if note:
            supervisor_note = self.t("supervisor_note", note=note)
            combined = f"{combined} · {supervisor_note}" if combined else supervisor_note
        label = views.unit_label(self.office, target.code)
        if proposed == target.code:
            key, extra = "officers_disposition_approved", {}
        elif proposed is not None:
            key, extra = "officers_disposition_changed", {"proposed": proposed}
        else:
            key, extra = "officers_disposition_decided", {}
        text = self.t(
            key,
            code=case.code,
            unit=label,
            actor=actor.describe(),
            note_line=views.note_line(self.t, combined),
            **extra,
        )
        await self._dispose(case, target, combined, actor, officers_text=text)
        if self.supervisor != self.officers:
            await self.tell(self.supervisor, text, case)
        return case

    async def approve_by_tap(
        self, code: str, unit_code: str, actor: Actor, *, proposal: bool
    ) -> Case:
        """The supervisor's buttons: approve the proposal (`proposal`: still the one the
        button was made for), or dispose to another unit; a case decided since says so."""
        case = await self.open_case(code)
        if case.status is not CaseStatus.PROPOSED:
            raise await self.moved_on(case)
        if proposal and case.proposed_unit != unit_code:
            now = views.unit_label(self.office, case.proposed_unit)
            raise Refusal("proposal_changed", code=case.code, unit=now)
        return await self.approve_disposition(case.code, actor, unit_code)

    async def _proposal_note(self, case: Case) -> str | None:
        """The officer's note with the proposal the case waits on (None: none, or the case
        was returned to the supervisor rather than proposed)."""
        assert case.id is not None
        if case.status is not CaseStatus.PROPOSED:
            return None
        for event in reversed(await self.uow.cases.events(case.id)):
            if event.kind is EventKind.PROPOSED:
                return event.note
            if event.kind is EventKind.RETURNED_UP:
                return None
        return None

    async def _ask_for_plan(self, case: Case, unit: Unit) -> None:
        """The disposition to `unit` waits for the case's follow-up plan: the officers
        are asked for it (a reply to the question, or `/rencana KODE teks`)."""
        case.pending_unit = unit.code
        await self.uow.cases.update(case)
        command = self.t("command_plan", code=case.code)
        text = self.t(
            "prompt_plan",
            code=case.code,
            unit=views.unit_label(self.office, unit.code),
            command=command,
        )
        await self.tell(self.officers, text, case, purpose=PROMPT_PLAN, copyable=(command,))

    async def _set_plan(self, case: Case, plan: str, actor: Actor) -> None:
        if plan != case.plan:
            case.plan = plan
            await self._record(case, EventKind.PLANNED, actor, plan)

    async def plan(self, code: str, text: str, actor: Actor, chat: Recipient) -> Case:
        """`/rencana KODE teks` (or the reply to the question): records the case's
        follow-up plan (rencana tindak lanjut, SOP 004 step 3), or replaces it, while the
        case is open. A disposition that waited for it goes ahead; otherwise whoever holds
        the case (its unit, the supervisor deciding on it) gets the new plan."""
        if not self.office.workflow.follow_up_plan:
            raise Refusal("err_plan_off")
        case = await self.find(code)
        if case.merged_into is not None:
            raise Refusal("err_case_merged", code=case.code, main=case.merged_into)
        if not case.status.is_open:
            status = self.t(f"status_{case.status.value}")
            raise Refusal("err_bad_status", code=case.code, status=status)
        plan = _plan_text(text)
        if len(plan) > PLAN_LIMIT:
            raise Refusal("err_plan_too_long", limit=PLAN_LIMIT)
        if plan == case.plan:
            raise Refusal("plan_kept", code=case.code)
        pending = self.office.unit(case.pending_unit) if case.pending_unit else None
        case.pending_unit = None
        await self._set_plan(case, plan, actor)
        waiting = (
            pending is not None
            and allows(case.status, Move.DISPOSE)
            and not (case.status is CaseStatus.DISPOSED and case.unit_code == pending.code)
        )
        if pending is not None and waiting:
            if self.office.workflow.disposition_by is DispositionBy.SUPERVISOR:
                return await self.propose(case, pending, None, actor)
            return await self._dispose(case, pending, None, actor)
        text = self.t("officers_planned", code=case.code, actor=actor.describe(), plan=plan)
        await self._tell_officers_and(chat, text, case)
        held = self.office.unit(views.holding_unit(case) or "")
        if held is not None:
            told = self.t("unit_plan_updated", code=case.code, plan=plan)
            await self.tell(self.unit_chat(held), told, case)
        reached = self.reaches(self.supervisor, chat) or self.supervisor == self.officers
        if case.status is CaseStatus.PROPOSED and not reached:
            await self.tell(self.supervisor, text, case)
        return case

    async def return_up(self, code: str, reason: str, actor: Actor) -> Case:
        """`/kembalikan KODE alasan` in the officers' group: a case waiting for them goes
        back up the chain to the supervisor, who gets it with the reason and a button per
        unit (and may transfer it: `forward`)."""
        if self.office.supervisor_chat_id is None:
            raise Refusal("err_return_up_no_supervisor")
        case = await self.find(code)
        self._require(case, Move.RETURN_UP)
        case.status = CaseStatus.PROPOSED
        case.proposed_unit = case.pending_unit = None
        await self._record(case, EventKind.RETURNED_UP, actor, reason)
        header = self.t(
            "supervisor_returned_up", code=case.code, actor=actor.describe(), reason=reason
        )
        await self._to_supervisor(case, header)
        text = self.t("officers_returned_up", code=case.code, actor=actor.describe(), reason=reason)
        await self.tell(self.officers, text, case)
        return case

    async def forward(
        self, code: str, agency: str, note: str, actor: Actor, chat: Recipient
    ) -> Case:
        """`/alihkan KODE instansi | catatan`: the case is outside the office's authority
        (di luar kewenangan) and handed to another agency; it is closed, the reporter is
        told where it went and why, and a unit holding it stops."""
        case = await self.find(code)
        self._require(case, Move.FORWARD)
        agency = " ".join(agency.split())
        if len(agency) > AGENCY_LIMIT:
            raise Refusal("err_forward_agency_too_long", limit=AGENCY_LIMIT)
        holder = self.office.unit(views.holding_unit(case) or "")
        case.status = CaseStatus.FORWARDED
        case.closed_at = self.now
        case.forwarded_to = agency
        case.status_before_info_request = None
        case.proposed_unit = case.pending_unit = None
        await self._record(
            case, EventKind.FORWARDED, actor, self.t("forwarded_note", agency=agency, note=note)
        )
        reporter = await self.reporter_of(case)
        await self.tell_reporter(
            reporter, "reporter_forwarded", case, code=case.code, agency=agency, note=note
        )
        text = self.t(
            "officers_forwarded", code=case.code, actor=actor.describe(), agency=agency, note=note
        )
        await self._tell_officers_and(chat, text, case)
        if holder is not None:
            told = self.t("unit_case_forwarded", code=case.code, agency=agency)
            await self.tell(self.unit_chat(holder), told, case)
        return case

    async def _report_result(self, case: Case, closed_by: str) -> None:
        """At closure, the supervisor gets the case's result report in one message (SOP
        004 step 6: the team reports results and status to the Sekretaris)."""
        if not self._reports_results:
            return
        assert case.id is not None
        events = await self.uow.cases.events(case.id)
        text = views.result_report(self.office, self.t, case, events, closed_by)
        if self.held_reports is not None:
            self.held_reports.append(text)
        else:
            await self.tell(self.supervisor, text, case)

    # ------------------------------------------------------------------ answer review
    # `[workflow] answer_review`: a unit's answer goes to the reviewing chat (the officers'
    # or the supervisor's) and reaches the reporter only once approved (SOP 002 step 7–8).
    @property
    def reviewer(self) -> Recipient:
        """The chat that reviews the units' answers."""
        return Recipient(Channel.TELEGRAM, self.office.review_chat_id)

    async def _submit_answer(
        self,
        case: Case,
        unit: Unit,
        text: str,
        attachments: tuple[Attachment, ...],
        actor: Actor,
        album_id: str | None,
    ) -> Case:
        """The unit's answer waits for the reviewer (status ditinjau), who gets it with
        its files and a button to approve or to send it back. A message with text is a new
        version that replaces the one awaiting review; files alone join it."""
        adds = case.status is CaseStatus.IN_REVIEW and not text
        case.status = CaseStatus.IN_REVIEW
        await self._record(case, EventKind.ANSWER_SUBMITTED, actor, text or None, attachments)
        assert case.id is not None
        pending = review.pending_answer(await self.uow.cases.events(case.id))
        assert pending is not None
        album_key = f"review:{case.id}:{album_id}" if album_id else None
        if adds:
            told = "" if album_id else self.t("review_files_added", code=case.code)
            await self.tell(self.reviewer, told, case, attachments=attachments, album_key=album_key)
            return case
        await self.edit_buttons(self.reviewer, case, REVIEW)  # an earlier version's
        command = self.t("command_approve", code=case.code)
        replaces = pending.version > 1 and self.t("review_new_version", version=pending.version)
        await self.tell(
            self.reviewer,
            self.t(
                "review_request",
                code=case.code,
                unit=views.unit_label(self.office, unit.code),
                actor=actor.describe(),
                version_line=replaces or "",
                complaint=_shortened(case.description, REVIEW_CONTEXT),
                answer=text or self.t("review_files_only"),
                commands=self.t("review_commands", code=case.code),
            ),
            case,
            purpose=REVIEW,
            buttons=views.review_buttons(self.t, case, pending.version),
            attachments=attachments,
            album_key=album_key,
            copyable=(command,),
        )
        if text or album_id is None:
            where = views.reviewer(self.office, self.t)
            sent = self.t("unit_answer_in_review", code=case.code, reviewer=where)
            await self.tell(self.unit_chat(unit), sent, case)
        return case

    async def _pending(
        self, code: str, chat: Recipient, version: int | None
    ) -> tuple[Case, review.PendingAnswer]:
        """The case named by the reviewer's command or button, with its answer awaiting
        review; refuses a case not under review, another chat than the reviewing one, and
        a button made for a version the unit has since replaced."""
        if self.office.workflow.answer_review is AnswerReview.NONE:
            raise Refusal("err_review_off")
        case = await self.find(code)
        assert case.id is not None
        events = await self.uow.cases.events(case.id)
        pending = review.pending_answer(events)
        if case.merged_into is not None:
            raise Refusal("err_case_merged", code=case.code, main=case.merged_into)
        if pending is None or case.status is not CaseStatus.IN_REVIEW:
            if version is not None:  # a button of an answer that was dealt with
                raise self._review_done(case, events)
            status = self.t(f"status_{case.status.value}")
            raise Refusal("err_not_in_review", code=case.code, status=status)
        self._require(case, Move.REVIEW_ANSWER)
        if not self.reaches(self.reviewer, chat):
            where = views.reviewer(self.office, self.t)
            raise Refusal("err_review_elsewhere", code=case.code, reviewer=where)
        if version is not None and version != pending.version:
            raise Refusal("review_version_changed", code=case.code, version=pending.version)
        return case, pending

    def _review_done(self, case: Case, events: list[CaseEvent]) -> Refusal:
        """What became of an answer a reviewer's button was made for."""
        since = next((e for e in reversed(events) if e.kind is EventKind.ANSWER_SUBMITTED), None)
        after = events[events.index(since) + 1 :] if since is not None else events
        event = next((e for e in after if e.status_after is not CaseStatus.IN_REVIEW), None)
        if event is None:  # for safety: a case under review has its submission
            return Refusal("err_button_expired")
        return Refusal(
            "tap_moved_on",
            code=case.code,
            status=self.t(f"status_{case.status.value}"),
            event=self.t(f"event_{event.kind.value}"),
            actor=views.event_actor(self.t, event),
            time=views.local_time(self.office, self.t, event.at),
        )

    async def approve_answer(
        self,
        code: str,
        actor: Actor,
        chat: Recipient,
        text: str | None = None,
        version: int | None = None,
    ) -> Case:
        """The reviewer lets the unit's answer go (`/setujui KODE [teks]`, or ✅ on
        version `version`): it reaches the reporter as the unit's, with the reviewer's
        corrected text when given; the unit is told, and shown what was changed."""
        case, pending = await self._pending(code, chat, version)
        unit = self._unit(pending.unit_code or case.unit_code or "")
        final = (text or "").strip() or pending.text or ""
        await self._send_answer(
            case, unit, final, pending.attachments, actor, None, approved_by=actor
        )
        reporter = await self.reporter_of(case)
        by_hand = reporter.channel is Channel.MANUAL
        told = self.t(
            "unit_answer_approved_by_hand" if by_hand else "unit_answer_approved",
            code=case.code,
            actor=actor.describe(),
        )
        if final != (pending.text or ""):
            told += "\n\n" + self._changes_text(pending.text or "", final)
        await self.tell(self.unit_chat(unit), told, case)
        if self.reviewer != self.officers:
            done = self.t("review_approved", code=case.code, actor=actor.describe())
            await self.tell(self.reviewer, done, case)
        return case

    def _changes_text(self, old: str, new: str) -> str:
        """The reviewer's corrections, for the unit: each change, then the text sent."""
        found, more = review.changes(old, new)
        lines = []
        for removed, added in found:
            if removed and added:
                lines.append(self.t("review_change_replaced", old=removed, new=added))
            elif removed:
                lines.append(self.t("review_change_removed", old=removed))
            else:
                lines.append(self.t("review_change_added", new=added))
        if more:
            lines.append(self.t("review_change_more", count=more))
        return self.t("unit_answer_changed", changes="\n".join(lines), answer=new)

    async def revise_answer(
        self,
        code: str,
        note: str,
        actor: Actor,
        chat: Recipient,
        version: int | None = None,
    ) -> Case:
        """The reviewer sends the unit's answer back with a note (`/revisi KODE catatan`,
        or the reply to ✍️): the unit holds the case again, on a fresh clock, and answers
        anew by replying to the note or with /jawab."""
        case, pending = await self._pending(code, chat, version)
        unit = self._unit(pending.unit_code or case.unit_code or "")
        case.status = CaseStatus.DISPOSED
        await self._record(case, EventKind.REVISION, actor, note, unit_code=unit.code)
        command = self.t("command_answer", code=case.code)
        told = self.t(
            "unit_revision", code=case.code, actor=actor.describe(), note=note, command=command
        )
        await self.tell(self.unit_chat(unit), told, case, purpose=CASE_MESSAGE, copyable=(command,))
        label = views.unit_label(self.office, unit.code)
        done = self.t("review_revision_sent", code=case.code, unit=label, actor=actor.describe())
        await self.tell(self.reviewer, done, case)
        return case

    async def ask_revision_note(self, code: str, chat: Recipient, version: int) -> Case:
        """✍️ on an answer under review: asks for the note, as a reply or a command."""
        case, _ = await self._pending(code, chat, version)
        command = self.t("command_revise", code=case.code)
        text = self.t("prompt_revision", code=case.code, command=command)
        await self.tell(chat, text, case, purpose=PROMPT_REVISE, copyable=(command,))
        return case

    async def add_from_reporter(
        self,
        case: Case,
        reporter: Reporter,
        text: str,
        attachments: tuple[Attachment, ...],
        album_id: str | None,
        first_of_album: bool,
        via: Case | None = None,
    ) -> Case:
        """Appends what the reporter sent to their case and relays it to whoever holds it.

        After `/lengkapi` this completes the report and the case moves on from where it
        was; otherwise it is a follow-up message. `via` is the reporter's duplicate that
        was merged into `case`, when the case is not their own: staff are told so.
        """
        completing = case.status is CaseStatus.NEEDS_INFO
        actor = Actor("reporter", reporter.address, (via or case).reporter_name)
        if completing:
            case.status = case.status_before_info_request or CaseStatus.NEW
            case.status_before_info_request = None
        kind = EventKind.INFO_ADDED if completing else EventKind.FOLLOW_UP
        held = kind is EventKind.FOLLOW_UP and not attachments and self._hold(case)
        await self._record(case, kind, actor, text or None, attachments)
        if held:  # relayed with the others in one digest (`relay_digest`)
            await self.tell_reporter(
                reporter, "followup_added", case, to_merged=False, code=case.code
            )
            return case
        body = views.relayed_text(self.t, text, case.code) if text else self.t("not_specified")
        if via is not None:
            body = self.t("followup_from_duplicate", code=via.code, text=body)
        album_key = f"reporter:{case.id}:{album_id}" if album_id else None
        show_text = bool(text) or first_of_album
        key = "officers_info_added" if kind is EventKind.INFO_ADDED else "officers_followup"
        await self.tell(
            self.officers,
            self.t(key, code=case.code, text=body) if show_text else "",
            case,
            attachments=attachments,
            album_key=album_key and f"{album_key}:o",
        )
        unit = self.office.unit(case.unit_code) if case.unit_code else None
        if unit is not None and allows(case.status, Move.RELAY_TO_UNIT):
            await self.tell(
                self.unit_chat(unit),
                self.t("unit_followup", code=case.code, text=body) if show_text else "",
                case,
                purpose=CASE_MESSAGE,  # the unit may answer by replying to this too
                attachments=attachments,
                album_key=album_key and f"{album_key}:u",
            )
        if first_of_album:
            reply = "info_added" if completing else "followup_added"
            await self.tell_reporter(reporter, reply, case, to_merged=False, code=case.code)
        return case

    def _hold(self, case: Case) -> bool:
        """Counts a text follow-up against the case's relays this minute; true when it
        must wait for the case's digest instead (RELAYS_PER_MINUTE went already, or a
        digest waits: later ones join it, so the groups read them in order).

        Follow-ups with files are always relayed at once (the files are the evidence).
        """
        relays = case.relays
        if relays.held:
            relays.held += 1
            return True
        if relays.window_at is None or self.now - relays.window_at >= RELAY_WINDOW:
            relays.window_at, relays.relayed = self.now, 0
        if relays.relayed < RELAYS_PER_MINUTE:
            relays.relayed += 1
            return False
        relays.held = 1
        relays.digest_at = relays.window_at + RELAY_WINDOW
        return True

    async def relay_digest(self, case: Case) -> Case:
        """Relays the follow-ups held back for the case as one message to each group that
        got them (what is due: `CaseRepository.digests_due`). The digest counts as one of
        the next minute's relays."""
        assert case.id is not None
        CURRENT_CASE.set(case.code)
        follow_ups = [
            e.note or self.t("not_specified")
            for e in await self.uow.cases.events(case.id)
            if e.kind is EventKind.FOLLOW_UP and not e.attachments
        ]
        texts = follow_ups[len(follow_ups) - case.relays.held :]
        lines = [
            self.t("followup_digest_item", text=_shortened(text, DIGEST_TEXT))
            for text in texts[:DIGEST_ITEMS]
        ]
        if len(texts) > DIGEST_ITEMS:
            lines.append(self.t("followup_digest_more", count=len(texts) - DIGEST_ITEMS))
        case.relays = Relays(window_at=self.now, relayed=1)
        await self.uow.cases.update(case)
        if not texts:
            return case
        items = "\n".join(lines)
        await self.tell(
            self.officers,
            self.t("officers_followup_digest", code=case.code, count=len(texts), items=items),
            case,
        )
        unit = self.office.unit(case.unit_code) if case.unit_code else None
        if unit is not None and allows(case.status, Move.RELAY_TO_UNIT):
            await self.tell(
                self.unit_chat(unit),
                self.t("unit_followup_digest", code=case.code, count=len(texts), items=items),
                case,
                purpose=CASE_MESSAGE,  # the unit may answer by replying to this too
            )
        return case

    async def rate(self, case: Case, reporter: Reporter, rating: int) -> Case:
        """Stores the reporter's 1–5 satisfaction rating of a closed case."""
        if case.reporter_id != reporter.id:
            raise Refusal("err_button_expired")
        if not case.rating_requested:
            if case.rating is not None:
                raise Refusal("rating_already_given", code=case.code, rating=case.rating)
            raise Refusal("err_button_expired")
        case.rating = rating
        case.rating_requested = False
        actor = Actor("reporter", reporter.address, case.reporter_name)
        await self._record(case, EventKind.RATED, actor, str(rating))
        await self.edit_buttons(reporter.recipient, case, RATING)
        await self.tell_reporter(
            reporter, "rating_thanks", case, to_merged=False, code=case.code, rating=rating
        )
        await self.tell(
            self.officers, self.t("officers_rated", code=case.code, rating=rating), case
        )
        if self._reports_results:  # the result report went without it: a line follows
            text = self.t("supervisor_rated_later", code=case.code, rating=rating)
            await self.tell(self.supervisor, text, case)
        return case

    async def remind(self, case: Case) -> Case:
        """Reminds a reporter asked for more that the case closes unless they answer."""
        assert case.id is not None and case.watch is not None
        request = next(
            (
                e.note
                for e in reversed(await self.uow.cases.events(case.id))
                if e.kind is EventKind.INFO_REQUESTED and e.note
            ),
            self.t("not_specified"),
        )
        case.watch.reminded_at = self.now
        await self._record(case, EventKind.REMINDED, SYSTEM)
        reporter = await self.reporter_of(case)
        await self.tell_reporter(
            reporter,
            "reporter_info_reminder",
            case,
            code=case.code,
            message=request,
            deadline=views.local_time(self.office, self.t, case.watch.due_at),
        )
        return case

    async def expire(self, case: Case) -> str:
        """Closes a case whose reporter let their step run out; returns the reason.

        After `/lengkapi` the report is closed as incomplete; after an answer the
        reporter's silence closes it. The reporter is told why; the caller tells staff.
        """
        assert case.watch is not None and case.watch.step.held_by_reporter
        step = case.watch.step
        days = budget.words(self.t, self.office.deadlines.budget(step))
        reason = self.t(f"expired_{step.value}", days=days)
        case.status = CaseStatus.CLOSED
        case.closed_at = self.now
        case.status_before_info_request = None
        await self._record(case, EventKind.EXPIRED, SYSTEM, reason)
        reporter = await self.reporter_of(case)
        key = "reporter_closed_incomplete" if step is Step.COMPLETE else "reporter_closed_silent"
        await self.tell_reporter(reporter, key, case, code=case.code, days=days)
        await self._report_result(case, self.t("role_system"))
        return reason

    # ------------------------------------------------------------------ tasks
    async def informed(self, code: str, how: str, actor: Actor, chat: Recipient) -> Case:
        """`/dikabari KODE [cara]`: an officer told a reporter who is in no chat the news
        waiting for them (SOP 002 step 8): every open INFORM task of the case is done."""
        case = await self.find(code)
        assert case.id is not None
        waiting = await self.uow.tasks.open_of_case(case.id, TaskKind.INFORM)
        if not waiting:
            if case.channel is Channel.MANUAL:
                raise Refusal("informed_nothing_waiting", code=case.code)
            channel = self.t(f"channel_{case.channel.value}")
            raise Refusal("informed_not_by_hand", code=case.code, channel=channel)
        note = how.strip() or None
        for task in waiting:
            tasks.finish(task, self.now, actor.describe(), note)
            await self.uow.tasks.update(task)
        await self._record(case, EventKind.INFORMED, actor, note)
        text = self.t(
            "officers_informed",
            code=case.code,
            actor=actor.describe(),
            count=len(waiting),
            how=self.t("informed_how", how=tasks.shown(note, 200)) if note else "",
        )
        await self._tell_officers_and(chat, text, case)
        return case

    async def link_lapor(self, code: str, typed: str, actor: Actor, chat: Recipient) -> Case:
        """`/lapor KODE NOMOR`: records the case's SP4N-LAPOR! tracking number (again:
        replaces it, on the record). Where the agency enters every complaint into LAPOR,
        this is the liaison's entry done (SOP 003 step 4), and their watch of the Admin
        Koordinator's disposition begins (step 5)."""
        case = await self.find(code)
        assert case.id is not None
        number = tasks.lapor_number(typed)
        if number is None:
            raise Refusal("err_lapor_number", number=tasks.shown(typed), code=case.code)
        if case.lapor_number == number:
            raise Refusal("lapor_number_kept", code=case.code, number=number)
        other = await self.uow.cases.code_with_lapor_number(number)
        if other is not None and other != case.code:
            raise Refusal("err_lapor_number_taken", code=case.code, number=number, other=other)
        previous = case.lapor_number
        case.lapor_number = number
        note = number
        if previous is not None:
            note = self.t("lapor_number_replaced_note", number=number, previous=previous)
        await self._record(case, EventKind.LAPOR_LINKED, actor, note)
        for task in await self.uow.tasks.open_of_case(case.id, TaskKind.LAPOR_ENTRY):
            tasks.finish(task, self.now, actor.describe(), number)
            await self.uow.tasks.update(task)
        watch = ""
        if tasks.monitors_lapor(self.office, case) and not await self.uow.tasks.of_case(
            case.id, TaskKind.LAPOR_MONITOR
        ):
            task = tasks.new_task(self.office, case, TaskKind.LAPOR_MONITOR, self.now)
            await self.uow.tasks.add(task)
            watch = self.t(
                "lapor_watch_line", due=views.local_time(self.office, self.t, task.due_at)
            )
        key = "officers_lapor_linked" if previous is None else "officers_lapor_relinked"
        text = self.t(
            key,
            code=case.code,
            number=number,
            previous=previous or "",
            actor=actor.describe(),
            watch=watch,
        )
        await self._tell_officers_and(chat, text, case)
        return case

    async def lapor_status(self, code: str, status: str, actor: Actor, chat: Recipient) -> Case:
        """`/lapor KODE status teks`: records what SP4N-LAPOR! says of the case (the
        Admin Koordinator's disposition, the agency's follow-up), in its history; the
        liaison's watch (SOP 003 step 5) is done."""
        case = await self.find(code)
        assert case.id is not None
        if case.lapor_number is None:
            raise Refusal("err_lapor_status_no_number", code=case.code)
        status = status.strip()
        last = next(
            (
                e
                for e in reversed(await self.uow.cases.events(case.id))
                if e.kind is EventKind.LAPOR_STATUS
            ),
            None,
        )
        if last is not None and last.note == status:
            raise Refusal(
                "lapor_status_kept",
                code=case.code,
                time=views.local_time(self.office, self.t, last.at),
                actor=views.event_actor(self.t, last),
            )
        await self._record(case, EventKind.LAPOR_STATUS, actor, status)
        for task in await self.uow.tasks.open_of_case(case.id, TaskKind.LAPOR_MONITOR):
            tasks.finish(task, self.now, actor.describe(), status)
            await self.uow.tasks.update(task)
        text = self.t(
            "officers_lapor_status",
            code=case.code,
            number=case.lapor_number,
            actor=actor.describe(),
            status=status,
        )
        await self._tell_officers_and(chat, text, case)
        return case

    async def _hand_to_liaison(self, case: Case) -> None:
        """SOP 003 step 3: the verified complaint goes to the liaison, laid out as LAPOR's
        manual form with its files, to be entered within `liaison_days`."""
        assert case.id is not None
        task = tasks.new_task(self.office, case, TaskKind.LAPOR_ENTRY, self.now)
        await self.uow.tasks.add(task)
        due = views.local_time(self.office, self.t, task.due_at)
        await self._record(
            case, EventKind.LAPOR_HANDOVER, SYSTEM, self.t("lapor_handover_note", due=due)
        )
        events = await self.uow.cases.events(case.id)
        command = self.t("command_lapor_number", code=case.code)
        text = self.t(
            "liaison_handover",
            code=case.code,
            due=due,
            form=views.lapor_form(self.office, self.t, case, events),
            command=command,
        )
        for chat in tasks.holder_chats(self.office, TaskKind.LAPOR_ENTRY):
            await self.tell(
                Recipient(Channel.TELEGRAM, chat),
                text,
                case,
                attachments=tuple(case.attachments),
                copyable=(command,),
            )

    async def _tell_officers_and(self, chat: Recipient, text: str, case: Case) -> None:
        """Tells the officers' group, and the chat the command came from if another."""
        await self.tell(self.officers, text, case)
        if not self.reaches(self.officers, chat):
            await self.tell(chat, text, case)

    def reaches(self, role: Recipient, chat: Recipient) -> bool:
        """Whether what is told to a role's chat reaches `chat`: it is that chat, or one
        of the role's staff WhatsApp numbers (`bot.core.mirror`)."""
        if chat == role:
            return True
        numbers = self.office.whatsapp_of(role.address) if role.channel is Channel.TELEGRAM else ()
        return chat.channel is Channel.WHATSAPP and chat.address in numbers

    def unit_codes(self) -> str:
        return ", ".join(u.code for u in self.office.units)

    def _unit(self, code: str) -> Unit:
        unit = self.office.unit(code)
        if unit is None:
            raise Refusal("err_unknown_unit", unit=code, units=self.unit_codes())
        return unit


def _shortened(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _plan_text(text: str) -> str:
    """A follow-up plan as kept: its lines, without blank ones at either end."""
    return "\n".join(line.rstrip() for line in text.strip().splitlines())
