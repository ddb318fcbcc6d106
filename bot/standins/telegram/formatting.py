"""Formatting as Telegram reads it: ``parse_mode`` HTML and MarkdownV2 (simplified), and text
lengths in UTF-16 code units, the unit of Telegram's limits and entity offsets.

Where it is stricter than Telegram: in HTML a bare ``&`` that does not start an entity is
refused; Telegram would show it as is, but it is nearly always user text the bot forgot to
escape.
"""

from __future__ import annotations

import re

from bot.standins.telegram.api import JSONDict

__all__ = ["EntityError", "parse_html", "parse_markdown", "u16len"]


class EntityError(Exception):
    """Text that Telegram would refuse to parse (the message says where)."""


def u16len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


class _TextOut:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.u16 = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.u16 += u16len(text)

    def text(self) -> str:
        return "".join(self.parts)


_HTML_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}

_HTML_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}

_HTML_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")

_HTML_START_TAG_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9-]*)(\s.*)?", re.DOTALL)

_HTML_ATTR_RE = re.compile(r"""([a-zA-Z_][\w-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


def _decode_html_entity(name: str) -> str | None:
    if name.startswith(("#x", "#X")):
        code = int(name[2:], 16)
    elif name.startswith("#"):
        code = int(name[1:])
    else:
        return _HTML_NAMED_ENTITIES.get(name.lower())
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _html_entity(name: str, attrs: dict[str, str], offset: int) -> JSONDict | None:
    kind = _HTML_TAG_TYPES.get(name)
    if kind is None:
        raise EntityError(f'Unsupported start tag "{name}" at byte offset {offset}')
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise EntityError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    if name == "a":
        href = attrs.get("href")
        return {"type": "text_link", "url": href} if href else None
    if name == "blockquote" and "expandable" in attrs:
        return {"type": "expandable_blockquote"}
    if name == "tg-emoji":
        emoji_id = attrs.get("emoji-id")
        if not emoji_id:
            raise EntityError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}'
            )
        return {"type": "custom_emoji", "custom_emoji_id": emoji_id}
    return {"type": kind}


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's ``parse_mode=HTML``: the plain text and its entities, or `EntityError`."""
    out = _TextOut()
    stack: list[tuple[str, int, JSONDict | None]] = []
    entities: list[JSONDict] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            end = text.find(">", i + 1)
            if end < 0:
                raise EntityError(f"Unclosed start tag at byte offset {_byte_offset(text, i)}")
            inner = text[i + 1 : end]
            offset = _byte_offset(text, i)
            if inner.startswith("/"):
                name = inner[1:].strip().lower()
                if not stack:
                    raise EntityError(f'Unexpected end tag "{name}" at byte offset {offset}')
                open_name, start, entity = stack.pop()
                if name != open_name:
                    raise EntityError(
                        f'Unmatched end tag at byte offset {offset}, expected "</{open_name}>", '
                        f'found "</{name}>"'
                    )
                if entity is not None and out.u16 > start:
                    entities.append({**entity, "offset": start, "length": out.u16 - start})
            else:
                match = _HTML_START_TAG_RE.fullmatch(inner)
                if match is None:
                    raise EntityError(
                        f'Unsupported start tag "{inner[:16]}" at byte offset {offset}'
                    )
                name = match.group(1).lower()
                attrs = {
                    m.group(1).lower(): m.group(2) or m.group(3) or m.group(4) or ""
                    for m in _HTML_ATTR_RE.finditer(match.group(2) or "")
                }
                entity = _html_entity(name, attrs, offset)
                language = attrs.get("class", "").removeprefix("language-")
                if name == "code" and stack and stack[-1][0] == "pre" and language:
                    # <pre><code class="language-x"> is one pre entity with a language.
                    parent = stack[-1][2]
                    if parent is not None:
                        parent["language"] = language
                    entity = None
                stack.append((name, out.u16, entity))
            i = end + 1
        elif char == "&":
            entity_match = _HTML_ENTITY_RE.match(text, i)
            decoded = _decode_html_entity(entity_match.group(1)) if entity_match else None
            if entity_match is None or decoded is None:
                raise EntityError(
                    f'Unescaped "&" at byte offset {_byte_offset(text, i)}; write "&amp;" '
                    "(the stand-in is stricter than Telegram here)"
                )
            out.add(decoded)
            i = entity_match.end()
        else:
            out.add(char)
            i += 1
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.text(), entities


_MD_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")

_MD_TYPES = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}

