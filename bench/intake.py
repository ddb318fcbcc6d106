"""Intake benchmark: Telegram updates posted to the webhook at increasing rates.

    python bench/intake.py                      # SQLite file in a temporary folder
    python bench/intake.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench
    python bench/intake.py --rates 50,100,200,400 --seconds 8 --burst 4000

Two servers are measured in the same run, one after the other, each in a process of its
own: a bare aiohttp handler that does nothing but answer 200, and the service
(`bot.app.create_app` in webhook mode, as in production, see `bench/common.py`), whose
webhook answers 200 only once the update is committed to the database ("durable
acceptance"). Each gets the same load from this process, which plays Telegram:

- at each of `--rates` updates a second, for `--seconds`: updates are posted on schedule
  (open loop), over at most `--connections` connections (Telegram's `max_connections`);
  reporters take turns, each going through the intake dialogue of `tests/e2e` (9
  updates), a reporter's next update posted only once the webhook answered the one before
  (as Telegram delivers one chat in order);
- a burst of `--burst` updates posted as fast as the connections allow (closed loop), for
  the most updates a second each server accepts. The ratio service : bare is the share of
  the bare handler's throughput the service keeps while making every update durable.

Webhook latency is timed from sending a POST to its answer (a wait for a free connection
does not count). For the service the full cycle is timed as well: from posting an update
to the reply (the dialogue's next question, or the acknowledgement) reaching the Bot API
stand-in. The service's outbound limiter is lifted (as in `bench/load.py`): at 200
updates a second the replies alone are beyond Telegram's 30 messages a second, and
`bench/outbound.py` measures sending within the limits. Between steps the bench waits
until every reply has arrived, so each step starts with no backlog.

Checks (a failure exits 1): every POST answered 200 by both servers, every update the
service acknowledged found in its database, exactly one inbound row per update, and a
reply for every update. PostgreSQL: the database's `public` schema is emptied first, so
never point it at a database you care about.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import aiohttp
from aiohttp import web
from sqlalchemy import text

from bench.common import (
    ServiceProcess,
    bench_database,
    percentile,
    reading_engine,
    statuses,
    table,
    until,
    verdict,
)
from bot.channels.telegram.webhook import SECRET_HEADER
from bot.standins.telegram import TelegramStandIn, TranscriptEntry, User
from tests.e2e.conftest import SECRET, TOKEN, bot_environment, free_port

FIRST_USER_ID = 710_000_001
LATENCY_TARGET_MS = 50.0  # p99 at TARGET_RATE updates a second
TARGET_RATE = 200
THROUGHPUT_SHARE_TARGET = 0.25
BACKLOG_GROWTH_MS = 100.0  # at TARGET_RATE: how much longer the last second's cycle may be


def dialogue(n: int) -> tuple[tuple[str, str], ...]:
    """What reporter `n` types, one update each, with a fragment of the bot's reply."""
    return (
        ("/start", "Ceritakan apa yang terjadi"),
        (
            f"Lampu jalan di gang {n} mati sejak seminggu, jalan gelap dan rawan di malam hari.",
            "Di mana kejadiannya",
        ),
        (f"Jl. Melati Gg. {n % 97 + 1}, Kelurahan Sukamaju", "Kapan kejadiannya"),
        ("kemarin malam", "foto atau dokumen"),
        ("selesai", "Bagaimana identitas"),
        ("1", "Siapa nama"),
        (f"Warga {n}", "Nomor telepon yang bisa"),
        (f"0812{n:08d}", "Apakah sudah benar"),
        ("kirim", "Kode pelacakan"),
    )


STEPS = len(dialogue(0))
STAGGER = 2  # staggered: reporters started between one's message and its next


# --------------------------------------------------------------------------------------------
# The bare handler, in a process of its own
# --------------------------------------------------------------------------------------------


def bare_server(port: int, pipe: Connection) -> None:
    """An aiohttp server whose webhook does nothing but answer 200."""

    async def nothing(_: web.Request) -> web.Response:
        return web.Response(status=200)

    async def run() -> None:
        app = web.Application()
        app.router.add_post("/webhook/telegram", nothing)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        pipe.send("ready")
        await asyncio.to_thread(pipe.recv)
        await runner.cleanup()

    asyncio.run(run())


# --------------------------------------------------------------------------------------------
# Telegram's side
# --------------------------------------------------------------------------------------------


