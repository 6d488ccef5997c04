"""Workers: personal data, for caseworkers, admins and the enterprises they were referred to."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from api.auth import Principal, current_principal, log_personal_access
from api.errors import Conflict
from api.extensions import db
from api.models import Worker
from api.openapi import operation
from api.queries import get_scoped, json_list_contains, paginate, place_dict, scoped, worker_search
from api.registry import ConsentTaken, erase_worker
from api.resources._crud import create_record, patch_record, skill_notes
from api.schemas import WorkerIn, WorkerOut, WorkerPage, WorkerPatch, WorkerQuery, naive_utc

bp = Blueprint("workers", __name__, url_prefix="/api/v1")

READERS = ("caseworker", "enterprise", "admin")
WRITERS = ("caseworker", "admin")
PROTECTED = ("birth_year", "gender", "ethnic_minority", "disability")


def worker_out(worker: Worker, principal: Principal) -> dict[str, Any]:
    """Serialise a worker; enterprises never see protected attributes."""
    out = {
        "id": worker.id,
        "external_id": worker.external_id,
        "full_name": worker.full_name,
        "birth_year": worker.birth_year,
        "gender": worker.gender,
        "ethnic_minority": worker.ethnic_minority,
        "disability": worker.disability,
        "phone": worker.phone,
        **place_dict(worker),
        "education": worker.education,
        "trades": worker.trades or [],
        "skills": worker.skills or [],
        "skills_unrecognised": worker.skills_unrecognised or [],
        "experience_years": worker.experience_years,
        "expected_wage_vnd": worker.expected_wage_vnd,
        "max_commute_km": worker.max_commute_km,
        "available_from": worker.available_from,
        "erased": worker.erased_at is not None,
        "created_at": worker.created_at,
        "updated_at": worker.updated_at,
    }
    if principal.role == "enterprise":
        out.update(dict.fromkeys((*PROTECTED, "skills_unrecognised")))
    return out


def _respond(workers: list[Worker], action: str) -> list[dict[str, Any]]:
    principal = current_principal()
    items = [worker_out(w, principal) for w in workers]
    log_personal_access([w.id for w in workers if w.erased_at is None], action)
    db.session.commit()
    return items


@operation(
    bp, "/workers", summary="List workers", roles=READERS, query=WorkerQuery, response=WorkerPage
)
def list_workers(query: WorkerQuery) -> dict[str, Any]:
    """Enterprises see only workers referred to their own commitments."""
    stmt = scoped(Worker, current_principal())
    if query.external_id:
        stmt = stmt.where(Worker.external_id == query.external_id)
    if query.trade:
        stmt = stmt.where(json_list_contains(Worker.trades, query.trade))
    if query.ward_code:
        stmt = stmt.where(Worker.ward_code == query.ward_code)
    if query.province_code:
        stmt = stmt.where(Worker.province_code == query.province_code)
    if query.education:
        stmt = stmt.where(Worker.education == query.education)
    if query.available_by:
        stmt = stmt.where(
            (Worker.available_from.is_(None)) | (Worker.available_from <= query.available_by)
        )
    if query.updated_since:
        stmt = stmt.where(Worker.updated_at >= naive_utc(query.updated_since))
    if query.q:
        stmt = stmt.where(worker_search(query.q))
    workers, cursor = paginate(stmt, Worker, query)
    return {"items": _respond(workers, "list"), "next_cursor": cursor}


@operation(
    bp,
    "/workers",
    "POST",
    summary="Register a worker",
    roles=WRITERS,
    body=WorkerIn,
    response=WorkerOut,
    status=201,
)
def create_worker(body: WorkerIn, consent: ConsentTaken | None = None) -> dict[str, Any]:
    """Register one worker; free-text skills are normalised, addresses resolved to wards.
    `consent_on` records the worker's consent to the processing of their data (the pages
    record how it was taken as well)."""
    worker_id = create_record("workers", body, consent=consent)
    return {
        **_respond([db.session.get(Worker, worker_id)], "create")[0],
        "skill_notes": skill_notes(),
    }


@operation(
    bp, "/workers/<int:worker_id>", summary="Get a worker", roles=READERS, response=WorkerOut
)
def get_worker(worker_id: int) -> dict[str, Any]:
    return _respond([get_scoped(Worker, worker_id, current_principal())], "read")[0]


@operation(
    bp,
    "/workers/<int:worker_id>",
    "PATCH",
    summary="Update a worker",
    roles=WRITERS,
    body=WorkerPatch,
    response=WorkerOut,
)
def update_worker(worker_id: int, body: WorkerPatch) -> dict[str, Any]:
    worker = get_scoped(Worker, worker_id, current_principal())
    if worker.erased_at is not None:
        raise Conflict("Dữ liệu người này đã bị xóa theo yêu cầu / this worker's data was erased")
    patch_record("workers", worker, body)
    db.session.refresh(worker)
    return {**_respond([worker], "update")[0], "skill_notes": skill_notes()}


@operation(
    bp,
    "/workers/<int:worker_id>",
    "DELETE",
    summary="Erase a worker's personal data",
    roles=WRITERS,
    status=204,
)
def erase_worker_data(worker_id: int) -> None:
    """Honour an erasure request (Law 91/2025): personal fields are blanked, the anonymous
    record (ward, trades, referral outcomes) stays for statistics."""
    principal = current_principal()
    worker = get_scoped(Worker, worker_id, principal)
    erase_worker(worker, by_user_id=principal.user_id)
    db.session.commit()
