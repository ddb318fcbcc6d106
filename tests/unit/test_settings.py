"""The environment's settings: each variable read in one place, each bad value one line
that names it, `.env` under the environment, and the playground's own rules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_playground_settings, load_settings

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
WHATSAPP = {
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "a" * 32,
    "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886",
    "PUBLIC_BASE_URL": "https://aduan.example.go.id",
    "TELEGRAM_WEBHOOK_SECRET": "s3cret",
}
BOT = Path(__file__).parents[2] / "bot"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "abc"),
        ("PORT", "0"),
        ("PORT", "65536"),
        ("PORT", "-1"),
        ("PORT", "²"),  # a digit to str.isdigit, not to int()
        ("LOG_FORMAT", "xml"),
        ("DATABASE_URL", "mysql://db.example/aduan"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token"),
        ("TELEGRAM_API_BASE_URL", "api.telegram.org"),
        ("TELEGRAM_WEBHOOK_SECRET", "with spaces"),
        ("PUBLIC_BASE_URL", "ftp://aduan.example.go.id"),
        ("TWILIO_API_BASE_URL", "twilio"),
        ("TWILIO_WHATSAPP_FROM", "+14155238886"),
    ],
)
def test_a_bad_value_is_one_line_that_names_its_variable(
    name: str, value: str, tmp_path: Path
) -> None:
    environ = {"TELEGRAM_BOT_TOKEN": TOKEN, **WHATSAPP, name: value}
    with pytest.raises(ConfigError) as error:
        load_settings(environ, env_file=tmp_path / "none.env")
    message = str(error.value)
    assert message.startswith(f"{name} must") or message.startswith(f"{name} does not")
    assert "\n" not in message


def test_a_bad_port_says_what_a_port_is(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({"PORT": "abc"}, env_file=tmp_path / "none.env", need_token=False)
    assert str(error.value) == "PORT must be a port number (1–65535), got 'abc'"


def test_defaults_and_the_listening_address(tmp_path: Path) -> None:
    none = tmp_path / "none.env"
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN}, env_file=none)
    assert (settings.host, settings.port, settings.log_format) == ("127.0.0.1", 8080, "text")
    assert settings.database_url == "sqlite+aiosqlite:///data/aduanbot.sqlite3"
    assert settings.config_path == Path("aduan.toml")
    assert settings.media_dir == Path("data/media")
    assert not settings.whatsapp_enabled and not settings.webhook_mode
    given = {"TELEGRAM_BOT_TOKEN": TOKEN, "HOST": "0.0.0.0", "PORT": "65535", "LOG_FORMAT": "JSON"}
    settings = load_settings(given, env_file=none)
    assert (settings.host, settings.port, settings.log_format) == ("0.0.0.0", 65535, "json")
    assert load_settings({"LOG_FORMAT": " text "}, env_file=none, need_token=False).log_format == (
        "text"
    )


def test_dotenv_fills_in_what_the_environment_leaves_unset(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nPORT=9000\nLOG_FORMAT=json\nHOST=\n")
    settings = load_settings({"PORT": "9001"}, env_file=dotenv)
    assert (settings.telegram_bot_token, settings.port, settings.log_format) == (
        TOKEN,
        9001,
        "json",
    )
    assert settings.host == "127.0.0.1"  # empty is unset
    dotenv.write_text("PORT=http\n")
    with pytest.raises(ConfigError, match=r"^PORT must be a port number"):
        load_settings({}, env_file=dotenv, need_token=False)


def test_the_playground_reads_the_environment_never_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "DATABASE_URL=postgresql+asyncpg://aduan@db.example/aduan\nPORT=9000\nMEDIA_DIR=/srv\n"
    )
    agency = tmp_path / "agency.toml"
    own = load_playground_settings(agency, environ={})
    assert own.database_url == "sqlite+aiosqlite:///data/playground.sqlite3"
    assert (own.config_path, own.media_dir) == (agency, Path("data/playground-media"))
    assert (own.host, own.port, own.telegram_bot_token) == ("127.0.0.1", 8080, "")

    environ = {"HOST": "0.0.0.0", "PORT": "8123", "ADUAN_CONFIG": "mine.toml", "PATH": "/bin"}
    standins = {"TELEGRAM_BOT_TOKEN": TOKEN, **WHATSAPP, "PUBLIC_BASE_URL": "http://0.0.0.0:8123"}
    settings = load_playground_settings(agency, standins, environ=environ)
    assert (settings.host, settings.port, settings.config_path) == (
        "0.0.0.0",
        8123,
        Path("mine.toml"),
    )
    assert settings.telegram_bot_token == TOKEN and settings.whatsapp_enabled
    assert settings.public_base_url == "http://0.0.0.0:8123"

    with pytest.raises(ConfigError, match=r"^PORT must be a port number"):
        load_playground_settings(agency, environ={"PORT": "abc"})


def test_an_agency_file_named_with_agency_wins_and_keeps_its_data_apart() -> None:
    named = Path("examples/agencies/sop004-dinkes-kabupaten-pasuruan.toml")
    settings = load_playground_settings(
        Path("bot/playground/agency.toml"), environ={"ADUAN_CONFIG": "mine.toml"}, named=named
    )
    assert settings.config_path == named
    folder = "data/sop004-dinkes-kabupaten-pasuruan"
    assert settings.database_url == f"sqlite+aiosqlite:///{folder}/playground.sqlite3"
    assert settings.media_dir == Path(folder) / "playground-media"
    # the environment still chooses the database and the files, as without the flag
    chosen = load_playground_settings(
        Path("bot/playground/agency.toml"),
        environ={"DATABASE_URL": "sqlite+aiosqlite:///elsewhere.sqlite3", "MEDIA_DIR": "m"},
        named=named,
    )
    assert (chosen.database_url, chosen.media_dir) == (
        "sqlite+aiosqlite:///elsewhere.sqlite3",
        Path("m"),
    )


def test_only_bot_settings_reads_the_environment() -> None:
    """One place for every variable: no other module of bot/ reads os.environ, getenv or
    a `.env` file."""
    readers = []
    for path in sorted(BOT.rglob("*.py")):
        if path == BOT / "settings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            named = (
                node.attr
                if isinstance(node, ast.Attribute)
                else node.id
                if isinstance(node, ast.Name)
                else node.module
                if isinstance(node, ast.ImportFrom)
                else None
            )
            if named in ("environ", "getenv", "environb", "dotenv", "dotenv_values"):
                readers.append(f"{path.relative_to(BOT.parent)}:{getattr(node, 'lineno', 0)}")
    assert readers == []


def test_a_bad_variable_stops_the_command_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from bot import cli

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("PORT", "abc")
    for command in ("check", "run", "playground", "migrate"):
        assert cli.main([command]) == 2
        assert capsys.readouterr().err.splitlines() == [
            "aduanbot: configuration error: PORT must be a port number (1–65535), got 'abc'"
        ]
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.setenv("LOG_FORMAT", "yaml")
    assert cli.main(["check"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "aduanbot: configuration error: LOG_FORMAT must be text or json, got 'yaml'"
    ]
    assert not (tmp_path / "data").exists()  # nothing was started or created
