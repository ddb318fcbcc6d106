"""The core's ports, one contract for all: the SQL unit of work on each database, and
the in-memory fakes the unit tests use. A difference between them fails here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, cast
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.core import search
from bot.core.model import (
    Actor,
    Attachment,
    AttachmentKind,
    Button,
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    ContactDetails,
    EventKind,
    Intake,
    Location,
    OutgoingMessage,
    Privacy,
    Recipient,
    Step,
    Watch,
)
from bot.core.ports import CaseSearch, DialogueState, DigestCounts, SentRef, UnitOfWork
from storage import Database
from storage.models import OutboxRecord
from storage.repositories.privacy import Erased
from storage.repositories.sending import PartSent
from storage.testing import database_params, fresh_database
from tests.fakes import FakeUnitOfWork, FixedClock

WIB = ZoneInfo("Asia/Jakarta")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=WIB)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
CITIZEN = Recipient(Channel.TELEGRAM, "5551")
UNIT_GROUP = Recipient(Channel.TELEGRAM, "-100200")


class Store(Protocol):
    """A unit-of-work source, plus what a test needs of the sender's side."""

    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork]: ...

    async def queued(self) -> list[OutgoingMessage]:
        """Every message waiting in the outbox, in order."""

    async def start_sending(self, recipient: Recipient) -> None:
        """A sender takes the recipient's waiting message and sends its first part."""

    async def remember_sent(
        self, recipient: Recipient, message_id: str, case_id: int | None, purpose: str | None
    ) -> None:
        """The bot sent a message that got this id from the channel."""

    async def anonymise(self, case_id: int) -> None:
        """What the retention does to an old closed case (storage's `PersonalData`)."""


ANONYMISED = "(dihapus)"


class SqlStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork]:
        return self.database.transaction()

    async def queued(self) -> list[OutgoingMessage]:
        async with self.database.engine.connect() as connection:
            records = await connection.execute(
                select(OutboxRecord)
                .where(OutboxRecord.status == "pending")
                .order_by(OutboxRecord.id)
            )
            return [
                OutgoingMessage.from_dict(
                    Recipient(Channel(r.channel), r.address),
                    r.payload,
                    case_id=r.case_id,
                    purpose=r.purpose,
                    album_key=r.album_key,
                )
                for r in records
            ]

    async def start_sending(self, recipient: Recipient) -> None:
        async with self.database.transaction() as uow:
            (row,) = [r for r in await uow.sending.due(FAR_FUTURE, 100) if r.recipient == recipient]
            await uow.sending.parts_sent([PartSent(row, [f"part-of-{row.id}"], FAR_FUTURE)])

    async def remember_sent(
        self, recipient: Recipient, message_id: str, case_id: int | None, purpose: str | None
    ) -> None:
        async with self.database.transaction() as uow:
            await uow.outbox.enqueue(
                OutgoingMessage(recipient, "pesan", case_id=case_id, purpose=purpose)
            )
        async with self.database.transaction() as uow:
            (row,) = [r for r in await uow.sending.due(FAR_FUTURE, 100) if r.recipient == recipient]
            await uow.sending.parts_sent([PartSent(row, [message_id], FAR_FUTURE)])
            await uow.sending.mark_sent(row.id, FAR_FUTURE)

    async def anonymise(self, case_id: int) -> None:
        async with self.database.transaction() as uow:
            await uow.privacy.anonymise([case_id], ANONYMISED, Erased())


class FakeStore:
    def __init__(self) -> None:
        self.uow = FakeUnitOfWork()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[UnitOfWork]:
        # cast: the ports declare plain attributes, which mypy matches invariantly,
        # and the fakes keep their own types so tests can read `uow.outbox.sent`.
        yield cast(UnitOfWork, self.uow)

    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork]:
        return self._transaction()

    async def queued(self) -> list[OutgoingMessage]:
        return list(self.uow.outbox.sent)

    async def start_sending(self, recipient: Recipient) -> None:
        sent = self.uow.outbox.sent
        index = max(i for i, message in enumerate(sent) if message.recipient == recipient)
        self.uow.outbox.mark_started(index)

    async def remember_sent(
        self, recipient: Recipient, message_id: str, case_id: int | None, purpose: str | None
    ) -> None:
        self.uow.outbox.remember_sent(recipient, message_id, case_id, purpose)

    async def anonymise(self, case_id: int) -> None:
        self.uow.cases.anonymise(case_id, ANONYMISED)


@pytest.fixture(params=[*database_params(), pytest.param("fake", id="fake")])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[Store]:
    if request.param == "fake":
        yield FakeStore()
        return
    async with fresh_database(request.param, tmp_path, clock=clock) as database:
        yield SqlStore(database)


def photo(ref: str, **extra: object) -> Attachment:
    return Attachment(AttachmentKind.PHOTO, ref, Channel.TELEGRAM, **extra)  # type: ignore[arg-type]


def a_case(reporter_id: int, code: str, created_at: datetime = T0, **fields: object) -> Case:
    fields.setdefault("description", f"Jalan rusak ({code})")
    return Case(
        code=code,
        reporter_id=reporter_id,
        channel=Channel.TELEGRAM,
        created_at=created_at,
        **fields,  # type: ignore[arg-type]
    )


async def reporter_id(uow: UnitOfWork, address: str = CITIZEN.address) -> int:
    reporter = await uow.reporters.get_or_create(Channel.TELEGRAM, address, "Budi")
    assert reporter.id is not None
    return reporter.id


def assert_utc(moment: datetime | None) -> None:
    assert moment is not None
    assert moment.utcoffset() == timedelta(0)


# --- cases -----------------------------------------------------------------------------


async def test_a_full_case_round_trips(store: Store) -> None:
    attachments = [
        photo("file-1", file_name="jalan.jpg", mime_type="image/jpeg", size=123_456),
        Attachment(AttachmentKind.DOCUMENT, "data/2.pdf", Channel.WHATSAPP, "surat.pdf"),
        photo("file-3", caption="ruang tunggu penuh"),
    ]
    async with store.transaction() as uow:
        case = a_case(
            await reporter_id(uow),
            "ADU-7K3Q9X",
            privacy=Privacy.CONFIDENTIAL,
            status=CaseStatus.NEEDS_INFO,
            location_text="Jl. Merdeka 1 <dekat pasar> & 'toko'",
            location=Location(-6.2, 106.816666, "Monas"),
            occurred_text="kemarin sore",
            reporter_name="Budi Santoso",
            reporter_contact="+62812000111",
            unit_code="PU",
            status_before_info_request=CaseStatus.DISPOSED,
            updated_at=T0 + timedelta(minutes=5),
            disposed_at=T0 + timedelta(hours=1),
            answered_at=T0 + timedelta(days=1),
            closed_at=T0 + timedelta(days=2),
            rating=4,
            rating_requested=True,
            attachments=list(attachments),
        )
        stored = await uow.cases.add(case)
        assert stored is case
        assert case.id is not None

    async with store.transaction() as uow:
        loaded = await uow.cases.get(case.id)
        by_code = await uow.cases.get_by_code("ADU-7K3Q9X")
        assert await uow.cases.code_exists("ADU-7K3Q9X")
        assert not await uow.cases.code_exists("ADU-XXXXXX")
        assert await uow.cases.get(case.id + 1000) is None
        assert await uow.cases.get_by_code("ADU-XXXXXX") is None

    assert loaded == case
    assert by_code == case
    assert loaded is not None
    assert loaded.attachments == attachments
    for moment in (
        loaded.created_at,
        loaded.updated_at,
        loaded.disposed_at,
        loaded.answered_at,
        loaded.closed_at,
    ):
        assert_utc(moment)
    assert loaded.created_at == T0


