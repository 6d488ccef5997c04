"""Fixtures for the persistence tests: a fresh app and an empty database per test, quickly.

On SQLite each test gets its own in-memory database (creating the schema costs ~10 ms).
On PostgreSQL the schema is created once per run (per xdist worker) and each test starts
from :func:`tests.db.empty_tables` — deleting rows is ~20× cheaper than TRUNCATE here.
Every test still gets its own app (its own caches, model folder and settings).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from api import create_app
from api.cli import init_database
from api.extensions import db
from tests import factories
from tests.db import ON_POSTGRES, app_config, create_schema, drop_schema, empty_tables, schema_name

SCHEMA = schema_name("api")


@pytest.fixture(scope="session")
def database() -> Iterator[str | None]:
    """The PostgreSQL schema of this run's api tests (None on SQLite), created once."""
    if not ON_POSTGRES:
        yield None
        return
    create_schema(SCHEMA)
    app = create_app(app_config(Path("/nonexistent"), schema=SCHEMA))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    yield SCHEMA
    drop_schema(SCHEMA)


def make_app(tmp_path: Path, schema: str | None, **overrides: object) -> Flask:
    """An app on this run's backend with an empty registry (used by fixtures and tests)."""
    app = create_app({**app_config(tmp_path, schema=schema), **overrides})
    with app.app_context():
        if ON_POSTGRES:
            empty_tables(app)
        else:
            db.create_all()
    return app


@pytest.fixture
def app(tmp_path: Path, database: str | None) -> Iterator[Flask]:
    app = make_app(tmp_path, database)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def migrated_app(tmp_path):
    """An app whose schema comes from the Alembic migrations, not from create_all."""
    schema = schema_name("cli")
    if ON_POSTGRES:
        create_schema(schema)
    config = app_config(tmp_path, schema=schema, sqlite_file=tmp_path / "cli.sqlite3")
    app = create_app(config)
    with app.app_context():
        init_database()
        yield app
        db.session.remove()
        db.engine.dispose()
    if ON_POSTGRES:
        drop_schema(schema)


@pytest.fixture
def migrated_client(migrated_app: Flask) -> FlaskClient:
    return migrated_app.test_client()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def world(app: Flask) -> factories.World:
    return factories.build_world()


@pytest.fixture
def auth(world: factories.World):
    def headers(role: str | None) -> dict[str, str]:
        if role is None:
            return {}
        if role == "bad":
            return {"Authorization": "Bearer cn_not-a-real-token"}
        return {"Authorization": f"Bearer {world.tokens[role]}"}

    return headers


class LiveServer:
    """The app served over real HTTP on a free port, in a thread of the test process."""

    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


#: The password of every account the ``users`` fixture makes (tests/api/test_pages.py).
PAGE_PASSWORD = "mat-khau-thu-nghiem"


@pytest.fixture
def users(world: factories.World) -> dict:
    """One account per role, the enterprise's speaking for the world's enterprise."""
    from api import accounts

    made = {}
    for role in ("caseworker", "enterprise", "planner", "admin"):
        made[role] = accounts.create_user(
            f"test-{role}",
            f"Người dùng {role}",
            role,
            PAGE_PASSWORD,
            enterprise=world.enterprise if role == "enterprise" else None,
        )
    db.session.commit()
    return made
