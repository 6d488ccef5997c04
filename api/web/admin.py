"""Admin pages: users, API tokens, models, jobs and the personal-data access log.

Admins only: every other role gets the 403 page. Tokens, models, jobs and the access log
are the API's own operations (act); accounts are api.accounts, as for the CLI, since the
API has no account operations (people sign in to the pages, systems use tokens). A secret
(a token, a new password) is shown once, on the answer to the POST that made it: it never
travels in a cookie, and a form posted twice (a reload) is refused rather than run again.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, request, session
from flask_babel import gettext as _
from flask_login import current_user

from api import accounts
from api.errors import ApiError
from api.exports import table_response
from api.extensions import db
from api.models import JOB_STATUSES, ROLES, AccessLog, ApiToken, Enterprise, Job, User
from api.resources import admin as admin_api
from api.resources import jobs as jobs_api
from api.resources import models as models_api
from api.schemas import (
    AccessLogQuery,
    JobQuery,
    ModelQuery,
    PageQuery,
    PromoteIn,
    TokenIn,
    TrainIn,
)
from api.web.common import act, lang, page, parse, principal, read_form, render, see_other
from matcher import clock, labels
from matcher.places import gazetteer

bp = Blueprint("page_admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50
#: The most rows one access-log export holds (a year of a busy province is far less).
EXPORT_LIMIT = 100_000
VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")
#: The kinds of background job (api.jobs handlers), as a list of them is filtered.
JOB_KINDS = ("train", "import", "allocation", "planning_refresh")


def job_kind(kind: str) -> str:
    words = {
        "train": _("Model training"),
        "import": _("Large upload"),
        "allocation": _("Allocation round"),
        "planning_refresh": _("Planning refresh"),
    }
    return words.get(kind, kind)


def admin_page(*endpoints: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A page for admins only (page() also sends a visitor to sign in first). Some API
    operations a page uses are open to every role (a job); these pages are not."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def only_admins(*args: Any, **kwargs: Any) -> Any:
            if current_user.role != "admin":
                abort(403)
            return view(*args, **kwargs)

        return page("admin.list_tokens", *endpoints)(only_admins)

    return decorator


@bp.app_template_global()
def once_token() -> str:
    """A single-use token for a form whose POST shows a secret: a reload posts it again and
    is refused, so no second token or password is made behind the admin's back."""
    kept = session.get("admin_once", [])[-7:]
    value = secrets.token_urlsafe(16)
    session["admin_once"] = [*kept, value]
    return value


def _spend_once() -> bool:
    kept = session.get("admin_once", [])
    sent = request.form.get("once", "")
    if sent and sent in kept:
        session["admin_once"] = [v for v in kept if v != sent]
        return True
    return False


def _refused_twice(endpoint: str, **values: Any) -> Any:
    flash(_("This form was already sent (or is out of date): nothing was done again."), "warn")
    return see_other(endpoint, **values)


def _count(stmt: sa.Select) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0


@bp.get("")
@admin_page()
def index() -> Any:
    """The five sections, each with its count."""
    now = clock.now()
    live_tokens = sa.select(ApiToken.id).where(
        ApiToken.kind == "api",
        ApiToken.revoked_at.is_(None),
        sa.or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
    )
    models = act(models_api.list_models, query=ModelQuery(limit=200))
    counts = {
        "users": _count(sa.select(User.id).where(User.disabled_at.is_(None))),
        "disabled": _count(sa.select(User.id).where(User.disabled_at.is_not(None))),
        "tokens": _count(live_tokens),
        "models": len(models["items"]),
        "serving": models["serving"],
        "current": models["current_version"],
        "active_jobs": _count(sa.select(Job.id).where(Job.status.in_(("queued", "running")))),
        "failed_jobs": _count(sa.select(Job.id).where(Job.status == "failed")),
        "reads_30d": _count(
            sa.select(AccessLog.id).where(AccessLog.at >= now - dt.timedelta(days=30))
        ),
    }
    return render("web/admin/index.html", counts=counts)


# ---------------------------------------------------------------- choices shown in forms


def _enterprises() -> list[tuple[str, str]]:
    rows = db.session.execute(
        sa.select(Enterprise.external_id, Enterprise.name).order_by(Enterprise.name)
    )
    return [(external_id, name) for external_id, name in rows]


def _provinces() -> list[tuple[str, str]]:
    return [(p.code, p.name) for p in gazetteer().provinces()]


def _choices() -> dict[str, Any]:
    return {"roles": ROLES, "enterprises": _enterprises(), "provinces": _provinces()}


