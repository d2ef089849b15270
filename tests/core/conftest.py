"""Fixtures for the scoring tests: the shipped watchlist, loaded the way the service loads it.

tests/core touches no database (the PostgreSQL leg of `.ci/run` leaves it out): `database_url` is refused here, so a
test that needs one goes where the database tests are.
"""

from __future__ import annotations

import pytest

from monitor.config import load_watchlist_file
from monitor.core.scoring import Scorer
from monitor.domain import Watchlist
from tests.core.builders import CONFIG


@pytest.fixture(scope="session")
def shipped() -> Watchlist:
    return load_watchlist_file(CONFIG / "watchlists" / "russia-nato.yaml", CONFIG / "lexicons")


@pytest.fixture(scope="session")
def shipped_scorer(shipped: Watchlist) -> Scorer:
    return Scorer([shipped])


@pytest.fixture
def database_url() -> str:
    pytest.fail("tests/core is pure and skipped by the PostgreSQL leg of .ci/run: a database test belongs elsewhere")
