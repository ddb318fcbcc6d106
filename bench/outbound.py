"""Outbound benchmark: a burst of messages against a Bot API that enforces Telegram's limits.

    python bench/outbound.py                    # SQLite file in a temporary folder
    python bench/outbound.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
    python bench/outbound.py --messages 1000 --chats 50 --groups 5 --per-group 20

The service runs as in production (in a process of its own, see `bench/common.py`) with
its own outbound limiter, against the Bot API stand-in with `enforce_limits=True`: it
answers 429 beyond 30 messages in any second, 20 a minute to one group, and a private
chat's bucket of 3 messages refilled at 1 a second (`bot/standins/telegram/limits.py`). Once
the service is up, the bench queues the burst in the outbox in one transaction, as a
broadcast after an outage would: `--per-group` messages to each of `--groups` groups and
the rest of `--messages` spread over `--chats` private chats, chats taking turns.

Figures: the 429s the stand-in answered (target 0), and the achieved rate as a share of
the allowed rate: the shortest time Telegram's limits allow for this burst (from the
first message: 30 a second overall, a group's 21st message a minute after its first, a
private chat's 4th a second after its first, then one a second) divided by the time the
messages took to reach the stand-in (target at least 90 %).

Checks (a failure exits 1): every message reached its chat exactly once, in the order it
was queued, and the outbox holds none unsent. PostgreSQL: the database's `public` schema
is emptied first, so never point it at a database you care about.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import defaultdict

from bench.common import (
    ServiceProcess,
    bench_database,
    reading_engine,
    row,
    statuses,
    until,
    verdict,
)
from bot.core.model import Channel, OutgoingMessage, Recipient
from bot.standins.telegram import (
    GLOBAL_MESSAGES_PER_SECOND,
    GROUP_MESSAGES_PER_MINUTE,
    PRIVATE_BURST,
    PRIVATE_MESSAGES_PER_SECOND,
    Chat,
    TelegramStandIn,
    TranscriptEntry,
    User,
)
from storage.database import Database
from tests.e2e.conftest import TOKEN, bot_environment, free_port

FIRST_CHAT = 720_000_001
FIRST_GROUP = -1002000000001
SHARE_TARGET = 0.9


def burst(args: argparse.Namespace) -> list[tuple[int, str]]:
    """The messages to send, (chat id, text), in the order they are queued."""
    per_chat: dict[int, int] = {}
    for g in range(args.groups):
        per_chat[FIRST_GROUP - g] = args.per_group
    private = args.messages - args.groups * args.per_group
    for c in range(args.chats):
        per_chat[FIRST_CHAT + c] = private // args.chats + (1 if c < private % args.chats else 0)
    messages: list[tuple[int, str]] = []
    for n in range(max(per_chat.values())):
        for chat, count in per_chat.items():
            if n < count:
                messages.append((chat, f"Pengumuman {n + 1:04d} untuk {chat}"))
    return messages


def allowed_seconds(messages: list[tuple[int, str]]) -> float:
    """The shortest time from the first message to the last that the limits allow."""
    per_chat: defaultdict[int, int] = defaultdict(int)
    for chat, _ in messages:
        per_chat[chat] += 1
    bounds = [float((len(messages) - 1) // GLOBAL_MESSAGES_PER_SECOND)]
    for chat, count in per_chat.items():
        if chat < 0:
            bounds.append(60.0 * ((count - 1) // GROUP_MESSAGES_PER_MINUTE))
        else:
            bounds.append(max(0, count - PRIVATE_BURST) / PRIVATE_MESSAGES_PER_SECOND)
    return max(bounds)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--chats", type=int, default=50, help="private chats")
    parser.add_argument("--groups", type=int, default=5)
    parser.add_argument("--per-group", type=int, default=20, help="messages to each group")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    folder, url = bench_database(args.database_url, "outbound")
    engine = await reading_engine(url)
    messages = burst(args)
    arrived: defaultdict[int, list[str]] = defaultdict(list)
    times: list[float] = []

    def see(entry: TranscriptEntry) -> None:
        if (
            entry.sender == "bot"
            and entry.message is not None
            and "Pengumuman" in entry.message.content
        ):
            times.append(time.perf_counter())
            arrived[entry.chat_id].append(entry.message.content)

    async with TelegramStandIn(
        token=TOKEN, bot_username="aduan_outbound_bot", enforce_limits=True
    ) as tg:
        for chat in {chat for chat, _ in messages}:
            if chat < 0:
                tg.add_chat(Chat.group(chat, f"Bidang {chat}"))
            else:
                user = User(chat, "Warga", str(chat))
                tg.add_user(user)
                tg.add_chat(Chat.private(user))
        env = bot_environment(tg, url, folder, free_port())
        env["MEDIA_DIR"] = str(folder / "media")
        service = await ServiceProcess.start(env, folder / "service.log", lift_limits=False)
        queue = tg.subscribe()

        async def watch() -> None:
            while True:
                see(await queue.get())

        watching = asyncio.create_task(watch())
        db = Database(url)
        try:
            async with db.transaction() as uow:
                for chat, text in messages:
                    await uow.outbox.enqueue(
                        OutgoingMessage(Recipient(Channel.TELEGRAM, str(chat)), text)
                    )
            queued = time.perf_counter()
            print(f"{engine.dialect.name}: {len(messages):,} messages queued", file=sys.stderr)

            async def all_arrived() -> bool:
                return len(times) >= len(messages)

            settled = await until(all_arrived, lambda: len(times))
            await asyncio.sleep(1.0)  # anything sent twice would arrive now
        finally:
            await db.dispose()
            usage = await service.stop()
            watching.cancel()
            tg.unsubscribe(queue)
        too_many = tg.too_many_requests
    outbox = await statuses(engine, "outbox")
    await engine.dispose()

    problems = [] if settled else ["gave up waiting: nothing new for a while"]
    expected: defaultdict[int, list[str]] = defaultdict(list)
    for chat, text in messages:
        expected[chat].append(text)
    wrong = [chat for chat in expected if arrived[chat] != expected[chat]]
    if wrong:
        problems.append(f"{len(wrong)} chats got other messages or another order than queued")
    if outbox["sent"] != len(messages):
        problems.append(f"outbox: {dict(outbox)}")

    took = times[-1] - times[0] if len(times) > 1 else float("nan")
    allowed = allowed_seconds(messages)
    share = allowed / took if took else 0.0
    groups = sum(1 for chat in expected if chat < 0)
    print(
        f"\nOutbound, {engine.dialect.name}: {len(messages):,} messages to "
        f"{len(expected) - groups} private chats and {groups} groups"
    )
    row("messages that reached the stand-in", f"{len(times):,}")
    row("first one after queueing", f"{times[0] - queued:.2f} s" if times else "-")
    row("from the first to the last", f"{took:.1f} s")
    row("shortest time the limits allow", f"{allowed:.1f} s")
    row("achieved rate", f"{(len(times) - 1) / took:.1f} messages/s")
    row(
        "429 Too Many Requests (target 0)",
        f"{too_many} {'met' if too_many == 0 else 'MISSED'}",
    )
    row(
        f"share of the allowed rate (target >= {SHARE_TARGET:.0%})",
        f"{share:.1%} {'met' if share >= SHARE_TARGET else 'MISSED'}",
    )
    row(
        "service: CPU time, peak memory (RSS)",
        f"{usage['cpu_seconds']:.0f} s, {usage['peak_rss_mb']:,.0f} MB; "
        f"{usage['warnings']:.0f} warnings, {usage['errors']:.0f} errors",
    )
    return verdict(problems, "every message arrived once, in order")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