async def test_a_minimal_case_keeps_its_defaults(store: Store) -> None:
    async with store.transaction() as uow:
        case = await uow.cases.add(a_case(await reporter_id(uow), "ADU-MIN"))
        assert case.id is not None
    async with store.transaction() as uow:
        loaded = await uow.cases.get(case.id)
    assert loaded == case
    assert loaded is not None
    assert loaded.location is None
    assert loaded.attachments == []
    assert loaded.privacy is Privacy.NORMAL
    assert loaded.status is CaseStatus.NEW
    assert loaded.rating_requested is False


async def test_update_saves_fields_but_not_intake_attachments(store: Store) -> None:
    async with store.transaction() as uow:
        case = await uow.cases.add(
            a_case(await reporter_id(uow), "ADU-UPD", attachments=[photo("a")])
        )
        assert case.id is not None

    async with store.transaction() as uow:
        loaded = await uow.cases.get(case.id)
        assert loaded is not None
        loaded.status = CaseStatus.DISPOSED
        loaded.unit_code = "DINKES"
        loaded.disposed_at = T0 + timedelta(hours=2)
        loaded.location = Location(1.5, 2.5)
        loaded.attachments.append(photo("ignored"))
        # Not stored until update():
        assert (await uow.cases.get(case.id)) == case
        await uow.cases.update(loaded)

    async with store.transaction() as uow:
        again = await uow.cases.get(case.id)
    assert again is not None
    assert again.status is CaseStatus.DISPOSED
    assert again.unit_code == "DINKES"
    assert again.disposed_at == T0 + timedelta(hours=2)
    assert again.location == Location(1.5, 2.5, None)
    assert again.attachments == [photo("a")]


async def test_a_taken_code_is_refused_and_the_transaction_goes_on(store: Store) -> None:
    async with store.transaction() as uow:
        budi = await reporter_id(uow)
        first = await uow.cases.add(a_case(budi, "ADU-SAME"))
        with pytest.raises(ValueError, match="taken"):
            await uow.cases.add(a_case(budi, "ADU-SAME"))
        second = await uow.cases.add(a_case(budi, "ADU-OTHER"))
    async with store.transaction() as uow:
        assert [c.code for c in await uow.cases.recent_cases_of_reporter(budi, 10)] == [
            second.code,
            first.code,
        ]


async def test_update_of_an_unknown_case_fails(store: Store) -> None:
    async with store.transaction() as uow:
        with pytest.raises(ValueError, match="never added"):
            await uow.cases.update(a_case(1, "ADU-NEW"))
        ghost = a_case(1, "ADU-GHOST")
        ghost.id = 999
        with pytest.raises(LookupError):
            await uow.cases.update(ghost)


async def test_events_keep_actor_note_and_their_own_attachments(store: Store) -> None:
    officer = Actor(role="officer", user_id="42", name="Sari", chat_id="-100300")
    async with store.transaction() as uow:
        case = await uow.cases.add(
            a_case(await reporter_id(uow), "ADU-EVT", attachments=[photo("intake")])
        )
        assert case.id is not None
        submitted = CaseEvent(EventKind.SUBMITTED, T0, Actor(role="reporter", user_id="5551"))
        disposed = CaseEvent(
            EventKind.DISPOSED,
            T0 + timedelta(hours=1),
            officer,
            note="Mohon ditindaklanjuti",
            status_after=CaseStatus.DISPOSED,
            unit_code="PU",
        )
        answered = CaseEvent(
            EventKind.ANSWERED,
            T0 + timedelta(days=1),
            Actor(role="unit", name="PU"),
            note="Sudah diperbaiki",
            status_after=CaseStatus.ANSWERED,
            attachments=(photo("after-1"), photo("after-2", file_name="b.jpg")),
        )
        for event in (submitted, disposed, answered):
            await uow.cases.add_event(case.id, event)

    async with store.transaction() as uow:
        events = await uow.cases.events(case.id)
        loaded = await uow.cases.get(case.id)
        by_code = await uow.cases.get_by_code(case.code)
        assert await uow.cases.events(case.id + 1000) == []

    assert events == [submitted, disposed, answered]
    assert events[2].attachments == (photo("after-1"), photo("after-2", file_name="b.jpg"))
    assert events[1].actor == officer
    for event in events:
        assert_utc(event.at)
    # The event's files are not the case's intake attachments.
    assert loaded is not None
    assert loaded.attachments == [photo("intake")]
    assert by_code == loaded


async def test_case_lists_are_ordered(store: Store) -> None:
    async with store.transaction() as uow:
        budi = await reporter_id(uow, "1")
        ani = await reporter_id(uow, "2")
        first = await uow.cases.add(a_case(budi, "ADU-1", T0))
        closed = await uow.cases.add(
            a_case(budi, "ADU-2", T0 + timedelta(hours=1), status=CaseStatus.CLOSED)
        )
        third = await uow.cases.add(a_case(budi, "ADU-3", T0 + timedelta(hours=2)))
        refused = await uow.cases.add(
            a_case(budi, "ADU-4", T0 + timedelta(hours=3), status=CaseStatus.REFUSED)
        )
        others = await uow.cases.add(
            a_case(ani, "ADU-5", T0 - timedelta(days=1), status=CaseStatus.ANSWERED)
        )
        # Same creation time as ADU-3: the later id comes later.
        fifth = await uow.cases.add(a_case(budi, "ADU-6", T0 + timedelta(hours=2)))

    def codes(cases: list[Case]) -> list[str]:
        return [c.code for c in cases]

    async with store.transaction() as uow:
        assert codes(await uow.cases.open_cases_of_reporter(budi)) == [
            fifth.code,
            third.code,
            first.code,
        ]
        assert codes(await uow.cases.recent_cases_of_reporter(budi, 3)) == [
            refused.code,
            fifth.code,
            third.code,
        ]
        assert codes(await uow.cases.recent_cases_of_reporter(budi, 10))[-2:] == [
            closed.code,
            first.code,
        ]
        assert codes(await uow.cases.open_cases(10)) == [
            others.code,
            first.code,
            third.code,
            fifth.code,
        ]
        assert codes(await uow.cases.open_cases(2)) == [others.code, first.code]
        assert await uow.cases.open_cases_of_reporter(ani + 100) == []
        listed = await uow.cases.open_cases_of_reporter(budi)
    assert listed[0] == fifth


