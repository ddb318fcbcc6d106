"""A local stand-in of Twilio's WhatsApp messaging, for the end-to-end tests and the playground.

`TwilioStandIn` is a real aiohttp server that answers the parts of Twilio's REST API that
aduanbot uses closely enough that the official ``twilio`` client works against it unchanged,
hosts the media that simulated people send (behind a second server standing in for Twilio's
CDN), and plays Twilio's side of the webhooks: people writing to the business, and status
callbacks for what the bot sent::

    async with TwilioStandIn() as tw:
        http = AsyncTwilioHttpClient()
        client = Client(tw.account_sid, tw.auth_token, http_client=http)
        client.api.base_url = tw.base_url  # the value for TWILIO_API_BASE_URL
        tw.configure_webhooks(PUBLIC_BASE_URL + "/webhook/whatsapp")
        siti = WhatsAppUser("+6281234567890", "Siti")
        await tw.user_says(siti, "Jalan rusak di depan pasar")  # a signed webhook POST
        await tw.wait_for(1, to=siti)  # the bot answered through the Messages API
        assert "ADU-" in tw.bodies(siti)[0]
        await http.close()

Everything lives in memory and belongs to one instance (several can run in one process):
what the bot sent (`messages`, `bodies`, `wait_for`), the status of each message, every
status callback and webhook POST, every media fetch, and a per-number `transcript` that also
holds what the simulated people wrote (`subscribe` streams it all).

The stand-in is one class built in layers, one module each:

* `state`: the people, the messages and their statuses, the media, the templates, and
  reading what was recorded;
* `webhooks`: Twilio's signed requests to the bot, and fetching media it links to;
* `faults`: the failures tests inject (error answers, failed deliveries, slow answers);
* `lifecycle`: each sent message's statuses and their status callbacks;
* `updates`: the builders of what simulated people send, and delivering it to the bot;
* `server`: `TwilioStandIn` itself, serving the REST API and the CDN, with `api` holding
  Twilio's error codes and `limits` the lengths, window and rate it enforces.

Notes on the official client (twilio 9.x with aiohttp 3.14): it sends form-encoded
parameters (``MediaUrl`` repeated, booleans as ``"true"``, and a ``content_variables`` dict
as its *keys*: pass ``json.dumps(...)``) and raises ``TwilioRestException`` with ``status``
and ``code`` for any non-2xx answer. ``AsyncTwilioHttpClient(timeout=...)`` is not applied to
requests (bound the call with ``asyncio.timeout``), ``max_retries`` retries POSTs on 5xx
(duplicate messages), and the client reads ``TWILIO_EDGE``/``TWILIO_REGION`` from the
environment, which would rewrite the stand-in's host name. It passes
``auth=aiohttp.BasicAuth(...)``, deprecated since aiohttp 3.14 (two ``DeprecationWarning``s
per request).

Where it differs from Twilio, besides the status callbacks (`lifecycle`): message prices are
null and CDN links do not expire.
"""

from bot.standins.twilio.api import (
    API_VERSION,
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_WHATSAPP_FROM,
    ERROR_MESSAGES,
)
from bot.standins.twilio.limits import MAX_BODY_LENGTH, SESSION_WINDOW
from bot.standins.twilio.server import TwilioStandIn
from bot.standins.twilio.state import (
    ApiCall,
    CallbackAttempt,
    Event,
    InboundMedia,
    MediaFetch,
    MediaFetchError,
    SentMessage,
    StatusChange,
    TranscriptEntry,
    WebhookDelivery,
    WhatsAppUser,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "DEFAULT_WHATSAPP_FROM",
    "ERROR_MESSAGES",
    "MAX_BODY_LENGTH",
    "SESSION_WINDOW",
    "ApiCall",
    "CallbackAttempt",
    "Event",
    "InboundMedia",
    "MediaFetch",
    "MediaFetchError",
    "SentMessage",
    "StatusChange",
    "TranscriptEntry",
    "TwilioStandIn",
    "WebhookDelivery",
    "WhatsAppUser",
]
