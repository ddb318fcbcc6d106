"""Finding cases: `/cari kata…` (English `/search`).

Officers (their group, their private chat with the bot) and the supervisor find any
case by its code, its SP4N-LAPOR! number, the reporter's name or phone, or words of the
story or the place; a unit finds only its own cases, and never by who reported them.
Every word must match (each in any of those fields), case-insensitively and literally;
the newest cases come first, PAGE_SIZE at a time. The next page is the same command
with `hal N` (`page N`) after the words: the results end with it, ready to copy. (A
"next" button would have to carry the words in Telegram's 64 bytes of callback data,
and a tap in a unit's group or a private chat is not routed to the staff's handlers.)

Plain Python: the query itself is the `CaseRepository.search` port.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.core.cases import CaseDesk, Refusal
from bot.core.model import Case, Recipient
from bot.core.office import Unit
from bot.core.ports import CaseSearch, SearchTerm
from bot.core.texts import Texts
from bot.core.views import local_time, staff_view

PAGE_SIZE = 10
MAX_CHARS = 200  # of the words typed after the command
MAX_WORDS = 8
MAX_PAGE = 1000
SNIPPET = 80  # characters of the story shown for each case
PAGE_WORDS = frozenset({"hal", "halaman", "page"})
PHONE_DIGITS = (8, 15)  # as bot.core.dialogue.normalise_phone reads a number
COUNTRY = "62"  # Indonesia: 0812… is +62812…

_PAGE_NUMBER = re.compile(r"[0-9]{1,7}")
_PHONE_CHARS = re.compile(r"\+?[0-9()\-. ]+")


@dataclass(frozen=True)
class SearchRequest:
    """The words typed (as shown back), the terms they make, and the page asked for."""

    query: str
    terms: tuple[SearchTerm, ...]
    page: int


def parse(args: str, usage: str) -> SearchRequest:
    """Reads `kata… [hal N]`; a bad request raises `Refusal` saying what to type."""
    if len(args) > MAX_CHARS:
        raise Refusal("err_search_too_long", words=MAX_WORDS, chars=MAX_CHARS)
    words = _clean(args).split()
    page = 1
    if len(words) >= 2 and words[-2].lower() in PAGE_WORDS and _PAGE_NUMBER.fullmatch(words[-1]):
        page = int(words[-1])
        words = words[:-2]
        if not 1 <= page <= MAX_PAGE:
            raise Refusal("err_search_page", max=MAX_PAGE)
    if not words:
        raise Refusal("err_usage", usage=usage)
    if len(words) > MAX_WORDS:
        raise Refusal("err_search_too_long", words=MAX_WORDS, chars=MAX_CHARS)
    query = " ".join(words)
    if _PHONE_CHARS.fullmatch(query) and phone_forms(query):
        words = ["".join(words)]  # a number typed in groups: 0812 3456 7890
    return SearchRequest(query, tuple(SearchTerm(w, phone_forms(w)) for w in words), page)


def _clean(text: str) -> str:
    """The text without control and format characters (a NUL, which PostgreSQL refuses
    in text; invisible marks that would make a word match nothing)."""
    return "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)


def phone_forms(word: str) -> tuple[str, ...]:
    """The ways a phone number is stored when `word` is one (0812…, 62812…, +62812…,
    with or without "-", ".", "()" or spaces), else none."""
    if not _PHONE_CHARS.fullmatch(word):
        return ()
    digits = "".join(ch for ch in word if ch.isdigit())
    low, high = PHONE_DIGITS
    if not low <= len(digits) <= high:
        return ()
    if word.startswith("+") and not digits.startswith(COUNTRY):
        return ("+" + digits, digits)  # a number abroad
    if digits.startswith(COUNTRY):
        national = digits[len(COUNTRY) :]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        national = digits
    return ("0" + national, COUNTRY + national, f"+{COUNTRY}{national}", national)


async def find(
    desk: CaseDesk, chat: Recipient, args: str, usage: str, *, unit: Unit | None
) -> None:
    """Runs `/cari` typed in `chat` and tells it the page of results (`unit`: that
    unit's own cases, without the reporter's identity)."""
    request = parse(args, usage)
    search = CaseSearch(request.terms, unit_code=unit.code if unit else None, identity=unit is None)
    offset = (request.page - 1) * PAGE_SIZE
    found = await desk.uow.cases.search(search, offset, PAGE_SIZE + 1)
    t = desk.t
    more = len(found) > PAGE_SIZE
    text = results(desk, request, found[:PAGE_SIZE], unit)
    following = t("search_next_command", query=request.query, page=request.page + 1)
    if more:
        text += "\n\n" + t("search_next", command=following)
    await desk.tell(chat, text, copyable=(following,) if more else ())


@staff_view
def results(desk: CaseDesk, request: SearchRequest, cases: list[Case], unit: Unit | None) -> str:
    """A page of results: each case's code, date, status, unit and a bit of its story."""
    t = desk.t
    scope = t("search_scope_unit", unit=unit.code) if unit else ""
    if not cases:
        key = "search_none" if request.page == 1 else "search_page_empty"
        return t(key, query=request.query, page=request.page, scope=scope)
    lines = [t("search_header", query=request.query, page=request.page, scope=scope)]
    for case in cases:
        lines.append(
            t(
                "search_line",
                code=case.code,
                date=local_time(desk.office, t, case.created_at),
                status=t(f"status_{case.status.value}"),
                unit=case.unit_code or t("not_specified"),
                merged=t("search_merged", main=case.merged_into) if case.merged_into else "",
                snippet=snippet(t, case, request.terms),
            )
        )
    return "\n".join(lines)


def snippet(t: Texts, case: Case, terms: tuple[SearchTerm, ...]) -> str:
    """Up to SNIPPET characters of the story, around the first word found in it."""
    story = " ".join(case.description.split()) or t("not_specified")
    if len(story) <= SNIPPET:
        return story
    lowered = story.lower()
    at = min((i for i in (lowered.find(term.text.lower()) for term in terms) if i >= 0), default=0)
    start = max(0, min(at - SNIPPET // 4, len(story) - SNIPPET))
    end = start + SNIPPET
    piece = story[start:end]
    if start:  # whole words only
        piece = piece.partition(" ")[2] or piece
    if end < len(story):
        piece = piece.rpartition(" ")[0] or piece
    return ("…" if start else "") + piece.strip() + ("…" if end < len(story) else "")
