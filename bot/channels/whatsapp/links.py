"""The media links route (`/media/<token>`): serves an attachment by a signed link the
bot made, for Twilio to fetch and forward to a WhatsApp reporter."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from bot.channels.filecheck import MediaUnavailable
from bot.channels.registration import FetchFile
from bot.channels.whatsapp.media import MediaStore
from bot.core.model import Channel

log = logging.getLogger(__name__)


def media_files(
    store: MediaStore,
    held_elsewhere: Mapping[Channel, FetchFile],
    on_record: Callable[[str], Awaitable[bool]],
) -> Callable[[web.Request], Any]:
    """Serves an attachment by a link the bot made (for Twilio to fetch and forward).

    Always as a download (`attachment`, `nosniff`): a file a reporter or a unit sent must
    never open as a page of this service. A file another channel's provider holds (a
    Telegram file_id: `held_elsewhere` fetches it) is served from its copy on disk, and
    only while a case holds it (not once the case is anonymised or its reporter
    forgotten: `on_record` tells, by the file's ref); any other from this service's disk.
    """

    async def serve(request: web.Request) -> web.StreamResponse:
        attachment = store.resolve(request.match_info["token"])
        if attachment is None:
            return web.Response(status=404)
        headers = {
            "Content-Type": store.content_type(attachment),
            "Content-Disposition": f'attachment; filename="{store.download_name(attachment)}"',
            "X-Content-Type-Options": "nosniff",
        }
        source = attachment.source
        fetch = held_elsewhere.get(source) if isinstance(source, Channel) else None
        if fetch is None:
            path = store.stored_file(attachment)
        else:
            if not await on_record(attachment.ref):
                return web.Response(status=404)
            try:
                path = await store.copy_of(attachment, fetch)
            except MediaUnavailable as exc:
                log.warning("media link: %s", exc)
                return web.Response(status=502)
        if path is None:
            return web.Response(status=404)
        return web.FileResponse(path, headers=headers)

    return serve
