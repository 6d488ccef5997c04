"""Planning service details that need an app but not the demo (the demo figures are in
tests/acceptance/test_planning.py)."""

from __future__ import annotations

from api import create_app
from api import planning as svc
from tests.db import app_config


def test_planning_cache_is_per_app_so_a_recreated_database_is_not_served_stale(tmp_path):
    """Data versions restart at 0 in a new database; a process-wide cache keyed by them served
    the previous database's series (seen when two test apps ran in one process)."""
    first, second = create_app(app_config(tmp_path / "a")), create_app(app_config(tmp_path / "b"))
    with first.app_context():
        assert svc.cached(("series", 0), lambda: "first database") == "first database"
    with second.app_context():
        assert svc.cached(("series", 0), lambda: "second database") == "second database"