async def test_awaiting_rating_is_the_latest_closed_unrated_case(store: Store) -> None:
    async with store.transaction() as uow:
        budi = await reporter_id(uow)
        assert await uow.cases.awaiting_rating(budi) is None

        def closed(
            code: str,
            closed_hours: int,
            created_at: datetime = T0,
            rating: int | None = None,
            rating_requested: bool = True,
        ) -> Case:
            return a_case(
                budi,
                code,
                created_at,
                status=CaseStatus.CLOSED,
                closed_at=T0 + timedelta(hours=closed_hours),
                rating=rating,
                rating_requested=rating_requested,
            )

        await uow.cases.add(closed("ADU-A", 1))
        latest = await uow.cases.add(closed("ADU-B", 3, created_at=T0 - timedelta(days=9)))
        await uow.cases.add(closed("ADU-C", 2))
        await uow.cases.add(closed("ADU-RATED", 5, rating=5))
        await uow.cases.add(closed("ADU-NOT-ASKED", 6, rating_requested=False))
        await uow.cases.add(
            a_case(budi, "ADU-OPEN", status=CaseStatus.ANSWERED, rating_requested=True)
        )

    async with store.transaction() as uow:
        waiting = await uow.cases.awaiting_rating(budi)
        assert waiting == latest
        assert waiting is not None
        waiting.rating = 3
        await uow.cases.update(waiting)

    async with store.transaction() as uow:
        waiting = await uow.cases.awaiting_rating(budi)
        assert waiting is not None
        assert waiting.code == "ADU-C"
        assert await uow.cases.awaiting_rating(budi + 100) is None


# --- reporters and dialogues -----------------------------------------------------------


async def test_reporters_are_unique_per_channel_and_address(store: Store) -> None:
    async with store.transaction() as uow:
        budi = await uow.reporters.get_or_create(Channel.TELEGRAM, "5551", "Budi")
        again = await uow.reporters.get_or_create(Channel.TELEGRAM, "5551", "Budi S.")
        on_whatsapp = await uow.reporters.get_or_create(Channel.WHATSAPP, "5551", None)
        other = await uow.reporters.get_or_create(Channel.TELEGRAM, "5552", None)

    assert budi.id is not None
    assert again == budi
    assert again.display_name == "Budi"
    assert len({budi.id, on_whatsapp.id, other.id}) == 3
    assert on_whatsapp.display_name is None
    assert budi.recipient == Recipient(Channel.TELEGRAM, "5551")
    assert budi.last_inbound_at is None

    async with store.transaction() as uow:
        assert await uow.reporters.get(budi.id) == budi
        assert await uow.reporters.get(budi.id + 1000) is None
        assert await uow.reporters.find(Channel.TELEGRAM, "5551") == budi
        assert await uow.reporters.find(Channel.WHATSAPP, "5551") == on_whatsapp
        assert await uow.reporters.find(Channel.WHATSAPP, "9999") is None


async def test_a_message_arriving_finds_or_creates_its_reporter_and_touches_them(
    store: Store,
) -> None:
    later = T0 + timedelta(hours=2)
    async with store.transaction() as uow:
        budi = await uow.reporters.arrived(Channel.TELEGRAM, "5551", "Budi", T0)
        assert budi.id is not None and budi.display_name == "Budi"
        assert budi.last_inbound_at == T0
        assert_utc(budi.last_inbound_at)
        await uow.reporters.set_blocked(budi.id, T0)
    async with store.transaction() as uow:
        again = await uow.reporters.arrived(Channel.TELEGRAM, "5551", "Budi S.", later)
        assert (again.id, again.display_name) == (budi.id, "Budi")  # the same reporter
        assert again.last_inbound_at == later and again.blocked_at == T0
        stored = await uow.reporters.get(budi.id)
        assert stored is not None and stored.last_inbound_at == later
        other = await uow.reporters.arrived(Channel.WHATSAPP, "5551", None, later)
        assert other.id != budi.id and other.display_name is None


async def test_a_reporters_messages_are_counted_per_window_and_blocks_are_kept(
    store: Store,
) -> None:
    minute = timedelta(minutes=1)
    budi_chat, siti_chat = (Channel.TELEGRAM, "5551"), (Channel.TELEGRAM, "5552")
    async with store.transaction() as uow:

        async def count(chat: tuple[Channel, str], at: datetime) -> int:
            reporter, counted = await uow.reporters.arrived_counted(*chat, None, at, minute)
            assert reporter.last_inbound_at == at
            return counted

        budi = await uow.reporters.get_or_create(*budi_chat, "Budi")
        siti = await uow.reporters.get_or_create(*siti_chat, "Siti")
        assert budi.id is not None and siti.id is not None
        counts = [await count(budi_chat, T0 + timedelta(seconds=s)) for s in (0, 10, 59)]
        assert counts == [1, 2, 3]
        assert await count(siti_chat, T0) == 1  # their own window
    async with store.transaction() as uow:
        assert await count(budi_chat, T0 + minute) == 1  # anew
        assert await count(budi_chat, T0 + 2 * minute - timedelta(seconds=1)) == 2
        # a look at the window counts nothing, and finds it empty once it ran out
        look = uow.reporters.messages_in_window
        assert await look(budi.id, T0 + 2 * minute - timedelta(seconds=1), minute) == 2
        assert await look(budi.id, T0 + 2 * minute, minute) == 0
        assert await look(siti.id, T0 + minute, minute) == 0
        assert budi.blocked_at is None
        await uow.reporters.set_blocked(budi.id, T0)
    async with store.transaction() as uow:
        blocked = await uow.reporters.get(budi.id)
        assert blocked is not None and blocked.blocked_at == T0
        assert_utc(blocked.blocked_at)
        # a blocked reporter's message is not counted
        assert await count(budi_chat, T0 + 2 * minute - timedelta(seconds=1)) == 0
        look = uow.reporters.messages_in_window
        assert await look(budi.id, T0 + 2 * minute - timedelta(seconds=1), minute) == 2
        found = await uow.reporters.get_or_create(Channel.TELEGRAM, "5551", None)
        assert found.blocked_at == T0
        await uow.reporters.set_blocked(budi.id, None)
    async with store.transaction() as uow:
        again = await uow.reporters.get(budi.id)
        assert again is not None and again.blocked_at is None