@dataclass
class Step:
    """One load step's figures (times from `time.perf_counter()`)."""

    name: str
    rate: float | None  # the updates a second asked for; None: as fast as possible
    latencies: list[float] = field(default_factory=list)
    statuses: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))
    began: float = 0.0
    ended: float = 0.0
    cycles: list[float] = field(default_factory=list)
    timed: list[tuple[float, float]] = field(default_factory=list)  # (posted, full cycle)
    cpu: float | None = None  # the service's CPU seconds over the step and its drain

    @property
    def accepted(self) -> int:
        return self.statuses[200]

    @property
    def posted(self) -> int:
        return sum(self.statuses.values())

    @property
    def first_second(self) -> list[float]:
        """The full cycles of the updates posted in the step's first second."""
        return [cycle for at, cycle in self.timed if at < self.began + 1.0]

    @property
    def last_second(self) -> list[float]:
        """The full cycles of the updates posted in the step's last second."""
        last = max((at for at, _ in self.timed), default=self.began)
        return [cycle for at, cycle in self.timed if at > last - 1.0]

    @property
    def throughput(self) -> float:
        return self.accepted / (self.ended - self.began) if self.ended > self.began else 0.0


class Replies:
    """Matches what the bot sends each reporter to the updates it answers."""

    def __init__(self) -> None:
        self.posted: dict[int, list[float | None]] = {}  # user → post time of each step
        self.answered: dict[int, list[bool]] = {}
        self.fragments: dict[int, tuple[str, ...]] = {}
        self.steps: dict[int, Step] = {}
        self.count = 0
        self.expected = 0

    def expect(self, user: int, n: int, step: Step) -> None:
        self.posted[user] = [None] * STEPS
        self.answered[user] = [False] * STEPS
        self.fragments[user] = tuple(reply for _, reply in dialogue(n))
        self.steps[user] = step

    def see(self, entry: TranscriptEntry) -> None:
        if entry.sender != "bot" or entry.message is None or entry.chat_id not in self.posted:
            return
        at = time.perf_counter()
        user = entry.chat_id
        for j, fragment in enumerate(self.fragments[user]):
            sent = self.posted[user][j]
            if (
                sent is not None
                and not self.answered[user][j]
                and fragment in entry.message.content
            ):
                self.answered[user][j] = True
                self.steps[user].cycles.append(at - sent)
                self.steps[user].timed.append((sent, at - sent))
                self.count += 1
                return

    def missing(self) -> int:
        return self.expected - self.count


