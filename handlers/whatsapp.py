"""Twilio's WhatsApp webhooks → the citizens' handler. Only translation happens here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.dialogue import CitizenInput, Rejected
from bot.core.model import Attachment, Channel, Location
from bot.core.reception import CitizenMessage

PREFIX = "whatsapp:"


def number_of(address: str) -> str:
    """`whatsapp:+6281…` → `+6281…`."""
    return address.removeprefix(PREFIX)


def citizen_message(
    form: Mapping[str, Any],
    attachments: tuple[Attachment, ...],
    rejected: tuple[Rejected, ...] = (),
) -> CitizenMessage:
    """Translates an inbound WhatsApp message (with its media already kept) for the core.

    The reporter's number is both their address and their contact, so the dialogue
    does not ask for a phone number.
    """
    number = number_of(str(form.get("From", "")))
    text = str(form.get("Body") or "").strip()
    button = str(form.get("ButtonText") or form.get("ButtonPayload") or "").strip()
    location = None
    if form.get("Latitude") and form.get("Longitude"):
        try:
            location = Location(
                float(form["Latitude"]),
                float(form["Longitude"]),
                str(form.get("Label") or form.get("Address") or "") or None,
            )
        except ValueError:
            location = None
    inp = CitizenInput(
        text=text or button or None,
        attachments=attachments,
        location=location,
        unsupported=not (text or button or attachments or location),
        rejected=rejected,
    )
    profile = str(form.get("ProfileName") or "").strip() or None
    return CitizenMessage(Channel.WHATSAPP, number, profile, inp, channel_contact=number)


def media_of(form: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (url, content type) of each media item Twilio announced."""
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        count = 0
    found = []
    for index in range(min(count, 10)):
        url = form.get(f"MediaUrl{index}")
        if url:
            found.append((str(url), str(form.get(f"MediaContentType{index}") or "")))
    return found
