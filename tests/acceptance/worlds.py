"""The worlds of the acceptance tests: which demo, on which day, on which backend.

See tests/acceptance/conftest.py for how they are built and shared.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from api import create_app
from api.extensions import db
from matcher.demo import DemoConfig, DemoData
from tests.db import ON_POSTGRES, app_config, create_schema, drop_schema, schema_name

#: The seed `make run` uses.
DEFAULT_SEED = DemoConfig.seed


@dataclass(frozen=True)
class WorldSpec:
    """Which demo a world is: its day and seed (sizes are always the default's)."""

    name: str
    today: dt.date
    seed: int = DEFAULT_SEED


#: December is the reference world (and the one PostgreSQL runs); Tết 2027 is on 6 February.
DECEMBER = WorldSpec("december", dt.date(2026, 12, 10))
WORLDS = (
    DECEMBER,
    WorldSpec("after-tet", dt.date(2027, 2, 22)),
    WorldSpec("mid-year", dt.date(2027, 6, 15)),
    WorldSpec("seed-101", dt.date(2026, 12, 10), seed=101),
    WorldSpec("seed-202", dt.date(2026, 12, 10), seed=202),
)


#: What `make test` runs: three days of the year on the default seed, and another seed
#: (seed-202 too with CAUNOI_ACCEPTANCE_WORLDS=all).
DEFAULT_WORLDS = ("december", "after-tet", "mid-year", "seed-101")


def _run_worlds() -> tuple[WorldSpec, ...]:
    wanted = os.environ.get("CAUNOI_ACCEPTANCE_WORLDS", "").strip()
    if wanted == "all":
        return WORLDS
    if not wanted and not ON_POSTGRES:
        return tuple(w for w in WORLDS if w.name in DEFAULT_WORLDS)
    if not wanted:
        return (DECEMBER,)
    names = {name.strip() for name in wanted.split(",")}
    unknown = names - {w.name for w in WORLDS}
    if unknown:
        raise pytest.UsageError(f"CAUNOI_ACCEPTANCE_WORLDS: unknown world(s) {sorted(unknown)}")
    return tuple(w for w in WORLDS if w.name in names)


RUN_WORLDS = _run_worlds()


@dataclass
class DemoWorld:
    """A world as its tests see it: the app over the imported registry, tokens, the model."""

    spec: WorldSpec
    data: DemoData
    app: Flask
    tokens: dict[str, str]
    trained: dict[str, Any]
    #: Allocation rounds a test ran, by policy, that later tests of the world read again.
    rounds: dict[str, Any] = field(default_factory=dict)

    @property
    def today(self) -> dt.date:
        return self.spec.today


def demo_config(spec: WorldSpec, **sizes: Any) -> DemoConfig:
    """The default demo of a world (or, with ``sizes``, a smaller one as of the same day)."""
    return DemoConfig(seed=spec.seed, today=spec.today, **sizes)


def open_registry(tmp: Path, name: str) -> Flask:
    """An app over an empty registry of its own (a schema on PostgreSQL, a file on SQLite)."""
    schema = schema_name(name)
    if ON_POSTGRES:
        create_schema(schema)
    app = create_app(app_config(tmp, schema=schema, sqlite_file=tmp / f"{name}.sqlite3"))
    app.config["TEST_REGISTRY_NAME"] = name
    with app.app_context():
        db.create_all()
    return app


def close_registry(app: Flask) -> None:
    """Drop what :func:`open_registry` made."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if ON_POSTGRES:
        drop_schema(schema_name(app.config["TEST_REGISTRY_NAME"]))


@contextmanager
def registry_app(tmp: Path, name: str) -> Iterator[Flask]:
    """:func:`open_registry` for one block, with its app context pushed."""
    app = open_registry(tmp, name)
    try:
        with app.app_context():
            yield app
            db.session.remove()
    finally:
        close_registry(app)
