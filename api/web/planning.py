"""Planner pages: the demand to come, gaps, the course plan, placement and fairness.

Every figure comes from the scope's stored planning results through the planning API's own
operations (api.resources.planning), so a page shows exactly what the API and its exports
serve, with the same freshness: when the result was computed, and whether the data have
changed since (then a refresh is already queued). While nothing is stored yet, the page
follows the refresh job. Downloads are the API's files, in the page's language.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, json, request
from flask_babel import gettext as _
from markupsafe import Markup

from api import charts
from api.errors import ApiError
from api.resources import jobs as job_api
from api.resources import planning as planning_api
from api.schemas import (
    CoursePlanQuery,
    FairnessQuery,
    ForecastQuery,
    GapQuery,
    PlacementQuery,
)
from api.web.common import act, lang, page, parse, render, trade_choices
from matcher import labels

bp = Blueprint("page_planning", __name__, url_prefix="/planning")

AREA_LEVELS = ("former_district", "park")
PLAN_SORTS = {
    "start": ["start_month", "trade", "area_name"],
    "places": ["places"],
    "provider": ["provider", "start_month"],
    "area": ["area_name", "trade", "start_month"],
}
PAGE_SIZE = 50
#: Rows of the overview before "show all": the largest shortfalls, readable on a phone.
OVERVIEW_ROWS = 12
#: Files a planner may download, by page: the API operation and its query.
DOWNLOADS = {
    "forecast": (planning_api.get_forecasts, ForecastQuery),
    "gaps": (planning_api.get_gaps, GapQuery),
    "course-plan": (planning_api.get_course_plan, CoursePlanQuery),
    "placement": (planning_api.get_placement_results, PlacementQuery),
    "fairness": (planning_api.get_fairness, FairnessQuery),
}


def _args(*names: str, **defaults: Any) -> dict[str, Any]:
    """The query string's filters (an empty field is no filter)."""
    # Every planning query takes a province: a national planner may look at one (a
    # province-bound planner always sees theirs, as over the API).
    values = {name: request.args.get(name) or None for name in ("province", *names)}
    return {**defaults, **{k: v for k, v in values.items() if v is not None}}


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    """The filters a page's links and forms carry (not the page size it asked for)."""
    return {k: v for k, v in values.items() if k != "limit"}


