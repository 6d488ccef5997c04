"""Enterprises: an enterprise token sees and changes only its own."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint

from api.auth import Principal, current_principal
from api.errors import Conflict, Forbidden
from api.extensions import db
from api.models import ApiToken, Commitment, Enterprise
from api.openapi import operation
from api.queries import get_scoped, name_filter, paginate, place_dict, scoped
from api.resources._crud import create_record, patch_record
from api.schemas import (
    EnterpriseIn,
    EnterpriseOut,
    EnterprisePage,
    EnterprisePatch,
    EnterpriseQuery,
)
from api.versions import touch

bp = Blueprint("enterprises", __name__, url_prefix="/api/v1")

READERS = ("caseworker", "enterprise", "planner", "admin")
WRITERS = ("caseworker", "admin")


def enterprise_out(e: Enterprise, principal: Principal) -> dict[str, Any]:
    """Serialise an enterprise; planners get no contact details (they may name a person)."""
    hide = principal.role == "planner"
    return {
        "id": e.id,
        "external_id": e.external_id,
        "name": e.name,
        "tax_code": e.tax_code,
        **place_dict(e),
        "sector": e.sector,
        "contact_email": None if hide else e.contact_email,
        "contact_phone": None if hide else e.contact_phone,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
    }


@operation(
    bp,
    "/enterprises",
    summary="List enterprises",
    roles=READERS,
    query=EnterpriseQuery,
    response=EnterprisePage,
)
def list_enterprises(query: EnterpriseQuery) -> dict[str, Any]:
    principal = current_principal()
    stmt = scoped(Enterprise, principal)
    if query.external_id:
        stmt = stmt.where(Enterprise.external_id == query.external_id)
    if query.ward_code:
        stmt = stmt.where(Enterprise.ward_code == query.ward_code)
    if query.province_code:
        stmt = stmt.where(Enterprise.province_code == query.province_code)
    if query.q:
        stmt = stmt.where(name_filter(Enterprise.name_key, query.q))
    rows, cursor = paginate(stmt, Enterprise, query)
    return {"items": [enterprise_out(e, principal) for e in rows], "next_cursor": cursor}


@operation(
    bp,
    "/enterprises",
    "POST",
    summary="Register an enterprise",
    roles=WRITERS,
    body=EnterpriseIn,
    response=EnterpriseOut,
    status=201,
)
def create_enterprise(body: EnterpriseIn) -> dict[str, Any]:
    enterprise_id = create_record("enterprises", body)
    return enterprise_out(db.session.get(Enterprise, enterprise_id), current_principal())


@operation(
    bp,
    "/enterprises/<int:enterprise_id>",
    summary="Get an enterprise",
    roles=READERS,
    response=EnterpriseOut,
)
def get_enterprise(enterprise_id: int) -> dict[str, Any]:
    principal = current_principal()
    return enterprise_out(get_scoped(Enterprise, enterprise_id, principal), principal)


@operation(
    bp,
    "/enterprises/<int:enterprise_id>",
    "PATCH",
    summary="Update an enterprise",
    roles=("caseworker", "enterprise", "admin"),
    body=EnterprisePatch,
    response=EnterpriseOut,
)
def update_enterprise(enterprise_id: int, body: EnterprisePatch) -> dict[str, Any]:
    """An enterprise may correct its own details; the tax code only staff may change."""
    principal = current_principal()
    enterprise = get_scoped(Enterprise, enterprise_id, principal)
    if principal.role == "enterprise" and "tax_code" in body.model_fields_set:
        raise Forbidden("Chỉ cán bộ được sửa mã số thuế / only staff may change the tax code")
    patch_record("enterprises", enterprise, body)
    db.session.refresh(enterprise)
    return enterprise_out(enterprise, principal)


@operation(
    bp,
    "/enterprises/<int:enterprise_id>",
    "DELETE",
    summary="Delete an enterprise",
    roles=("admin",),
    status=204,
)
def delete_enterprise(enterprise_id: int) -> None:
    """Only an enterprise without commitments can be deleted; history is kept otherwise."""
    enterprise = get_scoped(Enterprise, enterprise_id, current_principal())
    used = db.session.scalar(
        sa.select(sa.func.count()).where(Commitment.enterprise_id == enterprise.id)
    )
    if used:
        raise Conflict(
            f"Doanh nghiệp còn {used} đơn hàng / the enterprise still has {used} commitments"
        )
    tokens = db.session.scalar(
        sa.select(sa.func.count()).where(ApiToken.enterprise_id == enterprise.id)
    )
    if tokens:
        raise Conflict(
            "Doanh nghiệp còn mã truy cập (kể cả đã thu hồi, giữ cho nhật ký) / the enterprise "
            "has API tokens, kept for the audit trail"
        )
    db.session.delete(enterprise)
    touch("enterprises")
    db.session.commit()
