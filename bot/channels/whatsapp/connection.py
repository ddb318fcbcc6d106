"""The connection to Twilio's REST API that the WhatsApp sender sends through."""

from __future__ import annotations

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client


class TwilioConnection:
    """twilio-python's client with its async HTTP client, pointed at `api_base_url`.

    `AsyncTwilioHttpClient` opens an aiohttp session in its constructor, which needs a
    running event loop: the client is made by `open()` in the service's start-up, never
    where the app is built (the CLI builds it before `web.run_app` starts the loop).
    """

    def __init__(self, account_sid: str, auth_token: str, api_base_url: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_base_url = api_base_url
        self._client: Client | None = None
        self._http: AsyncTwilioHttpClient | None = None

    async def open(self) -> None:
        """Makes the client (inside the running loop)."""
        if self._client is None:
            self._http = AsyncTwilioHttpClient()
            self._client = Client(self.account_sid, self.auth_token, http_client=self._http)
            self._client.api.base_url = self.api_base_url

    async def close(self) -> None:
        """Closes the HTTP session (a no-op when never opened)."""
        if self._http is not None:
            await self._http.close()
        self._client = self._http = None

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("the Twilio client is used before the service started")
        return self._client
