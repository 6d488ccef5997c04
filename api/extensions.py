"""Extension instances, created unbound so that create_app can bind a fresh one per test."""

from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints make Alembic migrations reviewable and SQLite batch migrations possible.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)


def client_address() -> str:
    """The client a rate limit counts for: the peer address (put ProxyFix in front when a
    reverse proxy sets X-Forwarded-For)."""
    return request.remote_addr or "unknown"


# Counters only: limits are applied where they belong (bad tokens in api.auth), not globally.
limiter = Limiter(client_address, headers_enabled=False)
