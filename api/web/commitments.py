"""Hiring commitments: an enterprise's own (post, edit, fulfilment, shortlist, the candidates
referred to it with their contact details, hired or not); caseworkers see those of their
scope. Another enterprise's commitment is a 404 page, as over the API."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, flash, request
from flask_babel import gettext as _

from api.errors import ApiError
from api.resources import commitments as commitment_api
from api.resources import matching as matching_api
from api.resources import referrals as referral_api
from api.resources import workers as worker_api
from api.schemas import (
    CandidateQuery,
    CommitmentIn,
    CommitmentPatch,
    CommitmentQuery,
    ReferralQuery,
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
    principal,
    read_form,
    render,
    see_other,
)
from matcher import clock, labels
from matcher.taxonomy import load_taxonomy

bp = Blueprint("page_commitments", __name__)

#: The commitment form's fields and how each reads (api.web.common.read_form).
FIELDS = {
    "trade": "text",
    "slots": "integer",
    "wage_vnd": "money",
    "start_date": "text",
    "expires_on": "text",
    "min_education": "text",
    "required_skills": "list",
    "shift_work": "yes_no",
    "address": "text",
    "ward_code": "text",
}
STATES = ("open", "upcoming", "full", "expired")
PAGE_SIZE = 20


@bp.get("/commitments")
@page("commitments.list_commitments", "referrals.list_referrals")
def index() -> Any:
    """Open commitments first (what is hiring now); any state, or all, on request."""
    chosen = request.args.get("state") or "open"
    state = chosen if chosen in STATES else None
    query, _errors = parse(
        CommitmentQuery,
        {
            "state": state if state in STATES else None,
            "limit": PAGE_SIZE,
            "cursor": request.args.get("cursor") or None,
        },
    )
    result = act(commitment_api.list_commitments, query=query or CommitmentQuery(limit=PAGE_SIZE))
    return render(
        "web/commitments/index.html",
        items=result["items"],
        cursor=result["next_cursor"],
        state=state or "all",
        states=STATES,
    )


def _values(form: Any) -> dict[str, Any]:
    return read_form(form, FIELDS, free_skills="required_skills")


def _choices() -> dict[str, Any]:
    taxonomy = load_taxonomy()
    vi = lang() == "vi"
    return {
        "trades": [(t.code, t.label_vi if vi else t.label_en) for t in taxonomy.trades()],
        "education": list(labels.table("education").items()),
        "skills": [(s.code, s.label_vi if vi else s.label_en) for s in taxonomy.skills()],
    }


@bp.route("/commitments/new", methods=["GET", "POST"])
@page("commitments.create_commitment")
def new() -> Any:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"start_date": clock.today().isoformat()}
    if request.method == "POST":
        values = _values(request.form)
        data = {
            "external_id": f"WEB-{clock.today():%Y%m%d}-{secrets.token_hex(3).upper()}",
            **values,
        }
        if principal().role != "enterprise":
            data["enterprise_external_id"] = (
                request.form.get("enterprise_external_id", "").strip() or None
            )
        body, errors = parse(CommitmentIn, data)
        if body is not None:
            try:
                created = act(commitment_api.create_commitment, body=body)
            except ApiError as error:
                errors = api_errors(error)
            else:
                flash(_("The hiring commitment is posted."), "ok")
                flash_skill_notes(created.get("skill_notes", []))
                return see_other("page_commitments.show", commitment_id=created["id"])
        values = {**values, "required_skills": request.form.getlist("required_skills")}
    return _form(values, errors, creating=True)


def _form(values: dict[str, Any], errors: dict[str, str], **context: Any) -> Any:
    return render(
        "web/commitments/form.html",
        422 if errors else 200,
        values=values,
        skills_text=request.form.get("skills_text", ""),
        errors=errors,
        **context,
        **_choices(),
    )


@bp.route("/commitments/<int:commitment_id>/edit", methods=["GET", "POST"])
@page("commitments.update_commitment")
def edit(commitment_id: int) -> Any:
    commitment = act(commitment_api.get_commitment, commitment_id=commitment_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _values(request.form)
        values.pop("trade", None)  # a commitment's trade is what it is; post a new one instead
        patch = dict(values)
        patch.setdefault("required_skills", [])
        for name in ("expires_on", "min_education", "shift_work"):
            patch.setdefault(name, None)
        place_patch(patch, commitment)
        body, errors = parse(CommitmentPatch, patch)
        if body is not None:
            try:
                updated = act(
                    commitment_api.update_commitment, commitment_id=commitment_id, body=body
                )
            except ApiError as error:
                errors = api_errors(error)
            else:
                flash(_("Changes saved."), "ok")
                flash_skill_notes(updated.get("skill_notes", []))
                return see_other("page_commitments.show", commitment_id=commitment_id)
        values = {**values, "required_skills": request.form.getlist("required_skills")}
    else:
        values = {name: commitment.get(name) for name in FIELDS}
    values["trade"] = commitment["trade"]
    return _form(values, errors, creating=False, commitment=commitment)


@bp.get("/commitments/<int:commitment_id>")
@page("commitments.get_commitment", "referrals.list_referrals")
def show(commitment_id: int) -> Any:
    """Fulfilment, the referred candidates (with contact details: they were referred here),
    and the shortlist of others (pseudonymous until a caseworker refers them)."""
    commitment = act(commitment_api.get_commitment, commitment_id=commitment_id)
    referrals = pending_first(
        act(
            referral_api.list_referrals,
            query=ReferralQuery(commitment_id=commitment_id, limit=100),
        )["items"]
    )
    people = {}
    for referral in referrals:
        try:
            people[referral["worker_id"]] = act(
                worker_api.get_worker, worker_id=referral["worker_id"]
            )
        except ApiError:
            continue
    shortlist = None
    if commitment["state"] in ("open", "upcoming"):
        shortlist = act(
            matching_api.get_commitment_candidates,
            commitment_id=commitment_id,
            query=CandidateQuery(limit=10),
        )
    return render(
        "web/commitments/show.html",
        commitment=commitment,
        referrals=referrals,
        people=people,
        shortlist=shortlist,
    )