def _names(ids: set[int | None], model: Any, column: Any) -> dict[int, Any]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(db.session.execute(sa.select(model.id, column).where(model.id.in_(wanted))).all())


# ---------------------------------------------------------------- users


USER_STATES = ("active", "disabled", "all")


@bp.get("/users")
@admin_page()
def users() -> Any:
    """Accounts, by login or name, role and state; newest last, paged by id."""
    q = request.args.get("q", "").strip()[:100]
    role = request.args.get("role", "")
    state = request.args.get("state", "active")
    state = state if state in USER_STATES else "active"
    stmt = sa.select(User).order_by(User.id)
    if q:
        folded = accounts.normalise_login(q)
        stmt = stmt.where(
            sa.or_(
                User.login.contains(folded, autoescape=True),
                User.name.icontains(q, autoescape=True),
            )
        )
    if role in ROLES:
        stmt = stmt.where(User.role == role)
    if state == "active":
        stmt = stmt.where(User.disabled_at.is_(None))
    elif state == "disabled":
        stmt = stmt.where(User.disabled_at.is_not(None))
    cursor = request.args.get("cursor", "")
    if cursor.isdigit() and len(cursor) < 10:
        stmt = stmt.where(User.id > int(cursor))
    rows = db.session.scalars(stmt.limit(PAGE_SIZE + 1)).all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render(
        "web/admin/users.html",
        users=rows,
        q=q,
        role=role,
        state=state,
        states=USER_STATES,
        roles=ROLES,
        next_cursor=rows[-1].id if more else None,
        enterprise_names=_names({u.enterprise_id for u in rows}, Enterprise, Enterprise.name),
    )


def _user_form() -> dict[str, str]:
    return {
        name: request.form.get(name, "").strip()[:200]
        for name in ("login", "name", "role", "enterprise", "province_code")
    }


def _scope_of(
    values: dict[str, str], errors: dict[str, str]
) -> tuple[Enterprise | None, str | None]:
    """The enterprise (chosen by its external id) and province a form names."""
    enterprise = None
    if values.get("enterprise"):
        enterprise = db.session.scalar(
            sa.select(Enterprise).where(Enterprise.external_id == values["enterprise"])
        )
        if enterprise is None:
            errors["enterprise"] = "Không có doanh nghiệp này / unknown enterprise"
    return enterprise, values.get("province_code") or None


@bp.route("/users/new", methods=["GET", "POST"])
@admin_page()
def new_user() -> Any:
    values = {"role": "caseworker"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _user_form()
        if not _spend_once():
            return _refused_twice("page_admin.users")
        enterprise, province = _scope_of(values, errors)
        if not errors:
            password = accounts.random_password_for(values["login"])
            try:
                user = accounts.create_user(
                    values["login"],
                    values["name"],
                    values["role"],
                    password,
                    enterprise=enterprise,
                    province_code=province,
                )
            except accounts.AccountError as error:
                db.session.rollback()
                errors[getattr(error, "field", "form")] = str(error)
            else:
                db.session.commit()
                return render("web/admin/password.html", user=user, password=password, created=True)
    return render(
        "web/admin/user_form.html", 422 if errors else 200, values=values, errors=errors,
        **_choices(),
    )  # fmt: skip


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_page()
def user(user_id: int) -> Any:
    """One account: its details, and its role, enterprise, province and name to change."""
    person = _user(user_id)
    errors: dict[str, str] = {}
    values = {
        "name": person.name,
        "role": person.role,
        "enterprise": person.enterprise.external_id if person.enterprise else "",
        "province_code": person.province_code or "",
    }
    if request.method == "POST":
        values = _user_form()
        enterprise, province = _scope_of(values, errors)
        if not errors:
            try:
                changed = accounts.change_scope(
                    person,
                    role=values["role"],
                    enterprise=enterprise,
                    province_code=province,
                    name=values["name"],
                    admin_id=principal().user_id,
                )
            except accounts.AccountError as error:
                db.session.rollback()
                errors[getattr(error, "field", "form")] = str(error)
            else:
                db.session.commit()
                flash(_("Changes saved."), "ok")
                if changed:
                    flash(_("Their role or scope changed: they must sign in again."), "info")
                return see_other("page_admin.user", user_id=user_id)
    sessions = _count(
        sa.select(ApiToken.id).where(
            ApiToken.user_id == person.id,
            ApiToken.kind == "session",
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > clock.now(),
        )
    )
    return render(
        "web/admin/user.html",
        422 if errors else 200,
        person=person,
        values=values,
        errors=errors,
        sessions=sessions,
        me=person.id == principal().user_id,
        **_choices(),
    )


@bp.post("/users/<int:user_id>/password")
@admin_page()
def reset_password(user_id: int) -> Any:
    """A new random password, shown once; every session of the account ends (but the
    admin's own current one, when they reset their own)."""
    person = _user(user_id)
    if not _spend_once():
        return _refused_twice("page_admin.user", user_id=user_id)
    me = principal()
    password = accounts.reset_password(
        person, keep_session=me.token_id if person.id == me.user_id else None
    )
    db.session.commit()
    return render("web/admin/password.html", user=person, password=password, created=False)


@bp.post("/users/<int:user_id>/disable")
@admin_page()
def disable_user(user_id: int) -> Any:
    person = _user(user_id)
    try:
        accounts.disable_user_by(person, principal().user_id)
    except accounts.AccountError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("The account is disabled; its sessions and tokens have ended."), "ok")
    return see_other("page_admin.user", user_id=user_id)


