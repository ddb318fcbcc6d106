"""The `aduanbot` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from aiohttp import web

from bot.config import ConfigError, load_office, load_settings, load_whatsapp_options
from bot.core.texts import TemplateError, load_texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aduanbot", description="Layanan pengaduan masyarakat")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="serve the bot (webhook or long polling) and /healthz")
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
    args = parser.parse_args(argv)
    _logging()
    try:
        settings = load_settings(need_token=args.command not in ("report", "export"))
        office = load_office(settings.config_path)
        load_texts(office.language)
        whatsapp = load_whatsapp_options(settings.config_path)
    except (ConfigError, TemplateError) as exc:
        print(f"aduanbot: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check":
        channels = "Telegram + WhatsApp" if settings.whatsapp_enabled else "Telegram"
        print(
            f"ok: {office.name}, {len(office.units)} units, language {office.language}, "
            f"{channels}, {len(whatsapp.templates)} WhatsApp templates"
        )
        d, calendar = office.deadlines, office.calendar
        print(
            f"deadlines (working days): verify {d.verify_days}, answer {d.answer_days}, "
            f"complete {d.complete_days}, confirm {d.confirm_days}; case {d.case_days} days; "
            f"office hours {calendar.office_start:%H:%M}-{calendar.office_end:%H:%M} "
            f"{office.timezone.key}; digest " + (f"{d.digest_at:%H:%M}" if d.digest_at else "off")
        )
        print(
            "recaps: automatic "
            + (f"{office.recap_at:%H:%M} on the first working day" if office.recap_at else "off")
            + f"; categories: {', '.join(office.categories) or 'named by the officers'}"
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

    app = create_app(settings)
    print(f"aduanbot: serving on http://{settings.host}:{settings.port}", flush=True)
    web.run_app(app, host=settings.host, port=settings.port, print=None, handle_signals=True)
    return 0


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request URL, and Bot API URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # twilio-python logs each request (headers included) at INFO.
    logging.getLogger("twilio").setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
