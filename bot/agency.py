"""The agency file (TOML, named by ADUAN_CONFIG): what the office is and how it works.

The office, its groups and units, deadlines and calendar, limits, accepted files, recaps,
WhatsApp templates and health options. The environment's settings are `bot/settings.py`;
this module only parses the file it names. A bad key stops start-up with a message that
names the file, the table and the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, time
from datetime import datetime as datetime_type
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.budget import parse_budget
from bot.core.calendar import WorkingCalendar
from bot.core.files import ALL_TYPES, BY_NAME
from bot.core.office import (
    BUDGET_KEYS,
    DEFAULT_SOURCES,
    MAX_CATEGORY,
    WHATSAPP_ONLY,
    AnswerReview,
    Deadlines,
    DispositionBy,
    LaporOptions,
    Limits,
    Office,
    Unit,
    Workflow,
)
from bot.core.texts import LANGUAGES, load_texts, placeholders
from bot.settings import ConfigError

_CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
_UNIT_CODE = re.compile(r"^[A-Z0-9_]{1,16}$")
_PREFIX = re.compile(r"^[A-Z]{2,6}$")


@dataclass(frozen=True)
class ContentTemplate:
    """A WhatsApp template approved by Meta, registered in Twilio's Content API."""

    content_sid: str
    variables: tuple[str, ...]  # which values of the sentence fill {{1}}, {{2}}, …


@dataclass(frozen=True)
class WhatsAppOptions:
    """The agency file's [whatsapp] table."""

    messages_per_second: float = 80.0
    templates: Mapping[str, ContentTemplate] = field(default_factory=dict)


@dataclass(frozen=True)
class HealthOptions:
    """The agency file's [health] table: when the health check calls handling stuck."""

    stuck_after_seconds: float = 300.0


@dataclass(frozen=True)
class TelegramOptions:
    """The agency file's [telegram] table: the limits the bot paces its messages within
    (Telegram's documented ones unless a Bot API server allows more)."""

    messages_per_second: int = 30  # all chats together
    group_messages_per_minute: int = 20  # to one group
    private_messages_per_second: int = 1  # to one person, sustained (bursts of three)


def load_office(path: Path) -> Office:
    """Reads the agency file (see aduan.example.toml)."""
    return parse_office(read_agency_file(path), str(path))


def load_whatsapp_options(path: Path) -> WhatsAppOptions:
    """Reads the agency file's [whatsapp] table (rate and approved templates)."""
    return parse_whatsapp(read_agency_file(path), str(path))


def load_telegram_options(path: Path) -> TelegramOptions:
    """Reads the agency file's [telegram] table (the outbound limits)."""
    return parse_telegram(read_agency_file(path), str(path))


def load_health_options(path: Path) -> HealthOptions:
    """Reads the agency file's [health] table."""
    return parse_health(read_agency_file(path), str(path))


def read_agency_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            f"ADUAN_CONFIG: agency file {path} not found (copy aduan.example.toml to start)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"ADUAN_CONFIG: {path} is not valid TOML: {exc}") from None
    return data


