"""The peer: python-telegram-bot's reference conversation bot, driven by bench/load.py's load.

python-telegram-bot's `examples/conversationbot.py` is the reference for a dialogue: one
`ConversationHandler`, the answers kept in memory (`context.user_data`), long polling,
one `reply_text` per step. This is that bot written for our intake dialogue (its own
short questions, nothing stored, nothing relayed to officers): what an update costs a bot
that keeps nothing durable, next to the service, which records every update and every
message before it acts on it.

It runs in a process of its own against the same Bot API stand-in, polling it
(`getUpdates`), and gets the same reporters' updates (`run_peer`); its CPU time is read
from /proc while it is ready (start-up left out) and once every reporter has got its
code, divided by the updates.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import (
    Application,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.standins.telegram import TelegramStandIn, TranscriptEntry, User

WHAT, WHERE, WHEN, FILES, IDENTITY, NAME, PHONE, CONFIRM = range(8)
CODE = "Kode pelacakan: "

# --------------------------------------------------------------------------------------------
# The bot (its own process)
# --------------------------------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Starts the conversation and asks what happened."""
    assert update.message is not None
    await update.message.reply_text("Halo! Apa yang ingin Anda adukan?")
    return WHAT


Step = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, int]]


def ask(key: str, question: str, next_state: int, keyboard: list[list[str]] | None = None) -> Step:
    """A step: keeps the answer under `key` in memory and asks the next question."""

    async def step(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.message is not None and context.user_data is not None
        context.user_data[key] = update.message.text
        markup = (
            ReplyKeyboardMarkup(keyboard, one_time_keyboard=True)
            if keyboard
            else ReplyKeyboardRemove()
        )
        await update.message.reply_text(question, reply_markup=markup)
        return next_state

    return step


async def done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Ends the conversation with a code."""
    assert update.message is not None and update.effective_user is not None
    code = f"P-{update.effective_user.id}"
    await update.message.reply_text(
        f"Terima kasih, aduan Anda diterima. {CODE}{code}", reply_markup=ReplyKeyboardRemove()
    )
    return ConversationHandler.END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Ends the conversation without a complaint."""
    assert update.message is not None
    await update.message.reply_text("Dibatalkan.", reply_markup=ReplyKeyboardRemove())
    return ConversationHandler.END


def conversation_bot(token: str, api_base_url: str) -> Application:  # type: ignore[type-arg]
    """The bot: one ConversationHandler, state in memory."""
    text = filters.TEXT & ~filters.COMMAND
    conversation = ConversationHandler(
        entry_points=[CommandHandler("start", start)],
        states={
            WHAT: [MessageHandler(text, ask("what", "Di mana kejadiannya?", WHERE))],
            WHERE: [MessageHandler(text, ask("where", "Kapan kejadiannya?", WHEN))],
            WHEN: [
                MessageHandler(
                    text, ask("when", "Kirim foto, atau ketik selesai.", FILES, [["selesai"]])
                )
            ],
            FILES: [
                MessageHandler(
                    text, ask("files", "Identitas: 1 biasa, 2 rahasia.", IDENTITY, [["1", "2"]])
                )
            ],
            IDENTITY: [MessageHandler(text, ask("identity", "Nama Anda?", NAME))],
            NAME: [MessageHandler(text, ask("name", "Nomor telepon Anda?", PHONE))],
            PHONE: [
                MessageHandler(
                    text, ask("phone", "Ketik kirim untuk mengirim aduan.", CONFIRM, [["kirim"]])
                )
            ],
            CONFIRM: [MessageHandler(filters.Regex("^kirim$"), done)],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
    )
    application = (
        Application.builder()
        .token(token)
        .base_url(f"{api_base_url}/bot")
        .base_file_url(f"{api_base_url}/file/bot")
        .build()
    )
    application.add_handler(conversation)
    return application


def serve_peer(token: str, api_base_url: str) -> None:
    """The peer's process: polls until SIGTERM."""
    logging.basicConfig(level=logging.WARNING)
    conversation_bot(token, api_base_url).run_polling(poll_interval=0.0, timeout=10)


# --------------------------------------------------------------------------------------------
# Driving it
# --------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system), from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class PeerFigures:
    updates: int
    cpu_seconds: float
    messages: int
    coded: int
    seconds: float


async def run_peer(
    token: str, users: Sequence[User], dialogue: Callable[[int], tuple[str, ...]]
) -> PeerFigures:
    """Starts the peer against a stand-in of its own, has every user type `dialogue(n)`
    (one update after another, all users at once) and waits until each got its code."""
    coded: set[int] = set()
    messages = 0
    finished = asyncio.Event()

    async with TelegramStandIn(token=token, bot_username="peer_bot") as tg:
        context = multiprocessing.get_context("spawn")
        process = context.Process(target=serve_peer, args=(token, tg.base_url), name="peer")
        process.start()
        assert process.pid is not None
        print(f"  (peer pid {process.pid})", file=sys.stderr)
        try:
            await tg.wait_for_poll(timeout=60.0)
            queue = tg.subscribe()

            async def watch() -> None:
                nonlocal messages
                while True:
                    entry: TranscriptEntry = await queue.get()
                    if entry.sender != "bot" or entry.message is None:
                        continue
                    messages += 1
                    if CODE in entry.message.content:
                        coded.add(entry.chat_id)
                        if len(coded) >= len(users):
                            finished.set()

            watching = asyncio.create_task(watch())
            before = cpu_seconds(process.pid)
            began = time.perf_counter()

            async def report(n: int, user: User) -> None:
                for typed in dialogue(n):
                    await tg.deliver(tg.text_update(user, typed))

            async with asyncio.TaskGroup() as group:
                for n, user in enumerate(users, 1):
                    group.create_task(report(n, user))
            await asyncio.wait_for(finished.wait(), timeout=600)
            seconds = time.perf_counter() - began
            after = cpu_seconds(process.pid)
            watching.cancel()
            tg.unsubscribe(queue)
        finally:
            process.terminate()
            await asyncio.to_thread(process.join, 30)
    updates = len(users) * len(dialogue(0))
    return PeerFigures(updates, after - before, messages, len(coded), seconds)
