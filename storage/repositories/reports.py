"""The queue of recaps and exports to make (`bot.reports` works it off): any instance
may take a job, for a lease, and a job whose instance died is taken again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.ports import Clock
from storage.models import ReportJobRecord

PENDING = "pending"
DONE = "done"
FAILED = "failed"


@dataclass(frozen=True)
class ReportJob:
    id: int
    kind: str
    subject: str
    chat_id: str
    requested_by: str | None
    attempts: int
    claimed_at: datetime


class ReportJobs:
    """The queue of recaps and exports to make; any instance may take a job."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock
        self.added = False  # a job was queued in this transaction (the worker is woken)

    async def add(
        self,
        kind: str,
        subject: str,
        chat_id: str,
        requested_by: str | None,
        dedup_key: str | None = None,
    ) -> bool:
        """Queues a job; False if `dedup_key` was queued before (an automatic recap)."""
        if dedup_key is not None:
            taken = await self._session.scalar(
                select(func.count()).where(ReportJobRecord.dedup_key == dedup_key)
            )
            if taken:
                return False
        self._session.add(
            ReportJobRecord(
                kind=kind,
                subject=subject,
                chat_id=chat_id,
                requested_by=requested_by,
                dedup_key=dedup_key,
                created_at=self._clock.now(),
            )
        )
        await self._session.flush()
        self.added = True
        return True

    def _claimable(self, lease: timedelta) -> ColumnElement[bool]:
        R = ReportJobRecord
        now = self._clock.now()
        return and_(R.status == PENDING, or_(R.claimed_at.is_(None), R.claimed_at < now - lease))

    async def any_claimable(self, lease: timedelta) -> bool:
        """Whether `claim` would find a job (a read, for a read-only transaction)."""
        return bool(await self._session.scalar(select(exists().where(self._claimable(lease)))))

    async def claim(self, lease: timedelta) -> ReportJob | None:
        """Takes the oldest pending job not being made by another instance (or whose
        maker stopped answering for `lease`)."""
        now = self._clock.now()
        R = ReportJobRecord
        record = (
            await self._session.scalars(
                select(R)
                .where(self._claimable(lease))
                .order_by(R.id)
                .limit(1)
                .with_for_update(skip_locked=True),
                execution_options={"populate_existing": True},
            )
        ).first()
        if record is None:
            return None
        record.claimed_at = now
        record.attempts += 1
        await self._session.flush()
        return ReportJob(
            record.id,
            record.kind,
            record.subject,
            record.chat_id,
            record.requested_by,
            record.attempts,
            now,
        )

    async def finish(self, job: ReportJob, error: str | None = None) -> bool:
        """Marks the job done (or failed, with why); False if another instance took it over."""
        R = ReportJobRecord
        result = await self._session.execute(
            update(R)
            .where(R.id == job.id, R.claimed_at == job.claimed_at, R.status == PENDING)
            .values(status=FAILED if error else DONE, done_at=self._clock.now(), error=error),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    async def release(self, job: ReportJob, error: str, lease: timedelta, delay: timedelta) -> None:
        """Gives the job back, to be claimed again after `delay` (a passing fault).

        The claim time is set back so that the lease runs out `delay` from now.
        """
        R = ReportJobRecord
        await self._session.execute(
            update(R)
            .where(R.id == job.id, R.claimed_at == job.claimed_at)
            .values(claimed_at=self._clock.now() - lease + delay, error=error),
            execution_options={"synchronize_session": False},
        )

    async def pending(self) -> int:
        R = ReportJobRecord
        return int(await self._session.scalar(select(func.count()).where(R.status == PENDING)) or 0)
