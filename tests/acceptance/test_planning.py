"""Planning over HTTP on the default demo in every world: series, forecasts, gaps, course plan,
placement, fairness — aggregates only — and the fairness gate on a deliberately biased model."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from api import jobs
from api import planning as svc
from api.auth import create_token
from api.cli import import_frames, run_training
from api.extensions import db
from matcher import clock, labels, model_store
from matcher import planning as plan_module
from matcher.demo import generate
from tests.acceptance.worlds import RUN_WORLDS, demo_config, registry_app

CORE_TRADES = ("garment", "electrical", "electronics")
BASE = "/api/v1/planning"

# Fields that identify or describe a person: never in a planner's answer.
PERSONAL_FIELDS = {
    "full_name", "phone", "birth_year", "gender", "ethnic_minority", "disability",
    "contact_email", "contact_phone", "worker_id", "worker_external_id", "referral_id",
}  # fmt: skip
# Fields that count people: a value of 1 to 9 would be a small cell.
PEOPLE_COUNTS = {
    "people", "scored_people", "referred", "decided", "hired", "enrolled", "graduated",
    "retained_90d", "eligible_90d", "unknown_people", "people_in_training",
}  # fmt: skip
def _words_of(keys: set[str]) -> set[str]:
    """The Vietnamese headers of these columns in a file (api.export_words)."""
    from api.export_words import COLUMNS

    return {COLUMNS[k][0] for k in keys if k in COLUMNS}


FORMATS = {
    "/series": ("json", "csv", "xlsx", "svg"),
    "/forecasts": ("json", "csv", "xlsx", "svg"),
    "/gaps": ("json", "csv", "xlsx", "svg"),
    "/course-plan": ("json", "csv", "xlsx"),
    "/placement-results": ("json", "csv", "xlsx", "svg"),
    "/fairness": ("json", "csv", "xlsx", "svg"),
}
# The SVG of one forecast needs one series.
CHART_FILTERS = {"/forecasts": {"trade": "garment", "area": "33"}}


def _get(app, tokens, path, role="planner", **params):
    """GET a planning answer; a scope with nothing stored yet (202) is refreshed here, by the
    job's own code, as a consumer would (the world stores the national view when built)."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    response = client.get(BASE + path, query_string=params, headers=headers)
    if response.status_code == 202:
        jobs.execute(response.get_json()["id"])
        response = client.get(BASE + path, query_string=params, headers=headers)
    return response


def _small_cells(value, found: list, key: str = "") -> list:
    if isinstance(value, dict):
        for k, v in value.items():
            if k in PERSONAL_FIELDS and v is not None:
                found.append((k, v))
            _small_cells(v, found, k)
    elif isinstance(value, list):
        for v in value:
            _small_cells(v, found, key)
    elif key in PEOPLE_COUNTS and isinstance(value, int | float) and 0 < value < 10:
        found.append((key, value))
    return found


@pytest.mark.parametrize("path", sorted(FORMATS))
def test_every_planner_endpoint_answers_aggregates_without_small_cells(demo, path):
    app, tokens = demo.app, demo.tokens
    for fmt in FORMATS[path]:
        params = {"format": fmt, **(CHART_FILTERS.get(path, {}) if fmt == "svg" else {})}
        response = _get(app, tokens, path, **params)
        assert response.status_code == 200, (path, fmt, response.get_data(as_text=True)[:500])
        if fmt == "json":
            body = response.get_json()
            assert body.get("message") is None, body["message"]
            assert _small_cells(body, []) == []
            # Series of people (supply, hires) hide monthly counts of 1 to 9.
            for item in body.get("items", []):
                if item.get("kind") in ("supply", "hires"):
                    values = item.get("values") or [h["value"] for h in item.get("history", [])]
                    assert not [v for v in values if v is not None and 0 < v < 10]
        elif fmt == "csv":
            text = response.get_data(as_text=True)
            assert text.startswith("\ufeff")
            rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
            assert rows, path
            # Files speak Vietnamese: the checks read the columns by their words.
            assert not _words_of(PERSONAL_FIELDS) & set(rows[0])
            people_kinds = {labels.label("series_kind", k) for k in ("supply", "hires")}
            kind, value = _words_of({"kind"}).pop(), _words_of({"value"}).pop()
            counts = _words_of(PEOPLE_COUNTS) & set(rows[0])
            if path in ("/placement-results", "/fairness"):
                assert counts, (path, list(rows[0]))  # the check below reads something
            for row in rows:
                for key in counts:
                    assert row[key] == "" or not 0 < float(row[key]) < 10, (key, row)
                if row.get(kind) in people_kinds and row.get(value):
                    assert not 0 < float(row[value]) < 10
        elif fmt == "xlsx":
            assert response.data[:2] == b"PK"
        else:
            assert response.mimetype == "image/svg+xml"
            assert response.get_data(as_text=True).startswith("<svg")


