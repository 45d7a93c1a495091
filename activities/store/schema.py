"""The store's schema as Alembic's migrations make it: migrating a database, and telling whether one is current.

The processes never make tables themselves: `alembic upgrade head` (make migrate, make run) does, and at start
they check the database's revision against the code's (bootstrap.py).
"""

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # where Alembic keeps a database's revision (its default name)


def alembic_config(database_url: str) -> Config:
    """Alembic's configuration for the database at `database_url`, wherever the project is installed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Handed over as an attribute, not an option: the config's parser would read a `%` in a password.
    config.attributes["database_url"] = database_url
    return config


def migrate(database_url: str, revision: str = "head") -> None:
    """Upgrade the database at `database_url` to `revision` (the code's newest by default)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the database at `database_url` back to `revision` (`base`: no tables at all)."""
    command.downgrade(alembic_config(database_url), revision)


@dataclass(frozen=True)
class Revisions:
    """Where a database's schema stands against the code's migrations."""

    database: str | None  # None: never migrated (an empty database, or tables made without Alembic)
    head: str  # the newest migration this code has
    known: bool  # the database's revision is one of this code's migrations

    @property
    def behind(self) -> bool:
        """The code needs migrations the database has not had: it must be upgraded before the code runs."""
        return self.known and self.database != self.head

    @property
    def ahead(self) -> bool:
        """A newer release migrated the database (a rolling upgrade): this code still runs on it."""
        return not self.known


def revisions(engine: Engine) -> Revisions:
    """The database's revision and the code's head. Raises SQLAlchemy's OperationalError while it is unreachable."""
    scripts = ScriptDirectory(str(MIGRATIONS))
    with engine.connect() as connection:
        current = _stamped(connection)
    head = scripts.get_current_head()
    assert head is not None  # the project ships its migrations
    known = current is None or _known(scripts, current)
    return Revisions(current, head, known)


def _stamped(connection: Connection) -> str | None:
    # What MigrationContext.get_current_revision() reads, without the lines it logs about itself at INFO: a
    # process that only checks the revision has nothing to announce.
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def _known(scripts: ScriptDirectory, revision: str) -> bool:
    return any(script.revision == revision for script in scripts.walk_revisions())
