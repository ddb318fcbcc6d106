"""The unit of work: one transaction's worth of repositories.

`Database.transaction()` opens one; its repositories (`uow.cases`, `uow.outbox`, ...),
one module each in `storage.repositories`, all work in its session. The core's ports
(`bot.core.ports`) get and give core dataclasses only; ORM records never leave storage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.ports import (
    CaseRepository,
    Clock,
    DialogueRepository,
    Marks,
    Outbox,
    ReporterRepository,
    TaskRepository,
    UnitOfWork,
)
from storage.locks import TransactionLocks
from storage.repositories.cases import SqlCaseRepository
from storage.repositories.chats import ChatMigrations
from storage.repositories.dialogues import SqlDialogueRepository
from storage.repositories.inbound import InboundLog
from storage.repositories.marks import SqlMarks
from storage.repositories.outbox import Router, SqlOutbox
from storage.repositories.privacy import PersonalData
from storage.repositories.recaps import SqlRecaps
from storage.repositories.reporters import SqlReporterRepository
from storage.repositories.reports import ReportJobs
from storage.repositories.sending import OutboxDelivery
from storage.repositories.tasks import SqlTaskRepository


class SqlUnitOfWork:
    """One transaction's worth of repositories (implements `bot.core.ports.UnitOfWork`).

    The core's five are typed as its Protocols (a Protocol's plain attribute must
    match exactly); the service's others keep their own types.
    """

    cases: CaseRepository
    reporters: ReporterRepository
    dialogues: DialogueRepository
    outbox: Outbox
    marks: Marks
    tasks: TaskRepository
    inbound: InboundLog
    sending: OutboxDelivery
    chats: ChatMigrations
    locks: TransactionLocks
    recaps: SqlRecaps
    privacy: PersonalData
    reports: ReportJobs

    def __init__(self, session: AsyncSession, clock: Clock, router: Router | None = None) -> None:
        self.chats = ChatMigrations(session, clock)
        self.cases = SqlCaseRepository(session, clock)
        self.reporters = SqlReporterRepository(session, clock)
        self.dialogues = SqlDialogueRepository(session, clock)
        self.outbox = SqlOutbox(session, clock, self.chats, router)
        self.inbound = InboundLog(session, clock)
        self.sending = OutboxDelivery(session, clock)
        self.marks = SqlMarks(session, clock)
        self.tasks = SqlTaskRepository(session, clock)
        self.locks = TransactionLocks(session, clock)
        self.recaps = SqlRecaps(session)
        self.privacy = PersonalData(session, clock)
        self.reports = ReportJobs(session, clock)


if TYPE_CHECKING:

    def _implements_the_core_port(uow: SqlUnitOfWork) -> UnitOfWork:
        return uow