def parse_whatsapp(data: Mapping[str, Any], where: str = "agency file") -> WhatsAppOptions:
    """Builds the WhatsApp options, checking each template against the bot's sentences."""
    table = data.get("whatsapp", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [whatsapp] must be a table")
    rate = table.get("messages_per_second", 80)
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 < rate <= 1000:
        raise ConfigError(f"{where} [whatsapp] messages_per_second must be a number from 1 to 1000")
    raw_templates = table.get("templates", {})
    if not isinstance(raw_templates, dict):
        raise ConfigError(f"{where} [whatsapp.templates] must be a table")
    reference = load_texts("id")
    templates: dict[str, ContentTemplate] = {}
    for key, spec in raw_templates.items():
        label = f"{where} [whatsapp.templates.{key}]"
        if key not in reference:
            raise ConfigError(f"{label}: there is no sentence {key!r} in templates/id.toml")
        if not isinstance(spec, dict):
            raise ConfigError(f"{label} must be a table")
        sid = spec.get("content_sid")
        if not isinstance(sid, str) or not _CONTENT_SID.match(sid):
            raise ConfigError(f"{label} content_sid must be a Content SID (HX + 32 hex digits)")
        variables = spec.get("variables", [])
        allowed = placeholders(reference.raw(key))
        if not isinstance(variables, list) or not all(v in allowed for v in variables):
            raise ConfigError(
                f"{label} variables must be a list of the sentence's values: {sorted(allowed)}"
            )
        templates[key] = ContentTemplate(sid, tuple(variables))
    return WhatsAppOptions(messages_per_second=float(rate), templates=templates)


def parse_health(data: Mapping[str, Any], where: str = "agency file") -> HealthOptions:
    """The [health] table: `stuck_after_seconds`, how long the oldest update not yet
    handled may wait before `GET /healthz` fails (longer than a burst takes to handle)."""
    table, label = _options(data, "health", {"stuck_after_seconds"}, where)
    seconds = table.get("stuck_after_seconds", HealthOptions.stuck_after_seconds)
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not seconds >= 10:
        raise ConfigError(f"{label} stuck_after_seconds must be a number of seconds, at least 10")
    return HealthOptions(stuck_after_seconds=float(seconds))


def parse_telegram(data: Mapping[str, Any], where: str = "agency file") -> TelegramOptions:
    """The [telegram] table: each limit a whole number of messages, at least 1."""
    known = {f.name for f in fields(TelegramOptions)}
    table, label = _options(data, "telegram", known, where)
    for key, value in table.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{label} {key} must be a whole number of at least 1")
    return TelegramOptions(**table)


def parse_office(data: Mapping[str, Any], where: str = "agency file") -> Office:
    """Builds the Office from the agency file's tables, naming any bad key."""
    agency = _table(data, "agency", where)
    groups = _table(data, "groups", where)
    name = _string(agency, "name", f"{where} [agency]")
    tz_name = _string(agency, "timezone", f"{where} [agency]")
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where} [agency] timezone: unknown time zone {tz_name!r}") from None
    language = str(agency.get("language", "id"))
    if language not in LANGUAGES:
        raise ConfigError(f"{where} [agency] language must be one of {', '.join(LANGUAGES)}")
    prefix = str(agency.get("code_prefix", "ADU"))
    if not _PREFIX.match(prefix):
        raise ConfigError(f"{where} [agency] code_prefix must be 2-6 capital letters")

    numbers = _StaffNumbers()
    officers_whatsapp = numbers.take(groups, "officers_whatsapp", f"{where} [groups]")
    supervisor_whatsapp = numbers.take(groups, "supervisor_whatsapp", f"{where} [groups]")
    officers = _role_chat(groups, "officers_chat_id", f"{where} [groups]", officers_whatsapp)
    officers = officers or f"{WHATSAPP_ONLY}officers"
    supervisor = _role_chat(groups, "supervisor_chat_id", f"{where} [groups]", (), required=False)
    if supervisor is None and supervisor_whatsapp:
        supervisor = f"{WHATSAPP_ONLY}supervisor"
    raw_ids = groups.get("officer_ids", [])
    if not isinstance(raw_ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in raw_ids
    ):
        raise ConfigError(
            f"{where} [groups] officer_ids must be a list of Telegram user ids (positive integers)"
        )
    raw_units = data.get("units", [])
    if not isinstance(raw_units, list) or not raw_units:
        raise ConfigError(f"{where}: at least one [[units]] entry is required")
    units: list[Unit] = []
    seen_codes: set[str] = set()
    seen_chats = {officers} | ({supervisor} if supervisor else set())
    for index, raw in enumerate(raw_units, 1):
        label = f"{where} [[units]] #{index}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{label} must be a table")
        code = _string(raw, "code", label).upper()
        if not _UNIT_CODE.match(code):
            raise ConfigError(f"{label} code must be 1-16 of A-Z 0-9 _, got {code!r}")
        if code in seen_codes:
            raise ConfigError(f"{label} code {code} is used twice")
        whatsapp = numbers.take(raw, "whatsapp", label)
        chat = _role_chat(raw, "chat_id", label, whatsapp) or f"{WHATSAPP_ONLY}unit:{code}"
        if chat in seen_chats:
            raise ConfigError(f"{label} chat_id {chat} is already used by another group")
        seen_codes.add(code)
        seen_chats.add(chat)
        unit_name = _string(raw, "name", label)
        units.append(Unit(code=code, name=unit_name, chat_id=chat, whatsapp=whatsapp))
    lapor = parse_lapor(data, where)
    liaison = lapor.liaison_chat_id
    if liaison is not None and liaison in seen_chats - {officers}:
        # A unit's group or the supervisor's chat answers its own commands only: the
        # liaison could not record a LAPOR number there.
        raise ConfigError(
            f"{where} [lapor] liaison_chat_id {liaison} is already a unit's or the "
            "supervisor's chat: give the liaison the officers' group or a chat of their own"
        )
    calendar = parse_calendar(data, timezone, language, where)
    deadlines = parse_deadlines(data, where)
    try:
        deadlines.check(calendar.working_day_minutes)
    except ValueError as error:
        raise ConfigError(f"{where} [deadlines]: {error}") from None
    return Office(
        name=name,
        calendar=calendar,
        deadlines=deadlines,
        officers_chat_id=officers,
        supervisor_chat_id=supervisor,
        units=tuple(units),
        officers_whatsapp=officers_whatsapp,
        supervisor_whatsapp=supervisor_whatsapp,
        language=language,
        code_prefix=prefix,
        officer_ids=frozenset(str(i) for i in raw_ids),
        limits=parse_limits(data, where),
        retention_days=parse_retention(data, where),
        accepted_files=parse_files(data, where),
        intake_sources=parse_intake(data, where),
        lapor=lapor,
        workflow=parse_workflow(data, supervisor is not None, where),
        **parse_recaps(data, where),
    )


