"""The tasks' storage and the outbox's guard, one contract for the SQL unit of work on
each database and the in-memory fakes (as tests/integration/test_repositories.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.model import Channel, OutgoingMessage, Recipient, Task, TaskKind
from tests.integration.test_repositories import (
    CITIZEN,
    T0,
    Store,
    a_case,
    reporter_id,
    store,
)

__all__ = ["store"]  # the fixture, shared

CALLER = Recipient(Channel.MANUAL, "manual:1")


async def test_no_message_is_queued_for_a_reporter_in_no_chat(store: Store) -> None:
    async with store.transaction() as uow:
        with pytest.raises(ValueError, match="no chat reaches manual:manual:1"):
            await uow.outbox.enqueue(OutgoingMessage(CALLER, "Pengaduan Anda sudah diteruskan"))
        await uow.outbox.enqueue(OutgoingMessage(CITIZEN, "Halo"))
    assert [m.recipient for m in await store.queued()] == [CITIZEN]


async def test_a_lapor_number_names_its_case(store: Store) -> None:
    async with store.transaction() as uow:
        owner = await reporter_id(uow)
        await uow.cases.add(a_case(owner, "ADU-AAAA01", lapor_number="2026-001"))
        await uow.cases.add(a_case(owner, "ADU-AAAA02"))
        assert await uow.cases.code_with_lapor_number("2026-001") == "ADU-AAAA01"
        assert await uow.cases.code_with_lapor_number("2026-002") is None


async def test_tasks_are_stored_finished_and_found_when_due(store: Store) -> None:
    async with store.transaction() as uow:
        owner = await reporter_id(uow)
        first = await uow.cases.add(a_case(owner, "ADU-TASK01"))
        second = await uow.cases.add(a_case(owner, "ADU-TASK02"))
        assert first.id is not None and second.id is not None
        later = Task(
            first.id,
            TaskKind.INFORM,
            T0,
            T0 + timedelta(days=2),
            text="Pengaduan ADU-TASK01 telah Selesai.",
            next_at=T0 + timedelta(days=2),
        )
        sooner = Task(second.id, TaskKind.LAPOR_ENTRY, T0, T0 + timedelta(days=1))
        sooner.next_at = sooner.due_at
        watch = Task(first.id, TaskKind.LAPOR_MONITOR, T0, T0 + timedelta(days=1))
        watch.next_at = watch.due_at
        for task in (later, sooner, watch):
            await uow.tasks.add(task)
            assert task.id is not None
        assert [t.id for t in await uow.tasks.due(T0 + timedelta(days=3), 10)] == [
            sooner.id,
            watch.id,
            later.id,
        ]
        assert [t.id for t in await uow.tasks.due(T0 + timedelta(days=1), 1)] == [sooner.id]
        watch.done_at = T0 + timedelta(hours=1)
        watch.done_by = "Wulan"
        watch.done_note = "Diteruskan ke Dinkes"
        watch.next_at = None
        await uow.tasks.update(watch)
        assert [t.kind for t in await uow.tasks.open_of_case(first.id)] == [TaskKind.INFORM]
        [stored] = await uow.tasks.of_case(first.id, TaskKind.LAPOR_MONITOR)
        assert (stored.done_by, stored.done_note, stored.next_at) == (
            "Wulan",
            "Diteruskan ke Dinkes",
            None,
        )
        assert stored.done_at == T0 + timedelta(hours=1)
        [inform] = await uow.tasks.of_case(first.id, TaskKind.INFORM)
        assert inform.text == "Pengaduan ADU-TASK01 telah Selesai."
        assert [t.id for t in await uow.tasks.due(T0 + timedelta(days=3), 10)] == [
            sooner.id,
            later.id,
        ]
