"""What keeps two instances of the service on one database from doing a job twice:
transaction locks (the deadline patrol), claimed inbound deliveries, the outbox row
re-read after locking a chat, and the per-chat send locks.

On PostgreSQL the second instance is a second open transaction (or a second
`Database` on the same URL) while the first still holds what it took. SQLite serves
one instance, so there every lock is granted; a second write transaction would wait
for the first, so the SQLite branches check their answers one after the other.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from bot.core.model import Channel, OutgoingMessage, Recipient
from storage import Database
from storage.locks import ChatLocks, LockKey, chat_key
from storage.repositories.sending import PartSent
from tests.fakes import FixedClock

POSTGRESQL = "postgresql"
CITIZEN = Recipient(Channel.TELEGRAM, "5551")
ALICE, BOB, CAROL = "telegram:1", "telegram:2", "whatsapp:+62813"
PATROL = LockKey.DEADLINE_PATROL
OTHER_JOB = LockKey.STUCK_NOTICE


async def record(database: Database, clock: FixedClock, *external_ids: str) -> list[int]:
    """Records Telegram deliveries; their inbound ids, in order."""
    async with database.transaction() as uow:
        for external_id in external_ids:
            assert await uow.inbound.record(
                "telegram", external_id, "telegram:5551", {"update_id": external_id}, clock.now()
            )
        rows = await uow.inbound.pending(100)
    return [row.id for row in rows]


async def two_and_another(database: Database, clock: FixedClock) -> list[int]:
    """Two deliveries of one chat and one of another; their inbound ids, in order."""
    ids = await record(database, clock, "1", "2")
    async with database.transaction() as uow:
        assert await uow.inbound.record(
            "telegram", "3", "telegram:7777", {"update_id": 3}, clock.now()
        )
        (*_, other_chat) = [row.id for row in await uow.inbound.pending(100)]
    return [*ids, other_chat]


# --- transaction locks -----------------------------------------------------------------


async def test_a_transaction_lock_is_held_until_the_transaction_ends(database: Database) -> None:
    if database.dialect == POSTGRESQL:
        async with database.transaction() as first:
            assert await first.locks.try_hold(PATROL)
            assert await first.locks.try_hold(PATROL)  # its own lock again
            async with database.transaction() as second:
                assert not await second.locks.try_hold(PATROL)
                assert await second.locks.try_hold(OTHER_JOB)
            async with database.transaction() as third:
                assert not await third.locks.try_hold(PATROL)
                # `second` committed: its lock went with it.
                assert await third.locks.try_hold(OTHER_JOB)
        async with database.transaction() as after:
            assert await after.locks.try_hold(PATROL)
    else:
        async with database.transaction() as first:
            assert await first.locks.try_hold(PATROL)
            assert await first.locks.try_hold(PATROL)
            assert await first.locks.try_hold(OTHER_JOB)
        async with database.transaction() as second:
            assert await second.locks.try_hold(PATROL)


async def test_a_rolled_back_transaction_lets_its_lock_go(
    database: Database, clock: FixedClock
) -> None:
    async def crash() -> None:
        async with database.transaction() as crashing:
            assert await crashing.locks.try_hold(PATROL)
            raise RuntimeError("patrol crashed")

    with pytest.raises(RuntimeError, match="patrol crashed"):
        await crash()
    # Another instance (its own connections) finds the lock free.
    other = Database(database.url, clock=clock)
    try:
        async with other.transaction() as theirs:
            assert await theirs.locks.try_hold(PATROL)
    finally:
        await other.dispose()


async def test_a_transaction_lock_holds_against_another_instance(
    database: Database, clock: FixedClock
) -> None:
    other = Database(database.url, clock=clock)
    try:
        if database.dialect == POSTGRESQL:
            async with database.transaction() as mine:
                assert await mine.locks.try_hold(PATROL)
                async with other.transaction() as theirs:
                    assert not await theirs.locks.try_hold(PATROL)
            async with other.transaction() as theirs:
                assert await theirs.locks.try_hold(PATROL)
        else:
            async with database.transaction() as mine:
                assert await mine.locks.try_hold(PATROL)
            async with other.transaction() as theirs:
                assert await theirs.locks.try_hold(PATROL)
    finally:
        await other.dispose()


# --- claiming inbound deliveries -------------------------------------------------------


async def test_a_delivery_is_claimed_while_pending(database: Database, clock: FixedClock) -> None:
    done, failed, waiting = await record(database, clock, "1", "2", "3")
    async with database.transaction() as uow:
        assert await uow.inbound.claim(done)
        await uow.inbound.mark_done(done, clock.now())
        assert not await uow.inbound.claim(done)
        assert not await uow.inbound.claim(9999)
    async with database.transaction() as uow:
        assert not await uow.inbound.claim(done)
        assert await uow.inbound.claim(failed)
        await uow.inbound.mark_failed(failed, "Traceback: boom", clock.now())
    async with database.transaction() as uow:
        assert not await uow.inbound.claim(failed)
        assert await uow.inbound.claim(waiting)
        assert await uow.inbound.claim(waiting)  # its own claim again
    async with database.transaction() as uow:
        assert await uow.inbound.claim(waiting)  # the claim ended with the transaction


async def test_a_claimed_delivery_is_skipped_by_another_transaction(
    database: Database, clock: FixedClock
) -> None:
    first_id, second_id, other_chat = await two_and_another(database, clock)
    if database.dialect == POSTGRESQL:
        async with database.transaction() as first:
            assert await first.inbound.claim(first_id)
            async with database.transaction() as second:
                assert not await second.inbound.claim(first_id)  # skipped, not waited for
                assert await second.inbound.is_pending(first_id)
                # The same chat's next update waits for the first: the chat keeps its order.
                assert not await second.inbound.claim(second_id)
                assert await second.inbound.claim(other_chat)  # another chat goes on
                await second.inbound.mark_done(other_chat, clock.now())
            # The first instance gave up without handling it: the delivery is free again.
    else:
        async with database.transaction() as first:
            assert await first.inbound.claim(first_id)
    async with database.transaction() as third:
        assert not await third.inbound.claim(second_id)  # the first still waits
        assert await third.inbound.claim(first_id)
        await third.inbound.mark_done(first_id, clock.now())
        assert await third.inbound.claim(second_id)  # its turn now
        await third.inbound.mark_done(second_id, clock.now())
        if database.dialect != POSTGRESQL:
            assert await third.inbound.claim(other_chat)
            await third.inbound.mark_done(other_chat, clock.now())
    async with database.transaction() as uow:
        assert await uow.inbound.backlog() == 0
        assert not await uow.inbound.claim(first_id)
        assert not await uow.inbound.is_pending(first_id)


async def test_a_delivery_taken_is_done_with_its_transaction_and_pending_again_without(
    database: Database, clock: FixedClock
) -> None:
    first_id, second_id, other_chat = await two_and_another(database, clock)
    with contextlib.suppress(RuntimeError):
        async with database.transaction() as uow:
            assert not await uow.inbound.take(second_id, clock.now())  # its first waits
            assert await uow.inbound.take(first_id, clock.now())
            assert not await uow.inbound.is_pending(first_id)
            raise RuntimeError("the handling failed")  # rolled back: pending again
    if database.dialect == POSTGRESQL:
        async with database.transaction() as first:
            assert await first.inbound.take(first_id, clock.now())
            async with database.transaction() as second:
                assert not await second.inbound.take(first_id, clock.now())  # skipped
                assert await second.inbound.is_pending(first_id)
                assert not await second.inbound.take(second_id, clock.now())  # in order
                assert await second.inbound.take(other_chat, clock.now())  # another chat
        async with database.transaction() as uow:
            assert await uow.inbound.take(second_id, clock.now())  # its turn now
    else:
        async with database.transaction() as uow:
            assert await uow.inbound.take(first_id, clock.now())
            assert await uow.inbound.take(second_id, clock.now())  # its turn now
            assert await uow.inbound.take(other_chat, clock.now())
    async with database.transaction() as uow:
        assert await uow.inbound.backlog() == 0
        assert not await uow.inbound.take(first_id, clock.now())
        assert not await uow.inbound.take(9999, clock.now())


async def test_a_failed_update_does_not_hold_up_its_chat(
    database: Database, clock: FixedClock
) -> None:
    first_id, second_id = await record(database, clock, "1", "2")
    async with database.transaction() as uow:
        assert await uow.inbound.claim(first_id)
        await uow.inbound.mark_failed(first_id, "Traceback: boom", clock.now())
        assert await uow.inbound.claim(second_id)


# --- the outbox row, re-read after locking its chat ------------------------------------


async def test_still_pending_gives_the_row_until_it_is_sent(
    database: Database, clock: FixedClock
) -> None:
    other = Recipient(Channel.WHATSAPP, "+6281234567890")
    async with database.transaction() as uow:
        await uow.outbox.enqueue(OutgoingMessage(CITIZEN, "Kasus ADU-1", case_id=4))
        await uow.outbox.enqueue(OutgoingMessage(other, "halo"))
    async with database.transaction() as uow:
        row, failing = await uow.sending.due(clock.now(), 10)
        assert await uow.sending.still_pending(row.id) == row
        assert await uow.sending.still_pending(9999) is None

    async with database.transaction() as uow:
        await uow.sending.parts_sent([PartSent(row, ["701"], clock.now())])
    async with database.transaction(readonly=True) as uow:
        current = await uow.sending.still_pending(row.id)
    assert current is not None
    assert (current.id, current.parts_done, current.message) == (row.id, 1, row.message)

    async with database.transaction() as uow:
        await uow.sending.mark_sent(row.id, clock.now())
        await uow.sending.mark_failed(failing.id, "403 Forbidden", clock.now())
    async with database.transaction(readonly=True) as uow:
        assert await uow.sending.still_pending(row.id) is None
        assert await uow.sending.still_pending(failing.id) is None


async def test_still_pending_sees_what_another_instance_did(
    database: Database, clock: FixedClock
) -> None:
    async with database.transaction() as uow:
        await uow.outbox.enqueue(OutgoingMessage(CITIZEN, "satu"))
    async with database.transaction() as uow:
        (row,) = await uow.sending.due(clock.now(), 10)
    other = Database(database.url, clock=clock)
    try:
        async with other.transaction() as theirs:
            await theirs.sending.retry_later(row.id, clock.now(), "timeout")
        async with database.transaction(readonly=True) as uow:
            again = await uow.sending.still_pending(row.id)
        assert again is not None and again.attempts == 1
        async with other.transaction() as theirs:
            await theirs.sending.mark_sent(row.id, clock.now())
        async with database.transaction(readonly=True) as uow:
            assert await uow.sending.still_pending(row.id) is None
    finally:
        await other.dispose()


# --- per-chat send locks ---------------------------------------------------------------


@pytest.fixture
async def chat_locks(
    database: Database, clock: FixedClock
) -> AsyncIterator[tuple[ChatLocks, ChatLocks]]:
    """The chat locks of two instances on the same database."""
    other = Database(database.url, clock=clock)
    first, second = ChatLocks(database), ChatLocks(other)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()
        await other.dispose()


async def test_chat_locks_are_shared_between_instances_on_postgresql(
    database: Database, chat_locks: tuple[ChatLocks, ChatLocks]
) -> None:
    first, second = chat_locks
    if database.dialect == POSTGRESQL:
        assert first.shared and second.shared
        assert await first.acquire(ALICE)
        assert not await second.acquire(ALICE)
        assert await second.acquire(BOB)
        assert not await first.acquire(BOB)

        await first.release(ALICE)
        assert await second.acquire(ALICE)
        assert not await first.acquire(ALICE)
        await second.release(ALICE)
        await second.release(BOB)
        assert await first.acquire(BOB)
        await first.release(BOB)

        # Closed locks connect again when asked.
        await second.close()
        assert await second.acquire(CAROL)
        assert not await first.acquire(CAROL)
    else:
        assert not first.shared and not second.shared
        assert await first.acquire(ALICE)
        assert await second.acquire(ALICE)
        assert await first.acquire(ALICE)
        await first.release(ALICE)
        await first.close()
        assert await first.acquire(BOB)


async def test_chat_locks_are_taken_and_released_many_at_once(
    database: Database, chat_locks: tuple[ChatLocks, ChatLocks]
) -> None:
    first, second = chat_locks
    assert await first.acquire_all([]) == []
    assert await first.acquire_all([ALICE, BOB]) == [True, True]
    shared = database.dialect == POSTGRESQL
    # in the order asked; another instance's chats are not granted
    assert await second.acquire_all([BOB, CAROL, ALICE]) == [not shared, True, not shared]
    await first.release_all([ALICE, BOB])
    assert await second.acquire_all([ALICE, BOB]) == [True, True]
    if shared:
        assert await first.acquire_all([CAROL, ALICE]) == [False, False]
        await second.release_all([ALICE, BOB, CAROL])
        assert await first.acquire_all([CAROL, ALICE]) == [True, True]


async def test_closing_chat_locks_frees_their_chats(
    database: Database, chat_locks: tuple[ChatLocks, ChatLocks]
) -> None:
    first, second = chat_locks
    assert await first.acquire(CAROL)
    assert await second.acquire(CAROL) is (database.dialect != POSTGRESQL)
    await first.close()  # the first instance stops sending; its chats are free
    assert await second.acquire(CAROL)


async def test_chat_locks_go_with_a_lost_connection(
    database: Database, chat_locks: tuple[ChatLocks, ChatLocks]
) -> None:
    first, second = chat_locks
    assert await first.acquire(ALICE)
    if database.dialect == POSTGRESQL:
        assert not await second.acquire(ALICE)
        # The first instance's lock connection dies (the instance crashed, say).
        async with second.db.engine.connect() as connection:
            (pid,) = (
                await connection.execute(
                    text(
                        "SELECT pid FROM pg_locks WHERE locktype = 'advisory'"
                        " AND classid = :namespace AND objid = :key AND objsubid = 2"
                        # this database's: the server's other databases hold such locks too
                        " AND database = (SELECT oid FROM pg_database"
                        " WHERE datname = current_database())"
                    ),
                    {"namespace": LockKey.CHATS.value, "key": chat_key(ALICE) & 0xFFFFFFFF},
                )
            ).one()
            assert await connection.scalar(
                text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}
            )
        assert await second.acquire(ALICE)
        # The first instance cannot ask the database once, then starts afresh.
        assert not await first.acquire(BOB)
        assert await first.acquire(BOB)
        assert not await first.acquire(ALICE)
    else:
        assert await second.acquire(ALICE)


async def test_chat_locks_do_not_block_transaction_locks(database: Database) -> None:
    locks = ChatLocks(database)
    key = chat_key(ALICE)
    try:
        assert await locks.acquire(ALICE)
        async with database.transaction() as uow:
            assert await uow.locks.try_hold(key)  # another namespace of keys
    finally:
        await locks.close()


def test_chat_keys_are_stable_signed_32_bit_numbers() -> None:
    keys = {chat_key(f"telegram:{n}") for n in range(1000)}
    assert len(keys) > 990  # collisions only make two chats wait for each other
    assert all(-(2**31) <= key < 2**31 for key in keys)
    assert chat_key("telegram:1") == chat_key("telegram:1")
    assert chat_key("telegram:1") != chat_key("whatsapp:1")
