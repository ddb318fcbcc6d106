"""The command words, one table per audience, read by every channel.

Citizens may type theirs with or without a leading "/" (WhatsApp has no commands), in
Indonesian or English; staff type `/word` in their groups. Each word names one command,
so a word added here works on Telegram and on WhatsApp alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from bot.core.permissions import Action


class CitizenCommand(StrEnum):
    """What a citizen's command asks for."""

    START = "start"  # begin a complaint
    STATUS = "status"  # the status of their cases
    CANCEL = "cancel"  # drop the complaint being written
    HELP = "help"


CITIZEN_WORDS: Mapping[str, CitizenCommand] = MappingProxyType(
    {
        "start": CitizenCommand.START,
        "mulai": CitizenCommand.START,
        "baru": CitizenCommand.START,
        "status": CitizenCommand.STATUS,
        "cek": CitizenCommand.STATUS,
        "batal": CitizenCommand.CANCEL,
        "cancel": CitizenCommand.CANCEL,
        "bantuan": CitizenCommand.HELP,
        "help": CitizenCommand.HELP,
        "menu": CitizenCommand.HELP,
    }
)

# Which audience may use each action is `bot.core.permissions.ALLOWED`.
STAFF_WORDS: Mapping[str, Action] = MappingProxyType(
    {
        "disposisi": Action.DISPOSE,
        "dispose": Action.DISPOSE,
        "lengkapi": Action.REQUEST_INFO,
        "askinfo": Action.REQUEST_INFO,
        "moreinfo": Action.REQUEST_INFO,
        "tolak": Action.REFUSE,
        "refuse": Action.REFUSE,
        "reject": Action.REFUSE,
        "selesai": Action.CLOSE,
        "close": Action.CLOSE,
        "kasus": Action.SHOW_CASE,
        "case": Action.SHOW_CASE,
        "antrian": Action.QUEUE,
        "queue": Action.QUEUE,
        "jawab": Action.ANSWER,
        "answer": Action.ANSWER,
        "kembalikan": Action.RETURN,
        "return": Action.RETURN,
        "kategori": Action.CATEGORIZE,
        "category": Action.CATEGORIZE,
        "rekap": Action.RECAP,
        "recap": Action.RECAP,
        "ekspor": Action.EXPORT,
        "export": Action.EXPORT,
        "lapor": Action.LAPOR,
        "macet": Action.STUCK,
        "stuck": Action.STUCK,
        "blokir": Action.BLOCK,
        "block": Action.BLOCK,
        "bukablokir": Action.UNBLOCK,
        "unblock": Action.UNBLOCK,
        "catat": Action.ENTER,
        "record": Action.ENTER,
        "dikabari": Action.INFORMED,
        "informed": Action.INFORMED,
        "cari": Action.SEARCH,
        "search": Action.SEARCH,
        "gabung": Action.MERGE,
        "merge": Action.MERGE,
        "setujui": Action.APPROVE,
        "approve": Action.APPROVE,
        "revisi": Action.REVISE,
        "revise": Action.REVISE,
        "rencana": Action.PLAN,
        "plan": Action.PLAN,
        "alihkan": Action.FORWARD,
        "transfer": Action.FORWARD,
        "identitas": Action.REVEAL,
        "reveal": Action.REVEAL,
        "bantuan": Action.HELP,
        "help": Action.HELP,
        "start": Action.HELP,
    }
)
