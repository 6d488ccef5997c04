"""Caseworkers' pages: find, register and edit workers, their consent, matches, referrals,
outcomes and enrolments. Every read and write goes through the API's operations (act)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _

from api.errors import ApiError
from api.extensions import db
from api.models import Commitment, Consent, Course, Enterprise
from api.queries import employed_worker_ids
from api.registry import ConsentTaken
from api.resources import courses as course_api
from api.resources import enrollments as enrollment_api
from api.resources import matching as matching_api
from api.resources import referrals as referral_api
from api.resources import workers as worker_api
from api.schemas import (
    CourseQuery,
    EnrollmentIn,
    EnrollmentQuery,
    MatchQuery,
    PathwayQuery,
    ReferralIn,
    ReferralPatch,
    ReferralQuery,
    WorkerIn,
    WorkerPatch,
    WorkerQuery,
)
from api.web.common import (
    act,
    api_errors,
    flash_skill_notes,
    lang,
    page,
    parse,
    pending_first,
    place_patch,
    read_form,
    render,
    safe_next,
    see_other,
    split_message,
)
from matcher import clock, labels
from matcher import consent as consent_rules
from matcher.places import gazetteer, haversine_km
from matcher.taxonomy import load_taxonomy

bp = Blueprint("page_workers", __name__)

PAGE_SIZE = 20
#: The worker form's fields and how each reads (api.web.common.read_form).
FIELDS = {
    "full_name": "text",
    "birth_year": "integer",
    "gender": "text",
    "ethnic_minority": "yes_no",
    "disability": "yes_no",
    "phone": "text",
    "address": "text",
    "ward_code": "text",
    "education": "text",
    "trades": "list",
    "skills": "list",
    "experience_years": "number",
    "expected_wage_vnd": "money",
    "max_commute_km": "number",
    "available_from": "text",
}
LIST_FIELDS = ("trades", "skills")


@bp.get("/workers")
@page("workers.list_workers", "workers.create_worker")
def search() -> Any:
    """One box: a name, a phone or a commune, with or without diacritics."""
    q = request.args.get("q", "").strip()[:100]
    items: list[dict[str, Any]] = []
    cursor = None
    if q:
        query, _errors = parse(
            WorkerQuery, {"q": q, "limit": PAGE_SIZE, "cursor": request.args.get("cursor") or None}
        )
        if query is None:  # a damaged "more results" link: start again from the first page
            query = WorkerQuery(q=q, limit=PAGE_SIZE)
        result = act(worker_api.list_workers, query=query)
        items, cursor = result["items"], result["next_cursor"]
    template = "web/workers/_results.html" if request.headers.get("HX-Request") else None
    return render(template or "web/workers/search.html", q=q, items=items, cursor=cursor)


def _form_values(form: Any) -> dict[str, Any]:
    return read_form(form, FIELDS, free_skills="skills")


def _choices() -> dict[str, Any]:
    taxonomy = load_taxonomy()
    language = lang()
    return {
        "trades": [
            (t.code, t.label_vi if language == "vi" else t.label_en) for t in taxonomy.trades()
        ],
        "skills_by_trade": [
            (
                t.label_vi if language == "vi" else t.label_en,
                [
                    (s.code, s.label_vi if language == "vi" else s.label_en)
                    for s in taxonomy.skills(t.code)
                    if t.code in s.trades
                ],
            )
            for t in taxonomy.trades()
        ],
        "education": list(labels.table("education").items()),
        "gender": list(labels.GENDER.items()),
        "consent_methods": [(m, consent_rules.METHODS[m]) for m in consent_rules.FORM_METHODS],
    }


def _new_external_id() -> str:
    """Workers registered on a page get an id of their own: WEB-<date>-<random>."""
    return f"WEB-{clock.today():%Y%m%d}-{secrets.token_hex(3).upper()}"


@bp.route("/workers/new", methods=["GET", "POST"])
@page("workers.create_worker")
def new() -> Any:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    shown: dict[str, Any] = {}  # what the form shows again: free text stays in its own box
    consent = {"given": False, "method": "paper", "on": clock.today().isoformat()}
    if request.method == "POST":
        values = _form_values(request.form)
        shown = {**values, "skills": request.form.getlist("skills")}
        consent = {
            "given": request.form.get("consent_given") == "yes",
            "method": request.form.get("consent_method", ""),
            "on": request.form.get("consent_on", ""),
        }
        taken = _consent_taken(consent, errors)
        body, field_errors = parse(WorkerIn, {"external_id": _new_external_id(), **values})
        errors.update(field_errors)
        if body is not None and not errors:
            try:
                created = act(worker_api.create_worker, body=body, consent=taken)
            except ApiError as error:
                errors.update(api_errors(error))
            else:
                flash_skill_notes(created.get("skill_notes", []))
                flash(_("The worker is registered, with their consent."), "ok")
                return see_other("page_workers.show", worker_id=created["id"])
    return render(
        "web/workers/form.html",
        422 if errors else 200,
        values=shown,
        skills_text=request.form.get("skills_text", ""),
        errors=errors,
        consent=consent,
        consent_text=consent_rules.CURRENT,
        creating=True,
        **_choices(),
    )


def _consent_taken(consent: dict[str, Any], errors: dict[str, str]) -> ConsentTaken | None:
    """Registration needs the worker's consent: personal data are not stored without it."""
    if not consent["given"]:
        errors["consent_given"] = _(
            "Personal data can be registered only with the worker's consent."
        )
        return None
    if consent["method"] not in consent_rules.FORM_METHODS:
        errors["consent_method"] = _("Choose how the consent was given.")
        return None
    try:
        on = dt.date.fromisoformat(consent["on"])
    except ValueError:
        errors["consent_on"] = _("Give the date of the consent.")
        return None
    if on > clock.today() or on < clock.today() - dt.timedelta(days=365):
        errors["consent_on"] = _("The consent date must be within the last year, not later.")
        return None
    return ConsentTaken(method=consent["method"], given_on=on)


