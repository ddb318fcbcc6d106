"""One round of the deadline rules: nudge, escalate, remind, close, and the daily digest.

The scheduler calls `patrol` once per tick, in one transaction that it alone holds
(see `bot.scheduler`). What is due is read from the database (each case's
`next_check_at`), so a round after downtime acts once on everything overdue rather
than replaying every missed tick, and a second round at the same moment finds nothing
left to do. Nothing happens outside office hours: a case that fell due on Friday
evening or during a holiday is acted on at the next working hour.

Each chat gets at most one message per round: a group's nudge lists all its overdue
cases (and so brings their repeat reminders into step) and its tasks that fell due
(`bot.core.tasks`: informing a reporter in no chat, the liaison's SP4N-LAPOR! entry and
watch), the supervisor gets one list of escalations, and reporters are told
individually only about their own case (a reporter in no chat: by a "Kabari pelapor"
within the officers' message).

Plain Python only; no channel, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.core import budget, deadlines, mirror, tasks, views
from bot.core.cases import CaseDesk
from bot.core.model import (
    SYSTEM,
    Case,
    CaseEvent,
    Channel,
    EventKind,
    Recipient,
    Step,
    Task,
    TaskKind,
)
from bot.core.office import AnswerReview, DispositionBy, Office
from bot.core.ports import DigestCounts, UnitOfWork
from bot.core.texts import Texts

BATCH = 500  # cases looked at per round; the rest wait for the next tick
LISTED = 30  # cases listed by name in one nudge; the others are counted
DIGEST_MARK = "digest:last_date"
# What a nudge asks of its holder, by step (the officers verify and dispose otherwise).
OVERDUE_FOOTERS = {
    Step.ANSWER: "patrol_overdue_unit",
    Step.APPROVE: "patrol_overdue_supervisor",
    Step.REVIEW: "patrol_overdue_review",
}


@dataclass
class Round:
    """What one patrol did (for logs and tests)."""

    nudged: dict[str, list[str]] = field(default_factory=dict)  # chat id → codes
    escalated: list[str] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    tasks: dict[str, list[str]] = field(default_factory=dict)  # chat id → codes
    informs: int = 0  # "Kabari pelapor" of sentences this round made for a reporter in no chat
    digest: bool = False

    @property
    def acted(self) -> bool:
        return bool(
            self.nudged
            or self.escalated
            or self.reminded
            or self.closed
            or self.tasks
            or self.informs
            or self.digest
        )


@dataclass
class _Notice:
    """What one chat hears this round; sent as one message."""

    overdue: list[str] = field(default_factory=list)
    overdue_total: int = 0
    overdue_footer: str = ""
    closed: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    task_footers: list[str] = field(default_factory=list)  # one per kind listed
    informs: list[str] = field(default_factory=list)  # "Kabari pelapor" made this round
    reports: list[str] = field(default_factory=list)  # result reports of cases closed
    copyable: list[str] = field(default_factory=list)

    def add_task(self, line: str, footer: str) -> None:
        self.tasks.append(line)
        if footer not in self.task_footers:
            self.task_footers.append(footer)


class _Patrol:
    def __init__(self, uow: UnitOfWork, office: Office, texts: Texts, now: datetime) -> None:
        self.uow = uow
        self.office = office
        self.t = texts
        self.now = now
        self.desk = CaseDesk(uow, office, texts, now)
        self.desk.held_informs = []  # sent within the officers' one message of the round
        self.desk.held_reports = []  # sent within the supervisor's
        self.round = Round()
        self.touched: dict[int, Case] = {}
        self.notices: dict[str, _Notice] = {}
        self.to_nudge: set[tuple[Step, str | None]] = set()

    def notice(self, chat_id: str) -> _Notice:
        return self.notices.setdefault(chat_id, _Notice())

    def holder_chat(self, case: Case) -> str:
        if case.watch is None:
            return self.office.officers_chat_id
        return self.office.step_chat_id(case.watch.step, case.unit_code)

    def step_line(self, key: str, case: Case) -> str:
        watch = case.watch
        assert watch is not None
        return self.t(
            key,
            code=case.code,
            step=self.t(f"step_{watch.step.value}"),
            holder=views.holder(self.office, self.t, case),
            age=budget.words(self.t, deadlines.working_age(self.office, watch, self.now)),
            budget=budget.words(self.t, self.office.deadlines.budget(watch.step)),
        )

    async def event(self, case: Case, kind: EventKind, note: str) -> None:
        assert case.id is not None
        await self.uow.cases.add_event(
            case.id,
            CaseEvent(
                kind, self.now, SYSTEM, note, status_after=case.status, unit_code=case.unit_code
            ),
        )

    # ---------------------------------------------------------------- one case
    async def look_at(self, case: Case) -> None:
        assert case.id is not None
        self.touched[case.id] = case
        if case.watch is None:
            deadlines.adopt(self.office, case)
        watch = case.watch
        if watch is None:
            return
        if case.long_escalated_at is None and self.now >= deadlines.long_open_at(self.office, case):
            await self.escalate_long_open(case)
        if watch.step.held_by_reporter:
            if self.now >= watch.due_at:
                await self.close(case)
                return
            remind = deadlines.reminder_at(self.office, watch)
            if remind is not None and watch.reminded_at is None and self.now >= remind:
                await self.desk.remind(case)
                self.round.reminded.append(case.code)
            return
        if self.now >= deadlines.next_nudge_at(self.office, watch):
            self.to_nudge.add((watch.step, case.unit_code if watch.step is Step.ANSWER else None))
        if watch.escalated_at is None and self.now >= deadlines.escalation_at(self.office, watch):
            watch.escalated_at = self.now
            line = self.step_line("patrol_escalation_line", case)
            self.notice(self.office.escalation_chat_id).escalated.append(line)
            await self.event(case, EventKind.ESCALATED, line.removeprefix("• "))
            self.round.escalated.append(case.code)

    async def escalate_long_open(self, case: Case) -> None:
        case.long_escalated_at = self.now
        d = self.office.deadlines
        line = self.t(
            "patrol_long_open_line",
            code=case.code,
            days=budget.case_limit(self.t, d.case_days, d.case_days_working),
            date=views.local_time(self.office, self.t, case.created_at),
            status=self.t(f"status_{case.status.value}"),
            holder=views.holder(self.office, self.t, case),
        )
        self.notice(self.office.escalation_chat_id).escalated.append(line)
        await self.event(case, EventKind.ESCALATED, line.removeprefix("• "))
        self.round.escalated.append(case.code)

    async def close(self, case: Case) -> None:
        holder = self.office.unit(case.unit_code) if case.unit_code else None
        reason = await self.desk.expire(case)
        line = self.t("patrol_closed_line", code=case.code, reason=reason)
        self.notice(self.office.officers_chat_id).closed.append(line)
        if holder is not None:
            self.notice(holder.chat_id).closed.append(line)
        self.round.closed.append(case.code)

    # ---------------------------------------------------------------- whole groups
    async def nudge(self, step: Step, unit_code: str | None) -> None:
        """One reminder to the group holding `step`, listing all its overdue cases."""
        cases = [
            self.touched.setdefault(found.id, found)
            for found in await self.uow.cases.overdue(step, unit_code, self.now)
            if found.id is not None
        ]
        if not cases:
            return
        chat = self.holder_chat(cases[0])
        notice = self.notice(chat)
        for case in cases:
            assert case.watch is not None
            case.watch.nudged_at = self.now
            case.watch.nudges += 1
        notice.overdue += [self.step_line("patrol_overdue_line", c) for c in cases[:LISTED]]
        notice.overdue_total += len(cases)
        notice.overdue_footer = self.t(OVERDUE_FOOTERS.get(step, "patrol_overdue_officers"))
        self.round.nudged.setdefault(chat, []).extend(c.code for c in cases)

    # ---------------------------------------------------------------- tasks
    async def tasks(self, batch: int) -> None:
        """Nudges the holders of the tasks that fell due: one line per case and kind in
        each holder's message, repeated every `repeat_days` until done."""
        due: dict[tuple[int, TaskKind], list[Task]] = {}
        for task in await self.uow.tasks.due(self.now, batch):
            if task.kind is TaskKind.INFORM and task.text is None:
                # its case was anonymised (`retention_days`): nothing is left to tell
                tasks.finish(task, self.now, SYSTEM.describe(), None)
                await self.uow.tasks.update(task)
                continue
            due.setdefault((task.case_id, task.kind), []).append(task)
        for (case_id, kind), group in due.items():
            case = self.touched.get(case_id) or await self.uow.cases.get(case_id)
            if case is None:  # the tasks go with their case; for safety
                continue
            line = tasks.due_line(self.office, self.t, case, kind, group, self.now)
            footer = self.t(f"patrol_tasks_footer_{kind.value}")
            for chat in tasks.holder_chats(self.office, kind):
                self.notice(chat).add_task(line, footer)
                self.round.tasks.setdefault(chat, []).append(case.code)
            for task in group:
                tasks.nudged(self.office, task, self.now)
                await self.uow.tasks.update(task)

    def held_informs(self) -> None:
        """The "Kabari pelapor" this round's reminders and closings made go with the rest
        of the officers' message."""
        held = self.desk.held_informs or []
        if not held:
            return
        notice = self.notice(self.office.officers_chat_id)
        for text, command in held:
            notice.informs.append(text)
            notice.copyable.append(command)
        self.round.informs += len(held)

    def held_reports(self) -> None:
        """The result reports of the cases this round closed go with the rest of the
        supervisor's message (`[workflow] follow_up_plan`)."""
        reports = self.desk.held_reports or []
        if reports:
            self.notice(self.desk.supervisor.address).reports.extend(reports)

    def compose(self, notice: _Notice) -> str:
        sections: list[str] = []
        if notice.escalated:
            header = self.t("patrol_escalation_header", count=len(notice.escalated))
            sections.append("\n".join([header, *notice.escalated]))
        if notice.overdue:
            lines = [self.t("patrol_overdue_header", count=notice.overdue_total), *notice.overdue]
            if notice.overdue_total > len(notice.overdue):
                lines.append(
                    self.t("patrol_overdue_more", count=notice.overdue_total - len(notice.overdue))
                )
            lines.append(notice.overdue_footer)
            sections.append("\n".join(lines))
        if notice.closed:
            sections.append("\n".join([self.t("patrol_closed_header"), *notice.closed]))
        if notice.tasks:
            lines = [self.t("patrol_tasks_header", count=len(notice.tasks)), *notice.tasks[:LISTED]]
            if len(notice.tasks) > LISTED:
                lines.append(self.t("patrol_tasks_more", count=len(notice.tasks) - LISTED))
            lines += notice.task_footers
            sections.append("\n".join(lines))
        sections += notice.informs
        sections += notice.reports
        return "\n\n".join(sections)

    # ---------------------------------------------------------------- the digest
    def chain_lines(self, counts: DigestCounts) -> str:
        """The digest's lines for the chain of command's steps the agency has."""
        workflow = self.office.workflow
        lines = ""
        if workflow.disposition_by is DispositionBy.SUPERVISOR or counts.proposed:
            lines += self.t("digest_proposed_line", count=counts.proposed)
        if workflow.answer_review is not AnswerReview.NONE or counts.reviewing:
            lines += self.t("digest_review_line", count=counts.reviewing)
        return lines

    async def digest(self) -> None:
        at = self.office.deadlines.digest_at
        calendar = self.office.calendar
        local = self.now.astimezone(self.office.timezone)
        today = local.date()
        if at is None or local.time() < at or not calendar.is_working_day(today):
            return
        if await self.uow.marks.get(DIGEST_MARK) == today.isoformat():
            return
        since = datetime.combine(previous_working_day(self.office, today), at, self.office.timezone)
        counts = await self.uow.cases.digest_counts(since, self.now)
        await self.desk.tell(
            Recipient(Channel.TELEGRAM, self.office.officers_chat_id),
            self.t(
                "digest",
                date=today.strftime("%d-%m-%Y"),
                since=views.local_time(self.office, self.t, since),
                new=counts.new,
                waiting=counts.waiting,
                overdue=counts.overdue,
                answered=counts.answered,
                closed=counts.closed,
                chain_lines=self.chain_lines(counts),
            ),
            template=mirror.STAFF_DIGEST,  # opens a staff number's WhatsApp window each day
        )
        await self.uow.marks.put(DIGEST_MARK, today.isoformat())
        self.round.digest = True