async def test_cases_filed_by_a_reporter_since_a_moment_are_counted(store: Store) -> None:
    async with store.transaction() as uow:
        budi = await uow.reporters.get_or_create(Channel.TELEGRAM, "5551", "Budi")
        siti = await uow.reporters.get_or_create(Channel.TELEGRAM, "5552", "Siti")
        assert budi.id is not None and siti.id is not None
        await uow.cases.add(a_case(budi.id, "ADU-A1", T0 - timedelta(seconds=1)))
        await uow.cases.add(a_case(budi.id, "ADU-A2", T0))
        await uow.cases.add(a_case(budi.id, "ADU-A3", T0 + timedelta(hours=3)))
        await uow.cases.add(a_case(siti.id, "ADU-B1", T0))
    async with store.transaction() as uow:
        assert await uow.cases.count_filed_since(budi.id, T0) == 2
        assert await uow.cases.count_filed_since(budi.id, T0.astimezone(UTC)) == 2
        assert await uow.cases.count_filed_since(siti.id, T0 + timedelta(seconds=1)) == 0


async def test_cases_staff_entered_for_a_reporter_are_not_theirs_to_count(store: Store) -> None:
    entered = Intake("Telepon", T0.date(), "7001", "Budi Petugas")
    async with store.transaction() as uow:
        siti = await uow.reporters.get_or_create(Channel.WHATSAPP, "+6281234567890", "Siti")
        assert siti.id is not None
        for n in range(3):
            await uow.cases.add(a_case(siti.id, f"ADU-E{n}", T0, intake=entered))
        await uow.cases.add(a_case(siti.id, "ADU-S1", T0))
    async with store.transaction() as uow:
        assert await uow.cases.count_filed_since(siti.id, T0) == 1


async def test_touch_records_the_time_and_the_current_name(store: Store) -> None:
    async with store.transaction() as uow:
        budi = await uow.reporters.get_or_create(Channel.TELEGRAM, "5551", "Budi")
        assert budi.id is not None
        budi.display_name = "Budi Santoso"
        await uow.reporters.touch(budi, T0)
        assert budi.last_inbound_at == T0

    async with store.transaction() as uow:
        loaded = await uow.reporters.get(budi.id)
        assert loaded is not None
        assert loaded.display_name == "Budi Santoso"
        assert loaded.last_inbound_at == T0
        assert_utc(loaded.last_inbound_at)

        loaded.display_name = None  # unknown now: the stored name stays
        await uow.reporters.touch(loaded, T0 + timedelta(hours=1))

    async with store.transaction() as uow:
        loaded = await uow.reporters.get(budi.id)
        assert loaded is not None
        assert loaded.display_name == "Budi Santoso"
        assert loaded.last_inbound_at == T0 + timedelta(hours=1)
        again = await uow.reporters.get_or_create(Channel.TELEGRAM, "5551", None)
        assert again == loaded


async def test_dialogue_state_saves_loads_and_clears(store: Store) -> None:
    data = {
        "description": 'Lampu jalan mati <3 & "gelap"',
        "attachments": [photo("x").to_dict(), photo("y", size=10).to_dict()],
        "location": {"latitude": -6.2, "longitude": 106.8, "label": None},
        "albums": ["111", "222"],
        "nested": {"deeper": {"list": [1, 2.5, True, None, "teks"]}},
        "privacy": "anonim",
    }
    async with store.transaction() as uow:
        budi = await reporter_id(uow)
        assert await uow.dialogues.load(budi) is None
        await uow.dialogues.save(budi, DialogueState("location", data))

    async with store.transaction() as uow:
        assert await uow.dialogues.load(budi) == DialogueState("location", data)
        await uow.dialogues.save(budi, DialogueState("time", {"n": 1}))

    async with store.transaction() as uow:
        assert await uow.dialogues.load(budi) == DialogueState("time", {"n": 1})
        await uow.dialogues.clear(budi)
        await uow.dialogues.clear(budi)  # clearing nothing is fine

    async with store.transaction() as uow:
        assert await uow.dialogues.load(budi) is None


async def test_the_step_in_a_chat_is_found_by_the_chat(store: Store) -> None:
    async with store.transaction() as uow:
        assert await uow.dialogues.step_in(Channel.TELEGRAM, CITIZEN.address) is None
        budi = await reporter_id(uow)
        other = await reporter_id(uow, "7001")
        await uow.dialogues.save(budi, DialogueState("location", {}))
        await uow.dialogues.save(other, DialogueState("catat:source", {}))

    async with store.transaction() as uow:
        assert await uow.dialogues.step_in(Channel.TELEGRAM, CITIZEN.address) == "location"
        assert await uow.dialogues.step_in(Channel.TELEGRAM, "7001") == "catat:source"
        assert await uow.dialogues.step_in(Channel.WHATSAPP, "7001") is None
        assert await uow.dialogues.step_in(Channel.TELEGRAM, "7002") is None


# --- outbox ----------------------------------------------------------------------------


async def test_enqueue_keeps_every_message_part(store: Store) -> None:
    message = OutgoingMessage(
        UNIT_GROUP,
        "Kasus baru ADU-1 <b>",
        buttons=((Button("Terima", "acc:1"), Button("Tolak", "ref:1")), (Button("Info", "i:1"),)),
        attachments=(photo("p", mime_type="image/jpeg"),),
        location=Location(-6.2, 106.8, "Monas"),
        case_id=1,
        purpose="case",
        answers_tap="tap-1",
    )
    async with store.transaction() as uow:
        await uow.outbox.enqueue(message)
        await uow.outbox.enqueue(OutgoingMessage(CITIZEN, "Terima kasih"))
    assert await store.queued() == [message, OutgoingMessage(CITIZEN, "Terima kasih")]


async def test_album_items_join_the_waiting_message(store: Store) -> None:
    def item(
        ref: str, text: str = "", to: Recipient = UNIT_GROUP, key: str = "album-9"
    ) -> OutgoingMessage:
        return OutgoingMessage(
            to, text, attachments=(photo(ref),), case_id=7, purpose="case", album_key=key
        )

    async with store.transaction() as uow:
        await uow.outbox.enqueue(item("1"))
        await uow.outbox.enqueue(OutgoingMessage(CITIZEN, "Foto diterima"))
        await uow.outbox.enqueue(item("2", text="Ini keterangannya"))
        await uow.outbox.enqueue(item("x", to=CITIZEN))  # same key, other chat
        await uow.outbox.enqueue(item("y", key="album-10"))  # same chat, other album
    async with store.transaction() as uow:
        await uow.outbox.enqueue(item("3", text="keterangan lain"))

    assert await store.queued() == [
        OutgoingMessage(
            UNIT_GROUP,
            "Ini keterangannya",
            attachments=(photo("1"), photo("2"), photo("3")),
            case_id=7,
            purpose="case",
            album_key="album-9",
        ),
        OutgoingMessage(CITIZEN, "Foto diterima"),
        item("x", to=CITIZEN),
        item("y", key="album-10"),
    ]


