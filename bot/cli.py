"""The `aduanbot` command."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import socket
import sys
from pathlib import Path

from aiohttp import web

from bot.agency import (
    load_health_options,
    load_office,
    load_telegram_options,
    load_whatsapp_options,
    require_whatsapp_for_staff,
)
from bot.core.model import Step
from bot.core.office import AnswerReview, DispositionBy
from bot.core.texts import TemplateError, load_texts
from bot.settings import (
    ConfigError,
    deployment_settings,
    load_playground_settings,
    load_settings,
    playground_folder,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aduanbot", description="Layanan pengaduan masyarakat")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "run",
        help="serve the bot (webhook or long polling) and /healthz; without a bot token, "
        "the playground",
    )
    playground = commands.add_parser(
        "playground", help="the whole workflow in the browser, with no token and no internet"
    )
    playground.add_argument(
        "--agency",
        type=Path,
        default=None,
        metavar="FILE",
        help="the agency file to play, e.g. examples/agencies/sop004-dinkes-kabupaten-"
        "pasuruan.toml (default: ADUAN_CONFIG, else the playground's example office); its "
        "cases and chats are kept in data/<the file's name>/",
    )
    commands.add_parser("migrate", help="bring the database schema up to date and exit")
    commands.add_parser("check", help="validate the settings and the agency file, then exit")
    report = commands.add_parser("report", help="write a period's recap (rekap) to a file")
    report.add_argument(
        "--period",
        default="",
        help="2026-11, 2026-Q4, 2026 or 2026-11-01..2026-11-15 "
        "(default: the month before this one)",
    )
    report.add_argument("--format", choices=("xlsx", "csv", "png"), default=None)
    report.add_argument("--output", type=Path, required=True, help="the file to write")
    export = commands.add_parser("export", help="write one case with its whole history")
    export.add_argument("code", help="the case's tracking code")
    export.add_argument(
        "--format",
        choices=("xlsx", "csv", "lapor"),
        default=None,
        help="lapor: the text block for SP4N-LAPOR!'s manual form",
    )
    export.add_argument("--output", type=Path, default=None, help="the file (default: stdout)")
    forget = commands.add_parser(
        "forget", help="erase one reporter's personal data on request (UU PDP)"
    )
    forget.add_argument(
        "reporter",
        help="a case code of theirs (ADU-…), channel:address (telegram:5001, "
        "whatsapp:+62812…) or a WhatsApp number",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings(need_token=args.command in ("check", "migrate"))
        _logging(settings.log_format)
        if args.command == "run" and not settings.telegram_bot_token:
            deployment = deployment_settings()
            if deployment:
                raise ConfigError(
                    "TELEGRAM_BOT_TOKEN is not set (the token @BotFather gave your bot); "
                    f"{', '.join(deployment)} {'is' if len(deployment) == 1 else 'are'} set, "
                    "so this is a deployment and the playground will not start on it "
                    "(to try the bot on this machine: aduanbot playground)"
                )
        if args.command == "playground" or (
            args.command == "run" and not settings.telegram_bot_token
        ):
            return _playground(args.command, getattr(args, "agency", None))
        office = load_office(settings.config_path)
        load_texts(office.language)
        whatsapp = load_whatsapp_options(settings.config_path)
        require_whatsapp_for_staff(office, settings.whatsapp_enabled)
        load_telegram_options(settings.config_path)
        load_health_options(settings.config_path)
    except (ConfigError, TemplateError) as exc:
        return _configuration_error(exc)
    if args.command == "check":
        logging.getLogger("alembic").setLevel(logging.WARNING)  # (imported with the channels)
        from bot.app import CHANNELS

        channels = " + ".join(c.label for c in CHANNELS if c.enabled(settings))
        print(
            f"ok: {office.name}, {len(office.units)} units, language {office.language}, "
            f"{channels}, {len(whatsapp.templates)} WhatsApp templates"
        )
        d, calendar = office.deadlines, office.calendar

        def budget(step: Step) -> str:  # a whole number of working days, else "30m"
            value = d.budget(step)
            return str(value.amount) if value.in_days else str(value)

        case_days = f"{d.case_days} working days" if d.case_days_working else f"{d.case_days} days"
        print(
            f"deadlines (working days, h/m of office time): verify {budget(Step.VERIFY)}, "
            f"answer {budget(Step.ANSWER)}, complete {budget(Step.COMPLETE)}, "
            f"confirm {budget(Step.CONFIRM)}; case {case_days}; "
            f"office hours {calendar.office_start:%H:%M}-{calendar.office_end:%H:%M} "
            f"{office.timezone.key}; digest " + (f"{d.digest_at:%H:%M}" if d.digest_at else "off")
        )
        print(
            "recaps: automatic "
            + (f"{office.recap_at:%H:%M} on the first working day" if office.recap_at else "off")
            + f"; categories: {', '.join(office.categories) or 'named by the officers'}"
        )
        flow = office.workflow
        approving = flow.disposition_by is DispositionBy.SUPERVISOR  # the supervisor's step
        reviewing = flow.answer_review is not AnswerReview.NONE  # the reviewer's step
        print(
            f"workflow: disposition by {flow.disposition_by.value}, answers reviewed by "
            f"{flow.answer_review.value}, follow-up plan {'yes' if flow.follow_up_plan else 'no'}"
            + (f"; approve {budget(Step.APPROVE)}" if approving else "")
            + (f"; review {budget(Step.REVIEW)}" if reviewing else "")
        )
        if office.staff_on_whatsapp:
            units = ", ".join(f"{u.code} {len(u.whatsapp)}" for u in office.units if u.whatsapp)
            print(
                f"staff on WhatsApp: officers {len(office.officers_whatsapp)}, "
                f"supervisor {len(office.supervisor_whatsapp)}, units: {units or 'none'}"
            )
        lapor = office.lapor
        entered = "every verified complaint" if lapor.enter_all else "on request (/lapor)"
        liaison = ", ".join(lapor.liaison_chats()) or "none"
        print(
            f"intake sources: {', '.join(office.intake_sources)}; "
            f"SP4N-LAPOR!: {entered}, liaison {liaison}"
        )
        return 0
    if args.command in ("report", "export"):
        from bot.archive import export_case, write_report

        logging.getLogger("alembic").setLevel(logging.WARNING)  # the file is what matters

        texts = load_texts(office.language)
        if args.command == "report":
            return asyncio.run(
                write_report(settings, office, texts, args.period, args.format, args.output)
            )
        return asyncio.run(
            export_case(settings, office, texts, args.code, args.format, args.output)
        )
    if args.command == "forget":
        return asyncio.run(
            _forget(settings.database_url, office.language, args.reporter, settings.media_dir)
        )
    if args.command == "migrate":
        from storage.database import Database

        async def migrate() -> None:
            db = Database(settings.database_url)
            try:
                await db.upgrade()
            finally:
                await db.dispose()

        asyncio.run(migrate())
        return 0
    from bot.app import create_app

    try:
        listening = _listen(settings.host, settings.port)
    except ConfigError as exc:
        return _configuration_error(exc)
    app = create_app(settings)
    print(f"aduanbot: serving on http://{settings.host}:{settings.port}", flush=True)
    web.run_app(app, sock=listening, print=None, handle_signals=True)
    return 0


def _configuration_error(exc: Exception) -> int:
    print(f"aduanbot: configuration error: {exc}", file=sys.stderr)
    return 2


def _listen(host: str, port: int, command: str = "run") -> socket.socket:
    """The socket the service will serve on, bound before anything starts: a port another
    program holds is one clear line, not a traceback after the service half started."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"{host}:{port} is already in use by another program; stop it, or choose "
                f"another port: PORT={port + 1 if port < 65535 else 8081} aduanbot {command}"
            ) from exc
        raise ConfigError(
            f"cannot listen on {host}:{port} (HOST, PORT): {exc.strerror or exc}"
        ) from exc


