"""Create and update through the import rules, so the JSON API and files obey one contract."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import g
from pydantic import BaseModel

from api.auth import current_principal
from api.errors import Conflict, ValidationFailed
from api.extensions import db
from api.registry import apply_batch, cells_of, validate_one
from matcher import clock, ingest

PLACE_FIELDS = ("ward_code", "address", "lat", "lon")


def _field_errors(errors: list[ingest.RowError]) -> list[dict[str, str]]:
    return [{"field": e.column or "body", "message": e.reason} for e in errors]


def _write(kind: str, values: dict[str, Any], **options: Any) -> int:
    batch = validate_one(kind, values, clock.today())
    if batch.errors:
        raise ValidationFailed(
            "Dữ liệu không hợp lệ / invalid record", errors=_field_errors(batch.errors)
        )
    principal = current_principal()
    result = apply_batch(
        kind,
        batch.records,
        present=set(values),
        actor=(principal.token_id, principal.role),
        source="api",
        province_scope=principal.province_code,
        **options,
    )
    if result.errors:
        exists = any("exists" in e.reason or "cannot change" in e.reason for e in result.errors)
        error_class = Conflict if exists else ValidationFailed
        raise error_class(
            "; ".join(e.reason for e in result.errors), errors=_field_errors(result.errors)
        )
    db.session.commit()
    # What each free-text skill became, for the view to answer (as an import report does).
    g.skill_notes = [dataclasses.asdict(n) for n in batch.skill_notes]
    return next(iter(result.ids.values()))


def create_record(kind: str, body: BaseModel, *, consent: Any = None, **extra: Any) -> int:
    """Validate and insert one record; 409 if its external id is taken. ``consent``
    (registry.ConsentTaken) records how a new worker consented, in the same transaction."""
    values = {k: v for k, v in body.model_dump().items() if v is not None and v != []}
    values.update({k: v for k, v in extra.items() if v is not None})
    return _write(kind, values, only_create=True, consent=consent)


def skill_notes() -> list[dict[str, Any]]:
    """The skill notes of the record written in this request (empty if none was)."""
    return g.get("skill_notes", [])


def patch_record(kind: str, obj: Any, body: BaseModel) -> int:
    """Merge a partial update into the stored record and re-validate the whole of it."""
    cells = cells_of(kind, obj)
    patch = body.model_dump(exclude_unset=True)
    if "ward_code" in patch or "address" in patch:
        # A new place replaces the old one entirely: old coordinates must not override it.
        for name in PLACE_FIELDS:
            cells[name] = patch.pop(name, None)
    elif "lat" in patch or "lon" in patch:
        # Coordinates alone refine the stored place (the ward stays what it was).
        cells["ward_code"], cells["address"] = obj.ward_code, obj.address
    cells.update(patch)
    return _write(kind, cells, only_update_id=obj.id)
