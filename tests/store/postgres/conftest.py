"""Fixtures for tests that run on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, isolated_env: Path) -> str:
    """A ``-d`` value: a SQLite file in the test's folder, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(isolated_env / "store.db")
    request.applymarker(pytest.mark.pg)
    url: str = request.getfixturevalue("pg_url")
    return url
