"""The service's settings from the environment (and `.env`): the one place that reads them.

Every environment variable the service knows is read and checked here, once, at start
(`.env.example` documents them all). A missing or invalid value fails closed: start-up
stops with one line that names the variable. The agency file that `ADUAN_CONFIG` names
is parsed by `bot/agency.py`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

DEFAULT_TELEGRAM_API = "https://api.telegram.org"
DEFAULT_TWILIO_API = "https://api.twilio.com"
LOG_FORMATS = ("text", "json")
_WHATSAPP_NUMBER = re.compile(r"^whatsapp:\+[1-9][0-9]{6,14}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")

TWILIO_REQUIRED = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM")
# Settings only a deployment has: with any of them and no bot token, `aduanbot run` stops
# instead of serving the playground (which lets anyone act as an officer) on that data.
DEPLOYMENT_SETTINGS = ("DATABASE_URL", "PUBLIC_BASE_URL")
DEPLOYMENT_PREFIX = "TWILIO_"
# What the playground takes from the process environment, never from `.env` (which may
# be a deployment's: its database is no place for a page where anyone is an officer).
PLAYGROUND_SETTINGS = ("HOST", "PORT", "ADUAN_CONFIG", "DATABASE_URL", "MEDIA_DIR")
PLAYGROUND_DATA = Path("data")  # the playground's database, stored files and chats


def playground_folder(named: Path | None = None) -> Path:
    """Where the playground keeps its database, stored files and chats: `data/`, or for an
    agency file named on the command line (`--agency`), `data/<its name>/`, so that each
    office tried keeps its own cases and chats."""
    return PLAYGROUND_DATA if named is None else PLAYGROUND_DATA / named.stem


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names it."""


@dataclass(frozen=True)
class Settings:
    """The service's settings (environment variables, see `.env.example`)."""

    config_path: Path
    database_url: str
    telegram_bot_token: str
    telegram_api_base_url: str
    telegram_webhook_secret: str | None
    public_base_url: str | None
    host: str
    port: int
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_base_url: str = DEFAULT_TWILIO_API
    media_dir: Path = Path("data/media")
    log_format: str = "text"  # one of LOG_FORMATS

    @property
    def whatsapp_enabled(self) -> bool:
        return self.twilio_whatsapp_from is not None

    @property
    def webhook_mode(self) -> bool:
        return self.public_base_url is not None

    @property
    def telegram_webhook_url(self) -> str:
        assert self.public_base_url is not None
        return self.public_base_url + "/webhook/telegram"


def load_settings(
    environ: Mapping[str, str] | None = None,
    env_file: Path | None = None,
    *,
    need_token: bool = True,
) -> Settings:
    """Reads the settings from the environment, falling back on a `.env` file.

    `need_token=False` is for commands that only read the database (recaps, exports).
    """
    return _parse(_environment(environ, env_file), need_token=need_token)


def deployment_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = None
) -> list[str]:
    """The settings of a production deployment that are set (environment or `.env`)."""
    env = _environment(environ, env_file)
    return sorted(
        name
        for name, value in env.items()
        if value.strip() and (name in DEPLOYMENT_SETTINGS or name.startswith(DEPLOYMENT_PREFIX))
    )


def load_playground_settings(
    agency: Path,
    standins: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    named: Path | None = None,
) -> Settings:
    """The playground's settings: `PLAYGROUND_SETTINGS` from the process environment
    (never `.env`) over the playground's own defaults (`agency`, its example agency file;
    its own database and media folder), then `standins`, the settings that point the
    service at the stand-ins once they listen (without them: no token yet).

    `named`: the agency file named on the command line (`--agency`), over ADUAN_CONFIG; its
    database and files are in a folder of its own (`playground_folder`)."""
    source = os.environ if environ is None else environ
    given = {name: source[name] for name in PLAYGROUND_SETTINGS if source.get(name, "").strip()}
    folder = playground_folder(named)
    env = {
        "ADUAN_CONFIG": str(agency),
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder.as_posix()}/playground.sqlite3",
        "MEDIA_DIR": str(folder / "playground-media"),
        **given,
        **({"ADUAN_CONFIG": str(named)} if named is not None else {}),
        **(standins or {}),
    }
    return _parse(env, need_token=standins is not None)


