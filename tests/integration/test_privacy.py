"""Retention and forgetting on each database: what goes, and what the recaps keep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.calendar import WorkingCalendar
from bot.core.model import (
    Actor,
    Attachment,
    AttachmentKind,
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    EventKind,
    Location,
    OutgoingMessage,
    Privacy,
    Recipient,
)
from bot.core.office import Office, Unit
from bot.core.texts import load_texts
from bot.privacy import StillOpen, forget, remove_files, retention_round
from storage import Database
from tests.fakes import FixedClock

T = load_texts("id")
OFFICE = Office(
    name="Dinas",
    calendar=WorkingCalendar(ZoneInfo("Asia/Jakarta")),
    officers_chat_id="-100",
    units=(Unit("YANKES", "Yankes", "-200"),),
)
FILED = datetime(2024, 3, 4, 2, 0, tzinfo=UTC)
NUMBER = "+6281298765432"


async def file(
    database: Database, clock: FixedClock, code: str, address: str, media: Path, *, closed: bool
) -> tuple[int, Path]:
    """A WhatsApp case with a stored photo, a follow-up and messages about it."""
    photo = media / f"{code}.jpg"
    photo.write_bytes(b"\xff\xd8 foto")
    async with database.transaction() as uow:
        reporter = await uow.reporters.get_or_create(Channel.WHATSAPP, address, "Siti")
        assert reporter.id is not None
        await uow.reporters.touch(reporter, clock.now())
        case = await uow.cases.add(
            Case(
                code,
                reporter.id,
                Channel.WHATSAPP,
                "Anak saya, Budi, ditolak berobat di Puskesmas Kenanga.",
                clock.now(),
                Privacy.NORMAL,
                location_text="Jl. Kenanga 3",
                location=Location(-6.9, 107.6, "Puskesmas"),
                occurred_text="kemarin",
                reporter_name="Siti Rahma",
                reporter_contact=NUMBER,
                unit_code="YANKES",
                attachments=[Attachment(AttachmentKind.PHOTO, str(photo), Channel.WHATSAPP)],
            )
        )
        assert case.id is not None
        reporter_actor = Actor("reporter", address, "Siti Rahma", address)
        await uow.cases.add_event(
            case.id, CaseEvent(EventKind.FOLLOW_UP, clock.now(), reporter_actor, "Rumah saya no. 5")
        )
        await uow.outbox.enqueue(
            OutgoingMessage(Recipient(Channel.WHATSAPP, address), "Kode", case_id=case.id)
        )
        if closed:
            case.status, case.closed_at, case.rating = CaseStatus.CLOSED, clock.now(), 4
            await uow.cases.update(case)
    async with database.transaction() as uow:
        for row in await uow.sending.due(clock.now() + timedelta(days=1), 10):
            await uow.sending.mark_sent(row.id, clock.now())
        await uow.inbound.record(
            "whatsapp", f"SM-{code}", f"whatsapp:{address}", {"Body": "halo"}, clock.now()
        )
        for update in await uow.inbound.pending(10):
            await uow.inbound.mark_done(update.id, clock.now())
    return case.id, photo


async def test_retention_anonymises_old_closed_cases_and_forgets_idle_reporters(
    database: Database, clock: FixedClock, tmp_path: Path
) -> None:
    clock.set(FILED)
    old_id, old_photo = await file(database, clock, "ADU-OLD", NUMBER, tmp_path, closed=True)
    clock.advance(timedelta(days=400))
    open_id, open_photo = await file(
        database, clock, "ADU-OPEN", "+6281300000000", tmp_path, closed=False
    )

    clock.set(FILED + timedelta(days=731))
    async with database.transaction() as uow:
        erased = await retention_round(uow, OFFICE, T, clock.now())
    assert erased.cases == ["ADU-OLD"] and erased.reporters == 1
    assert remove_files(erased.files, tmp_path) == 1
    assert not old_photo.exists() and open_photo.exists()

    async with database.transaction(readonly=True) as uow:
        old = await uow.cases.get(old_id)
        assert old is not None
        # what the recaps count stays
        assert (old.code, old.status, old.unit_code, old.rating) == (
            "ADU-OLD",
            CaseStatus.CLOSED,
            "YANKES",
            4,
        )
        assert old.created_at == FILED and old.closed_at == FILED
        # what identifies or describes a person goes
        assert old.description == T("anonymised_case")
        assert (
            old.reporter_name,
            old.reporter_contact,
            old.location_text,
            old.location,
            old.occurred_text,
        ) == (None,) * 5
        assert list(old.attachments) == []
        events = await uow.cases.events(old_id)
        assert [e.kind for e in events] == [EventKind.FOLLOW_UP]
        assert events[0].note is None and events[0].actor.name is None
        reporter = await uow.reporters.get(old.reporter_id)
        assert reporter is not None and reporter.address == f"forgotten:{old.reporter_id}"
        assert reporter.display_name is None
        assert await uow.reporters.find(Channel.WHATSAPP, NUMBER) is None
        # the younger case is untouched
        young = await uow.cases.get(open_id)
        assert (
            young is not None
            and young.reporter_name == "Siti Rahma"
            and len(young.attachments) == 1
        )

    async with database.transaction() as uow:  # a second round finds nothing more
        again = await retention_round(uow, OFFICE, T, clock.now())
    assert (again.cases, again.reporters, again.files) == ([], 0, [])


async def test_forget_refuses_while_a_case_is_open_then_erases_everything(
    database: Database, clock: FixedClock, tmp_path: Path
) -> None:
    case_id, photo = await file(database, clock, "ADU-F1", NUMBER, tmp_path, closed=False)
    with pytest.raises(StillOpen) as still:
        await forget(database, T, "ADU-F1", tmp_path)
    assert still.value.codes == ["ADU-F1"]
    assert await forget(database, T, "whatsapp:+6289999999999", tmp_path) is None

    async with database.transaction() as uow:
        case = await uow.cases.get(case_id)
        assert case is not None
        case.status, case.closed_at = CaseStatus.REFUSED, clock.now()
        await uow.cases.update(case)
    erased = await forget(database, T, NUMBER, tmp_path)  # by number, this time
    assert erased is not None and erased.cases == ["ADU-F1"] and erased.reporters == 1
    assert not photo.exists()
    async with database.transaction(readonly=True) as uow:
        case = await uow.cases.get(case_id)
        assert (
            case is not None and case.reporter_contact is None and case.status is CaseStatus.REFUSED
        )
        assert await uow.reporters.find(Channel.WHATSAPP, NUMBER) is None
        assert await uow.inbound.pending(10) == []
    assert await forget(database, T, "ADU-F1", tmp_path) is not None  # twice is harmless
