"""People who sign in: accounts, passwords and sessions.

A signed-in session is a row of ``api_tokens`` of kind ``session``, bound to the user, made
at sign-in and revoked at sign-out (or when an admin disables the account). The pages act
through that token's :class:`~api.auth.Principal`, so they pass the same role and scope
checks as the API, and the access log and referral history name the person.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from api.auth import Principal, hash_token, principal_of
from api.extensions import db
from api.models import ROLES, ApiToken, Enterprise, User
from matcher import clock
from matcher.text import nfc, strip_diacritics


@functools.cache
def _hasher_for(memory_kib: int, passes: int) -> PasswordHasher:
    return PasswordHasher(memory_cost=memory_kib, time_cost=passes)


def _hasher() -> PasswordHasher:
    """argon2id; by default RFC 9106's second recommendation (64 MiB, 3 passes: about 0.2 s
    on this machine). Tests lower it (PASSWORD_HASH_MEMORY_KIB, PASSWORD_HASH_PASSES): a
    hash's cost is a setting, not behaviour."""
    config = current_app.config
    return _hasher_for(config["PASSWORD_HASH_MEMORY_KIB"], config["PASSWORD_HASH_PASSES"])
MIN_PASSWORD_LENGTH = 10
#: A session lasts this long from sign-in, however active (a shared office computer).
SESSION_HOURS = 12


class AccountError(ValueError):
    """A bilingual reason an account cannot be created or changed as asked."""


def normalise_login(login: str) -> str:
    """Logins are compared folded: case and diacritics never make two accounts."""
    return strip_diacritics(nfc(login)).lower().replace(" ", "")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password_rules(password: str, login: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"Mật khẩu cần ít nhất {MIN_PASSWORD_LENGTH} ký tự / the password needs at least"
            f" {MIN_PASSWORD_LENGTH} characters"
        )
    if login and normalise_login(login) in normalise_login(password):
        raise AccountError(
            "Mật khẩu không được chứa tên đăng nhập / the password must not contain the login"
        )


#: The roles an account may be limited to one province for: a caseworker reaches only that
#: province's workers, a planner aggregates only that province (api.queries.in_province_scope).
PROVINCE_ROLES = ("caseworker", "planner")