@pytest.mark.parametrize("role", ["caseworker"])
def test_planning_is_for_planners_and_admins(demo, role):
    app, tokens = demo.app, demo.tokens
    assert _get(app, tokens, "/series", role=role).status_code == 403
    assert _get(app, tokens, "/series", role="admin").status_code == 200


# A province planner's own scope and the park catchments are scopes of their own, each a
# refresh of its own: tests/api/test_planning.py checks both on a small registry.


def test_series_cover_three_years_by_former_district_and_province(demo):
    app, tokens = demo.app, demo.tokens
    body = _get(app, tokens, "/series", kind="demand", limit=500).get_json()
    assert len(body["months"]) >= 36
    assert body["months"][-1] < clock.today().strftime("%Y-%m")  # the current month is not complete
    areas = {item["area_code"] for item in body["items"]}
    assert "33" in areas and "33-yen-my" in areas
    province = {item["trade"]: item for item in body["items"] if item["area_code"] == "33"}
    districts = [i for i in body["items"] if i["area_code"] != "33" and i["trade"] == "garment"]
    summed = np.sum([i["values"] for i in districts], axis=0)
    assert np.allclose(summed, province["garment"]["values"])


def test_forecasts_say_which_method_serves_and_how_it_backtested(demo):
    """The acceptance figures themselves are asserted on the fixed-date demo in
    test_forecast_demo.py; here the API serves the same computation for today's registry."""
    app, tokens = demo.app, demo.tokens
    body = _get(app, tokens, "/forecasts", kind="demand", area="33").get_json()
    served = body["methods"]["demand/province"]
    assert served in ("seasonal_naive", "holt_winters", "global_gbm")
    rows = [r for r in body["backtest"] if r["kind"] == "demand" and r["area_level"] == "province"]
    assert {r["method"] for r in rows} == {"seasonal_naive", "holt_winters", "global_gbm"}
    best = min(rows, key=lambda r: r["mase"])
    assert best["method"] == served and best["served"]
    assert all(r["rel_mae"] is not None and 0 <= r["coverage80"] <= 1 for r in rows)
    assert {i["trade"] for i in body["items"]} >= set(CORE_TRADES)
    item = next(i for i in body["items"] if i["trade"] == "garment")
    # The group's method, or seasonal naive where the series' own backtest chose it.
    assert len(item["forecast"]) == 12 and item["method"] in (served, "seasonal_naive")
    assert any(i["method"] == served for i in body["items"] if i["trade"] in CORE_TRADES)
    assert len(item["history"]) == 24
    for point in item["forecast"]:
        assert 0 <= point["lo95"] <= point["lo80"] <= point["point"] <= point["hi80"]
        assert point["hi80"] <= point["hi95"]