async def test_album_items_do_not_join_a_message_already_being_sent(store: Store) -> None:
    first = OutgoingMessage(CITIZEN, "", attachments=(photo("1"),), album_key="a")
    late = OutgoingMessage(CITIZEN, "", attachments=(photo("2"),), album_key="a")
    later = OutgoingMessage(CITIZEN, "", attachments=(photo("3"),), album_key="a")
    async with store.transaction() as uow:
        await uow.outbox.enqueue(first)
    await store.start_sending(CITIZEN)
    async with store.transaction() as uow:
        await uow.outbox.enqueue(late)
        await uow.outbox.enqueue(later)
    assert await store.queued() == [
        first,
        OutgoingMessage(CITIZEN, "", attachments=(photo("2"), photo("3")), album_key="a"),
    ]


async def test_find_sent_tells_what_a_message_was_about(store: Store) -> None:
    await store.remember_sent(UNIT_GROUP, "1001", 7, "case")
    await store.remember_sent(UNIT_GROUP, "1002", None, None)
    await store.remember_sent(CITIZEN, "1003", 8, "ask_reason")
    async with store.transaction() as uow:
        assert await uow.outbox.find_sent(UNIT_GROUP, "1001") == SentRef(7, "case")
        assert await uow.outbox.find_sent(UNIT_GROUP, "1002") == SentRef(None, None)
        assert await uow.outbox.find_sent(CITIZEN, "1003") == SentRef(8, "ask_reason")
        assert await uow.outbox.find_sent(CITIZEN, "1001") is None
        assert (
            await uow.outbox.find_sent(Recipient(Channel.WHATSAPP, UNIT_GROUP.address), "1001")
            is None
        )
        assert await uow.outbox.find_sent(UNIT_GROUP, "9999") is None


# --- deadlines: the step clock, what is due, what is overdue, the digest ---------------

NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # Tuesday 10:00 WIB


def watching(
    step: Step, due_at: datetime, started_at: datetime | None = None, **fields: object
) -> Watch:
    return Watch(
        step=step,
        started_at=started_at if started_at is not None else due_at - timedelta(days=5),
        due_at=due_at,
        **fields,  # type: ignore[arg-type]
    )


def codes_of(cases: list[Case]) -> list[str]:
    return [c.code for c in cases]


async def test_the_step_clock_round_trips_and_clears_when_the_case_closes(store: Store) -> None:
    watch = Watch(
        step=Step.ANSWER,
        started_at=NOW - timedelta(days=7),
        due_at=NOW - timedelta(days=1),
        nudged_at=NOW - timedelta(hours=20),
        nudges=3,
        escalated_at=NOW - timedelta(hours=2),
        reminded_at=NOW - timedelta(hours=1),
    )
    async with store.transaction() as uow:
        case = await uow.cases.add(
            a_case(
                await reporter_id(uow),
                "ADU-CLOCK",
                status=CaseStatus.DISPOSED,
                unit_code="PU",
                watch=watch,
                next_check_at=NOW + timedelta(minutes=30),
                long_escalated_at=NOW - timedelta(minutes=5),
            )
        )
        assert case.id is not None

    async with store.transaction() as uow:
        loaded = await uow.cases.get(case.id)
        by_code = await uow.cases.get_by_code("ADU-CLOCK")
    assert loaded == case
    assert by_code == case
    assert loaded is not None and loaded.watch is not None
    assert loaded.watch == watch
    assert loaded.watch.step is Step.ANSWER
    assert loaded.watch.nudges == 3
    assert loaded.next_check_at == NOW + timedelta(minutes=30)
    assert loaded.long_escalated_at == NOW - timedelta(minutes=5)
    for moment in (loaded.next_check_at, loaded.long_escalated_at):
        assert_utc(moment)

    # A fresh step: the old step's marks are gone, the nudge count starts again.
    fresh = Watch(step=Step.CONFIRM, started_at=NOW, due_at=NOW + timedelta(days=14))
    async with store.transaction() as uow:
        loaded.status = CaseStatus.ANSWERED
        loaded.watch = fresh
        loaded.next_check_at = NOW + timedelta(days=14)
        await uow.cases.update(loaded)
    async with store.transaction() as uow:
        answered = await uow.cases.get(case.id)
    assert answered is not None
    assert answered.watch == fresh
    assert answered.watch is not None
    assert (answered.watch.nudged_at, answered.watch.nudges) == (None, 0)
    assert (answered.watch.escalated_at, answered.watch.reminded_at) == (None, None)
    assert answered.next_check_at == NOW + timedelta(days=14)

    async with store.transaction() as uow:
        answered.status = CaseStatus.CLOSED
        answered.closed_at = NOW + timedelta(days=15)
        answered.watch = None
        answered.next_check_at = None
        await uow.cases.update(answered)
    async with store.transaction() as uow:
        closed = await uow.cases.get(case.id)
    assert closed == answered
    assert closed is not None
    assert closed.watch is None
    assert closed.next_check_at is None
    assert closed.long_escalated_at == NOW - timedelta(minutes=5)  # kept: it happened


async def test_a_case_without_a_clock_keeps_none(store: Store) -> None:
    async with store.transaction() as uow:
        case = await uow.cases.add(a_case(await reporter_id(uow), "ADU-NOCLOCK"))
        assert case.id is not None
    async with store.transaction() as uow:
        loaded = await uow.cases.get(case.id)
    assert loaded is not None
    assert (loaded.watch, loaded.next_check_at, loaded.long_escalated_at) == (None, None, None)