def previous_working_day(office: Office, day: date) -> date:
    """The last working day before `day`."""
    previous = day - timedelta(days=1)
    while not office.calendar.is_working_day(previous):
        previous -= timedelta(days=1)
    return previous


async def patrol(
    uow: UnitOfWork, office: Office, texts: Texts, now: datetime, *, batch: int = BATCH
) -> Round:
    """Acts on every deadline due at `now`, in the caller's transaction (see the module)."""
    work = _Patrol(uow, office, texts, now)
    if not office.calendar.is_working_time(now):
        return work.round
    for case in await uow.cases.due_for_check(now, batch):
        await work.look_at(case)
    for step, unit_code in sorted(work.to_nudge, key=lambda key: (key[0].value, key[1] or "")):
        await work.nudge(step, unit_code)
    for case in work.touched.values():
        case.next_check_at = deadlines.next_check(office, case)
        await uow.cases.update(case)
    await work.tasks(batch)
    work.held_informs()
    work.held_reports()
    for chat_id, notice in work.notices.items():
        text = work.compose(notice)
        chat = Recipient(Channel.TELEGRAM, chat_id)
        await work.desk.tell(
            chat, text, copyable=tuple(notice.copyable), template=mirror.STAFF_REMINDER
        )
    await work.digest()
    return work.round