def test_course_plan_closes_what_capacity_and_lead_time_allow(demo):
    """Acceptance: the plan closes every forecast shortfall that a course can still reach in
    time within the providers' capacity, and what stays open is explained: by lead time
    (the months too soon for the trade's shortest course), by capacity (every offer that
    could have reached it is used up) or as too small for a class (the minimum class size:
    test_course_plan_opens_no_class_under_the_minimum). Never above a provider's capacity.

    (Until 2026-12 this asserted "≥ 95 % of the reachable shortfall is closed"; how much
    capacity binds depends on the day and the seed, so the invariant is asserted instead.)
    """
    app, tokens = demo.app, demo.tokens
    body = _get(app, tokens, "/course-plan", limit=2000).get_json()
    assert body["next_cursor"] is None  # every row of the plan is here
    summary = pd.DataFrame(body["summary"])
    rows = pd.DataFrame(body["items"])
    assert len(rows) and summary["shortfall"].sum() > 100
    today = clock.today()
    served = svc.served(svc.Scope(None, "former_district", today))
    assert not served.stale  # the stored result the answer above came from
    offers, gaps = served.bundle.inputs["offers"], served.bundle.gaps

    # Every place of the shortfall is closed or left open for a stated reason (the answer
    # rounds each figure to 3 decimals): lead time, capacity, or too small for a class.
    explained = (
        summary["gap_closed"]
        + summary["remaining_gap_lead_time"]
        + summary["remaining_gap_capacity"]
        + summary["remaining_gap_below_min"]
    )
    no_placement = summary["reason"].fillna("").str.contains("no_placement")
    np.testing.assert_allclose(
        explained[~no_placement], summary.loc[~no_placement, "shortfall"], atol=2.5e-3
    )
    open_ = summary[summary["remaining_gap"].fillna(0) > 1e-6]
    assert open_["reason"].notna().all()
    assert set(rows["trade"]) & set(CORE_TRADES)

    # Capacity: what is left for capacity is left only where the trade's offers that could
    # reach those months (the shortest ones reach them all) are used to the last place.
    used = rows.groupby(["provider", "trade"])["places"].sum()
    capacity = offers.set_index(["provider", "trade"])["capacity"]
    assert (used <= capacity.reindex(used.index)).all()
    shortest = offers.groupby("trade")["duration_months"].min()
    capacity_bound = summary.groupby("trade")["remaining_gap_capacity"].sum()
    for trade in capacity_bound[capacity_bound > 1e-6].index:
        if trade not in shortest.index:
            continue  # no provider teaches the trade at all
        fastest = offers[
            (offers["trade"] == trade) & (offers["duration_months"] == shortest[trade])
        ]
        left = (
            fastest.set_index(["provider", "trade"])["capacity"]
            - used.reindex(pd.MultiIndex.from_frame(fastest[["provider", "trade"]]))
            .fillna(0)
            .to_numpy()
        )
        assert (left == 0).all(), (trade, left[left > 0])

    # Lead time: what is left for lead time lies in months no course of the trade can reach.
    monthly = gaps[gaps["scope"] == "month"].copy()
    month = pd.PeriodIndex(monthly["month"].astype(str), freq="M")
    reach = pd.Period(today, "M") + monthly["trade"].map(shortest).fillna(10**6).astype(int)
    too_soon = monthly[month.to_numpy() < reach.to_numpy()]
    unreachable = too_soon.groupby(["trade", "area_code"])["shortfall"].sum()
    lead_time = summary.set_index(["trade", "area_code"])["remaining_gap_lead_time"]
    reachable_late = unreachable.reindex(lead_time.index).fillna(0)
    assert (lead_time <= reachable_late + 1e-3).all(), lead_time[lead_time > reachable_late]

    assert (rows["expected_hires"] >= rows["gap_closed"] - 1e-6).all()
    assert (rows["start_month"] >= today.strftime("%Y-%m")).all()
    # Cohorts never exceed the provider's largest class.
    sizes = offers.set_index(["provider", "trade"])["cohort_size"]
    assert (
        rows["places"]
        <= rows["cohorts"]
        * sizes.reindex(pd.MultiIndex.from_frame(rows[["provider", "trade"]])).to_numpy()
    ).all()


