"""Sign in, sign out, change password, choose a language, and each role's home page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from api import accounts
from api.extensions import client_address, db, limiter
from api.models import Commitment, User
from api.queries import scoped
from api.web.common import SignedIn, lang, page, principal, render, safe_next, see_other

bp = Blueprint("account", __name__)


def _login_key() -> str:
    return "login:" + accounts.normalise_login(request.form.get("login", ""))[:64]


def _failed(response: Any) -> bool:
    """Only failed sign-ins count towards the limits: an office sharing one address, where
    everyone signs in at eight, is never locked out by its own successes."""
    return response.status_code != 303


def _login_limit() -> str:
    return current_app.config["LOGIN_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=client_address, methods=["POST"], deduct_when=_failed)
@limiter.limit(_login_limit, key_func=_login_key, methods=["POST"], deduct_when=_failed)
def login() -> Any:
    target = safe_next(request.values.get("next"), url_for("account.home"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(target)
    error = None
    login_text = request.form.get("login", "")
    if request.method == "POST":
        user = accounts.verify(login_text, request.form.get("password", ""))
        if user is None:
            current_app.logger.warning(
                "failed sign-in for %r from %s", login_text[:64], client_address()
            )
            error = _("Wrong login or password, or the account is disabled.")
        else:
            token = accounts.open_session(user)
            db.session.commit()
            session.clear()
            session["sid"] = token.id
            login_user(_signed_in(token.id))
            return redirect(target, code=303)
    return render(
        "web/login.html", 401 if error else 200, error=error, login=login_text, next=target
    )


def _signed_in(token_id: int) -> SignedIn:
    found = accounts.session_principal(token_id)
    assert found is not None  # just opened
    return SignedIn(found)


@bp.post("/logout")
def logout() -> Any:
    sid = session.get("sid")
    if isinstance(sid, int):
        accounts.close_session(sid)
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "ok")
    return see_other("account.login")


@bp.route("/account/password", methods=["GET", "POST"])
@page()
def password() -> Any:
    user = db.session.get(User, principal().user_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        new, again = request.form.get("new", ""), request.form.get("again", "")
        if new != again:
            errors["again"] = _("The two new passwords differ.")
        else:
            try:
                accounts.change_password(
                    user, request.form.get("current", ""), new, keep_session=principal().token_id
                )
            except accounts.AccountError as error:
                errors["form"] = str(error)
        if not errors:
            db.session.commit()
            flash(_("Your password is changed."), "ok")
            return see_other("account.home")
        db.session.rollback()
    return render("web/password.html", 422 if errors else 200, errors=errors, user=user)


@bp.get("/lang/<code>")
def language(code: str) -> Any:
    """Switch the pages' language; a cookie, so the choice outlives the session."""
    if code not in current_app.config["LANGUAGES"]:
        code = "vi"
    response = redirect(safe_next(request.args.get("next"), url_for("account.home")))
    response.set_cookie(
        "lang",
        code,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        httponly=True,
        secure=request.is_secure,
    )
    return response


@bp.get("/")
def home() -> Any:
    """Each role's starting point; a visitor not signed in sees what Cầu Nối is, and signs in."""
    if not current_user.is_authenticated:
        return render("web/welcome.html")
    role = current_user.role
    context: dict[str, Any] = {"role": role}
    if role in ("enterprise", "caseworker", "admin"):
        stmt = scoped(Commitment, principal())
        context["commitments"] = db.session.scalar(
            sa.select(sa.func.count()).select_from(stmt.subquery())
        )
    return render("web/home.html", **context, language=lang())