@bp.post("/users/<int:user_id>/enable")
@admin_page()
def enable_user(user_id: int) -> Any:
    person = _user(user_id)
    accounts.enable_user(person)
    db.session.commit()
    flash(_("The account can sign in again."), "ok")
    return see_other("page_admin.user", user_id=user_id)


# ---------------------------------------------------------------- API tokens


@bp.get("/tokens")
@admin_page("admin.list_tokens")
def tokens() -> Any:
    query, _errors = parse(
        PageQuery, {"limit": PAGE_SIZE, "cursor": request.args.get("cursor") or None}
    )
    result = act(admin_api.list_tokens, query=query or PageQuery(limit=PAGE_SIZE))
    items = result["items"]
    return render(
        "web/admin/tokens.html",
        tokens=items,
        next_cursor=result["next_cursor"],
        now=clock.now(),
        enterprise_names=_names({t["enterprise_id"] for t in items}, Enterprise, Enterprise.name),
    )


TOKEN_FIELDS = {
    "role": "text",
    "enterprise_external_id": "text",
    "province_code": "text",
    "label": "text",
    "expires_in_days": "integer",
}


@bp.route("/tokens/new", methods=["GET", "POST"])
@admin_page("admin.create_api_token")
def new_token() -> Any:
    values: dict[str, Any] = {"role": "caseworker", "expires_in_days": 90}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = read_form(request.form, TOKEN_FIELDS)
        if not _spend_once():
            return _refused_twice("page_admin.tokens")
        body, errors = parse(TokenIn, values)
        if body is not None:
            try:
                created = act(admin_api.create_api_token, body=body)
            except ApiError as error:
                db.session.rollback()
                errors = {item["field"]: error.detail for item in error.errors or []}
                errors = errors or {"form": error.detail}
            else:
                return render(
                    "web/admin/token_created.html",
                    token=created,
                    enterprise_name=body.enterprise_external_id
                    and dict(_enterprises()).get(body.enterprise_external_id),
                )
    return render(
        "web/admin/token_form.html", 422 if errors else 200, values=values, errors=errors,
        **_choices(),
    )  # fmt: skip


