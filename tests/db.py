"""Which database a test run uses, and how a test gets an empty one quickly.

``CAUNOI_TEST_DATABASE_URL`` (e.g. postgresql://postgres@127.0.0.1:5432/test) runs the
persistence tests on PostgreSQL; without it they run on SQLite. On PostgreSQL every group of
tests that must not see another's rows (the api tests, each acceptance world, each xdist
worker) gets its own schema of the one test database, named by :func:`app_config`, so
nothing is created outside the database CI provides.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.pool import StaticPool

TEST_DATABASE_URL = os.environ.get("CAUNOI_TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgres")
#: xdist names its workers gw0, gw1, …; without xdist there is one "main" process.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def schema_name(name: str) -> str:
    """Return a PostgreSQL schema name for a group of tests, distinct per xdist worker."""
    return re.sub(r"[^a-z0-9_]", "_", f"t_{WORKER}_{name}".lower())[:63]


def _postgres_url() -> str:
    url = TEST_DATABASE_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def create_schema(schema: str) -> None:
    """Create an empty schema (dropping what an earlier, interrupted run left)."""
    engine = sa.create_engine(_postgres_url())
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()


def drop_schema(schema: str) -> None:
    engine = sa.create_engine(_postgres_url())
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def app_config(
    tmp_path: Path, *, schema: str | None = None, sqlite_file: Path | None = None
) -> dict:
    """Settings for a test app: the run's backend, models under ``tmp_path``.

    On SQLite the database is in memory (one connection shared by every thread, so a live
    server sees the test's rows) unless ``sqlite_file`` names a file; on PostgreSQL it is
    ``schema`` of the test database.
    """
    config: dict[str, Any] = {
        "TESTING": True,
        "MODELS_DIR": str(Path(tmp_path) / "models"),
        # The job queue's SQLite file (a consumer process started by a test opens it too).
        "JOBS_SQLITE": str(Path(tmp_path) / "jobs.sqlite3"),
        "SECRET_KEY": "test-secret-key",
        # No consumer runs unless a test starts one (tests/consumer.py): a round is answered
        # 202 at once rather than after a wait for a consumer that is not there.
        "ALLOCATION_WAIT_S": 0.0,
        # argon2id at a test's cost (1 MiB, 1 pass): about 1 ms a hash instead of 0.2 s.
        "PASSWORD_HASH_MEMORY_KIB": 1024,
        "PASSWORD_HASH_PASSES": 1,
    }
    if ON_POSTGRES:
        config["SQLALCHEMY_DATABASE_URI"] = TEST_DATABASE_URL
        options: dict[str, Any] = {"pool_size": 5, "max_overflow": 20}
        if schema:
            options["connect_args"] = {"options": f"-csearch_path={schema}"}
        config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    elif sqlite_file is not None:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{sqlite_file}"
    else:
        config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "poolclass": StaticPool,
            "connect_args": {"check_same_thread": False},
        }
    return config


def empty_tables(app: Flask) -> None:
    """Delete every row and restart the ids, keeping the schema: an empty PostgreSQL registry.

    Much cheaper than TRUNCATE or a new schema per test (SQLite tests get a new in-memory
    database instead). The data-version
    counters are bumped, never reset, so an in-memory index built before cannot mistake
    the emptied tables for the ones it indexed.
    """
    from api.extensions import db
    from api.models import DATA_NAMES, DataVersion

    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name != DataVersion.__tablename__]
    with db.engine.begin() as connection:
        for table in tables:
            connection.execute(table.delete())
        sequences = connection.execute(
            sa.text(
                "SELECT pg_get_serial_sequence(quote_ident(table_name), column_name) "
                "FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND column_default LIKE 'nextval%'"
            )
        ).scalars()
        for sequence in [s for s in sequences if s]:
            connection.execute(sa.text("SELECT setval(:s, 1, false)"), {"s": sequence})
        versions = connection.execute(sa.select(DataVersion.name)).scalars().all()
        missing = [n for n in DATA_NAMES if n not in versions]
        if missing:
            connection.execute(sa.insert(DataVersion), [{"name": n, "version": 1} for n in missing])
        connection.execute(sa.update(DataVersion).values(version=DataVersion.version + 1))
