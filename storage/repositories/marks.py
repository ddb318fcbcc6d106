"""Named marks: small values the service keeps between runs (the core's `Marks`)."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import MarkRecord
from storage.repositories.base import Part


class SqlMarks(Part):
    async def get(self, name: str) -> str | None:
        value: str | None = await self._session.scalar(
            select(MarkRecord.value).where(MarkRecord.name == name)
        )
        return value

    async def put(self, name: str, value: str) -> None:
        now = self._clock.now()
        await self._session.execute(
            self._upsert_module()
            .insert(MarkRecord)
            .values(name=name, value=value, updated_at=now)
            .on_conflict_do_update(
                index_elements=["name"], set_={"value": value, "updated_at": now}
            )
        )
