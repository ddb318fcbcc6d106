"""Telegram groups that became supergroups: the old id and the new, followed both ways."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.models import ChatMigrationRecord
from storage.repositories.base import Part

# Guards the walks along chat migrations against a cycle in bad data.
_MAX_MIGRATION_HOPS = 32


class ChatMigrations(Part):
    """Telegram groups that became supergroups: old id → new id."""

    async def record_migration(self, old: str, new: str, at: datetime) -> None:
        if old == new:
            return
        statement = (
            self._upsert_module()
            .insert(ChatMigrationRecord)
            .values(old_chat_id=old, new_chat_id=new, migrated_at=at)
        )
        statement = statement.on_conflict_do_update(
            index_elements=["old_chat_id"],
            set_={
                "new_chat_id": statement.excluded.new_chat_id,
                "migrated_at": statement.excluded.migrated_at,
            },
        )
        await self._session.execute(statement)

    async def current(self, address: str) -> str:
        """Where the chat is now, following migrations (and chains of them)."""
        seen = {address}
        for _ in range(_MAX_MIGRATION_HOPS):
            new = await self._session.scalar(
                select(ChatMigrationRecord.new_chat_id).where(
                    ChatMigrationRecord.old_chat_id == address
                )
            )
            if new is None or new in seen:
                break
            seen.add(new)
            address = new
        return address

    async def original(self, address: str) -> str:
        """The chat's first id before any migration (itself if it never migrated)."""
        lineage = await self.lineage(address)
        return lineage[-1]

    async def lineage(self, address: str) -> list[str]:
        """The chat's id, then the id it migrated from, and so on back to the first."""
        chain = [address]
        for _ in range(_MAX_MIGRATION_HOPS):
            old = await self._session.scalar(
                select(ChatMigrationRecord.old_chat_id)
                .where(ChatMigrationRecord.new_chat_id == chain[-1])
                .order_by(ChatMigrationRecord.migrated_at, ChatMigrationRecord.old_chat_id)
                .limit(1)
            )
            if old is None or old in chain:
                break
            chain.append(old)
        return chain
