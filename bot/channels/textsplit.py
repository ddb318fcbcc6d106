"""Splitting long text at a provider's length limit, on line or word boundaries."""

from __future__ import annotations

from collections.abc import Callable


def utf16_len(text: str) -> int:
    """Telegram counts text length in UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int, *, utf16: bool = True) -> list[str]:
    """Cuts text into chunks within `limit`, preferring paragraph, line, then word breaks."""
    size: Callable[[str], int] = utf16_len if utf16 else len
    chunks: list[str] = []
    rest = text
    while size(rest) > limit:
        cut = _fit(rest, limit, size)
        window = rest[:cut]
        for separator in ("\n\n", "\n", " "):
            at = window.rfind(separator)
            if at > cut // 2:
                cut = at + len(separator)
                break
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    chunks.append(rest)
    return [c for c in chunks if c.strip()] or [text]


def _fit(text: str, limit: int, size: Callable[[str], int]) -> int:
    """The longest prefix (in characters) whose measured size is within the limit."""
    if size(text[:limit]) <= limit:
        return limit
    low, high = 1, limit
    while low < high:
        mid = (low + high + 1) // 2
        if size(text[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    return low
