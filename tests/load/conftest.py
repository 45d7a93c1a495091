"""The load tests' fixtures."""

from pathlib import Path

import pytest


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    # replaced by the suite's database_url fixture
    return f"sqlite:///{tmp_path}/pizzeria.db"
