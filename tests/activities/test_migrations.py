"""Alembic owns the store's schema: the migrations make exactly the tables the code declares, undo and redo
cleanly, take over a database made before them, and a process refuses a database they have not reached."""

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel
from temporalio.testing import WorkflowEnvironment

from activities.store.menu import MenuStore
from activities.store.schema import VERSION_TABLE, downgrade, migrate, revisions
from activities.store.tables import make_engine
from bootstrap import open_database
from domain.menu import SEED_PIZZAS, SEED_TOPPINGS, Menu
from settings import Settings
from tests.conftest import ENCRYPTION_KEYS, database_of_kind

ROOT = Path(__file__).resolve().parents[2]
HEAD = "0004_staff"
BEHIND = (
    "database error: PIZZERIA_DATABASE_URL is at revision <none>; this code needs 0004_staff: run alembic upgrade head"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A new database of each kind, upgraded to head."""
    engine = make_engine(database_of_kind(request.param, request, tmp_path))
    yield engine
    engine.dispose()


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def differences(engine: Engine) -> list:
    """What autogenerate would write to make the database match the tables the code declares."""
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)


def test_the_migrations_make_exactly_the_tables_the_code_declares(migrated: Engine) -> None:
    assert differences(migrated) == []
    assert revisions(migrated).database == HEAD
    price = inspect(migrated).get_columns("orders")[4]
    assert (price["name"], str(price["type"])) == ("total", "NUMERIC(10, 2)")


def test_a_new_database_gets_the_menu_of_a_new_shop(migrated: Engine) -> None:
    assert MenuStore(migrated).load() == Menu.of(SEED_PIZZAS, SEED_TOPPINGS)


def test_downgrading_to_nothing_and_upgrading_again_gives_the_same_schema_and_menu(migrated: Engine) -> None:
    downgrade(url_of(migrated), "base")
    assert set(inspect(migrated).get_table_names()) <= {VERSION_TABLE}
    assert revisions(migrated).database is None

    migrate(url_of(migrated))
    assert differences(migrated) == []
    assert MenuStore(migrated).load() == Menu.of(SEED_PIZZAS, SEED_TOPPINGS)


def test_a_database_whose_tables_were_made_before_migrations_is_taken_over_as_it_is(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/before.db")
    try:
        # What the processes made at start before the schema had migrations: the tables of 0001_initial (not the
        # code's tables of today, which later migrations add to), with no revision stamped.
        migrate(url_of(engine), "0001_initial")
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE {VERSION_TABLE}"))
            connection.execute(text("UPDATE menu_topping SET price = 0.95 WHERE name = 'basil'"))
        migrate(url_of(engine))
        assert revisions(engine).database == HEAD
        assert MenuStore(engine).load().toppings["basil"].price == Decimal("0.95")
    finally:
        engine.dispose()


def test_a_process_refuses_a_database_that_was_never_migrated_with_one_line_saying_what_to_run(
    tmp_path: Path,
) -> None:
    with pytest.raises(SystemExit) as stopped:
        open_database(Settings(database_url=f"sqlite:///{tmp_path}/empty.db"))
    assert str(stopped.value) == BEHIND


def test_a_database_a_newer_release_migrated_still_opens_with_a_warning(
    migrated: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with migrated.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '0099_from_a_newer_release'"))
    with caplog.at_level(logging.WARNING, logger="pizzeria.bootstrap"):
        engine = open_database(Settings(database_url=url_of(migrated)))
    try:
        assert set(MenuStore(engine).load().pizzas) == {pizza.name for pizza in SEED_PIZZAS}
    finally:
        engine.dispose()
    [warning] = [record.getMessage() for record in caplog.records if record.name == "pizzeria.bootstrap"]
    assert "0099_from_a_newer_release" in warning and HEAD in warning


def shop_environment(database_url: str, temporal_address: str = "127.0.0.1:1") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIZZERIA_", "STRIPE_", "TWILIO_"))}
    return {
        **env,
        "PIZZERIA_DATABASE_URL": database_url,
        "PIZZERIA_TEMPORAL_ADDRESS": temporal_address,
        "PIZZERIA_ENCRYPTION_KEYS": ENCRYPTION_KEYS,
        "PIZZERIA_ORDER_ID_SECRET": "an-order-id-secret-for-a-process-that-never-starts",
    }


@pytest.mark.parametrize("temporal", ["serving", "away"])
def test_the_api_and_the_worker_refuse_a_database_behind_the_code_with_one_line(
    tmp_path: Path, temporal_env: WorkflowEnvironment, temporal: str
) -> None:
    # Whether or not Temporal answers: the database is checked first, and waiting for Temporal would not mend it.
    address = temporal_env.client.service_client.config.target_host if temporal == "serving" else "127.0.0.1:1"
    env = shop_environment(f"sqlite:///{tmp_path}/empty.db", address)
    api = [sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1", "--port", "0"]
    for command in (api, [sys.executable, "worker.py"]):
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode != 0, command
        assert done.stderr.strip().splitlines() == [BEHIND], command


def test_alembic_upgrade_head_from_the_project_folder_migrates_the_database_at_pizzeria_database_url(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/shop/pizzeria.db"  # its folder is made too
    alembic = Path(sys.prefix) / "bin" / "alembic"  # what `make migrate` runs
    done = subprocess.run(
        [str(alembic), "upgrade", "head"],
        cwd=ROOT,
        env=shop_environment(url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"Running upgrade 0003_stock -> {HEAD}" in done.stderr
    engine = make_engine(url)
    try:
        assert revisions(engine).database == HEAD and differences(engine) == []
    finally:
        engine.dispose()