class AccountFieldError(AccountError):
    """An AccountError about one field of the account (for a form to mark that field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_scope(role: str, enterprise: Enterprise | None, province_code: str | None) -> None:
    """What a role's account is bound to: an enterprise account to exactly one enterprise, a
    caseworker or planner to at most one (real) province, the others to neither."""
    from matcher.places import gazetteer

    if role not in ROLES:
        raise AccountFieldError("role", f"Vai trò không có: {role!r} / unknown role {role!r}")
    if role == "enterprise" and enterprise is None:
        raise AccountFieldError(
            "enterprise",
            "Tài khoản doanh nghiệp cần chọn một doanh nghiệp / an enterprise account needs"
            " its enterprise",
        )
    if role != "enterprise" and enterprise is not None:
        raise AccountFieldError(
            "enterprise",
            "Chỉ tài khoản doanh nghiệp mới gắn với doanh nghiệp / only an enterprise account"
            " names an enterprise",
        )
    if province_code is not None:
        if role not in PROVINCE_ROLES:
            raise AccountFieldError(
                "province_code",
                "Giới hạn tỉnh chỉ dành cho cán bộ tư vấn việc làm và cán bộ kế hoạch / a"
                " province scope is for caseworkers and planners only",
            )
        if gazetteer().province(province_code) is None:
            raise AccountFieldError(
                "province_code",
                f"Không có tỉnh mã {province_code[:8]!r} / no province has code"
                f" {province_code[:8]!r}",
            )


def create_user(
    login: str,
    name: str,
    role: str,
    password: str,
    *,
    enterprise: Enterprise | None = None,
    province_code: str | None = None,
) -> User:
    """Create an account; the caller commits. Refuses what a token would refuse too."""
    key = normalise_login(login)
    if not key or len(key) > 64 or not all(c.isalnum() or c in "._-@" for c in key):
        raise AccountFieldError(
            "login",
            "Tên đăng nhập chỉ gồm chữ, số và . _ - @ (tối đa 64 ký tự) / a login is letters,"
            " digits and . _ - @ (at most 64 characters)",
        )
    check_scope(role, enterprise, province_code)
    if not name.strip():
        raise AccountFieldError("name", "Cần họ tên / a name is required")
    check_password_rules(password, key)
    if db.session.scalar(sa.select(User.id).where(User.login == key)) is not None:
        raise AccountFieldError(
            "login", f"Tên đăng nhập '{key}' đã có / the login '{key}' is taken"
        )
    user = User(
        login=key,
        name=name.strip(),
        role=role,
        enterprise_id=enterprise.id if enterprise else None,
        province_code=province_code,
        password_hash=hash_password(password),
        password_changed_at=clock.now(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def verify(login: str, password: str) -> User | None:
    """The active user with this login and password, or None. A wrong login costs the same
    hash as a wrong password, so timing does not tell which logins exist."""
    user = db.session.scalar(sa.select(User).where(User.login == normalise_login(login)))
    if user is None:
        _hasher().hash(password)  # same work as a real check
        return None
    try:
        _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if user.disabled_at is not None:
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def change_password(user: User, current: str, new: str, *, keep_session: int | None) -> None:
    """A new password ends every other session of the account (a stolen one among them)."""
    try:
        _hasher().verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise AccountError("Mật khẩu hiện tại không đúng / the current password is wrong") from None
    check_password_rules(new, user.login)
    set_password(user, new, keep_session=keep_session)


def set_password(user: User, new: str, *, keep_session: int | None = None) -> None:
    """Give the account a new password and end its sessions (but ``keep_session``)."""
    check_password_rules(new, user.login)
    now = clock.now()
    user.password_hash = hash_password(new)
    user.password_changed_at = now
    db.session.execute(
        sa.update(ApiToken)
        .where(
            ApiToken.user_id == user.id,
            ApiToken.kind == "session",
            ApiToken.revoked_at.is_(None),
            ApiToken.id != (keep_session or 0),
        )
        .values(revoked_at=now)
    )


def open_session(user: User) -> ApiToken:
    """The session token of a sign-in; the caller commits and keeps its id in the cookie."""
    now = clock.now()
    token = ApiToken(
        token_hash=hash_token("session:" + secrets.token_urlsafe(32)),
        prefix="session",
        kind="session",
        role=user.role,
        enterprise_id=user.enterprise_id,
        province_code=user.province_code,
        user_id=user.id,
        label=f"session {user.login}",
        created_at=now,
        expires_at=now + dt.timedelta(hours=current_app.config["SESSION_HOURS"]),
    )
    user.last_login_at = now
    db.session.add(token)
    db.session.flush()
    return token


def session_principal(token_id: int) -> Principal | None:
    """The principal of a live session, or None when it ended, expired, or its user was
    disabled (the pages then ask to sign in again)."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.kind != "session" or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= clock.now():
        return None
    if row.user is None or row.user.disabled_at is not None:
        return None
    return principal_of(row)


def close_session(token_id: int) -> None:
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def disable_user(user: User) -> None:
    """Lock the account and end its sessions and tokens at once."""
    now = clock.now()
    user.disabled_at = now
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def enable_user(user: User) -> None:
    """Let a disabled account sign in again (its old sessions and tokens stay revoked)."""
    user.disabled_at = None


def disable_user_by(user: User, admin_id: int | None) -> None:
    """An admin locks an account; never their own, so that some admin can always sign in
    and undo a mistake (the acting admin keeps working)."""
    if admin_id is not None and user.id == admin_id:
        raise AccountError(
            "Bạn không thể tự khóa tài khoản của mình: cần luôn có một quản trị viên đăng nhập"
            " được; hãy nhờ một quản trị viên khác / you cannot disable your own account: an"
            " administrator must always be able to sign in; ask another administrator"
        )
    disable_user(user)


