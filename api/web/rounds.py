"""Allocation rounds from a page: a planner or caseworker sets the population and the
policy, watches the round run (a background job), reads its summary; a caseworker picks the
pairs to refer and confirms them. Everything goes through the allocation API's operations."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, json, request
from flask_babel import gettext as _

from api.errors import ApiError
from api.resources import allocations as allocation_api
from api.schemas import AllocationIn, AllocationListQuery, AllocationQuery, ConfirmIn, ExportQuery
from api.web.common import (
    act,
    api_errors,
    lang,
    page,
    parse,
    read_form,
    render,
    see_other,
    split_message,
    trade_choices,
)

bp = Blueprint("page_rounds", __name__, url_prefix="/rounds")

#: The round form's fields and how each reads (api.web.common.read_form).
FIELDS = {
    "policy": "text",
    "trade": "text",
    "over_referral_factor": "number",
    "graduated_since": "text",
    "available_by": "text",
    "max_distance_km": "number",
}
POLICIES = ("max_hires", "stable")


def _iso_day(text: str) -> str:
    """A day typed as Vietnamese write it (15/12/2026) or as a date field sends it
    (2026-12-15), as the API reads it; anything else is passed on for the API to name."""
    parts = text.replace("-", "/").split("/")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[2]) == 4:
        return f"{parts[2]}-{int(parts[1]):02d}-{int(parts[0]):02d}"
    return text


@bp.get("")
@page("allocations.list_allocations")
def index() -> Any:
    """Recent rounds of the user's scope, newest first, and the form to start one."""
    query, _errors = parse(AllocationListQuery, {"cursor": request.args.get("cursor") or None})
    found = act(allocation_api.list_allocations, query=query or AllocationListQuery())
    return render(
        "web/rounds/index.html",
        items=found["items"],
        cursor=found["next_cursor"],
        form={},
        errors={},
        trades=trade_choices(),
        policies=POLICIES,
    )


@bp.post("")
@page("allocations.create_allocation")
def create() -> Any:
    values = read_form(request.form, FIELDS)
    for name in ("graduated_since", "available_by"):
        if name in values:
            values[name] = _iso_day(values[name])
    body, errors = parse(AllocationIn, values)
    if body is not None:
        try:
            answer = act(allocation_api.create_allocation, body=body)
        except ApiError as error:
            errors = api_errors(error)
        else:
            if isinstance(answer, Response):
                answer = json.loads(answer.get_data(as_text=True))
            return see_other("page_rounds.show", run_id=answer["id"])
    found = act(allocation_api.list_allocations, query=AllocationListQuery())
    return render(
        "web/rounds/index.html",
        422,
        items=found["items"],
        cursor=found["next_cursor"],
        form=request.form,
        errors=errors,
        trades=trade_choices(),
        policies=POLICIES,
    )


@bp.get("/<int:run_id>")
@page("allocations.get_allocation")
def show(run_id: int) -> Any:
    """The round: progress while it runs (htmx polls the status part), then its summary and,
    for caseworkers, its pairs to confirm."""
    query, _errors = parse(AllocationQuery, {"cursor": request.args.get("cursor") or None})
    run = act(allocation_api.get_allocation, run_id=run_id, query=query or AllocationQuery())
    # htmx polls this same page and takes its #round part (templates/web/rounds/_status.html).
    return render("web/rounds/show.html", run=run)


@bp.post("/<int:run_id>/confirm")
@page("allocations.confirm_allocation")
def confirm(run_id: int) -> Any:
    """Refer the pairs ticked (none ticked: nothing is referred, and the page says so)."""
    chosen = request.form.getlist("pair_ids")
    if not chosen:
        flash(_("Tick the pairs to refer first."), "error")
        return see_other("page_rounds.show", run_id=run_id)
    body, errors = parse(ConfirmIn, {"pair_ids": chosen})
    if body is None:
        abort(400)
    result = act(allocation_api.confirm_allocation, run_id=run_id, body=body)
    flash(_("%(n)s referrals made.", n=result["created"]), "ok" if result["created"] else "error")
    if result["skipped"]:
        reasons = sorted({split_message(s["reason"]) for s in result["skipped"]})
        flash(
            _("%(n)s pairs skipped:", n=len(result["skipped"])) + " " + "; ".join(reasons[:5]),
            "error",
        )
    return see_other("page_rounds.show", run_id=run_id)


@bp.get("/<int:run_id>.<fmt>")
@page("allocations.export_allocation")
def export(run_id: int, fmt: str) -> Any:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    return act(
        allocation_api.export_allocation, run_id=run_id, query=ExportQuery(format=fmt, lang=lang())
    )