async def _forget(database_url: str, language: str, who: str, media: Path) -> int:
    from bot.privacy import StillOpen, forget
    from storage.database import Database

    db = Database(database_url)
    try:
        await db.upgrade()
        erased = await forget(db, load_texts(language), who, media)
    except StillOpen as still:
        print(
            f"aduanbot: {who}: cases still open ({', '.join(still.codes)}); "
            "close them first (/selesai or /tolak), then forget the reporter",
            file=sys.stderr,
        )
        return 1
    finally:
        await db.dispose()
    if erased is None:
        print(f"aduanbot: no reporter known as {who}", file=sys.stderr)
        return 1
    print(
        f"forgotten: {len(erased.cases)} cases anonymised"
        + (f" ({', '.join(erased.cases)})" if erased.cases else "")
        + f"; {len(erased.files)} stored files removed"
    )
    return 0


def _playground(command: str, named: Path | None = None) -> int:
    """Serves the playground: the stand-ins on loopback and the unchanged service, for the
    agency file `named` (--agency), else ADUAN_CONFIG's, else the playground's own."""
    from bot.app import create_app
    from bot.playground import AGENCY, Playground

    try:
        own = load_playground_settings(AGENCY, named=named)
        _playable(own.config_path, named is not None)
        listening = _listen(own.host, own.port, command)
    except ConfigError as exc:
        return _configuration_error(exc)
    host = own.host
    public = f"http://{host}:{own.port}"

    async def make_app() -> web.Application:
        # its chats, beside the database and files
        playground = Playground(playground_folder(named))
        await playground.start()
        settings = load_playground_settings(AGENCY, playground.environment(public), named=named)
        app = create_app(settings, playground=playground)

        async def stop_standins(_: web.Application) -> None:
            await playground.stop()

        app.on_cleanup.append(stop_standins)
        return app

    def announce(_: str) -> None:  # once the service has started and the port listens
        print(f"aduanbot: playground ready: open {public}/playground", flush=True)

    print(_playground_banner(host), flush=True)
    web.run_app(make_app(), sock=listening, print=announce, handle_signals=True)
    return 0


