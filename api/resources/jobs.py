"""Background jobs as their users see them: follow one, list one's own, cancel."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response

from api import jobs
from api.auth import Principal, current_principal
from api.errors import Conflict, Forbidden, NotFound
from api.extensions import db
from api.models import ROLES, Job
from api.openapi import json_response, operation
from api.queries import paginate
from api.schemas import JobOut, JobPage, JobQuery, PageQuery, encode_cursor

bp = Blueprint("jobs", __name__, url_prefix="/api/v1")


def job_out(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "message": job.message,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "cancel_requested": job.cancel_requested,
        "params": job.params or {},
        "result": job.result,
        "error": job.error,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "heartbeat_at": job.heartbeat_at,
        "worker": job.worker,
        "finished_at": job.finished_at,
        "url": f"/api/v1/jobs/{job.id}",
    }


def accepted(job: Job) -> Response:
    """202 with the job and its Location: what an endpoint answers when it queued the work."""
    out = job_out(job)
    response = json_response(JobOut.model_validate(out).model_dump(mode="json"), 202)
    response.headers["Location"] = out["url"]
    return response


def _visible(principal: Principal) -> sa.Select:
    """Admins see every job; everyone else the jobs their own token asked for, and planners
    also the planning refreshes of what they may see (a refresh one planner's request queued
    is the one every other planner's request waits for)."""
    stmt = sa.select(Job)
    if principal.role == "admin":
        return stmt
    mine = Job.token_id == principal.token_id
    if principal.role == "planner":
        refresh = Job.kind == "planning_refresh"
        if principal.province_code:
            refresh = sa.and_(refresh, Job.province_scope == principal.province_code)
        return stmt.where(sa.or_(mine, refresh))
    return stmt.where(mine)


def _job(job_id: int) -> Job:
    job = db.session.execute(_visible(current_principal()).where(Job.id == job_id)).scalar()
    if job is None:
        raise NotFound(f"Không có tác vụ #{job_id} / no job #{job_id}")
    return job


@operation(bp, "/jobs/<int:job_id>", summary="One background job", roles=ROLES, response=JobOut)
def get_job(job_id: int) -> dict[str, Any]:
    """Status, progress with a message, attempts, the consumer's last heartbeat, and the
    result or the reason it failed."""
    return job_out(_job(job_id))


@operation(bp, "/jobs", summary="Background jobs", roles=ROLES, query=JobQuery, response=JobPage)
def list_jobs(query: JobQuery) -> dict[str, Any]:
    """The caller's own jobs (an admin's: everyone's), oldest first (or newest first)."""
    stmt = _visible(current_principal())
    if query.status:
        stmt = stmt.where(Job.status == query.status)
    if query.kind:
        stmt = stmt.where(Job.kind == query.kind)
    if query.order == "newest":
        rows, cursor = paginate_newest(stmt, Job, query)
    else:
        rows, cursor = paginate(stmt, Job, query)
    return {"items": [job_out(j) for j in rows], "next_cursor": cursor}


def paginate_newest(stmt: sa.Select, model: Any, page: PageQuery) -> tuple[list, str | None]:
    """Keyset pagination on id, newest first: the cursor is the last (oldest) id served."""
    if page.cursor:
        stmt = stmt.where(model.id < page.after_id)
    rows = list(
        db.session.execute(stmt.order_by(model.id.desc()).limit(page.limit + 1)).scalars()
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return rows, encode_cursor(rows[-1].id) if more and rows else None


@operation(
    bp,
    "/jobs/<int:job_id>/cancel",
    "POST",
    summary="Cancel a background job",
    roles=ROLES,
    response=JobOut,
)
def cancel_job(job_id: int) -> dict[str, Any]:
    """A queued job is cancelled at once; a running one stops at its next progress report
    (what it had written is rolled back). A finished job cannot be cancelled (409), nor
    can another token's job that a planner only follows (403)."""
    job = _job(job_id)
    principal = current_principal()
    if principal.role != "admin" and job.token_id != principal.token_id:
        raise Forbidden(
            f"Tác vụ #{job_id} do người khác yêu cầu / job #{job_id} was asked for by someone else"
        )
    if job.status not in jobs.ACTIVE:
        raise Conflict(
            f"Tác vụ #{job_id} đã kết thúc ({job.status}) / job #{job_id} has ended ({job.status})"
        )
    return job_out(jobs.cancel(job))