async def test_step_clock_times_in_any_zone_come_back_equal_in_utc(store: Store) -> None:
    """Every stored datetime comes back aware UTC, the step clock's included."""
    watch = Watch(
        step=Step.COMPLETE,
        started_at=NOW.astimezone(WIB),
        due_at=(NOW + timedelta(days=14)).astimezone(WIB),
        nudged_at=(NOW + timedelta(hours=1)).astimezone(WIB),
        nudges=1,
        escalated_at=(NOW + timedelta(hours=2)).astimezone(WIB),
        reminded_at=(NOW + timedelta(days=10)).astimezone(WIB),
    )
    async with store.transaction() as uow:
        case = await uow.cases.add(
            a_case(
                await reporter_id(uow),
                "ADU-WIB",
                status=CaseStatus.NEEDS_INFO,
                watch=watch,
                next_check_at=(NOW + timedelta(days=10)).astimezone(WIB),
                long_escalated_at=NOW.astimezone(ZoneInfo("Asia/Jayapura")),
            )
        )
        assert case.id is not None
    async with store.transaction() as uow:
        loaded = await uow.cases.get(case.id)
    assert loaded is not None and loaded.watch is not None
    assert loaded.watch == watch
    assert loaded.next_check_at == NOW + timedelta(days=10)
    assert loaded.long_escalated_at == NOW
    for moment in (
        loaded.next_check_at,
        loaded.long_escalated_at,
        loaded.watch.started_at,
        loaded.watch.due_at,
        loaded.watch.nudged_at,
        loaded.watch.escalated_at,
        loaded.watch.reminded_at,
    ):
        assert_utc(moment)


async def test_due_for_check_lists_open_cases_whose_check_time_came(store: Store) -> None:
    def checked(
        code: str, at: datetime | None, status: CaseStatus = CaseStatus.NEW, **fields: object
    ) -> Case:
        return a_case(budi, code, T0, status=status, next_check_at=at, **fields)

    async with store.transaction() as uow:
        budi = await reporter_id(uow)
        later = await uow.cases.add(checked("ADU-NOW", NOW, status=CaseStatus.ANSWERED))
        await uow.cases.add(checked("ADU-SOON", NOW + timedelta(seconds=1)))
        first_tie = await uow.cases.add(
            checked("ADU-TIE-1", NOW - timedelta(hours=2), status=CaseStatus.DISPOSED)
        )
        await uow.cases.add(checked("ADU-NEVER", None))
        await uow.cases.add(
            checked("ADU-CLOSED", NOW - timedelta(days=3), status=CaseStatus.CLOSED)
        )
        await uow.cases.add(
            checked("ADU-REFUSED", NOW - timedelta(days=3), status=CaseStatus.REFUSED)
        )
        second_tie = await uow.cases.add(
            checked("ADU-TIE-2", NOW - timedelta(hours=2), status=CaseStatus.NEEDS_INFO)
        )
        # Given in WIB: a day before NOW, so the longest due.
        oldest = await uow.cases.add(
            checked(
                "ADU-OLDEST",
                (NOW - timedelta(days=1)).astimezone(WIB),
                status=CaseStatus.RETURNED,
                watch=watching(Step.VERIFY, NOW - timedelta(days=1), nudges=2),
            )
        )

    async with store.transaction() as uow:
        due = await uow.cases.due_for_check(NOW, 10)
        assert codes_of(due) == ["ADU-OLDEST", "ADU-TIE-1", "ADU-TIE-2", "ADU-NOW"]
        assert due == [oldest, first_tie, second_tie, later]
        assert codes_of(await uow.cases.due_for_check(NOW, 2)) == ["ADU-OLDEST", "ADU-TIE-1"]
        # The same moment in another zone is the same moment.
        assert await uow.cases.due_for_check(NOW.astimezone(WIB), 10) == due
        assert codes_of(await uow.cases.due_for_check(NOW - timedelta(hours=3), 10)) == [
            "ADU-OLDEST"
        ]
        assert await uow.cases.due_for_check(NOW - timedelta(days=2), 10) == []
        assert codes_of(await uow.cases.due_for_check(NOW + timedelta(seconds=1), 10))[-1] == (
            "ADU-SOON"
        )


async def test_overdue_lists_a_steps_cases_past_their_deadline(store: Store) -> None:
    def in_step(
        code: str, step: Step | None, due_at: datetime, unit: str | None, status: CaseStatus
    ) -> Case:
        watch = watching(step, due_at) if step is not None else None
        return a_case(budi, code, status=status, unit_code=unit, watch=watch)

    disposed, answered = CaseStatus.DISPOSED, CaseStatus.ANSWERED
    async with store.transaction() as uow:
        budi = await reporter_id(uow)
        for case in (
            in_step("PU-3D", Step.ANSWER, NOW - timedelta(days=3), "PU", disposed),
            in_step("DINKES-5D", Step.ANSWER, NOW - timedelta(days=5), "DINKES", disposed),
            in_step("PU-NOW", Step.ANSWER, NOW, "PU", disposed),
            in_step("PU-SOON", Step.ANSWER, NOW + timedelta(minutes=1), "PU", disposed),
            in_step("PU-CLOSED", Step.ANSWER, NOW - timedelta(days=9), "PU", CaseStatus.CLOSED),
            in_step("NEW-1D", Step.VERIFY, NOW - timedelta(days=1), None, CaseStatus.NEW),
            in_step("PU-CONFIRM", Step.CONFIRM, NOW - timedelta(days=2), "PU", answered),
            in_step("PU-NO-CLOCK", None, NOW, "PU", disposed),
            # Answered, but the unit owes a reaction to the reporter's reply.
            in_step("PU-3D-BIS", Step.ANSWER, NOW - timedelta(days=3), "PU", answered),
            in_step("INFO-1D", Step.COMPLETE, NOW - timedelta(days=1), "PU", CaseStatus.NEEDS_INFO),
        ):
            await uow.cases.add(case)

    async with store.transaction() as uow:
        everyone = await uow.cases.overdue(Step.ANSWER, None, NOW)
        assert codes_of(everyone) == ["DINKES-5D", "PU-3D", "PU-3D-BIS", "PU-NOW"]
        assert everyone[0] == await uow.cases.get_by_code("DINKES-5D")
        assert codes_of(await uow.cases.overdue(Step.ANSWER, "PU", NOW)) == [
            "PU-3D",
            "PU-3D-BIS",
            "PU-NOW",
        ]
        assert codes_of(await uow.cases.overdue(Step.ANSWER, "DINKES", NOW)) == ["DINKES-5D"]
        assert await uow.cases.overdue(Step.ANSWER, "BPBD", NOW) == []
        assert codes_of(
            await uow.cases.overdue(Step.ANSWER, None, (NOW - timedelta(days=4)).astimezone(WIB))
        ) == ["DINKES-5D"]
        assert codes_of(await uow.cases.overdue(Step.VERIFY, None, NOW)) == ["NEW-1D"]
        assert await uow.cases.overdue(Step.VERIFY, "PU", NOW) == []
        assert codes_of(await uow.cases.overdue(Step.CONFIRM, None, NOW)) == ["PU-CONFIRM"]
        assert codes_of(await uow.cases.overdue(Step.COMPLETE, "PU", NOW)) == ["INFO-1D"]
        assert await uow.cases.overdue(Step.COMPLETE, None, NOW - timedelta(days=2)) == []