def _playable(path: Path, named: bool) -> None:
    """Checks the playground's agency file as `aduanbot check` does, before anything
    starts: a wrong file is one line, not a traceback after the banner."""
    flag = "--agency" if named else "ADUAN_CONFIG"
    if not path.is_file():
        where = "no such file" if not path.exists() else "not a file"
        raise ConfigError(
            f"{flag}: agency file {path}: {where} (the example agencies are in "
            "examples/agencies/: aduanbot playground --agency examples/agencies/sop000-"
            "dinkes-kota-tangerang.toml)"
        )
    try:
        office = load_office(path)
        load_whatsapp_options(path)
        load_telegram_options(path)
        load_health_options(path)
    except ConfigError as exc:
        raise ConfigError(f"{flag} {str(exc).removeprefix('ADUAN_CONFIG: ')}") from None
    load_texts(office.language)


def _playground_banner(host: str) -> str:
    """What the playground says first: loudly, that it is not a deployment."""
    from bot.standins.recording import is_loopback_host

    rule = "=" * 78
    lines = [
        rule,
        "  aduanbot PLAYGROUND: a demonstration, NOT a deployment",
        "  Whoever opens the page acts as any citizen, officer or unit, and sees every",
        "  reporter's name and number: never run it on real data.",
        "  The bot talks to local stand-ins of Telegram and Twilio on this machine;",
        "  nothing goes to the internet. A real bot needs TELEGRAM_BOT_TOKEN (README).",
    ]
    if not is_loopback_host(host):
        lines.append(f"  WARNING: HOST={host}: other machines can reach this playground.")
    return "\n".join([*lines, rule])


def _logging(log_format: str) -> None:
    from bot.logs import configure

    configure(log_format)
    # httpx logs every request URL, and Bot API URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # twilio-python logs each request (headers included) at INFO.
    logging.getLogger("twilio").setLevel(logging.WARNING)
    # alembic names each of its plugins at INFO as it is imported: noise before any line
    # that matters (a configuration error is one line).
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
