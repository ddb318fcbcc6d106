"""Where each reporter is in the intake dialogue (the core's `DialogueRepository`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.model import Channel
from bot.core.ports import Clock, DialogueState
from storage.models import DialogueRecord, ReporterRecord
from storage.repositories.base import NO_SYNC, Part, per_dialect, table

_DIALOGUES = table(DialogueRecord)
_LOAD_DIALOGUE = select(_DIALOGUES.c.step, _DIALOGUES.c.data).where(
    _DIALOGUES.c.reporter_id == bindparam("p_reporter")
)

_REPORTERS = table(ReporterRecord)
# The dialogue under way in a chat, found by the chat (one statement, on the routing's path).
_DIALOGUE_IN_CHAT = (
    select(_DIALOGUES.c.step, _DIALOGUES.c.data)
    .select_from(_DIALOGUES.join(_REPORTERS, _REPORTERS.c.id == _DIALOGUES.c.reporter_id))
    .where(
        _REPORTERS.c.channel == bindparam("p_channel"),
        _REPORTERS.c.address == bindparam("p_address"),
    )
)


def _save_dialogue(module: Any) -> Any:
    statement = module.insert(_DIALOGUES)
    return statement.on_conflict_do_update(
        index_elements=["reporter_id"],
        set_={
            "step": statement.excluded.step,
            "data": statement.excluded.data,
            "updated_at": statement.excluded.updated_at,
        },
    )


_SAVE_DIALOGUE: dict[str, Any] = per_dialect(_save_dialogue)


class SqlDialogueRepository(Part):
    """The dialogues. A chat's dialogue read by `step_in` (the routing asks which step a
    private chat is at) is kept for the `in_chat` that follows in the same transaction
    (the citizen's reception reads it whole), until a dialogue is saved or cleared."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        super().__init__(session, clock)
        self._read: dict[tuple[Channel, str], DialogueState | None] = {}

    async def load(self, reporter_id: int) -> DialogueState | None:
        row = (await self._core(_LOAD_DIALOGUE, {"p_reporter": reporter_id})).first()
        return DialogueState(step=row.step, data=row.data) if row else None

    async def step_in(self, channel: Channel, address: str) -> str | None:
        state = await self._in_chat(channel, address)
        self._read[(channel, address)] = state
        return state.step if state is not None else None

    async def in_chat(self, channel: Channel, address: str) -> DialogueState | None:
        key = (channel, address)
        if key in self._read:
            return self._read.pop(key)  # (handed out once: its data may be changed)
        return await self._in_chat(channel, address)

    async def _in_chat(self, channel: Channel, address: str) -> DialogueState | None:
        where = {"p_channel": channel.value, "p_address": address}
        row = (await self._core(_DIALOGUE_IN_CHAT, where)).first()
        return DialogueState(step=row.step, data=row.data) if row else None

    async def save(self, reporter_id: int, state: DialogueState) -> None:
        self._read.clear()
        await self._core(
            self._built(_SAVE_DIALOGUE),
            {
                "reporter_id": reporter_id,
                "step": state.step,
                "data": state.data,
                "updated_at": self._clock.now(),
            },
        )

    async def clear(self, reporter_id: int) -> None:
        self._read.clear()
        await self._session.execute(
            delete(DialogueRecord).where(DialogueRecord.reporter_id == reporter_id),
            execution_options=NO_SYNC,
        )
