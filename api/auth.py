"""Bearer tokens and roles: deny by default, and know exactly who is asking."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import g, request

from api.errors import Forbidden, Unauthorized
from api.extensions import db
from api.models import ROLES, AccessLog, ApiToken, Enterprise

TOKEN_PREFIX = "cn_"


@dataclass(frozen=True)
class Principal:
    """The caller of the current request, as far as authorisation cares."""

    token_id: int
    role: str
    enterprise_id: int | None
    province_code: str | None

    @property
    def sees_personal_data(self) -> bool:
        return self.role in ("caseworker", "admin", "enterprise")


def hash_token(token: str) -> str:
    """Hash a token for storage and lookup; tokens are random, so no salt or slow hash is needed."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    role: str,
    *,
    enterprise: Enterprise | None = None,
    province_code: str | None = None,
    label: str | None = None,
) -> tuple[str, ApiToken]:
    """Create a token and return the clear text once; only its hash is kept."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if (role == "enterprise") != (enterprise is not None):
        raise ValueError("an enterprise token needs exactly one enterprise; other roles none")
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        token_hash=hash_token(clear),
        prefix=clear[:10],
        role=role,
        enterprise_id=enterprise.id if enterprise else None,
        province_code=province_code,
        label=label,
    )
    db.session.add(token)
    db.session.flush()
    return clear, token


def authenticate(roles: tuple[str, ...]) -> Principal:
    """Identify the caller from the Authorization header and check the role may call here."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized(
            "Thiếu mã truy cập: gửi tiêu đề 'Authorization: Bearer <token>' / "
            "missing token: send an 'Authorization: Bearer <token>' header"
        )
    row = db.session.execute(
        sa.select(ApiToken).where(
            ApiToken.token_hash == hash_token(value.strip()), ApiToken.revoked_at.is_(None)
        )
    ).scalar_one_or_none()
    if row is None:
        raise Unauthorized("Mã truy cập không hợp lệ hoặc đã thu hồi / invalid or revoked token")
    principal = Principal(row.id, row.role, row.enterprise_id, row.province_code)
    g.principal = principal
    if principal.role not in roles:
        raise Forbidden(
            f"Vai trò '{principal.role}' không được phép thực hiện thao tác này / "
            f"role '{principal.role}' may not do this"
        )
    return principal


def current_principal() -> Principal:
    """Return the authenticated caller; views run only after authenticate() succeeded."""
    return g.principal


def log_personal_access(worker_ids: list[int], action: str) -> None:
    """Write one access-log row per worker whose personal data this response carries."""
    if not worker_ids:
        return
    principal = current_principal()
    db.session.execute(
        sa.insert(AccessLog),
        [
            {
                "token_id": principal.token_id,
                "role": principal.role,
                "worker_id": worker_id,
                "action": action,
                "endpoint": request.path[:200],
            }
            for worker_id in worker_ids
        ],
    )