def test_course_plan_opens_no_class_under_the_minimum(demo):
    """Acceptance: a plan a centre could run. No cohort has fewer than the minimum class
    size (CAUNOI_MIN_COHORT, 10) nor more than the provider's largest class; what the
    minimum leaves open is under one minimum class's expected hires per trade × area; and
    the plan closes as much as the same plan without a minimum, less what it leaves below
    the minimum and, per trade where capacity binds, at most one class's worth of seats
    left too few for a class."""
    app, tokens = demo.app, demo.tokens
    body = _get(app, tokens, "/course-plan", limit=2000).get_json()
    assert body["next_cursor"] is None
    min_cohort = app.config["MIN_COHORT"]
    assert min_cohort == 10
    rows = pd.DataFrame(body["items"])
    summary = pd.DataFrame(body["summary"])
    assert (summary["min_cohort"] == min_cohort).all()  # the answer says what it used

    assert (rows["places"] >= min_cohort).all()
    sizes = rows["cohort_sizes"]
    assert (sizes.map(min) >= min_cohort).all()
    assert (sizes.map(sum) == rows["places"]).all() and (sizes.map(len) == rows["cohorts"]).all()
    assert (rows["places_by_area"].map(sum) == rows["places"]).all()
    served = svc.served(svc.Scope(None, "former_district", clock.today())).bundle
    offers = served.inputs["offers"].set_index(["provider", "trade"])
    largest = offers["cohort_size"].reindex(pd.MultiIndex.from_frame(rows[["provider", "trade"]]))
    assert (sizes.map(max) <= largest.to_numpy()).all()

    # What the minimum leaves open, per trade × area, is less than one minimum class would
    # yield (a whole class's worth would have been opened, merged or rounded up).
    one_class = min_cohort * summary["completion_rate"] * summary["placement_rate"]
    assert (summary["remaining_gap_below_min"] < one_class + 1e-3).all()
    open_ = summary["remaining_gap_below_min"] > 1e-3
    assert summary.loc[open_, "reason"].str.contains("below_min_cohort").all()

    # The same inputs without a minimum: per trade, the minimum costs no more than what it
    # leaves below the minimum and one class's worth where capacity binds.
    inputs, today = served.inputs, clock.today()
    unlimited = plan_module.course_plan(
        served.gaps, inputs["offers"], inputs["placement"], inputs["completion"],
        first_month=pd.Period(today, "M"), horizon=svc.HORIZON, today=today, min_cohort=1,
    ).summary  # fmt: skip
    before = unlimited.groupby("trade")["gap_closed"].sum()
    after = summary.groupby("trade")[["gap_closed", "remaining_gap_below_min"]].sum()
    class_of_trade = one_class.groupby(summary["trade"]).max()
    lost = before.reindex(after.index) - after["gap_closed"]
    allowed = after["remaining_gap_below_min"] + class_of_trade + 1e-2
    assert (lost <= allowed).all(), pd.DataFrame({"lost": lost, "allowed": allowed})
    assert summary["gap_closed"].sum() >= 0.99 * unlimited["gap_closed"].sum()


def test_placement_results_by_provider_and_course_have_intervals(demo):
    app, tokens = demo.app, demo.tokens
    for by in ("provider", "course"):
        items = _get(app, tokens, "/placement-results", by=by, limit=2000).get_json()["items"]
        shown = [i for i in items if not i["suppressed"]]
        assert shown, by
        for item in shown:
            assert item["enrolled"] >= 10
            if item["hire_rate"] is not None:
                assert item["hire_rate_low"] <= item["hire_rate"] <= item["hire_rate_high"]


def test_fairness_report_lists_every_group_with_size_rates_ratio_and_interval(demo):
    app, tokens = demo.app, demo.tokens
    body = _get(app, tokens, "/fairness", limit=2000).get_json()
    assert body["next_cursor"] is None
    groups = pd.DataFrame(body["groups"])
    single = groups[groups["attribute"].isin(["gender", "ethnic_minority", "disability"])]
    assert {"female", "male"} <= set(single["group"])
    assert set(groups.loc[groups["attribute"] == "age_band", "group"]) >= {"15–24", "25–34"}
    shown = groups[
        ~groups["suppressed"]
        & ~groups["attribute"].str.contains("×")
        & (groups["group"] != "unknown")
    ]
    assert shown["people"].notna().all()
    # A shown group has its figures, except those resting on a count of 1 to 9 people or
    # events, which the report hides together with that count (how many groups that hits
    # depends on the day and the seed).
    scoring_known = shown["scored_people"].notna()
    assert scoring_known.mean() > 0.5
    hire_known = shown[["referred", "decided", "hired"]].notna().all(axis=1)
    assert hire_known.mean() > 0.5
    for column in ("scoring_rate", "scoring_impact_ratio", "scoring_impact_low",
                   "scoring_impact_high"):  # fmt: skip
        assert (shown[column].notna() == scoring_known).all(), column
    for column in ("hire_rate", "hire_impact_ratio"):
        assert (shown[column].notna() == hire_known).all(), column
    assert (shown["scoring_impact_low"] <= shown["scoring_impact_ratio"] + 1e-9).all()
    assert body["gate"]["passed"] in (True, False) and body["gate"]["reason"]
    assert body["unknowns"]


