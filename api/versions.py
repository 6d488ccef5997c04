"""Data versions: cheap "has anything changed?" checks for the in-memory matching indexes
and the stored planning results, and when each table last changed (the planning watcher's
debounce)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from api.extensions import db
from api.models import DATA_NAMES, DataVersion


def touch(*names: str) -> None:
    """Bump the version of each named table, inside the caller's transaction."""
    unknown = set(names) - set(DATA_NAMES)
    if unknown:
        raise ValueError(f"unknown data names {sorted(unknown)}")
    wanted = sorted(set(names))
    updated = db.session.execute(
        sa.update(DataVersion)
        .where(DataVersion.name.in_(wanted))
        .values(version=DataVersion.version + 1, changed_at=_real_now()),
        execution_options={"synchronize_session": False},
    ).rowcount
    if updated < len(wanted):
        # A counter row is missing (a table emptied by hand): recreate it, never fail a write.
        dialect = db.session.get_bind().dialect.name
        insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}.get(dialect)
        if insert is not None:
            db.session.execute(
                insert(DataVersion)
                .values([{"name": n, "version": 1, "changed_at": _real_now()} for n in wanted])
                .on_conflict_do_nothing(index_elements=["name"])
            )


def _real_now() -> dt.datetime:
    """Real UTC time, not the product's day: it orders writes across processes."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def last_changed(names: tuple[str, ...]) -> dt.datetime | None:
    """When the latest of these tables was last written (None: never since the column was
    added)."""
    return db.session.scalar(
        sa.select(sa.func.max(DataVersion.changed_at)).where(DataVersion.name.in_(names))
    )


def current() -> dict[str, int]:
    """The version of every table (0 for one never written)."""
    rows = db.session.execute(sa.select(DataVersion.name, DataVersion.version)).all()
    found = dict(rows)
    return {name: int(found.get(name, 0)) for name in DATA_NAMES}
