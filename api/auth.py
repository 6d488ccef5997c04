"""Bearer tokens and roles: deny by default, and know exactly who is asking."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, g, request
from limits import parse as parse_limit
from sqlalchemy.exc import OperationalError

from api.errors import Forbidden, TooManyRequests, Unauthorized
from api.extensions import client_address, db, limiter
from api.models import ROLES, AccessLog, ApiToken, Enterprise
from api.schemas import MAX_TOKEN_DAYS
from matcher import clock

TOKEN_PREFIX = "cn_"
#: A token's last use is written at most this often, so a busy token costs no write per call.
LAST_USED_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """The caller of the current request, as far as authorisation cares."""

    token_id: int
    role: str
    enterprise_id: int | None
    province_code: str | None
    #: The person behind the token (always for a signed-in session; for an API token only
    #: when it was issued to a user), and their name, for the access log and the pages.
    user_id: int | None = None
    name: str | None = None

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
    expires: int | dt.datetime | None = None,
) -> tuple[str, ApiToken]:
    """Create a token and return the clear text once; only its hash is kept.

    ``expires`` is a number of days or a moment (naive UTC); it defaults to
    TOKEN_LIFETIME_DAYS. No token lives for ever, so a leaked one stops working by itself.
    """
    now = clock.now()
    if expires is None:
        expires = current_app.config["TOKEN_LIFETIME_DAYS"]
    expires_at = now + dt.timedelta(days=expires) if isinstance(expires, int) else expires
    if not now < expires_at <= now + dt.timedelta(days=MAX_TOKEN_DAYS + 1):
        raise ValueError(f"the expiry must be in the future, at most {MAX_TOKEN_DAYS} days ahead")
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
        created_at=now,
        expires_at=expires_at,
    )
    db.session.add(token)
    db.session.flush()
    return clear, token


def parse_expiry(text: str) -> int | dt.datetime:
    """Read ``--expires``: a number of days (``30`` or ``30d``) or a date (``2027-03-01``,
    the token then works through that day, UTC). Its range is create_token's to check."""
    value = text.strip().lower().removesuffix("d")
    if value.isdigit():
        return int(value)
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--expires: a number of days (30, 30d) or a date YYYY-MM-DD, not {text!r}"
        ) from None
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def authenticate(roles: tuple[str, ...]) -> Principal:
    """Identify the caller from the Authorization header and check the role may call here.

    A client that keeps presenting wrong or expired tokens is slowed down: after
    BAD_TOKEN_LIMIT failures in the window each further wrong token gets 429 until the window
    passes, and each failure is logged with the client's address. A valid token is always
    served: tokens are 256-bit random, so the limit is about load and alerting, and an office
    behind one address must not be locked out by one misconfigured client.
    """
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
    now = clock.now()
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        _count_bad_token(row is not None)
        if row is not None:
            raise Unauthorized(
                f"Mã truy cập đã hết hạn ngày {row.expires_at:%d/%m/%Y}; xin mã mới / the"
                f" token expired on {row.expires_at:%Y-%m-%d}; ask for a new one"
            )
        raise Unauthorized("Mã truy cập không hợp lệ hoặc đã thu hồi / invalid or revoked token")
    if row.user_id is not None and (row.user is None or row.user.disabled_at is not None):
        _count_bad_token(False)
        raise Unauthorized("Tài khoản đã bị khóa / the account is disabled")
    principal = principal_of(row)
    g.principal = principal
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        _record_use(row.id, now)
    if principal.role not in roles:
        raise Forbidden(
            f"Vai trò '{principal.role}' không được phép thực hiện thao tác này / "
            f"role '{principal.role}' may not do this"
        )
    return principal


def principal_of(row: ApiToken) -> Principal:
    """The principal a token row stands for (an API token or a signed-in session)."""
    user = row.user if row.user_id is not None else None
    return Principal(
        row.id,
        row.role,
        row.enterprise_id,
        row.province_code,
        user_id=row.user_id,
        name=user.name if user is not None else row.label,
    )


def _count_bad_token(expired: bool) -> None:
    """Log a wrong token and count it; past the limit, answer 429 instead of 401.

    The counter fails open: if its storage (Redis) is down, the request is answered as if
    there were no limit, with a log line, rather than failing every call.
    """
    client = client_address()
    current_app.logger.warning("bad token from %s: %s", client, "expired" if expired else "unknown")
    if not limiter.enabled:
        return
    limit = parse_limit(current_app.config["BAD_TOKEN_LIMIT"])
    try:
        allowed = limiter.limiter.hit(limit, "bad-token", client)
        reset = limiter.limiter.get_window_stats(limit, "bad-token", client).reset_time
    except Exception:  # the storage is unreachable: no limit rather than no service
        current_app.logger.exception("bad-token limit: counter storage unavailable")
        return
    if not allowed:
        retry = max(1, int(reset - time.time()))  # windows run on wall-clock time
        current_app.logger.warning("bad-token limit: %s refused for %s s", client, retry)
        raise TooManyRequests(
            f"Quá nhiều mã truy cập sai từ địa chỉ này; thử lại sau {retry} giây / too many"
            f" invalid tokens from this address; retry in {retry} s",
            retry_after=retry,
        )


def _record_use(token_id: int, now: dt.datetime) -> None:
    """Write the token's last use in its own short transaction; a locked database only
    skips this write (the request goes on)."""
    connection = db.session.connection()
    sqlite = connection.dialect.name == "sqlite"
    try:
        # Do not wait for another writer's lock: a read must not stall behind an import.
        if sqlite:
            connection.exec_driver_sql("PRAGMA busy_timeout = 0")
        else:
            connection.exec_driver_sql("SET LOCAL lock_timeout = '100ms'")
        db.session.execute(
            sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
        )
        db.session.commit()
    except OperationalError:
        db.session.rollback()
        current_app.logger.info("token %s: last use not recorded (database busy)", token_id)
    finally:
        if sqlite:
            busy_ms = int(current_app.config["LOCK_TIMEOUT_MS"])
            db.session.connection().exec_driver_sql(f"PRAGMA busy_timeout = {busy_ms}")


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
                "user_id": principal.user_id,
                "role": principal.role,
                "worker_id": worker_id,
                "action": action,
                "endpoint": request.path[:200],
            }
            for worker_id in worker_ids
        ],
    )