@bp.get("/workers/<int:worker_id>")
@page("workers.get_worker", "enrollments.list_enrollments")
def show(worker_id: int) -> Any:
    worker = act(worker_api.get_worker, worker_id=worker_id)
    enrolments = referrals = []
    if not worker["erased"]:
        enrolments = act(
            enrollment_api.list_enrollments, query=EnrollmentQuery(worker_id=worker_id, limit=100)
        )["items"]
    referrals = pending_first(
        act(referral_api.list_referrals, query=ReferralQuery(worker_id=worker_id, limit=100))[
            "items"
        ]
    )
    consents = db.session.scalars(
        sa.select(Consent).where(Consent.worker_id == worker_id).order_by(Consent.id)
    ).all()
    return render(
        "web/workers/show.html",
        worker=worker,
        enrolments=enrolments,
        referrals=referrals,
        consents=consents,
        consent_methods=consent_rules.METHODS,
        purposes=consent_rules.PURPOSES,
        commitment_names=_commitment_names([r["commitment_id"] for r in referrals]),
        course_names=_course_names([e["course_id"] for e in enrolments]),
    )


def _commitment_names(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Commitment.id, Enterprise.name, Commitment.trade)
        .join(Enterprise, Enterprise.id == Commitment.enterprise_id)
        .where(Commitment.id.in_(ids))
    )
    return {cid: f"{name} · {labels.label('trade', trade, lang())}" for cid, name, trade in rows}


def _course_names(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Course.id, Course.name, Course.provider).where(Course.id.in_(ids))
    )
    return {cid: f"{name} — {provider}" for cid, name, provider in rows}