async def test_digest_counts_each_number(store: Store) -> None:
    since = NOW - timedelta(days=1)

    def case(
        code: str,
        status: CaseStatus,
        created_at: datetime,
        watch: Watch | None = None,
        closed_at: datetime | None = None,
    ) -> Case:
        return a_case(budi, code, created_at, status=status, watch=watch, closed_at=closed_at)

    verify, answer = Step.VERIFY, Step.ANSWER
    new, returned, disposed = CaseStatus.NEW, CaseStatus.RETURNED, CaseStatus.DISPOSED
    answered, closed, refused = CaseStatus.ANSWERED, CaseStatus.CLOSED, CaseStatus.REFUSED
    hour, day = timedelta(hours=1), timedelta(days=1)
    async with store.transaction() as uow:
        budi = await reporter_id(uow)
        assert await uow.cases.digest_counts(since, NOW) == DigestCounts(0, 0, 0, 0, 0)
        for each in (
            # new, waiting
            case("C01", new, NOW - 2 * hour, watching(verify, NOW + hour)),
            # waiting
            case("C02", new, NOW - 3 * day, watching(verify, NOW + 2 * day)),
            # waiting, overdue (due exactly now)
            case("C03", returned, NOW - 5 * day, watching(verify, NOW)),
            # new (filed exactly at `since`), overdue
            case("C04", disposed, since, watching(answer, NOW - hour)),
            # new (filed exactly now, given in WIB)
            case("C05", disposed, NOW.astimezone(WIB), watching(answer, NOW + day)),
            # nothing: the reporter holds the step
            case("C06", CaseStatus.NEEDS_INFO, NOW - 4 * day, watching(Step.COMPLETE, NOW - day)),
            # answered (the reporter holds the step)
            case("C07", answered, NOW - 6 * day, watching(Step.CONFIRM, NOW - day)),
            # answered, overdue (the unit owes a reaction to the reporter's reply)
            case("C08", answered, NOW - 6 * day, watching(answer, NOW - day)),
            # closed
            case("C09", closed, NOW - 10 * day, closed_at=NOW - 3 * hour),
            # new, closed
            case("C10", refused, NOW - 2 * hour, closed_at=NOW - hour),
            # nothing: closed before `since`, after `now`
            case("C11", closed, NOW - 10 * day, closed_at=since - timedelta(seconds=1)),
            case("C12", closed, NOW - 10 * day, closed_at=NOW + timedelta(seconds=1)),
            # closed (exactly at `since`)
            case("C13", closed, NOW - 10 * day, closed_at=since),
            # nothing: closed (no time recorded) though its clock was left behind
            case("C14", closed, NOW - 10 * day, watching(answer, NOW - 5 * day)),
            # waiting (filed after `now`: not new)
            case("C15", new, NOW + hour),
            # closed (exactly now, given in WIB)
            case("C16", refused, NOW - 2 * day, closed_at=NOW.astimezone(WIB)),
            # nothing: filed a second before `since`
            case("C17", disposed, since - timedelta(seconds=1)),
            # waiting, twice
            case("C19", returned, NOW - 2 * day, watching(verify, NOW + hour)),
            case("C21", returned, NOW - 20 * day),
            # closed
            case("C20", refused, NOW - 3 * day, closed_at=NOW - timedelta(minutes=30)),
        ):
            await uow.cases.add(each)

    async with store.transaction() as uow:
        counts = await uow.cases.digest_counts(since, NOW)
        assert counts == DigestCounts(new=4, waiting=6, overdue=3, answered=2, closed=5)
        open_cases = await uow.cases.open_cases(1000)
        assert await uow.cases.count_open() == len(open_cases) > 0
        # The same moments in another zone count the same.
        assert await uow.cases.digest_counts(since.astimezone(WIB), NOW.astimezone(WIB)) == counts
        # An hour earlier: C05 is not filed yet and C17 is in the window; C03 is not
        # late yet (C04 just is); C16 and C20 are not closed yet, C11 is (C10 just is).
        assert await uow.cases.digest_counts(since - hour, NOW - hour) == DigestCounts(
            new=4, waiting=6, overdue=2, answered=2, closed=4
        )


# --- search and merged duplicates (/cari, /gabung) -------------------------------------


def looking_for(text: str, *, unit: str | None = None) -> CaseSearch:
    """What `/cari text` asks the repository (a unit's search: none by identity)."""
    terms = search.parse(text, "usage").terms
    return CaseSearch(terms, unit_code=unit, identity=unit is None)


async def found(uow: UnitOfWork, text: str, *, unit: str | None = None) -> list[str]:
    return codes_of(await uow.cases.search(looking_for(text, unit=unit), 0, 50))


async def test_search_finds_by_code_lapor_number_name_phone_and_words(store: Store) -> None:
    async with store.transaction() as uow:
        siti, joko = await reporter_id(uow, "1"), await reporter_id(uow, "2")
        road = await uow.cases.add(
            a_case(
                siti,
                "ADU-ROAD22",
                T0,
                description="Jalan berlubang di depan SD Negeri 3, sudah dua motor jatuh",
                location_text="Jl. Melati",
                reporter_name="Siti Aminah",
                reporter_contact="081234567890",
                lapor_number="LPR-2026-0042",
                unit_code="YANKES",
            )
        )
        lamp = await uow.cases.add(
            a_case(
                joko,
                "ADU-LAMP33",
                T0 + timedelta(hours=1),
                description="Lampu jalan mati sejak Senin",
                location_text="Gang Mawar",
                reporter_name="Joko",
                contacts=ContactDetails(whatsapp="+62 813-1111-2222"),
                unit_code="P2P",
            )
        )
        trash = await uow.cases.add(
            a_case(
                joko,
                "ADU-TRSH44",
                T0 + timedelta(hours=2),
                description="Bak sampah 100% penuh, truk lewat 40 km/jam \\ tidak berhenti",
                location_text="Pasar_Baru",
                reporter_contact="+6285699998888",
            )
        )
        # by the whole code, in any case; a part of a code is not a code
        assert await found(uow, "adu-road22") == [road.code]
        assert await found(uow, "ROAD22") == []
        # the LAPOR number, whole or in part
        assert await found(uow, "LPR-2026-0042") == [road.code]
        assert await found(uow, "lpr-2026") == [road.code]
        # the reporter's name, any case, any part
        assert await found(uow, "SITI") == [road.code]
        assert await found(uow, "siti aminah") == [road.code]
        # one phone number, typed as people type it, stored as it was given
        for typed in ("081234567890", "+6281234567890", "6281234567890", "0812-3456-7890"):
            assert await found(uow, typed) == [road.code], typed
        assert await found(uow, "0812 3456 7890") == [road.code]
        for typed in ("081311112222", "+62 813 1111 2222", "6281311112222"):
            assert await found(uow, typed) == [lamp.code], typed  # its WhatsApp number
        assert await found(uow, "085699998888") == [trash.code]
        assert await found(uow, "081234567891") == []
        # words of the story or the place: every word, each in any field; newest first
        assert await found(uow, "jalan") == [lamp.code, road.code]
        assert await found(uow, "JALAN melati") == [road.code]
        assert await found(uow, "jalan mawar") == [lamp.code]
        assert await found(uow, "jalan sampah") == []
        assert await found(uow, "siti berlubang adu-road22") == [road.code]
        # % and _ are themselves, not LIKE's wildcards
        assert await found(uow, "100%") == [trash.code]
        assert await found(uow, "%") == [trash.code]
        assert await found(uow, "_") == [trash.code]
        assert await found(uow, "pasar_baru") == [trash.code]
        assert await found(uow, "lampu_jalan") == []
        assert await found(uow, "pasar%baru") == []
        assert await found(uow, "km/jam") == [trash.code]  # the escape character itself
        assert await found(uow, "/") == [trash.code]
        assert await found(uow, "\\") == [trash.code]
        assert await found(uow, "km//jam") == []