def _ask(view: Any, model: type, values: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """Call a planning operation as the signed-in user. Returns (answer, errors): the JSON
    answer; or the refresh job (a dict with "job") while nothing is stored yet; filters
    that do not validate are dropped one by one and named in errors, so a bad link still
    shows the page."""
    query, errors = parse(model, values)
    while query is None and errors:
        for field in errors:
            values.pop(field, None)
        query, more = parse(model, values)
        if more == errors:
            break
        errors = {**errors, **more}
    if query is None:
        abort(400)
    try:
        answer = act(view, query=query)
    except ApiError as error:
        # A filter the API refuses for what it names (an unknown province): leave it out
        # and say so, as for a filter that does not validate.
        refused = {e["field"]: e["message"] for e in error.errors or [] if e.get("field")}
        if error.status != 422 or not refused or not set(refused) <= set(values):
            raise
        for field in refused:
            values.pop(field)
        answer, more = _ask(view, model, values)
        return answer, {**errors, **more, **{k: str(error) for k in refused}}
    if isinstance(answer, Response):
        if answer.status_code == 202:
            return {"job": json.loads(answer.get_data(as_text=True))}, errors
        return answer, errors
    return answer, errors


def _waiting(answer: dict[str, Any]) -> Any:
    """The page shown while the first refresh of a scope is computed."""
    return render("web/planning/waiting.html", job=answer["job"])


def chart(draw: Any, *args: Any, **kwargs: Any) -> Markup:
    """A chart twice, as inline SVG: narrow for phones, wide for desktops (CSS shows one),
    each at 1:1 so its text is 12 px or more on any screen."""
    narrow = draw(*args, width=340, lang=lang(), **kwargs)
    wide = draw(*args, width=760, lang=lang(), **kwargs)
    return Markup(
        f'<div class="chart chart-narrow">{narrow}</div><div class="chart chart-wide">{wide}</div>'
    )


def _areas(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    found = {(i["area_code"], i["area_name"]) for i in items if i.get("area_code")}
    return sorted(found, key=lambda a: a[1])


def _month(text: str) -> str:
    """A YYYY-MM month as Vietnamese write it: 12/2026."""
    return f"{text[5:]}/{text[:4]}"


def _filter_form(
    values: dict[str, Any], errors: dict[str, str], answer: dict[str, Any]
) -> dict[str, Any]:
    """What a page's filter form shows: the filters chosen, the ones left out, the choices."""
    return {
        "errors": errors,
        "filters": _shown(values),
        "trades": trade_choices(),
        "areas": _area_choices(values, answer),
        "area_levels": AREA_LEVELS,
    }


def _area_choices(values: dict[str, Any], answer: dict[str, Any]) -> list[tuple[str, str]]:
    """Every area of the scope, whatever the trade chosen, for the area select: the page's
    own answer holds them all when it is not filtered by trade or area (its summary has a
    row per trade × area); otherwise the scope's gaps are asked once more."""
    if not values.get("trade") and not values.get("area"):
        return _areas(answer.get("summary", []))
    found, _errors = _ask(planning_api.get_gaps, GapQuery, {**_args("area_level"), "limit": 1})
    return _areas(found.get("summary", []) if "job" not in found else [])


def _word(kind: str, code: str | None) -> str:
    return labels.label(kind, code, lang())


# ---------------------------------------------------------------- overview


@bp.get("")
@page("planning.get_gaps")
def overview() -> Any:
    """Per trade × area: the demand to come with its bands, people in training, the gap."""
    values = _args("trade", "area", "area_level", limit=2000)
    answer, errors = _ask(planning_api.get_gaps, GapQuery, values)
    if "job" in answer:
        return _waiting(answer)
    everything = answer.get("summary", [])
    # A trade × area with no demand to come, nobody in training and no gap says nothing.
    rows = [
        r for r in everything
        if abs(r.get("expected_demand") or 0) >= 0.5 or abs(r.get("gap") or 0) >= 0.5
        or r.get("people_in_training") is None or (r.get("people_in_training") or 0) > 0
    ]  # fmt: skip
    quiet = len(everything) - len(rows)
    rows.sort(key=lambda r: (-(r.get("gap") or 0), r["trade"], r["area_name"]))
    by_area: dict[str, list[float]] = {}
    for row in rows:
        slot = by_area.setdefault(row["area_name"], [0.0, 0.0, 0.0])
        for i, key in enumerate(("gap", "gap_lo80", "gap_hi80")):
            slot[i] += row.get(key) or 0.0
    gap_chart = None
    if by_area:
        names = sorted(by_area, key=lambda n: -by_area[n][0])
        title = _("Shortfall over the next 12 months, by area") + (
            f" · {_word('trade', values.get('trade'))}" if values.get("trade") else ""
        )
        gap_chart = chart(
            charts.bar_chart,
            title,
            names,
            [by_area[n][0] for n in names],
            [by_area[n][1] for n in names],
            [by_area[n][2] for n in names],
            caption=_("Positive: people missing; negative: more graduates than places; "
                      "whiskers: %(range)s interval.", range="80 %"),
        )  # fmt: skip
    totals = {
        key: sum((r.get(key) or 0.0) for r in rows)
        for key in ("expected_demand", "people_in_training", "expected_supply", "gap")
    }
    return render(
        "web/planning/overview.html",
        answer=answer,
        rows=rows,
        shown=len(rows) if request.args.get("all") else OVERVIEW_ROWS,
        quiet=quiet,
        totals=totals,
        **_filter_form(values, errors, answer),
        gap_chart=gap_chart,
    )


# ---------------------------------------------------------------- one forecast


def _backtest_words(answer: dict[str, Any], kind: str, area_level: str) -> dict[str, Any] | None:
    """Which method serves this kind × level and how much better than "same month last
    year" it did on the backtest, as a planner reads it."""
    rows = [
        r for r in answer.get("backtest", []) if r["kind"] == kind and r["area_level"] == area_level
    ]
    served = next((r for r in rows if r["served"]), None)
    if served is None:
        return None
    better = 1.0 - served["rel_mae"] if served.get("rel_mae") is not None else None
    return {"served": served, "better": better, "rows": rows}


@bp.get("/forecast")
@page("planning.get_forecasts")
def forecast() -> Any:
    """One series' forecast: the chart, the months, and the backtest in plain words."""
    values = _args("kind", "trade", "area", kind="demand", limit=500)
    listing, errors = _ask(
        planning_api.get_forecasts, ForecastQuery, {k: v for k, v in values.items() if k != "area"}
    )
    if "job" in listing:
        return _waiting(listing)
    series = listing.get("items", [])
    answer = listing
    if values.get("area"):
        answer, more = _ask(planning_api.get_forecasts, ForecastQuery, {**values, "limit": 1})
        errors = {**errors, **more}
        item = (answer.get("items") or [None])[0]
    else:
        # No area chosen: the province's own total of the busiest trade, the figure a
        # planner starts from (the busiest series when there is no province total).
        def busy(i: dict[str, Any]) -> tuple[bool, float]:
            return i["area_level"] == "province", sum(h["value"] or 0 for h in i["history"])

        item = max(series, key=busy, default=None)
    drawn = None
    words = None
    if item is not None:
        kind, trade = _word("series_kind", item["kind"]), _word("trade", item["trade"])
        name = f"{kind} · {trade} · {item['area_name']}"
        drawn = chart(
            charts.forecast_chart,
            _("Forecast") + ": " + name,
            [_month(h["month"]) for h in item["history"]],
            [h["value"] for h in item["history"]],
            [_month(p["month"]) for p in item["forecast"]],
            [p["point"] for p in item["forecast"]],
            [p["lo80"] for p in item["forecast"]],
            [p["hi80"] for p in item["forecast"]],
            [p["lo95"] for p in item["forecast"]],
            [p["hi95"] for p in item["forecast"]],
            caption=_("Method") + ": " + _word("forecast_method", item["method"]),
        )
        words = _backtest_words(answer, item["kind"], item["area_level"])
    return render(
        "web/planning/forecast.html",
        answer=answer,
        item=item,
        chart=drawn,
        words=words,
        errors=errors,
        filters=_shown(values),
        kinds=("demand", "supply", "hires"),
        trades=trade_choices(),
        areas=_areas(series),
    )


# ---------------------------------------------------------------- gaps by month


@bp.get("/gaps")
@page("planning.get_gaps")
def gaps() -> Any:
    """A trade × area's gap month by month: demand, expected hires from training, shortfall."""
    values = _args("trade", "area", "area_level", limit=2000)
    answer, errors = _ask(planning_api.get_gaps, GapQuery, values)
    if "job" in answer:
        return _waiting(answer)
    months = [r for r in answer.get("items", []) if r.get("scope") == "month"]
    by_month: dict[str, dict[str, float]] = {}
    for row in months:
        slot = by_month.setdefault(
            row["month"], {"expected_demand": 0.0, "expected_supply": 0.0, "gap": 0.0,
                           "shortfall": 0.0, "gap_lo80": 0.0, "gap_hi80": 0.0},
        )  # fmt: skip
        for key in slot:
            slot[key] += row.get(key) or 0.0
    ordered = sorted(by_month)
    drawn = None
    if ordered:
        drawn = chart(
            charts.bar_chart,
            _("Shortfall by month"),
            [_month(m) for m in ordered],
            [by_month[m]["gap"] for m in ordered],
            [by_month[m]["gap_lo80"] for m in ordered],
            [by_month[m]["gap_hi80"] for m in ordered],
            caption=_("Positive: people missing; negative: more graduates than places; "
                      "whiskers: %(range)s interval.", range="80 %"),
        )  # fmt: skip
    return render(
        "web/planning/gaps.html",
        answer=answer,
        months=[(m, by_month[m]) for m in ordered],
        chart=drawn,
        **_filter_form(values, errors, answer),
    )


# ---------------------------------------------------------------- course plan


@bp.get("/course-plan")
@page("planning.get_course_plan")
def course_plan() -> Any:
    """The classes to open: filter, sort, page, download; what stays open and why."""
    values = _args("trade", "area", "area_level", limit=2000)
    answer, errors = _ask(planning_api.get_course_plan, CoursePlanQuery, values)
    if "job" in answer:
        return _waiting(answer)
    sort = request.args.get("sort") or "start"
    if sort not in PLAN_SORTS:
        sort = "start"
    items = list(answer.get("items", []))
    keys = PLAN_SORTS[sort]
    items.sort(key=lambda r: tuple(str(r.get(k) or "") for k in keys if k != "places"))
    if sort == "places":
        items.sort(key=lambda r: -(r.get("places") or 0))
    try:
        start = max(0, int(request.args.get("start") or 0))
    except ValueError:
        start = 0
    shown = items[start : start + PAGE_SIZE]
    rows = answer.get("summary", [])
    min_cohort = next((r["min_cohort"] for r in rows if r.get("min_cohort")), None)
    summary = [r for r in rows if (r.get("shortfall") or 0) > 0.05]
    summary.sort(key=lambda r: -(r.get("remaining_gap") or 0))
    return render(
        "web/planning/course_plan.html",
        answer=answer,
        items=shown,
        total=len(items),
        start=start,
        page_size=PAGE_SIZE,
        sort=sort,
        sorts=PLAN_SORTS,
        min_cohort=min_cohort or current_app.config["MIN_COHORT"],
        summary=summary,
        totals={
            "classes": sum(r.get("cohorts") or 0 for r in items),
            "places": sum(r.get("places") or 0 for r in items),
            "hires": sum(r.get("expected_hires") or 0 for r in items),
        },
        **_filter_form(values, errors, answer),
    )


# ---------------------------------------------------------------- placement and retention


@bp.get("/placement")
@page("planning.get_placement_results")
def placement() -> Any:
    """Placement and 90-day retention per provider or course, with Wilson intervals."""
    values = _args("trade", "by", by="provider", limit=2000)
    answer, errors = _ask(planning_api.get_placement_results, PlacementQuery, values)
    values.setdefault("by", "provider")  # a bad one was dropped (and named)
    if "job" in answer:
        return _waiting(answer)
    items = [r for r in answer.get("items", []) if not r.get("suppressed")]
    hidden = len(answer.get("items", [])) - len(items)
    items.sort(key=lambda r: -(r.get("hire_rate") or 0))
    drawn = None
    name = "provider" if values["by"] == "provider" else "name"
    if items:
        drawn = chart(
            charts.bar_chart,
            _("Graduates hired, by training provider") if name == "provider"
            else _("Graduates hired, by course"),
            [str(r[name]) for r in items],
            [r.get("hire_rate") for r in items],
            [r.get("hire_rate_low") for r in items],
            [r.get("hire_rate_high") for r in items],
            caption=_("Whiskers: %(range)s interval (Wilson).", range="95 %"),
            percent=True,
        )  # fmt: skip
    return render(
        "web/planning/placement.html",
        answer=answer,
        items=items,
        hidden=hidden,
        chart=drawn,
        errors=errors,
        filters=_shown(values),
        trades=trade_choices(),
    )


# ---------------------------------------------------------------- fairness


@bp.get("/fairness")
@page("planning.get_fairness")
def fairness() -> Any:
    """The fairness audit in plain words: per group, how often the scorer suggests its
    people and how often they are hired, against the best-off group."""
    answer, errors = _ask(planning_api.get_fairness, FairnessQuery, {"limit": 2000})
    if "job" in answer:
        return _waiting(answer)
    groups = answer.get("groups", [])
    for g in groups:
        g["words"] = labels.group_label(g["attribute"], g["group"], lang())
    single = [g for g in groups if "×" not in str(g["attribute"]) and g["group"] != "unknown"]
    cross = [g for g in groups if "×" in str(g["attribute"]) and not g.get("suppressed")]
    drawn = None
    shown = [g for g in single if g.get("scoring_impact_ratio") is not None]
    if shown:
        drawn = chart(
            charts.bar_chart,
            _("How often each group is suggested, against the best-off group"),
            [g["words"] for g in shown],
            [g.get("scoring_impact_ratio") for g in shown],
            [g.get("scoring_impact_low") for g in shown],
            [g.get("scoring_impact_high") for g in shown],
            reference=0.8,
            reference_label="0,8",
            caption=_("1 = as often as the best-off group; under 0.8 is a warning sign "
                      "(the four-fifths rule). Whiskers: %(range)s interval.", range="95 %"),
        )  # fmt: skip
    return render(
        "web/planning/fairness.html",
        answer=answer,
        single=single,
        cross=cross,
        chart=drawn,
        unknowns=answer.get("unknowns", []),
        errors=errors,
    )


# ---------------------------------------------------------------- downloads and the job


@bp.get("/<report>.<fmt>")
@page()
def download(report: str, fmt: str) -> Any:
    """A page's table as the API's file (CSV or .xlsx), in the page's language."""
    if report not in DOWNLOADS or fmt not in ("csv", "xlsx"):
        abort(404)
    view, model = DOWNLOADS[report]
    names = ("trade", "area", "area_level", "kind", "by")
    values = {k: v for k, v in _args(*names).items() if k in model.model_fields}
    values.update(format=fmt, lang=lang())
    answer, _errors = _ask(view, model, values)
    if isinstance(answer, dict) and "job" in answer:
        return _waiting(answer)
    if not isinstance(answer, Response):
        raise ApiError(_("This file cannot be made yet."), status=409)
    return answer


@bp.get("/jobs/<int:job_id>")
@page("jobs.get_job")
def job(job_id: int) -> Any:
    """The refresh job's progress (htmx swaps it in every few seconds)."""
    found = act(job_api.get_job, job_id=job_id)
    partial = bool(request.headers.get("HX-Request"))
    return render("web/planning/_job.html" if partial else "web/planning/waiting.html", job=found)
