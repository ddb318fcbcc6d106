"""The agency the bot serves: its name, time zone, groups and units."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Unit:
    """A division or agency (Bidang/OPD) that receives dispositions in its own group."""

    code: str
    name: str
    chat_id: str


@dataclass(frozen=True)
class Office:
    """The agency's settings that the core needs (from the agency file)."""

    name: str
    timezone: ZoneInfo
    officers_chat_id: str
    units: tuple[Unit, ...]
    supervisor_chat_id: str | None = None
    language: str = "id"
    code_prefix: str = "ADU"
    _by_code: dict[str, Unit] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for unit in self.units:
            self._by_code[unit.code.upper()] = unit

    def unit(self, code: str) -> Unit | None:
        return self._by_code.get(code.upper())

    def unit_for_chat(self, chat_id: str) -> Unit | None:
        for unit in self.units:
            if unit.chat_id == chat_id:
                return unit
        return None
