"""Fixtures: a fresh app and database per test, tokens for every role, a live HTTP server.

Set CAUNOI_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run the
same suite on PostgreSQL; the default is an in-memory SQLite database per test.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see matcher/__init__.py
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.pool import StaticPool
from werkzeug.serving import make_server

from api import create_app
from api.extensions import db
from tests import factories

TEST_DATABASE_URL = os.environ.get("CAUNOI_TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgres")
_schema_ready = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect PostgreSQL-only tests on SQLite; `make test` runs them in its PostgreSQL pass."""
    if ON_POSTGRES:
        return
    postgres_only = [item for item in items if "postgres" in item.keywords]
    if postgres_only:
        config.hook.pytest_deselected(items=postgres_only)
        items[:] = [item for item in items if "postgres" not in item.keywords]


def _config(tmp_path) -> dict:
    config = {"TESTING": True, "MODELS_DIR": str(tmp_path / "models")}
    if ON_POSTGRES:
        config["SQLALCHEMY_DATABASE_URI"] = TEST_DATABASE_URL
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 20, "max_overflow": 40}
    else:
        config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "poolclass": StaticPool,
            "connect_args": {"check_same_thread": False},
        }
    return config


def _reset_schema() -> None:
    global _schema_ready
    if not ON_POSTGRES:
        db.create_all()
        return
    if not _schema_ready:
        db.drop_all()
        db.create_all()
        _schema_ready = True
        return
    tables = ", ".join(t.name for t in db.metadata.sorted_tables)
    db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    # The data-version counters are seeded when their table is created; put them back.
    from api.models import DATA_NAMES, DataVersion

    db.session.execute(sa.insert(DataVersion), [{"name": n, "version": 0} for n in DATA_NAMES])
    db.session.commit()


@pytest.fixture
def app(tmp_path) -> Iterator[Flask]:
    app = create_app(_config(tmp_path))
    with app.app_context():
        _reset_schema()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@dataclass
class World:
    """A small registry with one token per role and two enterprises with commitments."""

    tokens: dict[str, str]
    enterprise: object
    other_enterprise: object
    commitment: object
    other_commitment: object
    course: object
    worker: object
    referred_worker: object
    referral: object


@pytest.fixture
def world(app: Flask) -> World:
    return factories.build_world()


@pytest.fixture
def auth(world: World):
    def headers(role: str | None) -> dict[str, str]:
        if role is None:
            return {}
        if role == "bad":
            return {"Authorization": "Bearer cn_not-a-real-token"}
        return {"Authorization": f"Bearer {world.tokens[role]}"}

    return headers


class LiveServer:
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
