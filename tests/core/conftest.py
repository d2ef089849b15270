"""Fixtures for the scoring tests: the shipped watchlist, loaded the way the service loads it."""

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
