"""Telegram's long polling (when there is no PUBLIC_BASE_URL): fetch updates, record them
in the inbox, confirm."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError

from bot.channels.telegram.intake import record_update
from bot.inbox.intake import Intake
from storage.errors import DatabaseRefused, error_class, is_outage

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
POLL_TIMEOUT = 25


async def poll(bot: Bot, intake: Intake) -> None:
    """Records every update before asking Telegram for the next batch (which confirms it)."""
    offset: int | None = None
    failures = 0
    while True:
        try:
            updates = await bot.get_updates(
                offset=offset, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
            )
            for update in updates:
                try:
                    await record_update(intake, update.to_dict())
                except DatabaseRefused as error:
                    # refused for its content: fetching it again would not change that
                    log.error(
                        "polling: the database refused update %s (%s); skipped",
                        update.update_id,
                        error_class(error),
                    )
                offset = update.update_id + 1
            failures = 0
        except asyncio.CancelledError:
            raise
        except Conflict:
            log.error("polling: another process is polling this bot, or a webhook is set")
            failures += 1
        except InvalidToken:
            log.error("polling: Telegram rejected TELEGRAM_BOT_TOKEN")
            failures += 1
        except (NetworkError, TelegramError) as exc:
            log.warning("polling: %s", exc)
            failures += 1
        except Exception as error:
            if not is_outage(error):
                raise
            log.warning(
                "polling: database unavailable; the update will be fetched again", exc_info=True
            )
            failures += 1
        if failures:
            await asyncio.sleep(min(2.0**failures, 60.0))