class Telegram:
    """Posts updates to one server's webhook and times them."""

    def __init__(
        self, tg: TelegramStandIn, url: str, connections: int, replies: Replies | None
    ) -> None:
        self.tg = tg
        self.url = url
        self.headers = {SECRET_HEADER: SECRET}
        self.slots = asyncio.Semaphore(connections)
        self.connections = connections
        self.replies = replies
        self.next_user = FIRST_USER_ID
        self.update_ids: list[int] = []

    def reporters(self, count: int, step: Step) -> list[tuple[int, User]]:
        made = []
        for _ in range(count):
            n = self.next_user - FIRST_USER_ID + 1
            user = User(self.next_user, "Warga", str(n))
            self.next_user += 1
            if self.replies is not None:
                self.replies.expect(user.id, n, step)
            made.append((n, user))
        return made

    async def post(
        self,
        session: aiohttp.ClientSession,
        step: Step,
        user: User,
        n: int,
        j: int,
        after: asyncio.Future[None] | None,
    ) -> None:
        if after is not None:
            await after  # the reporter's update before this one was answered
        async with self.slots:
            update = self.tg.text_update(user, dialogue(n)[j][0])
            self.update_ids.append(update["update_id"])
            began = time.perf_counter()
            if self.replies is not None:
                self.replies.posted[user.id][j] = began
                self.replies.expected += 1
            try:
                async with session.post(self.url, json=update, headers=self.headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            step.latencies.append(time.perf_counter() - began)
        step.statuses[status] += 1

    async def at_rate(
        self, session: aiohttp.ClientSession, step: Step, seconds: float, staggered: bool
    ) -> None:
        """Posts `step.rate` updates a second for `seconds`, reporters taking turns
        (`schedule`)."""
        assert step.rate is not None
        total = round(step.rate * seconds)
        order = schedule(total, staggered)
        users = self.reporters(max(r for r, _ in order) + 1, step)
        previous: dict[int, asyncio.Task[None]] = {}
        tasks = []
        step.began = time.perf_counter()
        for i, (r, j) in enumerate(order):
            n, user = users[r]
            delay = step.began + i / step.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            before = previous.get(user.id)
            task = asyncio.create_task(self.post(session, step, user, n, j, _done(before)))
            previous[user.id] = task
            tasks.append(task)
        await asyncio.gather(*tasks)
        step.ended = time.perf_counter()

    async def flat_out(self, session: aiohttp.ClientSession, step: Step, total: int) -> None:
        """Posts `total` updates as fast as the connections allow."""
        users = self.reporters(-(-total // STEPS), step)
        queue: asyncio.Queue[tuple[int, User, int]] = asyncio.Queue()
        for j in range(STEPS):
            for n, user in users:
                if queue.qsize() < total:
                    queue.put_nowait((n, user, j))
        answered: dict[tuple[int, int], asyncio.Event] = defaultdict(asyncio.Event)

        async def connection() -> None:
            while not queue.empty():
                n, user, j = queue.get_nowait()
                if j:
                    await answered[(user.id, j - 1)].wait()
                await self.post(session, step, user, n, j, None)
                answered[(user.id, j)].set()

        step.began = time.perf_counter()
        await asyncio.gather(*(connection() for _ in range(self.connections)))
        step.ended = time.perf_counter()


def schedule(total: int, staggered: bool) -> list[tuple[int, int]]:
    """The order of `total` updates: (reporter, step of the dialogue) each.

    In waves (the default), every reporter sends its first message, then every reporter
    its second, and so on: each second of the load is one step of the dialogue for
    everybody (the first all /start, the last all "kirim", the heaviest).

    Staggered, a reporter starts every `STEPS` updates and sends its next message
    `STAGGER` starts later, so after the first second every step of the dialogue is
    in each second's mix, as when many people write at their own pace; new reporters
    keep starting until the end, so the mix stays the same to the last second (the
    last ones' dialogues are left unfinished).
    """
    if not staggered:
        reporters = -(-total // STEPS)
        return [(i % reporters, i // reporters) for i in range(total)]
    order: list[tuple[int, int]] = []
    slot = 0
    while len(order) < total:
        j = slot % STEPS
        r = slot // STEPS - j * STAGGER
        if r >= 0:
            order.append((r, j))
        slot += 1
    return order


def _done(task: asyncio.Task[None] | None) -> asyncio.Future[None] | None:
    if task is None:
        return None
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def settle(_: object) -> None:
        if not future.done():
            future.set_result(None)

    task.add_done_callback(settle)
    return future


async def load(
    tg: TelegramStandIn,
    url: str,
    args: argparse.Namespace,
    replies: Replies | None,
    between: Callable[[], Awaitable[None]],
    cpu: Callable[[], Awaitable[float]] | None = None,
) -> list[Step]:
    """Runs every step against one server; `between()` is awaited after each, and
    `cpu()` (the server's CPU seconds so far) before and after each."""
    telegram = Telegram(tg, url, args.connections, replies)
    connector = aiohttp.TCPConnector(limit=args.connections)
    steps = []
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60)
    ) as session:
        for rate in args.rates:
            step = Step(f"{rate:g} updates/s", rate)
            before = await cpu() if cpu is not None else 0.0
            await telegram.at_rate(session, step, args.seconds, args.staggered)
            steps.append(step)
            await between()
            if cpu is not None:
                step.cpu = await cpu() - before
        step = Step(f"burst of {args.burst:,}", None)
        before = await cpu() if cpu is not None else 0.0
        await telegram.flat_out(session, step, args.burst)
        steps.append(step)
        await between()
        if cpu is not None:
            step.cpu = await cpu() - before
    return steps


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


async def run_bare(tg: TelegramStandIn, args: argparse.Namespace) -> list[Step]:
    port = free_port()
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=bare_server, args=(port, theirs), name="bare")
    process.start()
    await asyncio.to_thread(ours.recv)

    async def nothing() -> None:
        return None

    try:
        return await load(tg, f"http://127.0.0.1:{port}/webhook/telegram", args, None, nothing)
    finally:
        ours.send("stop")
        await asyncio.to_thread(process.join)


def ms(values: list[float], p: int) -> str:
    return f"{percentile(values, p) * 1000:,.1f}" if values else "-"


def seconds(values: list[float], p: int) -> str:
    return f"{percentile(values, p) * 1000:,.0f}" if values else "-"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rates", type=lambda s: [float(r) for r in s.split(",")], default=[50, 100, 200, 400]
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each rate step")
    parser.add_argument("--burst", type=int, default=4000, help="updates posted flat out")
    parser.add_argument("--connections", type=int, default=40, help="webhook connections")
    parser.add_argument(
        "--staggered",
        action="store_true",
        help="reporters start one after another, every step of the dialogue in each second",
    )
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    folder, url = bench_database(args.database_url, "intake")
    engine = await reading_engine(url)
    problems: list[str] = []
    replies = Replies()
    async with TelegramStandIn(token=TOKEN, bot_username="aduan_intake_bot") as tg:
        print(f"bare aiohttp handler: {args.rates} updates/s, then a burst", file=sys.stderr)
        bare = await run_bare(tg, args)
        env = bot_environment(tg, url, folder, free_port())
        env["MEDIA_DIR"] = str(folder / "media")
        service = await ServiceProcess.start(env, folder / "service.log")
        print(f"service on {engine.dialect.name}", file=sys.stderr)
        queue = tg.subscribe()

        async def watch() -> None:
            while True:
                replies.see(await queue.get())

        async def all_replied() -> bool:
            return replies.missing() <= 0

        async def drained() -> None:
            if not await until(all_replied, lambda: replies.count):
                problems.append(f"{replies.missing():,} replies never came")

        watching = asyncio.create_task(watch())
        try:
            webhook = f"http://{env['HOST']}:{env['PORT']}/webhook/telegram"

            async def cpu() -> float:
                return (await service.usage())["cpu_seconds"]

            ours = await load(tg, webhook, args, replies, drained, cpu)
        finally:
            usage = await service.stop()
            watching.cancel()
            tg.unsubscribe(queue)
    inbound = await statuses(engine, "inbound_updates")
    async with engine.connect() as connection:
        distinct = await connection.scalar(
            text("SELECT count(DISTINCT external_id) FROM inbound_updates")
        )
    await engine.dispose()

    accepted = sum(step.accepted for step in ours)
    for name, steps in (("bare handler", bare), ("service", ours)):
        for step in steps:
            if step.accepted != step.posted:
                problems.append(f"{name}, {step.name}: {step.posted - step.accepted} not 200")
    if sum(inbound.values()) != accepted or distinct != accepted:
        problems.append(
            f"{accepted:,} updates acknowledged, {sum(inbound.values()):,} rows stored "
            f"({distinct:,} distinct)"
        )
    if inbound["done"] != sum(inbound.values()):
        problems.append(f"updates not handled: {dict(inbound)}")

    print(f"\nIntake, {engine.dialect.name}, {args.connections} connections")
    rows = []
    for b, s in zip(bare, ours, strict=True):
        rows.append(
            [
                s.name,
                f"{b.throughput:,.0f}",
                f"{ms(b.latencies, 50)} / {ms(b.latencies, 99)}",
                f"{s.throughput:,.0f}",
                f"{ms(s.latencies, 50)} / {ms(s.latencies, 99)}",
                f"{s.throughput / b.throughput:.0%}" if b.throughput else "-",
                f"{seconds(s.cycles, 50)} / {seconds(s.cycles, 99)}",
                " / ".join(seconds(c, 50) for c in (s.first_second, s.last_second)),
                f"{s.cpu / s.accepted * 1000:.1f}" if s.cpu is not None and s.accepted else "-",
            ]
        )
    table(
        [
            "step",
            "bare: updates/s",
            "bare p50 / p99 ms",
            "service: durable updates/s",
            "service p50 / p99 ms",
            "service : bare",
            "full cycle p50 / p99 ms",
            "p50 first / last second ms",
            "service CPU ms/update",
        ],
        rows,
    )
    print(
        f"service: {usage['cpu_seconds']:.0f} s CPU, peak RSS {usage['peak_rss_mb']:,.0f} MB, "
        f"{usage['warnings']:.0f} warnings, {usage['errors']:.0f} errors "
        f"(log: {folder / 'service.log'})"
    )
    share = ours[-1].throughput / bare[-1].throughput
    at_target = next((s for s in ours if s.rate == TARGET_RATE), None)
    print(
        f"target: durable throughput >= {THROUGHPUT_SHARE_TARGET:.0%} of bare: {share:.0%} "
        f"{'met' if share >= THROUGHPUT_SHARE_TARGET else 'MISSED'}"
    )
    if at_target is not None:
        p99 = percentile(at_target.latencies, 99) * 1000
        print(
            f"target: p99 < {LATENCY_TARGET_MS:.0f} ms at {TARGET_RATE} updates/s: {p99:.1f} ms "
            f"{'met' if p99 < LATENCY_TARGET_MS else 'MISSED'}"
        )
        first, last = (
            percentile(c, 50) * 1000 for c in (at_target.first_second, at_target.last_second)
        )
        steady = last <= first + BACKLOG_GROWTH_MS
        print(
            f"target: no growing backlog at {TARGET_RATE} updates/s (full cycle p50 of the "
            f"step's last second within {BACKLOG_GROWTH_MS:.0f} ms of its first): "
            f"{first:,.0f} ms, then {last:,.0f} ms {'met' if steady else 'MISSED'}"
        )
    return verdict(problems, "every update answered 200, stored once, handled and replied to")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
