"""Load benchmark: 10,000 reporters file their complaints at once through the webhook.

    python bench/load.py                        # SQLite file in a temporary folder
    python bench/load.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
    python bench/load.py --reporters 1000 --connections 100

The service runs as in production: the real app (`bot.app.create_app`) in webhook mode, in
a process of its own, so that its CPU time, its peak memory and the webhook's latency are
its own. This process plays Telegram: the Bot API stand-in (`bot/standins/telegram/`)
takes what the bot sends, and `--reporters` citizens each go through the whole intake
dialogue of `tests/e2e` (/start, what, where, when, no attachments, identity, name, phone,
"kirim": 9 updates). A reporter posts its updates to the webhook one after another, each
once the webhook has answered the one before (as Telegram delivers one chat in order),
without waiting for the bot's questions; all reporters at once, over at most
`--connections` connections (Telegram's `max_connections`, 40 unless the bot sets it).
Updates are built with the stand-in's builders but posted by the bench (JSON, the secret
header; the stand-in's own `deliver` would also keep a transcript of each), which times
each POST from sending the request to the answer (the wait for a free connection does not
count).

The outbound rate limit is lifted: the service's Telegram limiter is replaced by one that
never waits (the stand-in enforces none either). Within Telegram's 30 messages a second the
120,000 messages of 10,000 dialogues would take over an hour, and the 10,000 relays to the
officers' group, at 20 a minute, eight hours: this bench measures the service, not
Telegram's quota.

Checks (a failure exits 1): every reporter's complaint stored exactly once, every
reporter acknowledged exactly once ("Kode pelacakan", the stored code), one "Pengaduan
baru" in the officers' group per case, every webhook answered 200, every update handled
and every message sent (none failed). Figures: intake throughput, webhook latency, the
time until the last acknowledgement and until the last relay to the officers, the
service's CPU time and peak memory. The service's log (warnings and errors only) is kept
in the temporary folder. PostgreSQL: the database's `public` schema is emptied first, so
never point it at a database you care about.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import (
    STALL,
    ServiceProcess,
    bench_database,
    percentile,
    reading_engine,
    row,
    statuses,
    until,
    verdict,
)
from bench.peer import run_peer
from bot.channels.telegram.webhook import SECRET_HEADER
from bot.core.model import Channel
from bot.standins.telegram import TelegramStandIn, TranscriptEntry, User
from tests.e2e.conftest import OFFICERS, TOKEN, bot_environment, free_port

FIRST_USER_ID = 700_000_001
ACK = "Kode pelacakan: "
RELAY = "Pengaduan baru "


def dialogue(n: int) -> tuple[str, ...]:
    """What reporter `n` types, one update each (the dialogue of tests/e2e/conftest.py)."""
    return (
        "/start",
        f"Lampu jalan di gang {n} mati sejak seminggu, jalan gelap dan rawan pada malam hari.",
        f"Jl. Melati Gg. {n % 97 + 1}, Kelurahan Sukamaju",
        "kemarin malam",
        "selesai",  # no attachments
        "1",  # identity: normal
        f"Warga {n}",
        f"0812{n:08d}",
        "kirim",
    )


# --------------------------------------------------------------------------------------------
# Telegram's side
# --------------------------------------------------------------------------------------------


@dataclass
class Observed:
    """What the reporters and the officers' group saw, with `time.perf_counter()` times."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    posted: int = 0
    sent_kirim: dict[int, float] = field(default_factory=dict)
    acks: defaultdict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    acked_at: dict[int, float] = field(default_factory=dict)
    relays: list[str] = field(default_factory=list)
    last_relay: float = 0.0
    messages: int = 0

    def see(self, entry: TranscriptEntry) -> None:
        """Takes one thing the bot sent (from the stand-in's transcript)."""
        if entry.sender != "bot" or entry.message is None:
            return
        self.messages += 1
        content = entry.message.content
        if entry.chat_id == OFFICERS:
            if RELAY in content:
                self.relays.append(content.split(RELAY, 1)[1].split()[0])
                self.last_relay = time.perf_counter()
        elif ACK in content:
            self.acks[entry.chat_id].append(content.split(ACK, 1)[1].split()[0])
            self.acked_at.setdefault(entry.chat_id, time.perf_counter())


