"""The builders of what simulated people send on WhatsApp (text, media, albums, locations,
button taps) as the parameters Twilio posts, and their delivery to the bot's webhook: signed,
with Twilio's idempotency token, recorded in the transcript the first time. Media they send is
hosted behind basic auth at ``MediaUrl{N}`` and redirected (307) to the CDN.
"""

from __future__ import annotations

import json
import secrets
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence

from bot.standins.twilio.api import API_VERSION, E164_RE, new_sid
from bot.standins.twilio.lifecycle import MessageLifecycle
from bot.standins.twilio.limits import MAX_MEDIA_URLS
from bot.standins.twilio.state import (
    InboundMedia,
    SentMessage,
    StoredMedia,
    WebhookDelivery,
    WhatsAppUser,
)
from bot.standins.twilio.webhooks import Refused

__all__ = ["UpdateBuilders"]


def _media_kind(content_type: str) -> str:
    major = content_type.split("/", 1)[0]
    return major if major in ("image", "video", "audio") else "document"


class UpdateBuilders(MessageLifecycle):
    """Builds what simulated people send, and delivers it to the bot's webhook."""

    # ---------------------------------------------------------------- builders

    def text(
        self, user: WhatsAppUser, body: str, *, reply_to: SentMessage | str | None = None
    ) -> dict[str, str]:
        """The webhook parameters of `user` writing `body` (as a reply to one of the bot's
        messages: `reply_to`, the message or its SID)."""
        extra = self._replying(reply_to)
        return self._inbound(user, new_sid("SM"), body=body, message_type="text", extra=extra)

    def _replying(self, reply_to: SentMessage | str | None) -> dict[str, str]:
        """What Twilio adds to a message that replies to one of the bot's."""
        if reply_to is None:
            return {}
        return {
            "OriginalRepliedMessageSender": self.whatsapp_from,
            "OriginalRepliedMessageSid": (
                reply_to.sid if isinstance(reply_to, SentMessage) else reply_to
            ),
        }

    def media(
        self,
        user: WhatsAppUser,
        files: Sequence[tuple[bytes, str]],
        body: str = "",
        *,
        reply_to: SentMessage | str | None = None,
    ) -> dict[str, str]:
        """`user` sends `files` as (bytes, content type), with `body` as the caption.

        The files are hosted at once at ``MediaUrl{N}`` (basic auth, then 307 to the CDN).
        The message SID starts with ``MM``, as Twilio's media messages do. WhatsApp itself
        delivers one file per message; `album` builds that.
        """
        if not files:
            raise ValueError("media needs at least one file")
        if len(files) > MAX_MEDIA_URLS:
            raise ValueError(f"at most {MAX_MEDIA_URLS} files per message")
        sid = new_sid("MM")
        extra: dict[str, str] = self._replying(reply_to)
        for index, (data, content_type) in enumerate(files):
            stored = self._host_media(sid, data, content_type)
            extra[f"MediaContentType{index}"] = content_type
            extra[f"MediaUrl{index}"] = stored.media.url
        return self._inbound(
            user,
            sid,
            body=body,
            message_type=_media_kind(files[0][1]),
            num_media=len(files),
            extra=extra,
        )

    def album(
        self, user: WhatsAppUser, files: Sequence[tuple[bytes, str]], caption: str = ""
    ) -> list[dict[str, str]]:
        """Several files sent at once, as WhatsApp delivers them: one message per file, the
        caption on the first."""
        return [
            self.media(user, [file], caption if index == 0 else "")
            for index, file in enumerate(files)
        ]

    def location(
        self,
        user: WhatsAppUser,
        lat: float,
        lon: float,
        address: str | None = None,
        label: str | None = None,
    ) -> dict[str, str]:
        """`user` shares a location (a named place when `address`/`label` are given)."""
        extra = {"Latitude": repr(float(lat)), "Longitude": repr(float(lon))}
        if address is not None:
            extra["Address"] = address
        if label is not None:
            extra["Label"] = label
        return self._inbound(user, new_sid("SM"), body="", message_type="location", extra=extra)

    def button(
        self,
        user: WhatsAppUser,
        text: str,
        payload: str,
        *,
        reply_to: SentMessage | str | None = None,
    ) -> dict[str, str]:
        """`user` taps a quick-reply button labelled `text` carrying `payload`.

        `reply_to` (the message with the button, or its SID) adds
        ``OriginalRepliedMessageSid``/``OriginalRepliedMessageSender``.
        """
        extra = {"ButtonText": text, "ButtonPayload": payload, **self._replying(reply_to)}
        return self._inbound(user, new_sid("SM"), body=text, message_type="button", extra=extra)

    def _inbound(
        self,
        user: WhatsAppUser,
        sid: str,
        *,
        body: str,
        message_type: str,
        num_media: int = 0,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The parameters Twilio posts for an incoming WhatsApp message, in Twilio's order."""
        self._profile_names[user.number] = user.profile_name
        params = {
            "SmsMessageSid": sid,
            "NumMedia": str(num_media),
            "ProfileName": user.profile_name,
            "MessageType": message_type,
            "SmsSid": sid,
            "WaId": user.wa_id,
            "SmsStatus": "received",
            "Body": body,
            "To": self.whatsapp_from,
            "NumSegments": "1",
            "ReferralNumMedia": "0",
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": user.address,
            "ApiVersion": API_VERSION,
        }
        params.update(extra or {})
        # Parameters Twilio added over time without notice; a webhook must ignore them.
        params["ChannelMetadata"] = json.dumps(
            {"type": "whatsapp", "data": {"context": {"ProfileName": user.profile_name}}},
            separators=(",", ":"),
        )
        return params

    def _host_media(self, message_sid: str, data: bytes, content_type: str) -> StoredMedia:
        media_sid = new_sid("ME")
        url = (
            f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}"
            f"/Messages/{message_sid}/Media/{media_sid}"
        )
        stored = StoredMedia(
            InboundMedia(message_sid, media_sid, content_type, bytes(data), url),
            cdn_key=secrets.token_urlsafe(32),
        )
        self._media[(message_sid, media_sid)] = stored
        self._media_by_key[stored.cdn_key] = stored
        return stored

    # ---------------------------------------------------------------- delivery

    async def deliver(
        self,
        params: Mapping[str, str],
        *,
        url: str | None = None,
        signature: str | None = None,
        signed: bool = True,
    ) -> int:
        """POSTs `params` to the bot's webhook as Twilio does; returns the HTTP status.

        The POST is form-encoded with ``X-Twilio-Signature`` computed over `url` (default the
        configured incoming URL) and the parameters, plus the ``I-Twilio-Idempotency-Token``
        Twilio sends (the same for every delivery of one MessageSid). `signature` replaces the
        header's value (a forgery); `signed=False` leaves the header out. Only a correctly
        signed delivery counts as the person writing: it opens their 24-hour window and, the
        first time for its MessageSid, enters the transcript. Delivering the same `params`
        again is a duplicate, as when Twilio retries. ``<Message>`` replies in a TwiML answer
        are recorded as messages the bot sent. Returns 0 if the connection failed.
        """
        target = url or self._incoming_url
        if target is None:
            raise RuntimeError("no webhook configured; call configure_webhooks() first")
        try:
            self._route(target)
        except Refused as refused:
            raise RuntimeError(str(refused)) from None
        form = {key: str(value) for key, value in params.items()}
        genuine = signed and signature is None
        header = (
            (signature if signature is not None else self.sign(target, form)) if signed else None
        )
        sid = form.get("MessageSid", "")
        if genuine:
            self._record_inbound(form)
        await self._notify()
        token = self._idempotency.setdefault(sid, f"{secrets.token_hex(8)}-{sid}")
        status, text, content_type, error = await self._post_form(target, form, header, token)
        replies = 0
        if 200 <= status < 300 and text.strip():
            try:
                replies = await self._record_twiml(form, text, content_type)
            except ValueError as bad:
                error = str(bad)
        self._emit(WebhookDelivery(sid, target, status, genuine, header, replies, error))
        await self._notify()
        return status

    async def user_says(
        self, user: WhatsAppUser, body: str, *, reply_to: SentMessage | str | None = None
    ) -> dict[str, str]:
        """Builds `text` and delivers it; returns the parameters."""
        params = self.text(user, body, reply_to=reply_to)
        await self.deliver(params)
        return params

    async def user_sends_media(
        self,
        user: WhatsAppUser,
        files: Sequence[tuple[bytes, str]],
        body: str = "",
        *,
        reply_to: SentMessage | str | None = None,
    ) -> dict[str, str]:
        """Builds `media` and delivers it; returns the parameters."""
        params = self.media(user, files, body, reply_to=reply_to)
        await self.deliver(params)
        return params

    async def user_shares_location(
        self,
        user: WhatsAppUser,
        lat: float,
        lon: float,
        address: str | None = None,
        label: str | None = None,
    ) -> dict[str, str]:
        """Builds `location` and delivers it; returns the parameters."""
        params = self.location(user, lat, lon, address, label)
        await self.deliver(params)
        return params

    async def user_taps(
        self,
        user: WhatsAppUser,
        text: str,
        payload: str,
        *,
        reply_to: SentMessage | str | None = None,
    ) -> dict[str, str]:
        """Builds `button` and delivers it; returns the parameters."""
        params = self.button(user, text, payload, reply_to=reply_to)
        await self.deliver(params)
        return params

    def _record_inbound(self, form: Mapping[str, str]) -> None:
        number = form.get("From", "").removeprefix("whatsapp:")
        if not E164_RE.fullmatch(number):
            return
        self._last_inbound[number] = self.now()
        if form.get("ProfileName"):
            self._profile_names[number] = form["ProfileName"]
        sid = form.get("MessageSid", "")
        if sid in self._delivered_sids:
            return
        self._delivered_sids.add(sid)
        kind, text = self._describe_inbound(form)
        self._add_entry(number, "user", kind, text, sid, params=dict(form))

    @staticmethod
    def _describe_inbound(form: Mapping[str, str]) -> tuple[str, str]:
        body = form.get("Body", "")
        if "Latitude" in form:
            place = ", ".join(p for p in (form.get("Label"), form.get("Address")) if p)
            text = f"location {form['Latitude']}, {form['Longitude']}"
            return "location", f"{text} ({place})" if place else text
        if "ButtonPayload" in form:
            return "button", f"{form.get('ButtonText', body)} [{form['ButtonPayload']}]"
        count = int(form.get("NumMedia", "0") or 0)
        if count:
            types = ", ".join(form.get(f"MediaContentType{i}", "?") for i in range(count))
            return "media", f"[{types}] {body}".rstrip()
        return "text", body

    async def _record_twiml(
        self, form: Mapping[str, str], text: str, content_type: str | None
    ) -> int:
        """Records the ``<Message>`` replies of a TwiML answer; returns how many."""
        if content_type not in ("text/xml", "application/xml") and not text.lstrip().startswith(
            "<"
        ):
            return 0
        try:
            root = ElementTree.fromstring(text)
        except ElementTree.ParseError as err:
            raise ValueError(f"12100 Document parse failure: {err}") from None
        if root.tag != "Response":
            raise ValueError(f"12100 Document parse failure: root element <{root.tag}>")
        count = 0
        for element in root.iter("Message"):
            body_element = element.find("Body")
            body = body_element.text if body_element is not None else element.text
            media = tuple((m.text or "").strip() for m in element.iter("Media"))
            to = element.get("to") or form.get("From", "")
            sent = await self._accept(
                to=to,
                body=(body or "").strip() or None,
                media_urls=media,
                content_sid=None,
                variables={},
                status_callback=element.get("statusCallback"),
                via="twiml",
                params={"TwiML": text},
            )
            self._start_lifecycle(sent)
            count += 1
        return count
