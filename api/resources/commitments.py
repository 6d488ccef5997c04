"""Hiring commitments: enterprises post and manage their own; staff manage all; planners read."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint

from api.auth import current_principal
from api.errors import Conflict, Forbidden
from api.extensions import db
from api.models import Commitment, Enterprise, Referral
from api.openapi import operation
from api.queries import (
    commitment_state,
    commitment_state_filter,
    get_scoped,
    paginate,
    place_dict,
    scoped,
)
from api.resources._crud import create_record, patch_record, skill_notes
from api.schemas import (
    CommitmentIn,
    CommitmentOut,
    CommitmentPage,
    CommitmentPatch,
    CommitmentQuery,
)
from api.versions import touch
from matcher import clock

bp = Blueprint("commitments", __name__, url_prefix="/api/v1")

READERS = ("caseworker", "enterprise", "planner", "admin")
WRITERS = ("caseworker", "enterprise", "admin")


def commitment_out(c: Commitment) -> dict[str, Any]:
    return {
        "id": c.id,
        "external_id": c.external_id,
        "enterprise_id": c.enterprise_id,
        "enterprise_external_id": c.enterprise.external_id,
        "enterprise_name": c.enterprise.name,
        "trade": c.trade,
        "occupation_isco": c.occupation_isco,
        "slots": c.slots,
        "slots_filled": c.slots_filled,
        "slots_open": c.slots_open,
        "state": commitment_state(c, clock.today()),
        "wage_vnd": c.wage_vnd,
        **place_dict(c),
        "site_from_enterprise": c.site_from_enterprise,
        "start_date": c.start_date,
        "expires_on": c.expires_on,
        "min_education": c.min_education,
        "required_skills": c.required_skills or [],
        "required_skills_unrecognised": c.required_skills_unrecognised or [],
        "shift_work": c.shift_work,
        "course_id": c.course_id,
        "course_external_id": c.course.external_id if c.course else None,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }


@operation(
    bp,
    "/commitments",
    summary="List hiring commitments",
    roles=READERS,
    query=CommitmentQuery,
    response=CommitmentPage,
)
def list_commitments(query: CommitmentQuery) -> dict[str, Any]:
    stmt = scoped(Commitment, current_principal())
    if query.external_id:
        stmt = stmt.where(Commitment.external_id == query.external_id)
    if query.enterprise_id:
        stmt = stmt.where(Commitment.enterprise_id == query.enterprise_id)
    if query.trade:
        stmt = stmt.where(Commitment.trade == query.trade)
    if query.ward_code:
        stmt = stmt.where(Commitment.ward_code == query.ward_code)
    if query.province_code:
        stmt = stmt.where(Commitment.province_code == query.province_code)
    if query.state:
        stmt = stmt.where(commitment_state_filter(query.state, clock.today()))
    if query.course_id:
        stmt = stmt.where(Commitment.course_id == query.course_id)
    if query.starts_from:
        stmt = stmt.where(Commitment.start_date >= query.starts_from)
    if query.starts_until:
        stmt = stmt.where(Commitment.start_date <= query.starts_until)
    rows, cursor = paginate(stmt, Commitment, query)
    return {"items": [commitment_out(c) for c in rows], "next_cursor": cursor}


@operation(
    bp,
    "/commitments",
    "POST",
    summary="Post a hiring commitment",
    roles=WRITERS,
    body=CommitmentIn,
    response=CommitmentOut,
    status=201,
)
def create_commitment(body: CommitmentIn) -> dict[str, Any]:
    """An enterprise token posts for its own enterprise; staff name the enterprise."""
    principal = current_principal()
    extra: dict[str, Any] = {}
    if principal.role == "enterprise":
        own = db.session.get(Enterprise, principal.enterprise_id)
        if body.enterprise_external_id not in (None, own.external_id):
            raise Forbidden(
                "Chỉ được đăng đơn hàng cho doanh nghiệp của mình / "
                "you may post commitments only for your own enterprise"
            )
        extra["enterprise_external_id"] = own.external_id
    commitment_id = create_record("commitments", body, **extra)
    return {
        **commitment_out(db.session.get(Commitment, commitment_id)),
        "skill_notes": skill_notes(),
    }


@operation(
    bp,
    "/commitments/<int:commitment_id>",
    summary="Get a commitment",
    roles=READERS,
    response=CommitmentOut,
)
def get_commitment(commitment_id: int) -> dict[str, Any]:
    return commitment_out(get_scoped(Commitment, commitment_id, current_principal()))


@operation(
    bp,
    "/commitments/<int:commitment_id>",
    "PATCH",
    summary="Update a commitment",
    roles=WRITERS,
    body=CommitmentPatch,
    response=CommitmentOut,
)
def update_commitment(commitment_id: int, body: CommitmentPatch) -> dict[str, Any]:
    commitment = get_scoped(Commitment, commitment_id, current_principal())
    patch_record("commitments", commitment, body)
    db.session.refresh(commitment)
    return {**commitment_out(commitment), "skill_notes": skill_notes()}


@operation(
    bp,
    "/commitments/<int:commitment_id>",
    "DELETE",
    summary="Withdraw a commitment",
    roles=WRITERS,
    status=204,
)
def delete_commitment(commitment_id: int) -> None:
    """Only a commitment nobody was referred to can be deleted; otherwise let it expire."""
    commitment = get_scoped(Commitment, commitment_id, current_principal())
    referred = db.session.scalar(
        sa.select(sa.func.count()).where(Referral.commitment_id == commitment.id)
    )
    if referred:
        raise Conflict(
            f"Đơn hàng đã có {referred} lượt giới thiệu; hãy đặt ngày hết hạn / "
            f"{referred} referrals exist; set expires_on instead"
        )
    db.session.delete(commitment)
    touch("commitments")
    db.session.commit()