class Reporters:
    """Posts every reporter's dialogue to the webhook, timing each POST."""

    def __init__(
        self, tg: TelegramStandIn, session: aiohttp.ClientSession, connections: int
    ) -> None:
        webhook = tg.webhook
        if webhook is None or webhook.secret_token is None:
            raise SystemExit("the service set no webhook with a secret")
        self.tg = tg
        self.session = session
        self.url = webhook.url
        self.headers = {SECRET_HEADER: webhook.secret_token}
        self.slots = asyncio.Semaphore(connections)

    async def run(self, users: list[User], seen: Observed) -> None:
        async with asyncio.TaskGroup() as group:
            for n, user in enumerate(users, 1):
                group.create_task(self.report(n, user, seen))

    async def report(self, n: int, user: User, seen: Observed) -> None:
        for typed in dialogue(n):
            async with self.slots:
                update = self.tg.text_update(user, typed)  # the update_id is taken now
                began = time.perf_counter()
                if typed == "kirim":
                    seen.sent_kirim[user.id] = began
                try:
                    async with self.session.post(self.url, json=update, headers=self.headers) as r:
                        await r.read()
                        status = r.status
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                seen.latencies.append(time.perf_counter() - began)
            seen.statuses[status] += 1
            seen.posted += 1


async def watch(tg: TelegramStandIn, seen: Observed) -> None:
    queue = tg.subscribe()
    try:
        while True:
            seen.see(await queue.get())
    finally:
        tg.unsubscribe(queue)


async def report_progress(seen: Observed, updates: int, reporters: int) -> None:
    while True:
        await asyncio.sleep(1.0)
        print(
            f"\r  posted {seen.posted:,} of {updates:,} updates; "
            f"{len(seen.acked_at):,} of {reporters:,} reporters acknowledged; "
            f"{seen.messages:,} messages from the bot",
            end="",
            file=sys.stderr,
            flush=True,
        )


# --------------------------------------------------------------------------------------------
# The database
# --------------------------------------------------------------------------------------------