_MD_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "[": "TextUrl",
}


def _find_closing(text: str, token: str, start: int, *, escapes: bool) -> int:
    j = start
    while j < len(text):
        if escapes and text[j] == "\\":
            j += 2
            continue
        if text.startswith(token, j):
            return j
        j += 1
    return -1


def _unescape_markdown(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def parse_markdown(text: str, *, legacy: bool = False) -> tuple[str, list[JSONDict]]:
    """Telegram's ``MarkdownV2`` (or, with `legacy`, ``Markdown``) parse mode, simplified.

    MarkdownV2 refuses any unescaped reserved character outside an entity, as Telegram does.
    Block quotes (``>`` at a line start) are accepted and shown without an entity.
    """
    out = _TextOut()
    stack: list[tuple[str, int, int]] = []  # mark, start (UTF-16), index in text
    entities: list[JSONDict] = []
    marks = ("*", "_") if legacy else ("__", "||", "*", "_", "~")
    escapable = "_*`[\\" if legacy else None
    line_start = True
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and (escapable is None or text[i + 1 : i + 2] in tuple(escapable)):
            if i + 1 >= len(text):
                raise EntityError(
                    "Character '\\' is reserved and must be escaped with the preceding '\\'"
                )
            out.add(text[i + 1])
            i += 2
            line_start = False
            continue
        if char == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = _find_closing(text, fence, i + len(fence), escapes=not legacy)
            kind = "pre" if fence == "```" else "code"
            if end < 0:
                raise EntityError(
                    f"Can't find end of {kind.title()} entity at byte offset "
                    f"{_byte_offset(text, i)}"
                )
            body = text[i + len(fence) : end]
            entity: JSONDict = {"type": kind}
            if fence == "```":
                first, newline, rest = body.partition("\n")
                if newline and first and not first.isspace() and " " not in first:
                    entity["language"] = first
                    body = rest
            if not legacy:
                body = _unescape_markdown(body)
            start = out.u16
            out.add(body)
            if body:
                entities.append({**entity, "offset": start, "length": out.u16 - start})
            i = end + len(fence)
            line_start = False
            continue
        if char == "[":
            stack.append(("[", out.u16, i))
            i += 1
            continue
        if char == "]" and any(mark == "[" for mark, _, _ in stack):
            mark, start, at = stack.pop()
            if mark != "[":
                raise EntityError(
                    f"Can't find end of {_MD_NAMES[mark]} entity at byte offset "
                    f"{_byte_offset(text, at)}"
                )
            end = _find_closing(text, ")", i + 2, escapes=not legacy)
            if not text.startswith("(", i + 1) or end < 0:
                raise EntityError(f"Can't find end of a URL at byte offset {_byte_offset(text, i)}")
            url = text[i + 2 : end]
            if not legacy:
                url = _unescape_markdown(url)
            if out.u16 > start:
                entities.append(
                    {"type": "text_link", "offset": start, "length": out.u16 - start, "url": url}
                )
            i = end + 1
            continue
        mark_here = next((m for m in marks if text.startswith(m, i)), None)
        if mark_here is not None:
            if stack and stack[-1][0] == mark_here:
                _, start, _ = stack.pop()
                if out.u16 > start:
                    entities.append(
                        {"type": _MD_TYPES[mark_here], "offset": start, "length": out.u16 - start}
                    )
            elif any(mark == mark_here for mark, _, _ in stack):
                mark, _, at = stack[-1]
                raise EntityError(
                    f"Can't find end of {_MD_NAMES[mark]} entity at byte offset "
                    f"{_byte_offset(text, at)}"
                )
            else:
                stack.append((mark_here, out.u16, i))
            i += len(mark_here)
            continue
        if not legacy:
            if char == ">" and line_start:
                i += 1
                continue
            if char in _MD_V2_RESERVED:
                raise EntityError(
                    f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
        out.add(char)
        line_start = char == "\n"
        i += 1
    if stack:
        mark, _, at = stack[0]
        raise EntityError(
            f"Can't find end of {_MD_NAMES[mark]} entity at byte offset {_byte_offset(text, at)}"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.text(), entities