def _parse(env: Mapping[str, str], *, need_token: bool) -> Settings:
    """Checks each variable of `env` and builds the settings; the first bad one stops it."""

    def get(name: str, default: str | None = None) -> str | None:
        value = env.get(name, "").strip()
        return value or default

    token = get("TELEGRAM_BOT_TOKEN") or ""
    if not token and need_token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set (the token @BotFather gave your bot)")
    if token and not _TOKEN.match(token):
        raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token (123456:ABC…)")

    api = (get("TELEGRAM_API_BASE_URL", DEFAULT_TELEGRAM_API) or "").rstrip("/")
    _require_url("TELEGRAM_API_BASE_URL", api)

    public = get("PUBLIC_BASE_URL")
    if public is not None:
        public = public.rstrip("/")
        _require_url("PUBLIC_BASE_URL", public)

    secret = get("TELEGRAM_WEBHOOK_SECRET")
    if secret is not None and not _SECRET.match(secret):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -")
    if public is not None and secret is None:
        raise ConfigError(
            "TELEGRAM_WEBHOOK_SECRET must be set when PUBLIC_BASE_URL is set (webhook mode)"
        )

    port = _port(get("PORT", "8080") or "8080")

    database_url = get("DATABASE_URL", "sqlite+aiosqlite:///data/aduanbot.sqlite3") or ""
    if not database_url.startswith(("sqlite", "postgresql", "postgres")):
        raise ConfigError("DATABASE_URL must be a sqlite:/// or postgresql:// URL")

    twilio = {name: get(name) for name in TWILIO_REQUIRED}
    given = [name for name, value in twilio.items() if value]
    if given and len(given) < len(TWILIO_REQUIRED):
        missing = [name for name in TWILIO_REQUIRED if name not in given]
        raise ConfigError(
            f"{', '.join(missing)} must be set too, to turn WhatsApp on ({given[0]} is set)"
        )
    whatsapp_from = twilio["TWILIO_WHATSAPP_FROM"]
    if whatsapp_from is not None and not _WHATSAPP_NUMBER.match(whatsapp_from):
        raise ConfigError("TWILIO_WHATSAPP_FROM must look like whatsapp:+14155238886")
    if given and public is None:
        raise ConfigError(
            "PUBLIC_BASE_URL must be set for WhatsApp: Twilio posts to it and signs its URL"
        )
    twilio_api = (get("TWILIO_API_BASE_URL", DEFAULT_TWILIO_API) or "").rstrip("/")
    _require_url("TWILIO_API_BASE_URL", twilio_api)

    log_format = get("LOG_FORMAT", "text") or "text"
    if log_format.lower() not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be text or json, got {log_format!r}")

    return Settings(
        config_path=Path(get("ADUAN_CONFIG", "aduan.toml") or "aduan.toml"),
        database_url=database_url,
        telegram_bot_token=token,
        telegram_api_base_url=api,
        telegram_webhook_secret=secret,
        public_base_url=public,
        host=get("HOST", "127.0.0.1") or "127.0.0.1",
        port=port,
        twilio_account_sid=twilio["TWILIO_ACCOUNT_SID"],
        twilio_auth_token=twilio["TWILIO_AUTH_TOKEN"],
        twilio_whatsapp_from=whatsapp_from,
        twilio_api_base_url=twilio_api,
        media_dir=Path(get("MEDIA_DIR", "data/media") or "data/media"),
        log_format=log_format.lower(),
    )


def _environment(environ: Mapping[str, str] | None, env_file: Path | None) -> dict[str, str]:
    """The `.env` file's values, overridden by the environment's."""
    env: dict[str, str] = {}
    dotenv = env_file if env_file is not None else Path(".env")
    if dotenv.is_file():
        env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    env.update(os.environ if environ is None else environ)
    return env


def _port(text: str) -> int:
    if text.isascii() and text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    raise ConfigError(f"PORT must be a port number (1–65535), got {text!r}")


def _require_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