async def stored_codes(engine: AsyncEngine) -> defaultdict[str, list[str]]:
    """The codes of the cases stored for each Telegram reporter (by chat id)."""
    codes: defaultdict[str, list[str]] = defaultdict(list)
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT r.address, c.code FROM cases c JOIN reporters r ON r.id = c.reporter_id"
                " WHERE r.channel = :channel"
            ),
            {"channel": Channel.TELEGRAM.value},
        )
        for address, code in rows:
            codes[address].append(code)
    return codes


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def failures(
    users: list[User],
    seen: Observed,
    stored: defaultdict[str, list[str]],
    inbound: Counter[str],
    outbox: Counter[str],
) -> list[str]:
    """What went wrong, one sentence each (an empty list: every check passed)."""
    problems: list[str] = []

    def check(bad: list[str], what: str) -> None:
        if bad:
            shown = ", ".join(bad[:5]) + (", …" if len(bad) > 5 else "")
            problems.append(f"{len(bad):,} {what}: {shown}")

    ids = [user.id for user in users]
    check(
        [f"{i} ({len(stored[str(i)])})" for i in ids if len(stored[str(i)]) != 1],
        "reporters without exactly one stored case",
    )
    check(
        [f"{i} ({len(seen.acks[i])})" for i in ids if len(seen.acks[i]) != 1],
        "reporters without exactly one acknowledgement",
    )
    check(
        [
            f"{i} (got {seen.acks[i][0]}, stored {stored[str(i)][0]})"
            for i in ids
            if len(seen.acks[i]) == len(stored[str(i)]) == 1 and seen.acks[i] != stored[str(i)]
        ],
        "acknowledgements with another code than the stored case's",
    )
    cases = {code for codes in stored.values() for code in codes}
    relayed = Counter(seen.relays)
    check(
        [f"{c} ({relayed[c]})" for c in sorted(cases) if relayed[c] != 1],
        "cases without exactly one 'Pengaduan baru' to the officers",
    )
    check(sorted(set(relayed) - cases), "relays of cases that are not stored")
    check(
        [f"{status}: {count}" for status, count in seen.statuses.items() if status != 200],
        "webhook answers other than 200 (0: no answer)",
    )
    check([f"{s}: {count}" for s, count in inbound.items() if s != "done"], "updates not handled")
    check([f"{s}: {count}" for s, count in outbox.items() if s != "sent"], "messages not sent")
    return problems


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reporters", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=40, help="webhook connections")
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--no-peer", action="store_true", help="leave out the peer (bench/peer.py) after the run"
    )
    args = parser.parse_args()
    folder, url = bench_database(args.database_url, "load")
    engine = await reading_engine(url)
    users = [User(FIRST_USER_ID + n, "Warga", str(n)) for n in range(1, args.reporters + 1)]
    updates = len(users) * len(dialogue(0))
    seen = Observed()
    log_file = folder / "service.log"
    async with TelegramStandIn(token=TOKEN, bot_username="aduan_load_bot") as tg:
        env = bot_environment(tg, url, folder, free_port())
        env["MEDIA_DIR"] = str(folder / "media")
        service = await ServiceProcess.start(env, log_file)
        started = await service.usage()  # start-up (imports, migrations) is not the load's
        print(
            f"{engine.dialect.name}: {len(users):,} reporters, {updates:,} updates "
            f"over {args.connections} connections"
        )
        watching = asyncio.create_task(watch(tg, seen))
        progress = asyncio.create_task(report_progress(seen, updates, len(users)))
        try:
            connector = aiohttp.TCPConnector(limit=args.connections)
            timeout = aiohttp.ClientTimeout(total=60)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
                began = time.perf_counter()
                await Reporters(tg, session, args.connections).run(users, seen)
                posted = time.perf_counter()

            async def all_acknowledged() -> bool:
                return len(seen.acked_at) >= len(users) and len(seen.relays) >= len(users)

            async def all_done() -> bool:
                pending = (await statuses(engine, "inbound_updates"))["pending"]
                return pending + (await statuses(engine, "outbox"))["pending"] == 0

            settled = await until(all_acknowledged, lambda: seen.messages) and await until(
                all_done, lambda: seen.messages
            )
            loaded = await service.usage()
        finally:
            progress.cancel()
            print(file=sys.stderr)
            usage = await service.stop()
            watching.cancel()
    problems = [] if settled else [f"gave up waiting: nothing new for {STALL:.0f} s"]
    problems += failures(
        users,
        seen,
        await stored_codes(engine),
        await statuses(engine, "inbound_updates"),
        await statuses(engine, "outbox"),
    )
    await engine.dispose()

    intake = posted - began
    acknowledged = max(seen.acked_at.values(), default=posted) - began
    relayed = max(seen.last_relay, posted) - began
    delays = [seen.acked_at[i] - seen.sent_kirim[i] for i in seen.acked_at if i in seen.sent_kirim]
    ms = [latency * 1000 for latency in seen.latencies]
    row("updates accepted by the webhook", f"{seen.statuses[200]:,} in {intake:.1f} s")
    row("intake throughput", f"{seen.statuses[200] / intake:,.0f} updates/s")
    row(
        "webhook latency p50 / p99 / max",
        f"{percentile(ms, 50):.0f} / {percentile(ms, 99):.0f} / {max(ms):.0f} ms",
    )
    row(
        "last acknowledgement after",
        f"{acknowledged:.1f} s ({len(users) / acknowledged:.1f} dialogues/s)",
    )
    row("last relay to the officers' group after", f"{relayed:.1f} s (one chat: one at a time)")
    if len(delays) > 1:
        row(
            '"kirim" to acknowledgement p50 / p99',
            f"{percentile(delays, 50):.1f} / {percentile(delays, 99):.1f} s",
        )
    row("messages sent by the bot", f"{seen.messages:,}")
    if settled:
        cpu = loaded["cpu_seconds"] - started["cpu_seconds"]
        row(
            "service: CPU per handled update",
            f"{cpu * 1000 / updates:.1f} ms ({cpu:.1f} s over the load, "
            f"{seen.messages / updates:.2f} messages sent per update)",
        )
    row(
        "service: CPU time, peak memory (RSS)",
        f"{usage['cpu_seconds']:.0f} s, {usage['peak_rss_mb']:,.0f} MB",
    )
    own = resource.getrusage(resource.RUSAGE_SELF)
    row(
        "Telegram's side (this process): CPU, peak RSS",
        f"{own.ru_utime + own.ru_stime:.0f} s, {own.ru_maxrss / 1024:,.0f} MB",
    )
    row(
        "service log",
        f"{usage['warnings']:.0f} warnings, {usage['errors']:.0f} errors ({log_file})",
    )
    if not args.no_peer:
        peer = await run_peer(TOKEN, users, dialogue)
        row(
            "peer (PTB's conversationbot): CPU per update",
            f"{peer.cpu_seconds * 1000 / peer.updates:.1f} ms ({peer.cpu_seconds:.1f} s, "
            f"{peer.messages / peer.updates:.2f} messages sent per update, "
            f"{peer.coded:,} of {len(users):,} dialogues ended in {peer.seconds:.1f} s)",
        )
        if peer.coded != len(users):
            problems.append(f"the peer ended {peer.coded:,} of {len(users):,} dialogues")
    return verdict(problems, "every complaint stored once, acknowledged once, relayed once")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
