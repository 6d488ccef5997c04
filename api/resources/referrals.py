"""Referrals: a worker sent to a commitment, and the outcome that teaches the model.

Status moves only along REFERRAL_TRANSITIONS. A hire takes one slot of the commitment with a
conditional UPDATE (`slots_filled < slots`), so concurrent hires can never overfill it: the
database serialises the row, and the loser sees zero rows updated and gets 409.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint

from api.auth import current_principal
from api.errors import Conflict, NotFound, ValidationFailed
from api.extensions import db
from api.models import REFERRAL_TRANSITIONS, Commitment, Referral, ReferralEvent, Worker
from api.openapi import operation
from api.queries import get_scoped, paginate, referral_refusal, scoped
from api.schemas import ReferralIn, ReferralOut, ReferralPage, ReferralPatch, ReferralQuery
from api.versions import touch
from matcher import clock

bp = Blueprint("referrals", __name__, url_prefix="/api/v1")

READERS = ("caseworker", "enterprise", "admin")
STAFF = ("caseworker", "admin")


def referral_out(r: Referral) -> dict[str, Any]:
    return {
        "id": r.id,
        "external_id": r.external_id,
        "worker_id": r.worker_id,
        "worker_external_id": r.worker.external_id,
        "commitment_id": r.commitment_id,
        "commitment_external_id": r.commitment.external_id,
        "enterprise_id": r.commitment.enterprise_id,
        "referred_on": r.referred_on,
        "status": r.status,
        "hired_on": r.hired_on,
        "left_on": r.left_on,
        "score": r.score,
        "scorer": r.scorer,
        "model_version": r.model_version,
        "reasons": r.reasons,
        "history": [
            {
                "from_status": e.from_status,
                "to_status": e.to_status,
                "at": e.at,
                "actor_role": e.actor_role,
                "source": e.source,
                "note": e.note,
            }
            for e in r.events
        ],
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    }


def _event(referral_id: int, old: str | None, new: str, note: str | None) -> None:
    principal = current_principal()
    db.session.add(
        ReferralEvent(
            referral_id=referral_id,
            from_status=old,
            to_status=new,
            actor_token_id=principal.token_id,
            actor_role=principal.role,
            source="api",
            note=note,
        )
    )


@operation(
    bp,
    "/referrals",
    summary="List referrals",
    roles=READERS,
    query=ReferralQuery,
    response=ReferralPage,
)
def list_referrals(query: ReferralQuery) -> dict[str, Any]:
    """Enterprises see the referrals to their own commitments only."""
    stmt = scoped(Referral, current_principal())
    if query.external_id:
        stmt = stmt.where(Referral.external_id == query.external_id)
    if query.worker_id:
        stmt = stmt.where(Referral.worker_id == query.worker_id)
    if query.commitment_id:
        stmt = stmt.where(Referral.commitment_id == query.commitment_id)
    if query.status:
        stmt = stmt.where(Referral.status == query.status)
    if query.referred_from:
        stmt = stmt.where(Referral.referred_on >= query.referred_from)
    if query.referred_until:
        stmt = stmt.where(Referral.referred_on <= query.referred_until)
    rows, cursor = paginate(stmt, Referral, query)
    return {"items": [referral_out(r) for r in rows], "next_cursor": cursor}


def _resolve(model, record_id: int | None, external_id: str | None, field: str):
    principal = current_principal()
    if record_id is None and external_id is None:
        raise ValidationFailed(
            f"Thiếu {field}_id hoặc {field}_external_id / {field}_id or {field}_external_id "
            "is required",
            errors=[{"field": f"{field}_id", "message": "required"}],
        )
    if record_id is None:
        record_id = db.session.scalar(sa.select(model.id).where(model.external_id == external_id))
        if record_id is None:
            raise ValidationFailed(
                f"Không có {field} '{external_id}' / unknown {field} '{external_id}'",
                errors=[{"field": f"{field}_external_id", "message": f"unknown {field}"}],
            )
    obj = get_scoped(model, record_id, principal)
    if external_id is not None and obj.external_id != external_id:
        raise ValidationFailed(
            f"{field}_id và {field}_external_id không khớp / {field}_id and "
            f"{field}_external_id disagree",
            errors=[{"field": f"{field}_external_id", "message": "disagrees with id"}],
        )
    return obj


@operation(
    bp,
    "/referrals",
    "POST",
    summary="Refer a worker to a commitment",
    roles=STAFF,
    body=ReferralIn,
    response=ReferralOut,
    status=201,
)
def create_referral(body: ReferralIn) -> dict[str, Any]:
    """Store the referral with the score, scorer, model version and reasons the caseworker saw."""
    worker = _resolve(Worker, body.worker_id, body.worker_external_id, "worker")
    commitment = _resolve(Commitment, body.commitment_id, body.commitment_external_id, "commitment")
    referred_on = body.referred_on or clock.today()
    if referred_on > clock.today():
        raise ValidationFailed(
            "Ngày giới thiệu ở tương lai / referred_on is in the future",
            errors=[{"field": "referred_on", "message": "in the future"}],
        )
    refusal = referral_refusal(worker, commitment, current_principal(), clock.today())
    if refusal is not None:
        raise (NotFound if refusal.status == 404 else Conflict)(refusal.detail)
    if body.external_id and db.session.scalar(
        sa.select(Referral.id).where(Referral.external_id == body.external_id)
    ):
        raise Conflict("external_id đã tồn tại / external_id already exists")
    referral = Referral(
        external_id=body.external_id,
        worker_id=worker.id,
        commitment_id=commitment.id,
        referred_on=referred_on,
        status="pending",
        score=body.score,
        scorer=body.scorer,
        model_version=body.model_version,
        reasons=[r.model_dump(exclude_none=True) for r in body.reasons] if body.reasons else None,
    )
    db.session.add(referral)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict(
            "Đã giới thiệu người này tới đơn hàng này trong ngày / already referred today"
        ) from None
    _event(referral.id, None, "pending", body.note)
    touch("referrals")
    db.session.commit()
    return referral_out(referral)


@operation(
    bp,
    "/referrals/<int:referral_id>",
    summary="Get a referral with its history",
    roles=READERS,
    response=ReferralOut,
)
def get_referral(referral_id: int) -> dict[str, Any]:
    return referral_out(get_scoped(Referral, referral_id, current_principal()))


def _check_dates(referral: Referral, status: str, hired_on, left_on) -> None:
    errors = []
    if hired_on is not None and status != "hired":
        errors.append({"field": "hired_on", "message": "only for hired referrals"})
    if hired_on is not None and not referral.referred_on <= hired_on <= clock.today():
        errors.append({"field": "hired_on", "message": "must be between referred_on and today"})
    if left_on is not None:
        if hired_on is None:
            errors.append({"field": "hired_on", "message": "left_on needs hired_on"})
        elif status != "hired":
            errors.append({"field": "left_on", "message": "only for hired referrals"})
        elif left_on > clock.today() or left_on < (hired_on or referral.referred_on):
            errors.append({"field": "left_on", "message": "must be between hired_on and today"})
    if errors:
        raise ValidationFailed("Ngày không hợp lệ / invalid dates", errors=errors)


@operation(
    bp,
    "/referrals/<int:referral_id>",
    "PATCH",
    summary="Record a referral's outcome",
    roles=READERS,
    body=ReferralPatch,
    response=ReferralOut,
)
def update_referral(referral_id: int, body: ReferralPatch) -> dict[str, Any]:
    """Move the status along the allowed transitions; a hire takes one open slot atomically."""
    referral = get_scoped(Referral, referral_id, current_principal())
    fields = body.model_fields_set
    new_status = body.status if "status" in fields and body.status else referral.status
    hired_on = body.hired_on if "hired_on" in fields else referral.hired_on
    if new_status == "hired" and referral.status != "hired" and hired_on is None:
        hired_on = clock.today()
    left_on = body.left_on if "left_on" in fields else referral.left_on
    old_status = referral.status
    if new_status != old_status and new_status not in REFERRAL_TRANSITIONS[old_status]:
        raise Conflict(
            f"Không thể chuyển từ '{old_status}' sang '{new_status}' / "
            f"cannot move from '{old_status}' to '{new_status}'"
        )
    _check_dates(referral, new_status, hired_on, left_on)

    if new_status != old_status:
        claimed = db.session.execute(
            sa.update(Referral)
            .where(Referral.id == referral.id, Referral.status == old_status)
            .values(status=new_status, hired_on=hired_on, left_on=left_on),
            execution_options={"synchronize_session": False},
        ).rowcount
        if claimed != 1:
            raise Conflict("Giới thiệu vừa được cập nhật bởi người khác / changed concurrently")
        if new_status == "hired":
            filled = db.session.execute(
                sa.update(Commitment)
                .where(
                    Commitment.id == referral.commitment_id,
                    Commitment.slots_filled < Commitment.slots,
                )
                .values(slots_filled=Commitment.slots_filled + 1),
                execution_options={"synchronize_session": False},
            ).rowcount
            if filled != 1:
                raise Conflict(
                    "Đơn hàng đã đủ người, không thể tuyển thêm / "
                    "the commitment has no open slot left"
                )
        _event(referral.id, old_status, new_status, body.note)
    elif {"hired_on", "left_on"} & fields:
        db.session.execute(
            sa.update(Referral)
            .where(Referral.id == referral.id)
            .values(hired_on=hired_on, left_on=left_on),
            execution_options={"synchronize_session": False},
        )
        if body.note:
            _event(referral.id, referral.status, referral.status, body.note)
    touch("referrals")
    db.session.commit()
    db.session.expire_all()
    return referral_out(db.session.get(Referral, referral_id))
