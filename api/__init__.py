"""Cầu Nối's web application: the factory reads as a table of contents."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from api.config import DefaultConfig

API_VERSION = "1.0.0"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, error handlers, commands."""
    app = Flask(__name__, instance_relative_config=True)
    configure(app, test_config)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_headers(app)
    register_commands(app)
    return app


def configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Defaults, then CAUNOI_* environment variables, then the test's own settings."""
    app.config.from_object(DefaultConfig)
    app.config["API_VERSION"] = API_VERSION
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.config.from_prefixed_env("CAUNOI")
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "caunoi.sqlite3")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):  # Heroku-style URLs name an old dialect
        uri = "postgresql://" + uri.removeprefix("postgres://")
    if uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    # Copies: the defaults' dicts belong to DefaultConfig, and every app would share (and
    # pile up) what one app's URL added to them.
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options["connect_args"] = dict(options.get("connect_args") or {})
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    lock_ms = int(app.config["LOCK_TIMEOUT_MS"])
    if uri.startswith("sqlite"):
        options["connect_args"].setdefault("timeout", lock_ms / 1000)
    elif uri.startswith("postgresql"):
        # libpq options given in the URL (?options=-csearch_path%3Dtenant) would be replaced
        # by the connect_args below; carry them over.
        url = make_url(uri)
        in_url = url.query.get("options", "")
        if in_url:
            app.config["SQLALCHEMY_DATABASE_URI"] = url.difference_update_query(
                ["options"]
            ).render_as_string(hide_password=False)
        connect = options["connect_args"]
        given = f"{in_url} {connect.get('options', '')}".strip()
        connect["options"] = f"{given} -c lock_timeout={lock_ms}".strip()
    if app.config.get("REDIS_URL") and app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]


def _instance_secret(app: Flask) -> str:
    """The key for pseudonyms (and, later, sessions): CAUNOI_SECRET_KEY, else a random key
    kept in the instance folder so every process and restart of this install shares it."""
    import secrets

    os.makedirs(app.instance_path, exist_ok=True)
    path = os.path.join(app.instance_path, "secret_key")
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its key
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite ignores foreign keys unless asked, and WAL lets readers run beside a writer.

    The busy timeout is the connect timeout the app configured (LOCK_TIMEOUT_MS);
    pysqlite already applies it, so only WAL and foreign keys are set here. An in-memory
    database has no journal file and stays in "memory" mode.
    """
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def register_extensions(app: Flask) -> None:
    from pathlib import Path

    from api import jobs
    from api.extensions import db, limiter, migrate

    db.init_app(app)
    jobs.init_app(app)
    limiter.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))


def register_blueprints(app: Flask) -> None:
    from api import web
    from api.resources import BLUEPRINTS

    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    web.init_app(app)
    web.common.exempt_api(app)


def register_errorhandlers(app: Flask) -> None:
    from api.errors import register_errorhandlers as register

    register(app)


def register_headers(app: Flask) -> None:
    from api.headers import register

    register(app)


def register_commands(app: Flask) -> None:
    from api.cli import register

    register(app)
