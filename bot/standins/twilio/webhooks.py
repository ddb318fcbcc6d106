"""Twilio's requests to the bot: where they go (`configure_webhooks`, a TLS proxy's
``forward_to``), their ``X-Twilio-Signature``, posting a form, and fetching media the bot
links to. Nothing leaves the machine: requests go to loopback addresses only, unless
``allow_remote_urls`` is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bot.standins.recording import is_loopback_host
from bot.standins.twilio.limits import WEBHOOK_TIMEOUT
from bot.standins.twilio.state import MediaFetchError, TwilioState

__all__ = ["WebhookClient"]


class Refused(Exception):
    """An outgoing request to a URL the stand-in may not reach."""


def is_loopback_url(url: str) -> bool:
    return is_loopback_host(urlsplit(url).hostname or "")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class WebhookClient(TwilioState):
    """Posts to the bot's webhooks and fetches what it links to, as Twilio does."""

    def configure_webhooks(
        self,
        incoming_url: str | None,
        status_url: str | None = None,
        *,
        forward_to: str | None = None,
    ) -> None:
        """Sets where Twilio posts: incoming messages, and status callbacks by default.

        `incoming_url` is the bot's webhook as configured at Twilio (the sender's "A message
        comes in" URL), e.g. ``PUBLIC_BASE_URL + "/webhook/whatsapp"``; it is also the URL the
        signatures are computed over. `status_url` receives status callbacks for messages
        sent without a ``StatusCallback`` (as a Messaging Service's callback would).

        `forward_to` (``http://127.0.0.1:PORT``) stands for a TLS-terminating proxy: requests
        to URLs on `incoming_url`'s origin are sent to that address instead, with the same
        path and ``X-Forwarded-Proto``/``X-Forwarded-Host`` headers, while signatures stay
        computed over the public URL, as Twilio computes them.
        """
        self._incoming_url = incoming_url
        self._status_url = status_url
        self._forward_to = forward_to.rstrip("/") if forward_to else None

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        """The ``X-Twilio-Signature`` Twilio sends for a POST of `params` to `url`."""
        return str(self._validator.compute_signature(url, dict(params)))

    async def fetch_media(self, url: str) -> tuple[bytes, str]:
        """GETs `url` (say, a ``MediaUrl`` the bot sent) as Twilio would, without credentials.

        Returns the bytes and the Content-Type; raises `MediaFetchError` unless it answers 200.
        """
        if not self.allow_remote_urls and not is_loopback_url(url):
            raise MediaFetchError(f"refusing to fetch the non-loopback URL {url!r}")
        session = self._client_session()
        try:
            async with session.get(url) as response:
                data = await response.read()
                if response.status != 200:
                    raise MediaFetchError(f"GET {url} answered {response.status}")
                return data, response.content_type
        except (aiohttp.ClientError, TimeoutError) as err:
            raise MediaFetchError(f"GET {url} failed: {err}") from err

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT)
            )
        return self._session

    def _route(self, url: str) -> tuple[str, dict[str, str]]:
        """Where a request for `url` really goes, and the proxy headers it gets."""
        if self._forward_to and self._incoming_url:
            if _origin(url) == _origin(self._incoming_url):
                parts = urlsplit(url)
                target = urlsplit(self._forward_to)
                local = urlunsplit(
                    (target.scheme, target.netloc, parts.path, parts.query, parts.fragment)
                )
                headers = {"X-Forwarded-Proto": parts.scheme, "X-Forwarded-Host": parts.netloc}
                return local, headers
        if not self.allow_remote_urls and not is_loopback_url(url):
            raise Refused(
                f"refusing to POST to the non-loopback URL {url!r}; pass allow_remote_urls=True "
                "or configure_webhooks(..., forward_to=...)"
            )
        return url, {}

    async def _post_form(
        self, url: str, form: Mapping[str, str], signature: str | None, token: str
    ) -> tuple[int, str, str | None, str | None]:
        """POSTs `form`: (status, answer text, content type, error); status 0 if it failed."""
        target, headers = self._route(url)
        headers.update(
            {
                "User-Agent": "TwilioProxy/1.1",
                "Accept": "*/*",
                "I-Twilio-Idempotency-Token": token,
            }
        )
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        try:
            async with self._client_session().post(
                target, data=list(form.items()), headers=headers, allow_redirects=False
            ) as response:
                text = await response.text(errors="replace")
                content_type = response.content_type if response.content_length != 0 else None
                return response.status, text, content_type, None
        except (aiohttp.ClientError, TimeoutError) as err:
            return 0, "", None, f"{type(err).__name__}: {err}"
