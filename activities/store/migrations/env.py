"""Alembic's environment: the database to migrate and the tables it should end up with (for autogenerate).

The URL is the one activities/store/schema.py hands over, or else PIZZERIA_DATABASE_URL, read as the processes
read it, for `alembic upgrade head` run from the project folder.
"""

import logging
import os
import sys

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import SQLModel

from activities.store.tables import make_engine  # also puts every table on SQLModel.metadata

DEFAULT_URL = "sqlite:///data/pizzeria.db"  # the settings' default (activities/ do not read the settings)
# Any number, the same in every process: two `alembic upgrade head` at once (say, several containers
# starting) take turns on PostgreSQL instead of both creating the same tables.
MIGRATION_LOCK = 7_400_151

config = context.config


def database_url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("PIZZERIA_DATABASE_URL", DEFAULT_URL)
    try:
        make_url(url)
    except ArgumentError:
        sys.exit(f"configuration error: PIZZERIA_DATABASE_URL: must be an SQLAlchemy URL, not {url!r}")
    return url


def run_offline(url: str) -> None:
    """`alembic upgrade head --sql`: the SQL written out, for a DBA to run."""
    context.configure(url=url, target_metadata=SQLModel.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=SQLModel.metadata,
                # SQLite alters a table by copying it: autogenerate writes such changes as batch operations there.
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
                context.run_migrations()
    finally:
        engine.dispose()


if config.cmd_opts is not None and not logging.getLogger().handlers:
    # From the command line, say what was run (the generic alembic.ini's logging).
    logging.basicConfig(format="%(levelname)-5.5s [%(name)s] %(message)s")
    logging.getLogger("alembic").setLevel(logging.INFO)

if context.is_offline_mode():
    run_offline(database_url())
else:
    run_online(database_url())
