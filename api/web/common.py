"""What every page shares: sign-in, language, CSRF, formats, and acting through the API.

The one rule of the pages: they act through :func:`act`, which runs an API operation's own
function with the signed-in user's principal after checking that operation's roles. A page
therefore cannot show or change more than the same person could through the API.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from flask_compress import Compress
from flask_login import LoginManager, UserMixin, current_user
from flask_wtf.csrf import CSRFProtect
from pydantic import BaseModel, ValidationError

from api import accounts
from api.auth import Principal
from api.errors import ApiError
from api.i18n import field_message
from api.openapi import MAX_ID, REGISTRY
from matcher import labels

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
compress = Compress()

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
#: A versioned static URL (?v=<content hash>) may be cached for a year: a new file is a new URL.
STATIC_MAX_AGE = 365 * 24 * 3600


class SignedIn(UserMixin):
    """The signed-in person as Flask-Login sees them: a user and their session's principal."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.id = principal.user_id

    @property
    def role(self) -> str:
        return self.principal.role

    @property
    def name(self) -> str:
        return self.principal.name or ""


def select_locale() -> str:
    """The language a visitor chose (its cookie), else Vietnamese: never the browser's guess,
    because a caseworker's phone may be set to English while its user reads Vietnamese."""
    chosen = request.cookies.get("lang")
    return chosen if chosen in current_app.config["LANGUAGES"] else "vi"


def lang() -> str:
    return str(get_locale() or "vi")


@login_manager.user_loader
def _load(user_id: str) -> SignedIn | None:
    sid = session.get("sid")
    if not isinstance(sid, int):
        return None
    principal = accounts.session_principal(sid)
    if principal is None or str(principal.user_id) != user_id:
        return None
    g.principal = principal
    return SignedIn(principal)


class _SessionCookies(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the page was served over HTTPS (behind a proxy,
    with ProxyFix), so it never travels in clear text there; the embedded http://127.0.0.1
    install still signs in."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def init_extensions(app: Flask) -> None:
    from api.web import filters

    app.session_interface = _SessionCookies()
    login_manager.init_app(app)
    login_manager.login_view = "account.login"
    login_manager.login_message = None  # the sign-in page says why on its own
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    compress.init_app(app)
    filters.register(app)
    app.after_request(_cache_versioned_static)
    app.before_request(_ids_in_range)
    app.jinja_env.globals.update(static_url=static_url, nav_items=nav_items, lang=lang, may=may)


def exempt_api(app: Flask) -> None:
    """API blueprints authenticate with bearer tokens (never cookies), so they need no CSRF
    token; every page form does."""
    for name, blueprint in app.blueprints.items():
        if (blueprint.url_prefix or "").startswith("/api/") or name in ("pages", "docs"):
            csrf.exempt(blueprint)


def _ids_in_range() -> None:
    """A record id beyond what the database can hold names nothing: 404, as the API says."""
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and not 1 <= value <= MAX_ID:
            abort(404)


def _cache_versioned_static(response: Any) -> Any:
    """A static file asked for by its content hash (static_url) never changes under that URL:
    a year, immutable. Without the hash it is revalidated (Flask's ETag)."""
    if request.endpoint == "static" and request.args.get("v") and response.status_code == 200:
        response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE}, immutable"
    return response


@functools.cache
def _digest(filename: str) -> str:
    return hashlib.sha256((STATIC_DIR / filename).read_bytes()).hexdigest()[:12]


def static_url(filename: str) -> str:
    """A static file's URL with its content hash, so it can be cached for a year."""
    return url_for("static", filename=filename, v=_digest(filename))


def principal() -> Principal:
    """The signed-in user's principal; also what the API's functions read (g.principal)."""
    g.principal = current_user.principal
    return g.principal


def operation_roles(endpoint: str) -> tuple[str, ...]:
    for op in REGISTRY:
        if op.endpoint == endpoint:
            return op.roles
    raise KeyError(endpoint)


def may(endpoint: str) -> bool:
    """Whether the signed-in user may call this API operation (for links and buttons)."""
    return current_user.is_authenticated and current_user.role in operation_roles(endpoint)


