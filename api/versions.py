"""Data versions: cheap "has anything changed?" checks for the in-memory matching indexes."""

from __future__ import annotations

import sqlalchemy as sa

from api.extensions import db
from api.models import DATA_NAMES, DataVersion


def touch(*names: str) -> None:
    """Bump the version of each named table, inside the caller's transaction."""
    unknown = set(names) - set(DATA_NAMES)
    if unknown:
        raise ValueError(f"unknown data names {sorted(unknown)}")
    db.session.execute(
        sa.update(DataVersion)
        .where(DataVersion.name.in_(sorted(set(names))))
        .values(version=DataVersion.version + 1),
        execution_options={"synchronize_session": False},
    )


def current() -> dict[str, int]:
    """The version of every table (0 for one never written)."""
    rows = db.session.execute(sa.select(DataVersion.name, DataVersion.version)).all()
    found = dict(rows)
    return {name: int(found.get(name, 0)) for name in DATA_NAMES}
