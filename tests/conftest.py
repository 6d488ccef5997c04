"""Shared by every layer of the suite: one day for the whole run, and the PostgreSQL switch.

Layout, by cost (see docs/testing.md):

* ``tests/engine/`` — matcher only, no database: run once;
* ``tests/api/`` — everything that touches persistence, on small data: run on SQLite and
  again on PostgreSQL (``CAUNOI_TEST_DATABASE_URL``);
* ``tests/acceptance/`` — demo-level figures on the default demo at pinned dates and seeds,
  built once per run by session fixtures: also run on both backends;
* ``tests/scaleout/`` — two web servers and two consumers on one PostgreSQL and one Redis:
  PostgreSQL only.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see matcher/__init__.py

import pytest

from matcher import clock
from tests.db import ON_POSTGRES

# One day for the whole run and every process it starts (gunicorn, notebook kernels, xdist
# workers): CAUNOI_TODAY when the reader sets it (make test CAUNOI_TODAY=2027-02-20), else
# the day the run started, so a run that crosses midnight does not change its mind.
os.environ[clock.ENV_VAR] = clock.today().isoformat()


def pytest_report_header(config: pytest.Config) -> list[str]:
    backend = "PostgreSQL" if ON_POSTGRES else "SQLite"
    return [f"caunoi: today {clock.today().isoformat()}, database {backend}"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect PostgreSQL-only tests on SQLite; `make test` runs them in its PostgreSQL pass."""
    if ON_POSTGRES:
        return
    postgres_only = [item for item in items if "postgres" in item.keywords]
    if postgres_only:
        config.hook.pytest_deselected(items=postgres_only)
        items[:] = [item for item in items if "postgres" not in item.keywords]
