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

from bot.core.model import (
    Actor,
    Attachment,
    AttachmentKind,
    Button,
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
from bot.core.ports import DialogueState, SentRef, UnitOfWork
from storage import Database
from storage.models import OutboxRecord
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
            await uow.sending.part_sent(row.id, 1, [f"part-of-{row.id}"])

    async def remember_sent(
        self, recipient: Recipient, message_id: str, case_id: int | None, purpose: str | None
    ) -> None:
        async with self.database.transaction() as uow:
            await uow.outbox.enqueue(
                OutgoingMessage(recipient, "pesan", case_id=case_id, purpose=purpose)
            )
        async with self.database.transaction() as uow:
            (row,) = [r for r in await uow.sending.due(FAR_FUTURE, 100) if r.recipient == recipient]
            await uow.sending.part_sent(row.id, 1, [message_id])
            await uow.sending.mark_sent(row.id, FAR_FUTURE)


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
    return Case(
        code=code,
        reporter_id=reporter_id,
        channel=Channel.TELEGRAM,
        description=f"Jalan rusak ({code})",
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
        photo("file-3"),
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
        assert await uow.cases.events(case.id + 1000) == []

    assert events == [submitted, disposed, answered]
    assert events[2].attachments == (photo("after-1"), photo("after-2", file_name="b.jpg"))
    assert events[1].actor == officer
    for event in events:
        assert_utc(event.at)
    # The event's files are not the case's intake attachments.
    assert loaded is not None
    assert loaded.attachments == [photo("intake")]


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
