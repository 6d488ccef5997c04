"""Admin: API tokens and the personal-data access log."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint

from api.auth import create_token, current_principal
from api.errors import NotFound, ValidationFailed
from api.extensions import db
from api.models import AccessLog, ApiToken, Enterprise, User, Worker
from api.openapi import operation
from api.queries import paginate
from api.resources.jobs import paginate_newest
from api.schemas import (
    AccessLogPage,
    AccessLogQuery,
    PageQuery,
    TokenCreated,
    TokenIn,
    TokenList,
    naive_utc,
)
from matcher import clock

bp = Blueprint("admin", __name__, url_prefix="/api/v1")

ADMIN = ("admin",)


def token_out(t: ApiToken) -> dict[str, Any]:
    return {
        "id": t.id,
        "prefix": t.prefix,
        "role": t.role,
        "enterprise_id": t.enterprise_id,
        "province_code": t.province_code,
        "label": t.label,
        "created_at": t.created_at,
        "revoked_at": t.revoked_at,
        "expires_at": t.expires_at,
        "last_used_at": t.last_used_at,
    }


@operation(
    bp,
    "/tokens",
    summary="List API tokens (hashes are never shown)",
    roles=ADMIN,
    query=PageQuery,
    response=TokenList,
)
def list_tokens(query: PageQuery) -> dict[str, Any]:
    """API tokens; the pages' sign-in sessions (kind "session") are not listed."""
    tokens, cursor = paginate(sa.select(ApiToken).where(ApiToken.kind == "api"), ApiToken, query)
    return {"items": [token_out(t) for t in tokens], "next_cursor": cursor}


@operation(
    bp,
    "/tokens",
    "POST",
    summary="Create an API token",
    roles=ADMIN,
    body=TokenIn,
    response=TokenCreated,
    status=201,
)
def create_api_token(body: TokenIn) -> dict[str, Any]:
    """The clear token is returned once; only its SHA-256 is stored."""
    enterprise = None
    if body.role == "enterprise":
        if not body.enterprise_external_id:
            raise ValidationFailed(
                "Mã của doanh nghiệp cần enterprise_external_id / an enterprise token needs "
                "enterprise_external_id",
                errors=[{"field": "enterprise_external_id", "message": "required"}],
            )
        enterprise = db.session.scalar(
            sa.select(Enterprise).where(Enterprise.external_id == body.enterprise_external_id)
        )
        if enterprise is None:
            raise ValidationFailed(
                "Không có doanh nghiệp này / unknown enterprise",
                errors=[{"field": "enterprise_external_id", "message": "unknown enterprise"}],
            )
    elif body.enterprise_external_id:
        raise ValidationFailed(
            "Chỉ mã doanh nghiệp mới gắn với doanh nghiệp / only enterprise tokens name one",
            errors=[{"field": "enterprise_external_id", "message": "only for role enterprise"}],
        )
    if body.province_code and body.role != "caseworker":
        raise ValidationFailed(
            "Giới hạn tỉnh chỉ dành cho cán bộ / province scope is for caseworker tokens",
            errors=[{"field": "province_code", "message": "only for role caseworker"}],
        )
    clear, token = create_token(
        body.role,
        enterprise=enterprise,
        province_code=body.province_code,
        label=body.label,
        expires=body.expires_in_days,
    )
    db.session.commit()
    return {**token_out(token), "token": clear}


@operation(
    bp, "/tokens/<int:token_id>", "DELETE", summary="Revoke an API token", roles=ADMIN, status=204
)
def revoke_token(token_id: int) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"Không có mã #{token_id} / no token #{token_id}")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
    db.session.commit()


@operation(
    bp,
    "/access-log",
    summary="Who read which worker's personal data, when",
    roles=ADMIN,
    query=AccessLogQuery,
    response=AccessLogPage,
)
def list_access_log(query: AccessLogQuery) -> dict[str, Any]:
    current_principal()
    stmt = sa.select(AccessLog)
    if query.worker_id:
        stmt = stmt.where(AccessLog.worker_id == query.worker_id)
    if query.worker_external_id:
        stmt = stmt.where(
            AccessLog.worker_id.in_(
                sa.select(Worker.id).where(Worker.external_id == query.worker_external_id)
            )
        )
    if query.token_id:
        stmt = stmt.where(AccessLog.token_id == query.token_id)
    if query.user_id:
        stmt = stmt.where(AccessLog.user_id == query.user_id)
    if query.since:
        stmt = stmt.where(AccessLog.at >= naive_utc(query.since))
    if query.until:
        stmt = stmt.where(AccessLog.at < naive_utc(query.until))
    if query.order == "newest":
        rows, cursor = paginate_newest(stmt, AccessLog, query)
    else:
        rows, cursor = paginate(stmt, AccessLog, query)
    people = {
        u.id: u
        for u in db.session.scalars(
            sa.select(User).where(User.id.in_({a.user_id for a in rows if a.user_id}))
        )
    }
    return {
        "items": [
            {
                "id": a.id,
                "at": a.at,
                "token_id": a.token_id,
                "user_id": a.user_id,
                "user_login": people[a.user_id].login if a.user_id in people else None,
                "user_name": people[a.user_id].name if a.user_id in people else None,
                "role": a.role,
                "worker_id": a.worker_id,
                "action": a.action,
                "endpoint": a.endpoint,
            }
            for a in rows
        ],
        "next_cursor": cursor,
    }