@bp.route("/workers/<int:worker_id>/edit", methods=["GET", "POST"])
@page("workers.update_worker")
def edit(worker_id: int) -> Any:
    worker = act(worker_api.get_worker, worker_id=worker_id)
    if worker["erased"]:
        abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _form_values(request.form)
        # A field emptied on the form is removed from the record (JSON null), except the
        # place: an empty address with a ward code keeps the ward.
        patch = {name: values.get(name) for name in FIELDS}
        for name in LIST_FIELDS:
            patch[name] = values.get(name, [])
        place_patch(patch, worker)
        for required in ("full_name", "birth_year"):
            if patch.get(required) is None:
                errors[required] = _("Required.")
        body, field_errors = parse(
            WorkerPatch,
            {
                k: v
                for k, v in patch.items()
                if not (v is None and k in ("full_name", "birth_year"))
            },
        )
        errors.update(field_errors)
        if body is not None and not errors:
            try:
                updated = act(worker_api.update_worker, worker_id=worker_id, body=body)
            except ApiError as error:
                errors.update(api_errors(error))
            else:
                flash_skill_notes(updated.get("skill_notes", []))
                flash(_("Changes saved."), "ok")
                return see_other("page_workers.show", worker_id=worker_id)
        worker_values = {**values, "skills": request.form.getlist("skills")}
    else:
        worker_values = {name: worker.get(name) for name in FIELDS}
        worker_values["skills"] = worker.get("skills") or []
    return render(
        "web/workers/form.html",
        422 if errors else 200,
        values=worker_values,
        skills_text=request.form.get("skills_text", ""),
        errors=errors,
        worker=worker,
        creating=False,
        **_choices(),
    )


@bp.route("/workers/<int:worker_id>/consent/withdraw", methods=["GET", "POST"])
@page("workers.erase_worker_data")
def withdraw(worker_id: int) -> Any:
    """Withdrawing consent erases the personal data (Law 91/2025); asked once more first."""
    worker = act(worker_api.get_worker, worker_id=worker_id)
    if worker["erased"]:
        abort(404)
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            errors = {"confirm": _("Tick the box to confirm the worker withdrew consent.")}
            return render("web/workers/withdraw.html", 422, worker=worker, errors=errors)
        act(worker_api.erase_worker_data, worker_id=worker_id)
        flash(_("Consent withdrawn; the worker's personal data are erased."), "ok")
        return see_other("page_workers.show", worker_id=worker_id)
    return render("web/workers/withdraw.html", worker=worker, errors={})


@bp.get("/workers/<int:worker_id>/matches")
@page("matching.get_worker_matches")
def matches(worker_id: int) -> Any:
    worker = act(worker_api.get_worker, worker_id=worker_id)
    if worker["erased"]:
        abort(404)
    query, errors = parse(
        MatchQuery,
        {k: v for k, v in request.args.items() if k in ("limit", "cursor", "trade") and v},
    )
    if query is None:
        query = MatchQuery()
    result = act(matching_api.get_worker_matches, worker_id=worker_id, query=query)
    employed = bool(employed_worker_ids([worker_id], clock.today()))
    pathways = act(
        matching_api.get_worker_pathways, worker_id=worker_id, query=PathwayQuery(limit=5)
    )
    return render(
        "web/workers/matches.html",
        worker=worker,
        result=result,
        pathways=pathways,
        errors=errors,
        employed=employed,
        trades=list(labels.table("trade").items()),
        trade=request.args.get("trade", ""),
    )


@bp.post("/workers/<int:worker_id>/referrals")
@page("referrals.create_referral")
def refer(worker_id: int) -> Any:
    """Refer from a match: the score, scorer, model version and reasons the caseworker saw
    are stored with the referral, as over the API."""
    form = request.form
    try:
        reasons = json.loads(form.get("reasons") or "[]")
    except ValueError:
        reasons = None
    if not isinstance(reasons, list) or not all(isinstance(r, dict) for r in reasons):
        flash(_("The referral could not be read: %(why)s", why="reasons"), "error")
        return see_other("page_workers.matches", worker_id=worker_id)
    data = {
        "worker_id": worker_id,
        "commitment_id": form.get("commitment_id"),
        "score": form.get("score") or None,
        "scorer": form.get("scorer") or None,
        "model_version": form.get("model_version") or None,
        "reasons": [
            {k: r.get(k) for k in ("code", "vi", "en", "effect") if r.get(k) is not None}
            for r in reasons
        ][:10]
        or None,
        "note": form.get("note") or None,
    }
    body, errors = parse(ReferralIn, data)
    if body is None:
        why = "; ".join(split_message(e) for e in errors.values())
        flash(_("The referral could not be read: %(why)s", why=why), "error")
        return see_other("page_workers.matches", worker_id=worker_id)
    try:
        act(referral_api.create_referral, body=body)
    except ApiError as error:
        flash(_("Not referred: %(why)s", why=split_message(error.detail)), "error")
        return see_other("page_workers.matches", worker_id=worker_id)
    flash(_("Referred. Record the outcome on the worker's page when the enterprise answers."), "ok")
    back = url_for("page_workers.show", worker_id=worker_id)
    return redirect(safe_next(form.get("back"), back), 303)