def parse_workflow(
    data: Mapping[str, Any], has_supervisor: bool, where: str = "agency file"
) -> Workflow:
    """The [workflow] table: who approves a unit's answer (`answer_review`), who decides a
    disposition (`disposition_by`) and whether it carries a follow-up plan."""
    known = {"answer_review", "disposition_by", "follow_up_plan"}
    table, label = _options(data, "workflow", known, where)
    choices: dict[str, type[AnswerReview] | type[DispositionBy]] = {
        "answer_review": AnswerReview,
        "disposition_by": DispositionBy,
    }
    values: dict[str, Any] = {}
    for key, kind in choices.items():
        if key not in table:
            continue
        allowed = [member.value for member in kind]
        if table[key] not in allowed:
            quoted = " | ".join(f'"{a}"' for a in allowed)
            raise ConfigError(f"{label} {key} must be {quoted}, got {table[key]!r}")
        values[key] = kind(table[key])
        if table[key] == "supervisor" and not has_supervisor:
            raise ConfigError(f'{label} {key} = "supervisor" needs [groups] supervisor_chat_id')
    plan = table.get("follow_up_plan", False)
    if not isinstance(plan, bool):
        raise ConfigError(f"{label} follow_up_plan must be true or false")
    return Workflow(**values, follow_up_plan=plan)


MAX_SOURCE = 40  # characters of one source's name (a button label, a recap row)


def parse_intake(data: Mapping[str, Any], where: str = "agency file") -> tuple[str, ...]:
    """The [intake] table: `sources`, what an officer entering a complaint picks from."""
    table, label = _options(data, "intake", {"sources"}, where)
    raw = table.get("sources", list(DEFAULT_SOURCES))
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(s, str) and s.strip() for s in raw)
    ):
        raise ConfigError(f"{label} sources must be a list of names, at least one")
    sources = tuple(" ".join(s.split()) for s in raw)
    too_long = [s for s in sources if len(s) > MAX_SOURCE]
    if too_long:
        raise ConfigError(f"{label} source {too_long[0]!r} is longer than {MAX_SOURCE}")
    folded = [s.casefold() for s in sources]
    if len(set(folded)) != len(folded):
        raise ConfigError(f"{label} sources: a name is listed twice")
    return sources


def parse_lapor(data: Mapping[str, Any], where: str = "agency file") -> LaporOptions:
    """The [lapor] table: `enter_all` (every complaint entered into SP4N-LAPOR! by the
    liaison, SOP 003) and the liaison's `liaison_chat_id` or `liaison_ids`."""
    table, label = _options(data, "lapor", {"enter_all", "liaison_ids", "liaison_chat_id"}, where)
    enter_all = table.get("enter_all", False)
    if not isinstance(enter_all, bool):
        raise ConfigError(f"{label} enter_all must be true or false")
    raw_ids = table.get("liaison_ids", [])
    if not isinstance(raw_ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in raw_ids
    ):
        raise ConfigError(
            f"{label} liaison_ids must be a list of Telegram user ids (positive integers)"
        )
    chat = _chat_id(table, "liaison_chat_id", label) if "liaison_chat_id" in table else None
    if enter_all and chat is None and not raw_ids:
        raise ConfigError(
            f"{label} enter_all = true needs the liaison: liaison_chat_id or liaison_ids"
        )
    return LaporOptions(
        enter_all=enter_all, liaison_ids=frozenset(str(i) for i in raw_ids), liaison_chat_id=chat
    )


def _options(
    data: Mapping[str, Any], name: str, known: set[str], where: str
) -> tuple[dict[str, Any], str]:
    """An optional table of the agency file with only `known` keys, and its label."""
    table = data.get(name, {})
    label = f"{where} [{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{label} must be a table")
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"{label}: unknown keys {', '.join(sorted(unknown))}")
    return table, label