def _token(token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.kind != "api":  # sessions are the accounts' own
        abort(404)
    return token


@bp.route("/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@admin_page("admin.revoke_token")
def revoke_token(token_id: int) -> Any:
    """Revoking asks first: a system using the token stops working at once."""
    token = _token(token_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            errors["confirm"] = _("Tick the box to confirm.")
        else:
            act(admin_api.revoke_token, token_id=token_id)
            flash(_("Token %(prefix)s… is revoked.", prefix=token.prefix), "ok")
            return see_other("page_admin.tokens")
    return render(
        "web/admin/token_revoke.html",
        422 if errors else 200,
        token=admin_api.token_out(token),
        errors=errors,
        enterprise_name=token.enterprise.name if token.enterprise else None,
    )


# ---------------------------------------------------------------- models


@bp.get("/models")
@admin_page("models.list_models")
def models() -> Any:
    result = act(models_api.list_models, query=ModelQuery(limit=200))
    return render("web/admin/models.html", result=result, errors={})


@bp.post("/models/train")
@admin_page("models.train_model")
def train() -> Any:
    """Queue training; the job's page follows it. "never" stores the version without
    promoting it, for an admin to promote with a reason."""
    promote = "never" if request.form.get("promote") == "never" else "gate"
    accepted = act(models_api.train_model, body=TrainIn(promote=promote))
    flash(_("Training is queued."), "ok")
    return see_other("page_admin.job", job_id=accepted.get_json()["id"])


def _version(version: str) -> dict[str, Any]:
    if not VERSION.fullmatch(version):
        abort(404)
    for item in act(models_api.list_models, query=ModelQuery(limit=200))["items"]:
        if item["version"] == version:
            return item
    abort(404)


@bp.route("/models/<version>", methods=["GET", "POST"])
@admin_page("models.list_models", "models.promote_model")
def model(version: str) -> Any:
    """One version: metrics, the gates' verdicts and reasons, its promotions; promote it
    with a reason."""
    item = _version(version)
    errors: dict[str, str] = {}
    reason = ""
    if request.method == "POST":
        reason = request.form.get("reason", "").strip()[:1000]
        body, errors = parse(PromoteIn, {"reason": reason})
        if body is not None:
            try:
                act(models_api.promote_model, version=version, body=body)
            except ApiError as error:
                errors = {"reason": error.detail}
            else:
                flash(_("Version %(v)s now serves.", v=version), "ok")
                return see_other("page_admin.model", version=version)
    people = _names({p.get("user_id") for p in item.get("promotions") or []}, User, User.name)
    return render(
        "web/admin/model.html",
        422 if errors else 200,
        model=item,
        errors=errors,
        reason=reason,
        people=people,
    )


# ---------------------------------------------------------------- jobs


def _askers(rows: list[Any]) -> dict[int, str]:
    """Who asked for each job: the person behind its token, else the token's label."""
    token_ids = {r.token_id for r in rows if r.token_id}
    if not token_ids:
        return {}
    found = db.session.execute(
        sa.select(ApiToken.id, ApiToken.label, ApiToken.prefix, User.name, User.login)
        .outerjoin(User, User.id == ApiToken.user_id)
        .where(ApiToken.id.in_(token_ids))
    )
    return {
        tid: f"{name} ({login})" if name else (label or f"{prefix}…")
        for tid, label, prefix, name, login in found
    }


@bp.get("/jobs")
@admin_page("jobs.list_jobs")
def jobs() -> Any:
    """Background jobs, newest first."""
    kind = request.args.get("kind", "")
    status = request.args.get("status", "")
    query, _errors = parse(
        JobQuery,
        {
            "kind": kind if kind in JOB_KINDS else None,
            "status": status if status in JOB_STATUSES else None,
            "limit": PAGE_SIZE,
            "cursor": request.args.get("cursor") or None,
            "order": "newest",
        },
    )
    result = act(jobs_api.list_jobs, query=query or JobQuery(limit=PAGE_SIZE, order="newest"))
    ids = [item["id"] for item in result["items"]]
    rows = db.session.scalars(sa.select(Job).where(Job.id.in_(ids))).all() if ids else []
    askers = _askers(rows)
    asked_by = {r.id: askers.get(r.token_id) for r in rows}
    return render(
        "web/admin/jobs.html",
        items=result["items"],
        next_cursor=result["next_cursor"],
        asked_by=asked_by,
        kind=kind,
        chosen_status=status,
        kinds=JOB_KINDS,
        statuses=JOB_STATUSES,
        job_kind=job_kind,
    )


@bp.get("/jobs/<int:job_id>")
@admin_page("jobs.get_job")
def job(job_id: int) -> Any:
    """One job; htmx asks again every 2 s while it runs (without scripts: a refresh link)."""
    item = act(jobs_api.get_job, job_id=job_id)
    row = db.session.get(Job, job_id)
    partial = bool(request.headers.get("HX-Request"))
    return render(
        "web/admin/_job.html" if partial else "web/admin/job.html",
        job=item,
        asked_by=_askers([row]).get(row.token_id) if row else None,
        job_kind=job_kind,
    )


@bp.post("/jobs/<int:job_id>/cancel")
@admin_page("jobs.cancel_job")
def cancel_job(job_id: int) -> Any:
    try:
        act(jobs_api.cancel_job, job_id=job_id)
    except ApiError as error:
        db.session.rollback()
        flash(error.detail, "error")
    else:
        flash(_("The job is cancelled."), "ok")
    return see_other("page_admin.job", job_id=job_id)


# ---------------------------------------------------------------- the access log


#: Which box of the filter form an API query field comes from (to name it in an error).
FILTER_FIELDS = {
    "user_id": "user",
    "worker_id": "worker",
    "worker_external_id": "worker",
    "since": "from",
    "until": "to",
}
#: The export's columns, Vietnamese first (what a data-protection officer reads).
LOG_HEADER_VI = (
    "Ngày",
    "Giờ (giờ Việt Nam)",
    "Người đọc",
    "Tên đăng nhập",
    "Vai trò",
    "Mã người lao động (số)",
    "Thao tác",
    "Đường dẫn",
    "Mã truy cập (số)",
)
LOG_HEADER_EN = (
    "Day",
    "Time (Vietnam)",
    "Reader",
    "Login",
    "Role",
    "Worker number",
    "Action",
    "Path",
    "Token number",
)


def _day(text: str) -> dt.date | None:
    """A day typed as the date box sends it (2026-12-03) or as people write it (03/12/2026)."""
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


def _log_filters() -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The access-log filters as the form shows them, as the API's query, and their errors.

    Days are Vietnamese days: "from 01/12" starts at 00:00 in Vietnam, "to 03/12" includes
    the whole of the 3rd."""
    shown = {
        name: request.args.get(name, "").strip()[:100] for name in ("user", "worker", "from", "to")
    }
    query: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if shown["user"]:
        if shown["user"].isdigit() and len(shown["user"]) < 10:
            query["user_id"] = int(shown["user"])
        else:
            errors["user"] = _("Choose a person from the list.")
    worker = shown["worker"].removeprefix("#")
    if worker:
        if worker.isdigit() and len(worker) < 10:
            query["worker_id"] = int(worker)
        else:
            query["worker_external_id"] = worker
    for name, key, shift in (("from", "since", 0), ("to", "until", 1)):
        if not shown[name]:
            continue
        try:
            day = _day(shown[name])
        except ValueError:
            errors[name] = _("Write the day as dd/mm/yyyy.")
            continue
        start = dt.datetime.combine(day + dt.timedelta(days=shift), dt.time()) - clock.VIETNAM
        query[key] = start.replace(tzinfo=dt.UTC)
    if "since" in query and "until" in query and query["since"] >= query["until"]:
        errors["to"] = _("The last day comes before the first.")
    return shown, query, errors


@bp.get("/access-log")
@admin_page("admin.list_access_log")
def access_log() -> Any:
    """Who read which worker's personal data, when: by person, worker and days."""
    shown, filters, errors = _log_filters()
    items: list[dict[str, Any]] = []
    next_cursor = None
    if not errors:
        query, errors = parse(
            AccessLogQuery,
            {
                **filters,
                "limit": PAGE_SIZE,
                "cursor": request.args.get("cursor") or None,
                "order": "newest",
            },
        )
        errors = {FILTER_FIELDS.get(k, "form"): v for k, v in errors.items()}
        if query is not None:
            result = act(admin_api.list_access_log, query=query)
            items, next_cursor = result["items"], result["next_cursor"]
    people = db.session.execute(sa.select(User.id, User.name, User.login).order_by(User.name))
    return render(
        "web/admin/access_log.html",
        422 if errors else 200,
        items=items,
        next_cursor=next_cursor,
        shown=shown,
        errors=errors,
        people=list(people),
    )


@bp.get("/access-log/export")
@admin_page("admin.list_access_log")
def access_log_export() -> Any:
    """The filtered log as CSV or .xlsx, through the one formula-safe writer."""
    fmt = "xlsx" if request.args.get("format") == "xlsx" else "csv"
    _shown, filters, errors = _log_filters()
    if errors:
        abort(422, next(iter(errors.values())))
    rows: list[list[Any]] = []
    cursor = None
    while len(rows) < EXPORT_LIMIT:
        query, errors = parse(AccessLogQuery, {**filters, "limit": 200, "cursor": cursor})
        if query is None:
            abort(422, next(iter(errors.values())))
        result = act(admin_api.list_access_log, query=query)
        for item in result["items"]:
            local = item["at"].replace(tzinfo=None) + clock.VIETNAM
            rows.append(
                [
                    local.date(),
                    local.strftime("%H:%M:%S"),
                    item["user_name"],
                    item["user_login"],
                    labels.label("role", item["role"], lang()),
                    item["worker_id"],
                    item["action"],
                    item["endpoint"],
                    item["token_id"],
                ]
            )
        cursor = result["next_cursor"]
        if cursor is None:
            break
    header = LOG_HEADER_VI if lang() == "vi" else LOG_HEADER_EN
    name = f"nhat-ky-truy-cap-{clock.today():%Y%m%d}"
    return table_response(header, rows, name, fmt)
