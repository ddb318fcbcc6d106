"""The tasks a case owes besides its step (the core's `TaskRepository`): informing a
reporter who is not in the chat, and the liaison's SP4N-LAPOR! entry and watch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot.core.model import Task, TaskKind
from storage.models import CaseTaskRecord
from storage.repositories.base import Part

T = CaseTaskRecord


def _values(task: Task) -> dict[str, Any]:
    return {
        "case_id": task.case_id,
        "kind": task.kind.value,
        "message": task.text,
        "created_at": task.created_at,
        "due_at": task.due_at,
        "next_at": task.next_at,
        "nudged_at": task.nudged_at,
        "nudge_count": task.nudges,
        "done_at": task.done_at,
        "done_by": task.done_by,
        "done_note": task.done_note,
    }


def _task(record: CaseTaskRecord) -> Task:
    return Task(
        id=record.id,
        case_id=record.case_id,
        kind=TaskKind(record.kind),
        text=record.message,
        created_at=record.created_at,
        due_at=record.due_at,
        next_at=record.next_at,
        nudged_at=record.nudged_at,
        nudges=record.nudge_count,
        done_at=record.done_at,
        done_by=record.done_by,
        done_note=record.done_note,
    )


class SqlTaskRepository(Part):
    async def add(self, task: Task) -> Task:
        record = T(**_values(task))
        self._session.add(record)
        await self._session.flush()
        task.id = record.id
        return task

    async def update(self, task: Task) -> None:
        if task.id is None:
            raise ValueError("task is not stored yet")
        await self._session.execute(
            update(T)
            .where(T.id == task.id)
            .values(**_values(task))
            .execution_options(synchronize_session=False)
        )

    async def of_case(self, case_id: int, kind: TaskKind | None = None) -> list[Task]:
        query = select(T).where(T.case_id == case_id)
        if kind is not None:
            query = query.where(T.kind == kind.value)
        records = await self._session.scalars(query.order_by(T.id))
        return [_task(r) for r in records]

    async def open_of_case(self, case_id: int, kind: TaskKind | None = None) -> list[Task]:
        return [t for t in await self.of_case(case_id, kind) if t.done_at is None]

    async def due(self, now: datetime, limit: int) -> list[Task]:
        records = await self._session.scalars(
            select(T).where(T.next_at <= now).order_by(T.next_at, T.id).limit(limit)
        )
        return [_task(r) for r in records]