def parse_retention(data: Mapping[str, Any], where: str = "agency file") -> int:
    """The [privacy] table: `retention_days` after closing, personal data is removed."""
    table, label = _options(data, "privacy", {"retention_days"}, where)
    days = table.get("retention_days", 730)
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise ConfigError(f"{label} retention_days must be a whole number of days (0: keep)")
    return days


def parse_files(data: Mapping[str, Any], where: str = "agency file") -> frozenset[str]:
    """The [files] table: `accepted`, the types reporters may send (all known ones if unset)."""
    table, label = _options(data, "files", {"accepted"}, where)
    if "accepted" not in table:
        return ALL_TYPES
    names = table["accepted"]
    known = ", ".join(BY_NAME)
    if not isinstance(names, list) or not names:
        raise ConfigError(f"{label} accepted must be a list of file types, some of: {known}")
    unknown = [n for n in names if not isinstance(n, str) or n.lower() not in BY_NAME]
    if unknown:
        raise ConfigError(f"{label} accepted: unknown type {unknown[0]!r}; known: {known}")
    return frozenset(BY_NAME[n.lower()].mime for n in names)


def parse_limits(data: Mapping[str, Any], where: str = "agency file") -> Limits:
    """The [limits] table: how much one reporter may send (see `Limits`)."""
    table, label = _options(data, "limits", {"messages_per_minute", "cases_per_day"}, where)
    values: dict[str, int] = {}
    for key, value in table.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{label} {key} must be a whole number of at least 1")
        values[key] = value
    return Limits(**values)


def parse_recaps(data: Mapping[str, Any], where: str = "agency file") -> dict[str, Any]:
    """The [recaps] table: when the automatic recap goes out, and the case categories."""
    table = data.get("recaps", {})
    label = f"{where} [recaps]"
    if not isinstance(table, dict):
        raise ConfigError(f"{label} must be a table")
    unknown = set(table) - {"send_time", "categories"}
    if unknown:
        raise ConfigError(
            f"{label}: unknown key {sorted(unknown)[0]!r} (known: categories, send_time)"
        )
    send = table.get("send_time", "08:00")
    recap_at = None if send is False or send == "" else _clock_time(send, f"{label} send_time")
    raw = table.get("categories", [])
    if not isinstance(raw, list) or not all(isinstance(c, str) and c.strip() for c in raw):
        raise ConfigError(f"{label} categories must be a list of names")
    categories = tuple(" ".join(c.split()) for c in raw)
    too_long = [c for c in categories if len(c) > MAX_CATEGORY]
    if too_long:
        raise ConfigError(f"{label} category {too_long[0]!r} is longer than {MAX_CATEGORY}")
    folded = [c.casefold() for c in categories]
    if len(set(folded)) != len(folded):
        raise ConfigError(f"{label} categories: a name is listed twice")
    return {"recap_at": recap_at, "categories": categories}


def parse_calendar(
    data: Mapping[str, Any], timezone: ZoneInfo, language: str, where: str = "agency file"
) -> WorkingCalendar:
    """The [calendar] table: office hours and the office's own holidays and working days."""
    table = data.get("calendar", {})
    label = f"{where} [calendar]"
    if not isinstance(table, dict):
        raise ConfigError(f"{label} must be a table")
    unknown = set(table) - {"office_start", "office_end", "extra_holidays", "extra_working_days"}
    if unknown:
        raise ConfigError(f"{label}: unknown key {sorted(unknown)[0]!r}")
    start = _clock_time(table.get("office_start", "08:00"), f"{label} office_start")
    end = _clock_time(table.get("office_end", "16:00"), f"{label} office_end")
    holidays: dict[date, str] = {}
    for item in _list(table.get("extra_holidays", []), f"{label} extra_holidays"):
        if isinstance(item, dict):
            day = _date(item.get("date"), f"{label} extra_holidays date")
            holidays[day] = _string(item, "name", f"{label} extra_holidays {day}")
        else:
            holidays[_date(item, f"{label} extra_holidays")] = "Hari libur kantor"
    working = [
        _date(item, f"{label} extra_working_days")
        for item in _list(table.get("extra_working_days", []), f"{label} extra_working_days")
    ]
    try:
        return WorkingCalendar(
            timezone,
            extra_holidays=holidays,
            extra_working_days=working,
            office_start=start,
            office_end=end,
            language=language,
        )
    except ValueError as error:
        raise ConfigError(f"{label}: {error}") from None


