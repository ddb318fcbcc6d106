"""Tracking codes: short, upper-case, random (never guessable in sequence)."""

from __future__ import annotations

import re
import secrets

# No 0/O, 1/I/L, U: codes are read aloud over the phone and typed on small screens.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 6
PATTERN = re.compile(r"\b[A-Z]{2,6}(-[0-9A-Z]{2,10}){1,3}\b")
_PREFIX = re.compile(r"^[A-Z]{2,6}$")


def new_code(prefix: str) -> str:
    """Makes a fresh random tracking code such as ADU-7K3Q9X (30^6 ≈ 729 million)."""
    if not _PREFIX.match(prefix):
        raise ValueError(f"code prefix must be 2-6 letters A-Z, got {prefix!r}")
    return f"{prefix}-" + "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def find_code(text: str) -> str | None:
    """Finds a tracking code in what someone typed (any case), upper-cased."""
    match = PATTERN.search(text.upper())
    return match.group(0) if match else None


def looks_like_code(token: str) -> bool:
    return PATTERN.fullmatch(token.upper()) is not None
