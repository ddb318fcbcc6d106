"""The reporters: people who wrote to the bot, one per chat, with their message rate
window (the core's `ReporterRepository`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, or_, select, update
from sqlalchemy import case as sql_case

from bot.core.model import Channel, Reporter
from storage.models import ReporterRecord
from storage.repositories.base import Part, per_dialect, table


def _reporter(record: ReporterRecord | Row[Any]) -> Reporter:
    """A reporter from its mapped record or from a row of the same columns."""
    return Reporter(
        id=record.id,
        channel=Channel(record.channel),
        address=record.address,
        display_name=record.display_name,
        last_inbound_at=record.last_inbound_at,
        blocked_at=record.blocked_at,
    )


_REPORTERS = table(ReporterRecord)

_REPORTER_COLUMNS = (
    _REPORTERS.c.id,
    _REPORTERS.c.channel,
    _REPORTERS.c.address,
    _REPORTERS.c.display_name,
    _REPORTERS.c.last_inbound_at,
    _REPORTERS.c.blocked_at,
)
_REPORTER_BY_CHAT = select(*_REPORTER_COLUMNS).where(
    _REPORTERS.c.channel == bindparam("p_channel"),
    _REPORTERS.c.address == bindparam("p_address"),
)
_NEW_REPORTER: dict[str, Any] = per_dialect(
    lambda module: module.insert(_REPORTERS).on_conflict_do_nothing(
        index_elements=["channel", "address"]
    )
)
# The SET clause comes from the parameters' keys (last_inbound_at, display_name).
_TOUCH_REPORTER = update(_REPORTERS).where(_REPORTERS.c.id == bindparam("p_id"))
# A message arrived: the reporter found and touched in one statement.
_REPORTER_ARRIVED = (
    update(_REPORTERS)
    .where(
        _REPORTERS.c.channel == bindparam("p_channel"),
        _REPORTERS.c.address == bindparam("p_address"),
    )
    .values(last_inbound_at=bindparam("p_at", type_=_REPORTERS.c.last_inbound_at.type))
    .returning(*_REPORTER_COLUMNS)
)


def _arrived_counted() -> Any:
    """A message arrived and counts: the reporter found, touched and (unless blocked) the
    message counted in its rate window, a new window begun when the last began `window`
    or longer ago; one UPDATE, which locks the row, so a reporter writing from a second
    instance's view is counted right anyway."""
    R = _REPORTERS
    at = bindparam("p_at", type_=R.c.window_started_at.type)
    fresh = or_(
        R.c.window_started_at.is_(None),
        R.c.window_started_at <= bindparam("p_cutoff", type_=R.c.window_started_at.type),
    )
    blocked = R.c.blocked_at.is_not(None)
    return (
        update(R)
        .where(
            R.c.channel == bindparam("p_channel"),
            R.c.address == bindparam("p_address"),
        )
        .values(
            # (every expression reads the row as it was before the update)
            last_inbound_at=at,
            window_started_at=sql_case(
                (blocked, R.c.window_started_at), (fresh, at), else_=R.c.window_started_at
            ),
            window_count=sql_case(
                (blocked, R.c.window_count), (fresh, 1), else_=R.c.window_count + 1
            ),
        )
        .returning(*_REPORTER_COLUMNS, R.c.window_count)
    )


_ARRIVED_COUNTED = _arrived_counted()


class SqlReporterRepository(Part):
    async def get_or_create(
        self, channel: Channel, address: str, display_name: str | None
    ) -> Reporter:
        """The reporter on that chat; created (with `display_name`) if new.

        Safe against a concurrent creation of the same reporter: the insert ignores
        the conflict and the row is read back.
        """
        where = {"p_channel": channel.value, "p_address": address}
        row = (await self._core(_REPORTER_BY_CHAT, where)).first()
        if row is None:
            await self._create(channel, address, display_name)
            row = (await self._core(_REPORTER_BY_CHAT, where)).first()
            assert row is not None
        return _reporter(row)

    async def _create(self, channel: Channel, address: str, display_name: str | None) -> None:
        """Stores the reporter on that chat unless it exists (created meanwhile by another
        transaction, say): the insert ignores the conflict."""
        await self._core(
            self._built(_NEW_REPORTER),
            {
                "channel": channel.value,
                "address": address,
                "display_name": display_name,
                "created_at": self._clock.now(),
            },
        )

    async def arrived(
        self, channel: Channel, address: str, display_name: str | None, at: datetime
    ) -> Reporter:
        """The reporter on that chat, who just wrote (`last_inbound_at` is `at`); created
        (with `display_name`) if new. One statement for a known reporter, the hot path."""
        where = {"p_channel": channel.value, "p_address": address, "p_at": at}
        row = (await self._core(_REPORTER_ARRIVED, where)).first()
        if row is None:
            await self._create(channel, address, display_name)
            row = (await self._core(_REPORTER_ARRIVED, where)).first()
            assert row is not None
        return _reporter(row)

    async def arrived_counted(
        self,
        channel: Channel,
        address: str,
        display_name: str | None,
        at: datetime,
        window: timedelta,
    ) -> tuple[Reporter, int]:
        where = {
            "p_channel": channel.value,
            "p_address": address,
            "p_at": at,
            "p_cutoff": at - window,
        }
        row = (await self._core(_ARRIVED_COUNTED, where)).first()
        if row is None:
            await self._create(channel, address, display_name)
            row = (await self._core(_ARRIVED_COUNTED, where)).first()
            assert row is not None
        reporter = _reporter(row)
        return reporter, 0 if reporter.blocked_at is not None else int(row.window_count)

    async def get(self, reporter_id: int) -> Reporter | None:
        record = await self._first(select(ReporterRecord).where(ReporterRecord.id == reporter_id))
        return _reporter(record) if record else None

    async def find(self, channel: Channel, address: str) -> Reporter | None:
        record = await self._first(
            select(ReporterRecord).where(
                ReporterRecord.channel == channel.value, ReporterRecord.address == address
            )
        )
        return _reporter(record) if record else None

    async def touch(self, reporter: Reporter, at: datetime) -> None:
        """Records that the reporter just wrote, and their display name unless it is None.

        Also sets `reporter.last_inbound_at`.
        """
        if reporter.id is None:
            raise ValueError("reporter was never stored")
        values: dict[str, Any] = {"p_id": reporter.id, "last_inbound_at": at}
        if reporter.display_name is not None:
            values["display_name"] = reporter.display_name
        await self._update_one(_TOUCH_REPORTER, f"reporter {reporter.id}", values)
        reporter.last_inbound_at = at

    async def messages_in_window(self, reporter_id: int, at: datetime, window: timedelta) -> int:
        row = (
            await self._session.execute(
                select(ReporterRecord.window_started_at, ReporterRecord.window_count).where(
                    ReporterRecord.id == reporter_id
                )
            )
        ).first()
        if row is None or row.window_started_at is None or row.window_started_at <= at - window:
            return 0
        return int(row.window_count)

    async def set_blocked(self, reporter_id: int, at: datetime | None) -> None:
        await self._update_one(
            update(ReporterRecord).where(ReporterRecord.id == reporter_id).values(blocked_at=at),
            f"reporter {reporter_id}",
        )