async def test_a_units_search_keeps_to_its_cases_and_never_the_identity(store: Store) -> None:
    async with store.transaction() as uow:
        siti = await reporter_id(uow)
        mine = await uow.cases.add(
            a_case(
                siti,
                "ADU-MINE22",
                description="Obat habis di puskesmas",
                reporter_name="Siti Aminah",
                reporter_contact="081234567890",
                lapor_number="LPR-77",
                unit_code="YANKES",
            )
        )
        theirs = await uow.cases.add(
            a_case(siti, "ADU-THEI33", description="Obat kedaluwarsa", unit_code="P2P")
        )
        await uow.cases.add(a_case(siti, "ADU-NONE44", description="Obat mahal"))
        assert await found(uow, "obat") == ["ADU-NONE44", theirs.code, mine.code]
        assert await found(uow, "obat", unit="YANKES") == [mine.code]
        assert await found(uow, "obat", unit="P2P") == [theirs.code]
        assert await found(uow, "lpr-77", unit="YANKES") == [mine.code]
        assert await found(uow, "adu-mine22", unit="YANKES") == [mine.code]
        assert await found(uow, "adu-mine22", unit="P2P") == []  # not theirs
        # who reported it is no way in for a unit
        assert await found(uow, "siti", unit="YANKES") == []
        assert await found(uow, "081234567890", unit="YANKES") == []
        assert await found(uow, "siti") == [mine.code]


async def test_search_pages_newest_first(store: Store) -> None:
    async with store.transaction() as uow:
        budi = await reporter_id(uow)
        for n in range(12):
            await uow.cases.add(
                a_case(budi, f"ADU-P{n:02d}", T0 + timedelta(minutes=n), description="Banjir")
            )
        # two filed at the same moment: the later id first
        await uow.cases.add(a_case(budi, "ADU-P99", T0, description="banjir lagi"))
        wanted = looking_for("banjir")
        first = codes_of(await uow.cases.search(wanted, 0, 11))
        assert first == [f"ADU-P{n:02d}" for n in range(11, 0, -1)]
        rest = codes_of(await uow.cases.search(wanted, 10, 11))
        assert rest == ["ADU-P01", "ADU-P99", "ADU-P00"]
        assert await uow.cases.search(wanted, 20, 11) == []


async def test_an_anonymised_case_is_found_by_its_code_alone(store: Store) -> None:
    async with store.transaction() as uow:
        siti = await reporter_id(uow)
        old = await uow.cases.add(
            a_case(
                siti,
                "ADU-OLD222",
                description="Jalan rusak di Jl. Melati",
                location_text="Jl. Melati",
                reporter_name="Siti Aminah",
                reporter_contact="081234567890",
                lapor_number="LPR-9",
                status=CaseStatus.CLOSED,
                closed_at=T0,
            )
        )
        new = await uow.cases.add(a_case(siti, "ADU-NEW333", description="Jalan rusak lagi"))
    assert old.id is not None
    await store.anonymise(old.id)
    async with store.transaction() as uow:
        assert await found(uow, "jalan") == [new.code]
        for gone in ("melati", "siti", "081234567890", "LPR-9", ANONYMISED):
            assert await found(uow, gone) == [], gone
        assert await found(uow, "adu-old222") == [old.code]


async def test_duplicates_are_found_by_their_main_case_and_their_reporter(store: Store) -> None:
    async with store.transaction() as uow:
        siti, joko, ani = [await reporter_id(uow, a) for a in ("1", "2", "3")]
        main = await uow.cases.add(a_case(siti, "ADU-MAIN22", T0))
        first = await uow.cases.add(
            a_case(
                joko,
                "ADU-DUP333",
                T0 + timedelta(hours=2),
                status=CaseStatus.CLOSED,
                merged_into=main.code,
            )
        )
        second = await uow.cases.add(
            a_case(
                ani,
                "ADU-DUP444",
                T0 + timedelta(hours=1),
                status=CaseStatus.CLOSED,
                merged_into=main.code,
            )
        )
        other = await uow.cases.add(a_case(joko, "ADU-OTHR55", T0 + timedelta(hours=3)))
        assert codes_of(await uow.cases.merged_into(main.code)) == [second.code, first.code]
        assert await uow.cases.merged_into(other.code) == []
        assert codes_of(await uow.cases.mains_of_reporter(joko)) == [main.code]
        assert codes_of(await uow.cases.mains_of_reporter(ani)) == [main.code]
        assert await uow.cases.mains_of_reporter(siti) == []  # none of hers was merged
        main.status = CaseStatus.CLOSED
        await uow.cases.update(main)
        assert await uow.cases.mains_of_reporter(joko) == []  # open ones only


# --- marks -----------------------------------------------------------------------------


async def test_marks_keep_the_last_value_put(store: Store) -> None:
    async with store.transaction() as uow:
        assert await uow.marks.get("digest") is None
        await uow.marks.put("digest", "2026-03-02")
        assert await uow.marks.get("digest") == "2026-03-02"
    async with store.transaction() as uow:
        assert await uow.marks.get("digest") == "2026-03-02"
        await uow.marks.put("digest", "2026-03-03")
        await uow.marks.put("other", "ringkasan ✓ <b>")
        assert await uow.marks.get("digest") == "2026-03-03"
    async with store.transaction() as uow:
        assert await uow.marks.get("digest") == "2026-03-03"
        assert await uow.marks.get("other") == "ringkasan ✓ <b>"
        assert await uow.marks.get("Digest") is None
        assert await uow.marks.get("unknown") is None
        await uow.marks.put("other", "")
        assert await uow.marks.get("other") == ""