@bp.post("/referrals/<int:referral_id>/outcome")
@page("referrals.update_referral")
def outcome(referral_id: int) -> Any:
    """Record an outcome (caseworkers on the worker's page, enterprises on their commitment)."""
    status = request.form.get("status", "")
    back = request.form.get("back", "")
    body, errors = parse(
        ReferralPatch, {"status": status, "note": request.form.get("note") or None}
    )
    if body is None:
        flash(_("Choose an outcome."), "error")
    else:
        try:
            act(referral_api.update_referral, referral_id=referral_id, body=body)
        except ApiError as error:
            if error.status == 404:
                raise
            flash(_("Not recorded: %(why)s", why=split_message(error.detail)), "error")
        else:
            flash(
                _(
                    "Outcome recorded: %(status)s",
                    status=labels.label("referral_outcome", status, lang()),
                ),
                "ok",
            )
    return redirect(safe_next(back, url_for("account.home")), code=303)


@bp.route("/workers/<int:worker_id>/enrol", methods=["GET", "POST"])
@page("enrollments.create_enrollment", "courses.list_courses")
def enrol(worker_id: int) -> Any:
    worker = act(worker_api.get_worker, worker_id=worker_id)
    if worker["erased"]:
        abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        body, errors = parse(
            EnrollmentIn,
            {
                "worker_external_id": worker["external_id"],
                "course_external_id": request.form.get("course_external_id", ""),
                "status": "enrolled",
            },
        )
        if body is not None:
            try:
                act(enrollment_api.create_enrollment, body=body)
            except ApiError as error:
                errors = api_errors(error)
            else:
                flash(_("Enrolled."), "ok")
                return see_other("page_workers.show", worker_id=worker_id)
    trade = request.values.get("trade") or None
    courses = act(
        course_api.list_courses,
        query=CourseQuery(
            starts_from=clock.today() - dt.timedelta(days=14),
            province_code=worker["province_code"],
            trade=trade if trade in labels.table("trade") else None,
            limit=100,
        ),
    )["items"]
    ward = gazetteer().get(worker["ward_code"])
    if ward is not None and courses:
        distances = haversine_km(
            ward.lat,
            ward.lon,
            np.array([c["lat"] for c in courses]),
            np.array([c["lon"] for c in courses]),
        )
        for course, km in zip(courses, distances, strict=True):
            course["distance_km"] = float(km)
        courses.sort(key=lambda c: (c["distance_km"], c["start_date"]))
    return render(
        "web/workers/enrol.html",
        422 if errors else 200,
        worker=worker,
        courses=courses[:50],
        errors=errors,
        trades=list(labels.table("trade").items()),
        trade=trade or "",
    )


@bp.get("/skills/preview")
@page("workers.create_worker")
def skill_preview() -> Any:
    """What free-text skills become (htmx, as the caseworker types)."""
    taxonomy = load_taxonomy()
    items = []
    for text in [t.strip() for t in request.args.get("skills_text", "").split(";") if t.strip()][
        :20
    ]:
        match = taxonomy.normalize(text).match
        items.append((text, labels.label("skill", match.code, lang()) if match else None))
    return render("web/workers/_skills.html", items=items)


@bp.get("/places/preview")
@page("workers.create_worker")
def place_preview() -> Any:
    """The 2025 ward an address (old or new) resolves to (htmx, as the caseworker types)."""
    address = request.args.get("address", "").strip()[:500]
    ward_code = request.args.get("ward_code", "").strip()
    ward, note = None, None
    if ward_code:
        ward = gazetteer().get(ward_code)
    elif len(address) >= 4:
        found = gazetteer().resolve_address(address)
        if found is not None:
            ward, note = found.ward, found.note
    return render("web/workers/_place.html", address=address, ward=ward, note=note)
