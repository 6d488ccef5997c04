"""Enrollments of workers in courses: person-level, so staff only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from api.auth import current_principal
from api.extensions import db
from api.models import Enrollment
from api.openapi import operation
from api.queries import get_scoped, paginate, scoped
from api.resources._crud import create_record, patch_record
from api.schemas import (
    EnrollmentIn,
    EnrollmentOut,
    EnrollmentPage,
    EnrollmentPatch,
    EnrollmentQuery,
)
from api.versions import touch

bp = Blueprint("enrollments", __name__, url_prefix="/api/v1")

STAFF = ("caseworker", "admin")


def enrollment_out(e: Enrollment) -> dict[str, Any]:
    return {
        "id": e.id,
        "worker_id": e.worker_id,
        "worker_external_id": e.worker.external_id,
        "course_id": e.course_id,
        "course_external_id": e.course.external_id,
        "status": e.status,
        "completed_on": e.completed_on,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
    }


@operation(
    bp,
    "/enrollments",
    summary="List enrollments",
    roles=STAFF,
    query=EnrollmentQuery,
    response=EnrollmentPage,
)
def list_enrollments(query: EnrollmentQuery) -> dict[str, Any]:
    stmt = scoped(Enrollment, current_principal())
    if query.worker_id:
        stmt = stmt.where(Enrollment.worker_id == query.worker_id)
    if query.course_id:
        stmt = stmt.where(Enrollment.course_id == query.course_id)
    if query.status:
        stmt = stmt.where(Enrollment.status == query.status)
    if query.completed_from:
        stmt = stmt.where(Enrollment.completed_on >= query.completed_from)
    if query.completed_until:
        stmt = stmt.where(Enrollment.completed_on <= query.completed_until)
    rows, cursor = paginate(stmt, Enrollment, query)
    return {"items": [enrollment_out(e) for e in rows], "next_cursor": cursor}


@operation(
    bp,
    "/enrollments",
    "POST",
    summary="Enrol a worker in a course",
    roles=STAFF,
    body=EnrollmentIn,
    response=EnrollmentOut,
    status=201,
)
def create_enrollment(body: EnrollmentIn) -> dict[str, Any]:
    return enrollment_out(db.session.get(Enrollment, create_record("enrollments", body)))


@operation(
    bp,
    "/enrollments/<int:enrollment_id>",
    summary="Get an enrollment",
    roles=STAFF,
    response=EnrollmentOut,
)
def get_enrollment(enrollment_id: int) -> dict[str, Any]:
    return enrollment_out(get_scoped(Enrollment, enrollment_id, current_principal()))


@operation(
    bp,
    "/enrollments/<int:enrollment_id>",
    "PATCH",
    summary="Record graduation or drop-out",
    roles=STAFF,
    body=EnrollmentPatch,
    response=EnrollmentOut,
)
def update_enrollment(enrollment_id: int, body: EnrollmentPatch) -> dict[str, Any]:
    enrollment = get_scoped(Enrollment, enrollment_id, current_principal())
    patch_record("enrollments", enrollment, body)
    db.session.refresh(enrollment)
    return enrollment_out(enrollment)


@operation(
    bp,
    "/enrollments/<int:enrollment_id>",
    "DELETE",
    summary="Remove an enrollment",
    roles=STAFF,
    status=204,
)
def delete_enrollment(enrollment_id: int) -> None:
    db.session.delete(get_scoped(Enrollment, enrollment_id, current_principal()))
    touch("enrollments")
    db.session.commit()
