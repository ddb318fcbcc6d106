"""A sample office and its storage on the in-memory fakes, shared by the core's unit tests."""

from __future__ import annotations

import functools
from zoneinfo import ZoneInfo

from bot.core import mirror
from bot.core.calendar import WorkingCalendar
from bot.core.cases import CaseDesk
from bot.core.model import Channel, OutgoingMessage, Recipient
from bot.core.office import Office, Unit
from bot.core.texts import load_texts
from tests.fakes import FakeUnitOfWork, FixedClock

T = load_texts("id")
YANKES = Unit("YANKES", "Bidang Pelayanan Kesehatan", "-2001")
P2P = Unit("P2P", "Bidang Pencegahan Penyakit", "-2002")
OFFICERS = Recipient(Channel.TELEGRAM, "-1001")
YANKES_CHAT = Recipient(Channel.TELEGRAM, YANKES.chat_id)
P2P_CHAT = Recipient(Channel.TELEGRAM, P2P.chat_id)
DESCRIPTION = "Obat di puskesmas habis sejak seminggu dan pasien disuruh membeli sendiri."


def sample_office(*units: Unit) -> Office:
    return Office(
        name="Dinas Kesehatan Kota Contoh",
        calendar=WorkingCalendar(ZoneInfo("Asia/Jakarta")),
        officers_chat_id=OFFICERS.address,
        units=units,
    )


class OfficeWorld:
    """One office's storage and clock; `desk()` opens a CaseDesk as one transaction would."""

    def __init__(self, office: Office) -> None:
        self.office = office
        # Messages for a role's chat are copied to its staff's WhatsApp numbers, as the
        # service's outbox does (`bot.core.mirror`).
        self.uow = FakeUnitOfWork(functools.partial(mirror.copies, office))
        self.clock = FixedClock()

    def desk(self) -> CaseDesk:
        return CaseDesk(self.uow, self.office, T, self.clock.now())

    @property
    def sent(self) -> list[OutgoingMessage]:
        return self.uow.outbox.sent

    def to(self, recipient: Recipient) -> list[str]:
        return [m.text for m in self.uow.outbox.to(recipient)]

    def clear(self) -> None:
        self.uow.outbox.sent.clear()