def change_scope(
    user: User,
    *,
    role: str,
    enterprise: Enterprise | None,
    province_code: str | None,
    name: str | None = None,
    admin_id: int | None = None,
) -> bool:
    """Change an account's role, enterprise or province (and name); the caller commits.

    A session carries the role and scope it was opened with, so a changed scope ends the
    account's sessions and tokens: the person signs in again with the new one. An admin
    cannot take away their own admin role (some admin must always remain to undo it).
    Returns whether the scope changed.
    """
    if admin_id is not None and user.id == admin_id and role != "admin":
        raise AccountFieldError(
            "role",
            "Bạn không thể bỏ vai trò quản trị của chính mình: cần luôn có một quản trị viên;"
            " hãy nhờ một quản trị viên khác / you cannot remove your own admin role: there"
            " must always be an administrator; ask another administrator",
        )
    check_scope(role, enterprise, province_code)
    if name is not None:
        if not name.strip():
            raise AccountFieldError("name", "Cần họ tên / a name is required")
        user.name = name.strip()[:200]
    new_enterprise_id = enterprise.id if enterprise else None
    changed = (user.role, user.enterprise_id, user.province_code) != (
        role,
        new_enterprise_id,
        province_code,
    )
    if changed:
        user.role, user.enterprise_id, user.province_code = role, new_enterprise_id, province_code
        db.session.execute(
            sa.update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=clock.now())
        )
    return changed


def reset_password(user: User, *, keep_session: int | None = None) -> str:
    """Give the account a new random password, to be handed over once; every session but
    ``keep_session`` ends. Only its hash is stored. The person should change it."""
    password = random_password_for(user.login)
    set_password(user, password, keep_session=keep_session)
    return password


def random_password_for(login: str) -> str:
    """A random password that passes the rules for this login (a short login could, by
    chance, appear inside one)."""
    while True:
        password = random_password()
        try:
            check_password_rules(password, login)
        except AccountError:
            continue
        return password


def random_password() -> str:
    """A password to hand over once: 16 characters a person can read out over the phone."""
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


#: The demo's accounts, one per role (make run prints their passwords).
DEMO_USERS = (
    ("admin", "admin", "Quản trị viên (demo)"),
    ("canbo", "caseworker", "Trần Thị Thu (cán bộ demo)"),
    ("doanhnghiep", "enterprise", "Phòng nhân sự (demo)"),
    ("kehoach", "planner", "Lê Văn Minh (kế hoạch demo)"),
)


def demo_users() -> list[tuple[str, str, str]]:
    """Create the demo accounts, or give them new passwords; the caseworker works in the
    demo's province, the enterprise account speaks for the demo enterprise with most
    commitments. Returns (login, role, password) to print."""
    from api.models import Commitment, Worker

    province = db.session.scalar(sa.select(Worker.province_code).limit(1))
    enterprise_id = db.session.scalar(
        sa.select(Commitment.enterprise_id)
        .group_by(Commitment.enterprise_id)
        .order_by(sa.func.count().desc(), Commitment.enterprise_id)
        .limit(1)
    )
    printed = []
    for login, role, name in DEMO_USERS:
        if role == "enterprise" and enterprise_id is None:
            continue
        password = random_password()
        user = db.session.scalar(sa.select(User).where(User.login == login))
        if user is None:
            user = create_user(
                login,
                name,
                role,
                password,
                enterprise=db.session.get(Enterprise, enterprise_id)
                if role == "enterprise"
                else None,
                province_code=province if role == "caseworker" else None,
            )
        else:
            set_password(user, password)
            user.disabled_at = None
        printed.append((login, role, password))
    db.session.commit()
    return printed
