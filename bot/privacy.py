"""Retention and the right to be forgotten, on top of `storage.repositories.privacy`.

Closed cases older than `[privacy] retention_days` are anonymised by the deadline
scheduler's round (a batch per tick, by whichever instance holds the round), and the
reporters left with nothing but anonymised cases lose their address and name; raw
updates and sent messages of that age go too. `aduanbot forget WHO` does the same for
one reporter at once, on request. Stored files are deleted after the commit: the
cases' attachments, whatever the reporter sent on WhatsApp (a cancelled dialogue's photo
too: it is stored under the id of the message that brought it), and the exports already
sent (an /ekspor XLSX names the reporter; the folder only holds them for the outbox).
A link to a unit's file that was sent to the reporter stops answering with the case's
attachments (`PersonalData.on_record`).
Files that nothing refers to (a cancelled intake's photos) are swept away by the same
scheduler, at any hour, once past a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import datetime, timedelta
from pathlib import Path

from bot.core.office import Office
from bot.core.texts import Texts
from storage.database import Database
from storage.repositories.privacy import Erased
from storage.uow import SqlUnitOfWork

REPORTS = "reports"  # the exports' folder inside MEDIA_DIR (bot.app)
BATCH = 200  # cases (and reporters, and old rows) a round removes at most
# A stored file nothing refers to is removed once it is this old: a file kept a moment
# ago may belong to a message being handled right now (bot.channels.whatsapp.media.MediaKeeper also
# freshens a file it keeps again).
ORPHAN_GRACE = timedelta(hours=1)


class StillOpen(Exception):
    """The reporter has open cases: close them before forgetting the reporter."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(", ".join(codes))
        self.codes = codes


async def retention_round(
    uow: SqlUnitOfWork, office: Office, texts: Texts, now: datetime
) -> Erased:
    """Removes one batch of personal data past the retention period (in `uow`)."""
    erased = Erased()
    if not office.retention_days:
        return erased
    before = now - timedelta(days=office.retention_days)
    expired = await uow.privacy.expired(before, BATCH)
    await uow.privacy.anonymise(expired, texts("anonymised_case"), erased)
    for reporter_id in await uow.privacy.idle_reporters(before, BATCH):
        await uow.privacy.forget_reporter(reporter_id, erased)
    await uow.privacy.old_traffic(before, BATCH)
    return erased


async def forget(db: Database, texts: Texts, who: str, media: Path) -> Erased | None:
    """Erases one reporter's personal data (by case code, "channel:address" or number);
    None if there is no such reporter. Raises `StillOpen` while a case of theirs is open."""
    async with db.transaction() as uow:
        reporter_id = await uow.privacy.find_reporter(who)
        if reporter_id is None:
            return None
        cases, still_open = await uow.privacy.reporter_cases(reporter_id)
        if still_open:
            raise StillOpen(still_open)
        erased = Erased()
        await uow.privacy.anonymise(cases, texts("anonymised_case"), erased)
        await uow.privacy.forget_reporter(reporter_id, erased)
        waiting = "\n".join(await uow.privacy.waiting_payloads())
    files = [*erased.files, *received_media(erased.received, media), *sent_exports(media, waiting)]
    erased.files = files
    remove_files(files, media)
    return erased


async def remove_orphans(db: Database, media: Path, now: datetime) -> int:
    """Deletes stored files that nothing refers to (a cancelled intake's photo, say);
    returns how many. Only files older than ORPHAN_GRACE: one kept a moment ago may
    belong to a message whose handling has not committed yet."""
    candidates = await asyncio.to_thread(_files_before, media, now - ORPHAN_GRACE)
    if not candidates:
        return 0
    async with db.transaction(readonly=True) as uow:
        used = await uow.privacy.referenced(candidates)
    return remove_files([path for path in candidates if path not in used], media)


def _files_before(media: Path, moment: datetime) -> list[str]:
    """The files of the media folder itself (not its subfolders, such as the exports')
    last written before `moment`, as attachments name them."""
    if not media.is_dir():
        return []
    cutoff = moment.timestamp()
    with os.scandir(media) as entries:
        return [
            str(media / entry.name)
            for entry in entries
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff
        ]


def received_media(message_ids: list[str], media: Path) -> list[str]:
    """The stored files of these WhatsApp messages (named "<id>-<n>.<ext>" by
    bot.channels.whatsapp.media)."""
    if not media.is_dir():
        return []
    return [
        str(path)
        for message_id in message_ids
        if message_id.isalnum()
        for path in media.glob(f"{message_id}-*")
    ]


def sent_exports(media: Path, waiting: str) -> list[str]:
    """The recaps and exports (`bot.reports`) no waiting message still has to upload."""
    folder = media / REPORTS
    if not folder.is_dir():
        return []
    return [str(p) for p in folder.iterdir() if p.is_file() and str(p) not in waiting]


def remove_files(paths: list[str], media: Path) -> int:
    """Deletes stored attachments (only inside the media folder); returns how many."""
    folder = media.resolve()
    removed = 0
    for name in paths:
        path = Path(name).resolve()
        if path.is_relative_to(folder) and path.is_file():
            with contextlib.suppress(FileNotFoundError):  # another instance was quicker
                path.unlink()
                removed += 1
    return removed