def page(*endpoints: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A page for the signed-in users whose role may call all these API operations.

    No endpoint: any signed-in user. A visitor not signed in goes to the sign-in page and
    comes back; a signed-in user of another role gets the 403 page.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            principal()
            for endpoint in endpoints:
                if current_user.role not in operation_roles(endpoint):
                    abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def act(view: Callable[..., Any], **kwargs: Any) -> Any:
    """Run an API operation's function as the signed-in user: its roles are checked here,
    its scopes, validation and access logging inside it, exactly as over HTTP."""
    endpoint = f"{view.__module__.rsplit('.', 1)[-1]}.{view.__name__}"
    if current_user.role not in operation_roles(endpoint):
        abort(403)
    principal()
    return view.__wrapped__(**kwargs)


def parse(model: type[BaseModel], data: dict[str, Any]) -> tuple[BaseModel | None, dict]:
    """Validate a form's fields with the API's own model; errors by field, in both languages."""
    try:
        return model.model_validate(data), {}
    except ValidationError as error:
        errors: dict[str, str] = {}
        for item in error.errors(include_url=False):
            field = str(item["loc"][0]) if item["loc"] else "form"
            errors.setdefault(field, field_message(item))
        return None, errors


def api_errors(error: ApiError) -> dict[str, str]:
    """An API refusal as form errors by field (the whole message when no field is named)."""
    errors: dict[str, str] = {}
    for item in error.errors or []:
        errors.setdefault(item["field"], item["message"])
    if not errors:
        errors["form"] = error.detail
    return errors


def split_message(text: str) -> str:
    """The half of a bilingual 'vi / en' message in the page's language."""
    pick = 0 if lang() == "vi" else 1
    parts = []
    for part in text.split("; "):
        halves = part.split(" / ", 1)
        parts.append(halves[pick] if len(halves) == 2 else part)
    return "; ".join(parts)


def safe_next(target: str | None, default: str) -> str:
    """A same-site path to go back to after sign-in or a language switch; never another host."""
    if not target:
        return default
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target  # browsers read a backslash as a slash: "//host"
        or any(ord(ch) < 32 for ch in target)
    ):
        return default
    return target


def trade_choices() -> list[tuple[str, str]]:
    """Every trade as (code, word in the page's language), for a select."""
    from matcher.taxonomy import load_taxonomy

    pick = lang() == "vi"
    return [(t.code, t.label_vi if pick else t.label_en) for t in load_taxonomy().trades()]


def nav_items() -> list[tuple[str, str]]:
    """The menu of the signed-in user's role: only what they may open."""
    if not current_user.is_authenticated:
        return []
    items = [(url_for("account.home"), _("Home"))]
    if may("workers.list_workers") and current_user.role != "enterprise":
        items.append((url_for("page_workers.search"), _("Workers")))
    if may("commitments.list_commitments") and may("referrals.list_referrals"):
        items.append((url_for("page_commitments.index"), _("Hiring commitments")))
    if may("imports.import_file"):
        items.append((url_for("uploads.index"), _("Upload a list")))
    if may("planning.get_forecasts"):
        items.append((url_for("page_planning.overview"), _("Planning")))
    elif may("allocations.create_allocation"):
        items.append((url_for("page_rounds.index"), _("Allocation rounds")))
    if current_user.role == "admin":
        items.append((url_for("page_admin.index"), _("Administration")))
    return items


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), status


def see_other(endpoint: str, **values: Any) -> Any:
    """303 after a successful POST, so a reload never posts twice."""
    return redirect(url_for(endpoint, **values), code=303)


def read_form(form: Any, fields: dict[str, str], *, free_skills: str | None = None) -> dict:
    """A form's fields as the API's JSON would carry them; an empty field is not given.

    ``fields`` names each field's kind: "list" (checkboxes), "yes_no", "money" (7.200.000),
    "integer", "number" (a comma or a dot), or "text". A value that does not read as its kind
    is passed on as typed, for the API's validation to name. The field ``free_skills`` also
    takes the free text of "skills_text" (;-separated), which the import rules normalise.
    """
    values: dict[str, Any] = {}
    for name, kind in fields.items():
        if kind == "list":
            chosen = [v for v in form.getlist(name) if v]
            if name == free_skills:
                chosen += [t.strip() for t in form.get("skills_text", "").split(";") if t.strip()]
            if chosen:
                values[name] = chosen
            continue
        raw = form.get(name, "").strip()[:2000]
        if raw:
            values[name] = _typed(raw, kind)
    return values


def _typed(raw: str, kind: str) -> Any:
    if kind == "yes_no":
        return raw == "yes"
    if kind == "money":
        digits = raw.replace(".", "").replace(",", "").replace(" ", "").removesuffix("₫")
        return int(digits) if digits.isdigit() else raw
    if kind == "integer":
        return int(raw) if raw.isdigit() else raw
    if kind == "number":
        try:
            return float(raw.replace(",", "."))
        except ValueError:
            return raw
    return raw


def place_patch(patch: dict[str, Any], stored: dict[str, Any]) -> None:
    """Which place fields an edit sends. The form shows the stored ward code beside the
    address; a changed address with the ward code left as it was is a move (the address is
    resolved again), a changed code wins, and nothing changed sends nothing."""
    ward, address = patch.get("ward_code"), patch.get("address")
    if not ward and not address or ward == stored["ward_code"] and address == stored["address"]:
        patch.pop("ward_code", None), patch.pop("address", None)
    elif ward == stored["ward_code"] and address:
        patch.pop("ward_code")  # a new address alone replaces the whole place


def flash_skill_notes(notes: list[dict[str, Any]]) -> None:
    """Say what each free-text skill became, as an import report does."""
    language = lang()
    for note in notes:
        if note.get("code"):
            target = labels.label("skill", note["code"], language)
            flash(
                _("Skill “%(text)s” was read as “%(skill)s”.", text=note["text"], skill=target),
                "info",
            )
        else:
            flash(
                _("Skill “%(text)s” was not recognised; it is kept as a note.", text=note["text"]),
                "warn",
            )


def pending_first(referrals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Referrals waiting for an answer first (they are what needs doing), newest first."""
    return sorted(referrals, key=lambda r: (r["status"] != "pending", -r["id"]))