@pytest.mark.parametrize(
    ("path", "params", "key"),
    [("/gaps", {}, "items"), ("/course-plan", {}, "items"),
     ("/placement-results", {"by": "course"}, "items"), ("/fairness", {}, "groups")],
)  # fmt: skip
def test_planning_tables_page_with_limit_and_cursor(demo, path, params, key):
    # The tables had neither (issue 11, item 6).
    app, tokens = demo.app, demo.tokens
    whole = _get(app, tokens, path, limit=2000, **params).get_json()
    assert whole["next_cursor"] is None and len(whole[key]) > 6, len(whole[key])
    first = _get(app, tokens, path, **params).get_json()
    assert first[key] == whole[key][:500]
    assert (first["next_cursor"] is None) == (len(whole[key]) <= 500)
    size = -(-len(whole[key]) // 3)
    seen, cursor = [], None
    for _ in range(5):
        page = _get(
            app, tokens, path, limit=size, **params, **({"cursor": cursor} if cursor else {})
        )
        body = page.get_json()
        assert len(body[key]) <= size
        seen += body[key]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == whole[key]
    assert body.get("summary") == whole.get("summary")  # totals cover every row, on each page


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/series", {"limit": 100000}, "limit"),
        ("/series", {"from_month": "2025-13"}, "from_month"),
        ("/forecasts", {"kind": "wishes"}, "kind"),
        ("/forecasts", {"format": "svg"}, "trade"),
        ("/gaps", {"trade": "painting"}, "trade"),
        ("/course-plan", {"format": "svg"}, "format"),
        ("/placement-results", {"by": "teacher"}, "by"),
        ("/fairness", {"area_level": "park"}, "area_level"),
        ("/gaps", {"limit": 5000}, "limit"),
        ("/fairness", {"cursor": "first"}, "cursor"),
    ],
)
def test_bad_planning_queries_get_a_named_422(demo, path, params, field):
    app, tokens = demo.app, demo.tokens
    response = _get(app, tokens, path, **params)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert field in json.dumps(response.get_json()["errors"])


# ---------------------------------------------------------------- the fairness gate


@pytest.mark.parametrize("spec", RUN_WORLDS, ids=[w.name for w in RUN_WORLDS])
def test_biased_model_is_held_back_until_an_admin_promotes_it_with_a_reason(spec, tmp_path):
    """History in which women were never hired, with a feature that gives them away (women
    are recorded with no experience): the model learns the bias through that proxy, and the
    fairness gate stops its automatic promotion; an admin may still promote it, with a
    reason that is recorded."""
    data = generate(demo_config(spec, n_workers=3000, referrals_per_month=250))
    frames = {kind: frame.copy() for kind, frame in data.frames().items()}
    workers, referrals = frames["workers"], frames["referrals"]
    female = workers["gender"] == "female"
    workers.loc[female, "experience_years"] = "0"
    workers.loc[~female, "experience_years"] = "6"
    women = set(workers.loc[female, "external_id"])
    biased = referrals["worker_external_id"].isin(women) & (referrals["outcome"] == "hired")
    referrals.loc[biased, ["outcome", "hired_on", "left_on"]] = ["not_hired", "", ""]
    with clock.pinned(spec.today), registry_app(tmp_path, "biased") as app:
        import_frames(frames, spec.today)
        result = run_training()
        assert result["gate"]["fairness"]["passed"] is False, result["gate"]
        assert not result["promoted"]
        assert "female" in result["gate"]["reason"] and "0.8" in result["gate"]["reason"]
        root = Path(app.config["MODELS_DIR"])
        assert model_store.current_version(root) is None
        token = create_token("admin")[0]
        db.session.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        meta = client.get("/api/v1/models", headers=headers).get_json()["items"][0]
        assert meta["fairness"]["passed"] is False and meta["fairness"]["failures"]
        response = client.post(
            f"/api/v1/models/{result['version']}/promote",
            json={"reason": "Đã rà soát: dữ liệu lịch sử sai lệch / reviewed"},
            headers=headers,
        )
        assert response.status_code == 200, response.get_json()
        assert model_store.current_version(root) == result["version"]
        promoted = model_store.read_metadata(root, result["version"])["promoted_by"]
        assert promoted["reason"].startswith("Đã rà soát") and promoted["role"] == "admin"
