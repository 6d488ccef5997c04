"""Courses at vocational centres: readable by every role, written by staff."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint

from api.auth import current_principal
from api.errors import Conflict
from api.extensions import db
from api.models import Commitment, Course, Enrollment
from api.openapi import operation
from api.queries import enrolled_counts, get_scoped, name_filter, paginate, place_dict, scoped
from api.resources._crud import create_record, patch_record
from api.schemas import CourseIn, CourseOut, CoursePage, CoursePatch, CourseQuery
from api.versions import touch

bp = Blueprint("courses", __name__, url_prefix="/api/v1")

READERS = ("caseworker", "enterprise", "planner", "admin")
WRITERS = ("caseworker", "admin")


def course_out(c: Course, enrolled: int) -> dict[str, Any]:
    return {
        "id": c.id,
        "external_id": c.external_id,
        "name": c.name,
        "trade": c.trade,
        "provider": c.provider,
        **place_dict(c),
        "level": c.level,
        "start_date": c.start_date,
        "end_date": c.end_date,
        "capacity": c.capacity,
        "enrolled": enrolled,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }


@operation(
    bp, "/courses", summary="List courses", roles=READERS, query=CourseQuery, response=CoursePage
)
def list_courses(query: CourseQuery) -> dict[str, Any]:
    stmt = scoped(Course, current_principal())
    if query.external_id:
        stmt = stmt.where(Course.external_id == query.external_id)
    if query.trade:
        stmt = stmt.where(Course.trade == query.trade)
    if query.ward_code:
        stmt = stmt.where(Course.ward_code == query.ward_code)
    if query.province_code:
        stmt = stmt.where(Course.province_code == query.province_code)
    if query.provider:
        stmt = stmt.where(Course.provider == query.provider)
    if query.starts_from:
        stmt = stmt.where(Course.start_date >= query.starts_from)
    if query.starts_until:
        stmt = stmt.where(Course.start_date <= query.starts_until)
    if query.q:
        stmt = stmt.where(name_filter(Course.name_key, query.q))
    rows, cursor = paginate(stmt, Course, query)
    counts = enrolled_counts([c.id for c in rows])
    return {"items": [course_out(c, counts.get(c.id, 0)) for c in rows], "next_cursor": cursor}


@operation(
    bp,
    "/courses",
    "POST",
    summary="Register a course",
    roles=WRITERS,
    body=CourseIn,
    response=CourseOut,
    status=201,
)
def create_course(body: CourseIn) -> dict[str, Any]:
    course = db.session.get(Course, create_record("courses", body))
    return course_out(course, 0)


@operation(
    bp, "/courses/<int:course_id>", summary="Get a course", roles=READERS, response=CourseOut
)
def get_course(course_id: int) -> dict[str, Any]:
    course = get_scoped(Course, course_id, current_principal())
    return course_out(course, enrolled_counts([course.id]).get(course.id, 0))


@operation(
    bp,
    "/courses/<int:course_id>",
    "PATCH",
    summary="Update a course",
    roles=WRITERS,
    body=CoursePatch,
    response=CourseOut,
)
def update_course(course_id: int, body: CoursePatch) -> dict[str, Any]:
    course = get_scoped(Course, course_id, current_principal())
    patch_record("courses", course, body)
    db.session.refresh(course)
    return course_out(course, enrolled_counts([course.id]).get(course.id, 0))


@operation(
    bp, "/courses/<int:course_id>", "DELETE", summary="Delete a course", roles=WRITERS, status=204
)
def delete_course(course_id: int) -> None:
    """A course with enrollments or linked commitments is history and cannot be deleted."""
    course = get_scoped(Course, course_id, current_principal())
    enrolled = db.session.scalar(
        sa.select(sa.func.count()).where(Enrollment.course_id == course.id)
    )
    linked = db.session.scalar(sa.select(sa.func.count()).where(Commitment.course_id == course.id))
    if enrolled or linked:
        raise Conflict(
            f"Khóa học có {enrolled} học viên và {linked} đơn hàng liên kết / the course has "
            f"{enrolled} enrollments and {linked} linked commitments"
        )
    db.session.delete(course)
    touch("courses")
    db.session.commit()
