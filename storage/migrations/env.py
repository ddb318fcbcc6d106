"""Alembic environment for aduanbot, on the async engine.

Two ways in:

* `Database.upgrade()` passes its own connection in `config.attributes["connection"]`
  (already in a transaction); the migrations run on it.
* The `alembic` command line (from the repository root, with `alembic.ini`) takes the
  database URL from `-x url=...`, else `$DATABASE_URL`, else `sqlalchemy.url` in the
  ini file, and runs the migrations through `connection.run_sync` on an async engine
  built like the service's (SQLite pragmas and BEGIN IMMEDIATE included).
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from storage.database import Database, normalize_url
from storage.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Writes our column types in migrations as plain SQLAlchemy types."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_item=_render_item,
        compare_type=True,
        **kwargs,
    )


def _url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise SystemExit(
            "No database URL: pass `alembic -x url=sqlite:///data/aduan.db ...` "
            "or set DATABASE_URL."
        )
    return url


def _run_on(connection: Connection) -> None:
    # SQLite's DDL is transactional too once SQLAlchemy emits BEGIN (see storage.database).
    _configure(
        connection=connection,
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str) -> None:
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(_run_on)
            await connection.commit()
    finally:
        await database.dispose()


def main() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _run_on(given)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    url = normalize_url(_url())
    if context.is_offline_mode():
        _configure(
            url=url.render_as_string(hide_password=False),
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
            render_as_batch=url.get_backend_name() == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_online(url.render_as_string(hide_password=False)))


main()
