"""The stores' tests run on a real SQLite file and on a real PostgreSQL server."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from activities.store.tables import make_engine
from tests.conftest import database_of_kind


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A new database of each kind, migrated as a new shop's."""
    engine = make_engine(database_of_kind(request.param, request, tmp_path))
    yield engine
    engine.dispose()