def parse_deadlines(data: Mapping[str, Any], where: str = "agency file") -> Deadlines:
    """The [deadlines] table; each key may be left out for the SOP's default. The time
    budgets (BUDGET_KEYS) are whole working days or "1d" / "4h" / "30m" (`Deadlines`
    reads them); `case_days` whole days, counted as working days with
    `case_days_working = true`."""
    table = data.get("deadlines", {})
    label = f"{where} [deadlines]"
    if not isinstance(table, dict):
        raise ConfigError(f"{label} must be a table")
    known = {f.name for f in fields(Deadlines) if f.init} - {"digest_at"} | {"digest_time"}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"{label}: unknown key {sorted(unknown)[0]!r} (known: {sorted(known)})")
    values: dict[str, Any] = {}
    for name, value in table.items():
        if name == "digest_time":
            values["digest_at"] = (
                None
                if value is False or value == ""
                else _clock_time(value, f"{label} digest_time")
            )
        elif name in ("escalate_factor", "tick_seconds"):
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"{label} {name} must be a number")
            values[name] = float(value)
        elif name in BUDGET_KEYS:
            try:  # refused here to name the key; kept as written
                parse_budget(value, zero=name == "remind_days_before")
            except ValueError as error:
                raise ConfigError(f"{label} {name} {error}") from None
            values[name] = value
        elif name == "case_days_working":
            if not isinstance(value, bool):
                raise ConfigError(f"{label} case_days_working must be true or false")
            values[name] = value
        elif not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{label} {name} must be a whole number")
        else:
            values[name] = value
    try:
        return Deadlines(**values)
    except ValueError as error:
        raise ConfigError(f"{label}: {error}") from None


def _clock_time(value: object, where: str) -> time:
    """A wall-clock time of the office's zone (no offset: the zone is [agency] timezone)."""
    parsed: time | None = value if isinstance(value, time) else None
    if isinstance(value, str):
        try:
            parsed = time.fromisoformat(value.strip())
        except ValueError:
            parsed = None
    if parsed is not None and parsed.tzinfo is None:
        return parsed
    raise ConfigError(f'{where} must be a time of day such as "08:00"')


def _date(value: object, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime_type):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"{where}: {value!r} is not a date such as 2027-03-10")


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ConfigError(f"{where} must be a list")
    return value


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: the [{key}] table is missing")
    return value


def _string(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} {key} must be a non-empty string")
    return value.strip()


_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


class _StaffNumbers:
    """Reads the staff's WhatsApp numbers role by role; a number belongs to one role."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def take(self, table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        raw = table.get(key, [])
        if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
            raise ConfigError(f'{where} {key} must be a list of WhatsApp numbers ("+62…")')
        found: list[str] = []
        for value in raw:
            number = whatsapp_number(value)
            if number is None:
                raise ConfigError(
                    f"{where} {key}: {value!r} is not a WhatsApp number (+62 and the rest)"
                )
            if number in self.seen:
                raise ConfigError(
                    f"{where} {key}: {number} is already listed in {self.seen[number]}; a "
                    "number belongs to one role"
                )
            self.seen[number] = f"{where} {key}"
            found.append(number)
        return tuple(found)


def whatsapp_number(value: str) -> str | None:
    """A phone number as WhatsApp (Twilio) names it, +62… (an Indonesian 08… or 62…
    number is turned into it); None when it is none."""
    digits = "".join(value.split()).replace("-", "").replace(".", "")
    if digits.startswith("08"):
        digits = "+62" + digits[1:]
    elif digits.startswith("62"):
        digits = "+" + digits
    return digits if _E164.fullmatch(digits) else None


def _role_chat(
    table: Mapping[str, Any],
    key: str,
    where: str,
    numbers: tuple[str, ...],
    *,
    required: bool = True,
) -> str | None:
    """A role's Telegram chat id; optional where the role has WhatsApp numbers."""
    if key in table or (required and not numbers):
        return _chat_id(table, key, where)
    return None


def _chat_id(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value == 0:
        raise ConfigError(
            f"{where} {key} must be a Telegram chat id (an integer such as -1001234567890)"
        )
    return str(value)


def require_whatsapp_for_staff(office: Office, whatsapp_enabled: bool) -> None:
    """Staff numbers in the agency file need WhatsApp on: without it they would hear
    nothing, and their roles nothing from them (fails closed)."""
    if office.staff_on_whatsapp and not whatsapp_enabled:
        raise ConfigError(
            "the agency file names staff WhatsApp numbers ([groups] officers_whatsapp, "
            "supervisor_whatsapp, [[units]] whatsapp) but WhatsApp is off: set "
            "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_FROM and PUBLIC_BASE_URL"
        )
