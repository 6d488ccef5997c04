"""Planning: small-cell suppression, placement results, supply/demand gaps and course plans."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from matcher.errors import MatcherError
from matcher.planning import (
    MIN_CELL,
    PLACEMENT_COUNTS,
    PLACEMENT_RATES,
    Z80,
    course_plan,
    gaps,
    placement_results,
    suppress,
    wilson_interval,
)

FIRST = pd.Period("2025-01", freq="M")
MONTHS = pd.period_range(FIRST, periods=12, freq="M")


# ============================================================================================
# Builders


def month(n: int) -> pd.Period:
    """Month n of the horizon, counting from 1 (month 1 = January 2025)."""
    return FIRST + (n - 1)


def demand_frame(
    points: dict[int, float],
    sds: dict[int, float] | None = None,
    *,
    trade: str = "garment",
    area_code: str = "33001",
    area_name: str = "Phố Hiến",
) -> pd.DataFrame:
    """Twelve months of forecast demand; bands are point ± z·σ."""
    point = np.array([points.get(n, 0.0) for n in range(1, 13)], dtype=float)
    sd = np.array([(sds or {}).get(n, 0.0) for n in range(1, 13)], dtype=float)
    return pd.DataFrame(
        {
            "trade": trade,
            "area_code": area_code,
            "area_name": area_name,
            "month": MONTHS,
            "point": point,
            "lo80": point - Z80 * sd,
            "hi80": point + Z80 * sd,
            "lo95": point - 1.959964 * sd,
            "hi95": point + 1.959964 * sd,
        }
    )


def pipeline_frame(
    graduates: dict[int, float], *, trade: str = "garment", area_code: str = "33001"
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trade": trade,
            "area_code": area_code,
            "month": [month(n) for n in graduates],
            "expected_graduates": [float(v) for v in graduates.values()],
        },
        columns=["trade", "area_code", "month", "expected_graduates"],
    )


def offer_frame(*offers: dict) -> pd.DataFrame:
    defaults = {
        "provider": "Trường Trung cấp Hưng Yên",
        "trade": "garment",
        "area_code": "33001",
        "area_name": "Phố Hiến",
        "course_name": "May công nghiệp",
        "level": "sơ cấp",
        "duration_months": 3,
        "cohort_size": 25,
        "capacity": 100,
    }
    return pd.DataFrame([{**defaults, **offer} for offer in offers])


def monthly(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["scope"] == "month"].set_index("month")


def total(frame: pd.DataFrame) -> pd.Series:
    return frame[frame["scope"] == "total"].iloc[0]


# ============================================================================================
# Wilson intervals and suppression


def test_wilson_interval_matches_known_value():
    # 5 of 10: centre 0.5, half-width 1.96·sqrt(0.025 + 0.0096)/1.384 = 0.2634.
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4)
    assert high == pytest.approx(0.7634, abs=1e-4)


def test_wilson_interval_vectorises_and_is_nan_without_trials():
    low, high = wilson_interval(np.array([0, 10, 3]), np.array([10, 10, 0]))
    assert low[0] == 0.0 and 0 < high[0] < 0.35
    assert high[1] == 1.0 and 0.65 < low[1] < 1  # exact bounds at 0 % and 100 %
    assert np.isnan(low[2]) and np.isnan(high[2])


def test_suppress_hides_whole_row_under_min_cell():
    frame = pd.DataFrame(
        {
            "enrolled": [9, 0, 10],
            "hired": [9, 0, 10],
            "hire_rate": [1.0, np.nan, 1.0],
            "hire_rate_low": [0.7, np.nan, 0.7],
            "hire_rate_high": [1.0, np.nan, 1.0],
        }
    )
    out = suppress(frame, ["enrolled", "hired"], {"hire_rate": ("hired", "enrolled")})
    assert out["suppressed"].tolist() == [True, True, False]
    assert out.loc[:1, ["enrolled", "hired"]].isna().all().all()
    assert out.loc[:1, ["hire_rate", "hire_rate_low", "hire_rate_high"]].isna().all().all()
    assert out.loc[2, "enrolled"] == 10 and out.loc[2, "hire_rate"] == 1.0


def test_suppress_blanks_small_cell_and_the_rate_it_would_reveal():
    # 5 hired of 40: 12.5 % times the shown 40 gives the 5 back, so the rate goes too.
    frame = pd.DataFrame({"enrolled": [40], "hired": [5], "hire_rate": [0.125]})
    out = suppress(frame, ["enrolled", "hired"], {"hire_rate": ("hired", "enrolled")})
    assert not out.loc[0, "suppressed"]
    assert out.loc[0, "enrolled"] == 40
    assert pd.isna(out.loc[0, "hired"]) and np.isnan(out.loc[0, "hire_rate"])


def test_suppress_never_leaks_small_count():
    rng = np.random.default_rng(7)
    n = 500
    frame = pd.DataFrame({"enrolled": rng.integers(0, 40, n)})
    frame["graduated"] = (frame["enrolled"] * rng.uniform(0, 1, n)).astype(int)
    frame["hired"] = (frame["graduated"] * rng.uniform(0, 1, n)).astype(int)
    rates = {"graduation_rate": ("graduated", "enrolled"), "hire_rate": ("hired", "graduated")}
    for rate, (k, m) in rates.items():
        frame[rate] = frame[k] / frame[m].replace(0, np.nan)
        frame[f"{rate}_low"], frame[f"{rate}_high"] = wilson_interval(frame[k], frame[m])

    out = suppress(frame, ["enrolled", "graduated", "hired"], rates)

    for column in ("enrolled", "graduated", "hired"):
        shown = out[column].dropna()
        assert (shown >= MIN_CELL).all()
    for rate, (k, m) in rates.items():
        for column in (rate, f"{rate}_low", f"{rate}_high"):
            shown = out[column].notna()
            assert (frame.loc[shown, k] >= MIN_CELL).all()
            assert (frame.loc[shown, m] >= MIN_CELL).all()
    assert (out["suppressed"] == (frame["enrolled"] < MIN_CELL)).all()


# ============================================================================================
# Placement results


TODAY = dt.date(2025, 5, 1)


@pytest.fixture
def placement_data():
    """Two providers, four courses; every count below is worked out by hand.

    C1 (provider P, garment, Jan–Mar 2024): workers 1–30 enrol, 1–25 graduate (31 Mar 2024),
    26–30 drop out. Window: 1 Jan 2024 – 31 Mar 2025.
      referred 20: workers 1–20 in April 2024 (worker 6 twice); worker 21 before the start
      and worker 22 after the window do not count; dropped-out worker 26's hire does not.
      hired 15: 1–14 on 20 Apr 2024, 15 on 20 Mar 2025.
      eligible 14: worker 15's hire is under 90 days before 1 May 2025.
      retained 11: workers 1, 2 left after 30 days, 4 after 89; 3 left after exactly 90.
    C2 (provider P, electrical, Jun–Aug 2024): workers 1–5 and 31–40 enrol, all 15 graduate.
      Workers 1–5's April referrals predate C2. Workers 31–35 are referred and hired in
      September 2024 (5: under 10, so blanked).
    Provider P: enrolled 40 (1–5 once), graduated 35, referred 25, hired 20, eligible 19,
      retained 16.
    C3 (provider Q): 5 enrol and graduate -> suppressed. C4 (provider Q): nobody enrols.
    """
    ts = pd.Timestamp
    courses = pd.DataFrame(
        {
            "course_id": [1, 2, 3, 4],
            "external_id": ["C1", "C2", "C3", "C4"],
            "name": ["May công nghiệp", "Điện dân dụng", "Điện tử", "May cơ bản"],
            "trade": ["garment", "electrical", "electronics", "garment"],
            "provider": ["P", "P", "Q", "Q"],
            "area_code": ["33001", "33001", "33010", "33010"],
            "area_name": ["Phố Hiến", "Phố Hiến", "Mỹ Hào", "Mỹ Hào"],
            "start_date": [ts("2024-01-01"), ts("2024-06-01"), ts("2024-01-01"), ts("2024-09-01")],
            "end_date": [ts("2024-03-31"), ts("2024-08-31"), ts("2024-03-31"), ts("2024-11-30")],
            "capacity": [30, 20, 10, 10],
        }
    )
    c1 = pd.DataFrame(
        {
            "worker_id": range(1, 31),
            "course_id": 1,
            "status": ["graduated"] * 25 + ["dropped"] * 5,
            "completed_on": [ts("2024-03-31")] * 25 + [pd.NaT] * 5,
        }
    )
    c2 = pd.DataFrame(
        {
            "worker_id": [*range(1, 6), *range(31, 41)],
            "course_id": 2,
            "status": "graduated",
            "completed_on": ts("2024-08-31"),
        }
    )
    c3 = pd.DataFrame(
        {
            "worker_id": range(50, 55),
            "course_id": 3,
            "status": "graduated",
            "completed_on": ts("2024-03-31"),
        }
    )
    enrollments = pd.concat([c1, c2, c3], ignore_index=True)

    def referral(worker, referred_on, outcome, hired_on=None, left_on=None):
        return {
            "worker_id": worker,
            "commitment_id": 100 + worker,
            "referred_on": ts(referred_on),
            "outcome": outcome,
            "hired_on": ts(hired_on) if hired_on else pd.NaT,
            "left_on": ts(left_on) if left_on else pd.NaT,
        }

    left = {1: "2024-05-20", 2: "2024-05-20", 3: "2024-07-19", 4: "2024-07-18"}
    rows = [referral(w, "2024-04-10", "hired", "2024-04-20", left.get(w)) for w in range(1, 15)]
    rows.append(referral(15, "2025-03-15", "hired", "2025-03-20"))
    rows += [referral(w, "2024-04-10", "not_hired") for w in range(16, 21)]
    rows.append(referral(6, "2024-05-02", "declined"))
    rows.append(referral(21, "2023-12-15", "hired", "2023-12-20"))
    rows.append(referral(22, "2025-04-15", "hired", "2025-04-20"))
    rows.append(referral(26, "2024-04-10", "hired", "2024-04-20"))
    rows += [referral(w, "2024-09-10", "hired", "2024-09-15") for w in range(31, 36)]
    rows.append(referral(50, "2024-04-10", "hired", "2024-04-20"))
    referrals = pd.DataFrame(rows)
    return enrollments, courses, referrals


def test_placement_results_counts_match_hand_count(placement_data):
    out = placement_results(*placement_data, today=TODAY).set_index("external_id")

    c1 = out.loc["C1"]
    counts = {column: int(c1[column]) for column in PLACEMENT_COUNTS}
    assert counts == {
        "enrolled": 30,
        "graduated": 25,
        "referred": 20,
        "hired": 15,
        "eligible_90d": 14,
        "retained_90d": 11,
    }
    assert c1["graduation_rate"] == pytest.approx(25 / 30)
    assert c1["hire_rate"] == pytest.approx(15 / 25)
    assert c1["placement_rate_referred"] == pytest.approx(15 / 20)
    assert c1["retention_90d_rate"] == pytest.approx(11 / 14)
    low, high = wilson_interval(15, 25)
    assert (c1["hire_rate_low"], c1["hire_rate_high"]) == pytest.approx((low, high))


def test_placement_results_blanks_small_counts_but_keeps_row(placement_data):
    out = placement_results(*placement_data, today=TODAY).set_index("external_id")

    c2 = out.loc["C2"]
    assert not c2["suppressed"]
    assert c2["enrolled"] == 15 and c2["graduated"] == 15
    assert c2["graduation_rate"] == 1.0
    for column in ("referred", "hired", "eligible_90d", "retained_90d"):
        assert pd.isna(c2[column])
    for rate in ("referral_rate", "hire_rate", "placement_rate_referred", "retention_90d_rate"):
        assert np.isnan(c2[rate]) and np.isnan(c2[f"{rate}_low"])


def test_placement_results_suppresses_small_and_empty_courses_last(placement_data):
    out = placement_results(*placement_data, today=TODAY)

    assert out["external_id"].tolist() == ["C1", "C2", "C3", "C4"]
    small = out[out["external_id"].isin(["C3", "C4"])]
    assert small["suppressed"].all()
    assert small[list(PLACEMENT_COUNTS)].isna().all().all()
    assert small[list(PLACEMENT_RATES)].isna().all().all()


def test_placement_results_counts_person_once_per_provider(placement_data):
    out = placement_results(*placement_data, today=TODAY, by="provider").set_index("provider")

    p = out.loc["P"]
    # Workers 1–5 took both C1 and C2: 30 + 15 − 5 = 40 enrolled, 25 + 15 − 5 = 35 graduated.
    counts = {column: int(p[column]) for column in PLACEMENT_COUNTS}
    assert counts == {
        "enrolled": 40,
        "graduated": 35,
        "referred": 25,
        "hired": 20,
        "eligible_90d": 19,
        "retained_90d": 16,
    }
    assert p["trades"] == ["electrical", "garment"] and p["trade_count"] == 2
    assert p["hire_rate"] == pytest.approx(20 / 35)
    assert out.loc["Q", "suppressed"]
    assert out.index.tolist() == ["P", "Q"]


@pytest.mark.parametrize("by", ["course", "provider"])
def test_placement_results_shows_no_count_between_1_and_9(placement_data, by):
    out = placement_results(*placement_data, today=TODAY, by=by)

    for column in PLACEMENT_COUNTS:
        shown = out[column].dropna()
        assert ((shown == 0) | (shown >= MIN_CELL)).all() and (shown != 0).all()


def test_placement_results_retention_waits_for_the_period(placement_data):
    # On 1 Aug 2024 the April 2024 hires are 103 days old, worker 15 not yet referred:
    # eligible 14 (1–14), retained 11 — but C1's window then ends on `today`.
    out = placement_results(*placement_data, today=dt.date(2024, 8, 1)).set_index("external_id")
    c1 = out.loc["C1"]
    assert c1["hired"] == 14 and c1["eligible_90d"] == 14 and c1["retained_90d"] == 11
    # A month earlier no hire is 90 days old: nothing is eligible, the rate is unknown.
    early = placement_results(*placement_data, today=dt.date(2024, 7, 1)).set_index("external_id")
    assert pd.isna(early.loc["C1", "eligible_90d"])
    assert np.isnan(early.loc["C1", "retention_90d_rate"])


def test_placement_results_rejects_unknown_grouping(placement_data):
    with pytest.raises(MatcherError) as error:
        placement_results(*placement_data, today=TODAY, by="area")
    assert error.value.code == "invalid_by"


# ============================================================================================
# Gaps


def test_gaps_computes_hand_checked_supply_and_gap():
    # Demand 40 in month 5 (σ 5); 10 graduates in month 2 × placement 0.5 = supply 5.
    frame = gaps(
        demand_frame({5: 40}, {5: 5}),
        pipeline_frame({2: 10}),
        {"garment": 0.5},
        first_month=FIRST,
    )
    months = monthly(frame)
    assert len(months) == 12
    assert months.loc[month(2), "expected_supply"] == 5
    assert months.loc[month(2), "carried_supply"] == 5  # waits for a later place
    assert months.loc[month(5), "shortfall"] == pytest.approx(35)
    assert months["shortfall"].sum() == pytest.approx(35)
    t = total(frame)
    assert (t["expected_demand"], t["expected_supply"], t["gap"]) == (40, 5, 35)
    # The 80 % bound: 35 ± 1.2816 · 5.
    assert t["gap_hi80"] == pytest.approx(35 + Z80 * 5)
    assert t["shortfall_hi80"] == pytest.approx(35 + Z80 * 5)


def test_gaps_early_supply_covers_later_demand():
    frame = gaps(demand_frame({3: 10}), pipeline_frame({1: 20}), 0.5, first_month=FIRST)
    months = monthly(frame)
    assert months["shortfall"].sum() == 0
    assert months.loc[month(1), "carried_supply"] == 10
    assert months.loc[month(3), "carried_supply"] == 0


def test_gaps_late_supply_never_covers_earlier_demand():
    # 10 places in month 1, 10 expected hires in month 3: the net gap is 0, yet month 1 is
    # short by 10 and the month-3 graduates wait unused.
    frame = gaps(demand_frame({1: 10}), pipeline_frame({3: 20}), 0.5, first_month=FIRST)
    months = monthly(frame)
    assert months.loc[month(1), "shortfall"] == 10
    assert months.loc[month(12), "cumulative_shortfall"] == 10
    t = total(frame)
    assert t["gap"] == 0 and t["shortfall"] == 10 and t["carried_supply"] == 10


def test_gaps_sums_monthly_variance_assuming_independence():
    # σ 3 and 4 in two months: the total's σ is sqrt(9 + 16) = 5, not 7.
    frame = gaps(
        demand_frame({2: 20, 3: 30}, {2: 3, 3: 4}), pipeline_frame({}), 0.5, first_month=FIRST
    )
    t = total(frame)
    assert t["demand_sd"] == pytest.approx(5)
    assert t["gap_lo95"] == pytest.approx(50 - 1.959964 * 5)
    month_row = monthly(frame).loc[month(2)]
    assert month_row["gap_hi80"] == pytest.approx(20 + Z80 * 3)


def test_gaps_counts_early_graduates_first_and_drops_late_ones():
    # 4 graduates due in October 2024 count in month 1; 6 due in March 2026 are left out.
    pipeline = pipeline_frame({1: 4, 2: 6}).assign(
        month=[pd.Period("2024-10", "M"), pd.Period("2026-03", "M")]
    )
    frame = gaps(demand_frame({1: 10}), pipeline, 0.5, first_month=FIRST)
    assert monthly(frame).loc[month(1), "expected_supply"] == 2
    assert total(frame)["expected_supply"] == 2


def test_gaps_falls_back_from_area_to_trade_to_overall_rate():
    demand = pd.concat(
        [
            demand_frame({1: 10}, area_code="A"),
            demand_frame({1: 10}, area_code="B"),
            demand_frame({1: 10}, trade="electrical", area_code="A"),
        ]
    )
    pipeline = pd.concat(
        [
            pipeline_frame({1: 10}, area_code="A"),
            pipeline_frame({1: 10}, area_code="B"),
            pipeline_frame({1: 10}, trade="electrical", area_code="A"),
        ]
    )
    rates = pd.DataFrame(
        {
            "trade": ["garment", "garment", None],
            "area_code": ["A", None, None],
            "placement_rate": [0.9, 0.6, 0.3],
        }
    )
    totals = gaps(demand, pipeline, rates, first_month=FIRST)
    totals = totals[totals["scope"] == "total"].set_index(["trade", "area_code"])
    assert totals.loc[("garment", "A"), "expected_supply"] == pytest.approx(9)
    assert totals.loc[("garment", "B"), "expected_supply"] == pytest.approx(6)
    assert totals.loc[("electrical", "A"), "expected_supply"] == pytest.approx(3)


def test_gaps_without_rate_for_trade_raises():
    with pytest.raises(MatcherError) as error:
        gaps(demand_frame({1: 10}), pipeline_frame({}), {"electrical": 0.5}, first_month=FIRST)
    assert error.value.code == "missing_rate"


# ============================================================================================
# Course plan


def plan_for(points, graduates=None, *offers, sds=None, placement=0.5, completion=0.8, **kw):
    frame = gaps(
        demand_frame(points, sds), pipeline_frame(graduates or {}), placement, first_month=FIRST
    )
    return course_plan(
        frame, offer_frame(*(offers or ({},))), placement, completion, first_month=FIRST, **kw
    )


def test_course_plan_hand_checked_case_closes_gap():
    # Demand 40 places in month 5 (σ 5); 10 graduates arrive in month 2 × placement 0.5 =
    # supply 5, so the gap is 35. Each place yields 0.8 × 0.5 = 0.4 expected hires:
    # places = ceil(35 / 0.4) = ceil(87.5) = 88, in cohorts of 25: 25 + 25 + 25 + 13.
    # A 3-month course for month 5 starts in month 2 (February) and ends in April.
    # Expected graduates 88 × 0.8 = 70.4, expected hires 70.4 × 0.5 = 35.2 ≥ 35.
    plan = plan_for({5: 40}, {2: 10}, {}, sds={5: 5})

    assert len(plan.rows) == 1
    row = plan.rows.iloc[0]
    assert row["start_month"] == month(2) and row["end_month"] == month(4)
    assert row["ready_month"] == month(5)
    assert row["places"] == 88 and row["cohorts"] == 4
    assert row["cohort_sizes"] == (25, 25, 25, 13)
    assert row["expected_graduates"] == pytest.approx(70.4)
    assert row["expected_hires"] == pytest.approx(35.2)
    assert row["gap_closed"] == pytest.approx(35)
    summary = plan.summary.iloc[0]
    assert summary["gap"] == pytest.approx(35) and summary["remaining_gap"] == 0
    assert summary["reason"] is None
    # At the 80 % upper bound the gap is 35 + 1.2816 · 5 = 41.41: ceil(41.41 / 0.4) = 104.
    assert summary["places_needed"] == 88 and summary["places_needed_hi80"] == 104
    assert summary["places_needed_lo80"] == 72  # ceil((35 − 6.41) / 0.4) = ceil(71.48)


def test_course_plan_capacity_binding_leaves_capacity_gap():
    # Capacity 50 places → 50 × 0.4 = 20 expected hires of the 35 needed; 15 remain.
    plan = plan_for({5: 40}, {2: 10}, {"capacity": 50})

    assert plan.rows["places"].sum() == 50
    summary = plan.summary.iloc[0]
    assert summary["remaining_gap"] == pytest.approx(15)
    assert summary["remaining_gap_capacity"] == pytest.approx(15)
    assert summary["reason"] == "capacity"


def test_course_plan_lead_time_binding_leaves_lead_time_gap():
    # Month 2's 40 places would need a 3-month course started in November 2024.
    plan = plan_for({2: 40}, None, {})

    assert plan.rows.empty
    summary = plan.summary.iloc[0]
    assert summary["remaining_gap_lead_time"] == pytest.approx(40)
    assert summary["reason"] == "lead_time"
    unmet = plan.to_frame()
    assert unmet["kind"].tolist() == ["unmet"] and unmet.iloc[0]["reason"] == "lead_time"


def test_course_plan_uses_shorter_offer_when_longer_one_is_too_late():
    # Month 3: a 6-month course is too late, a 2-month one (start month 1) is not.
    plan = plan_for(
        {3: 8},
        None,
        {"duration_months": 6, "provider": "A"},
        {"duration_months": 2, "provider": "B"},
    )
    assert plan.rows["provider"].tolist() == ["B"]
    assert plan.rows.iloc[0]["start_month"] == month(1)
    assert plan.summary.iloc[0]["remaining_gap"] == 0


def test_course_plan_rounding_leftover_never_fills_an_earlier_month():
    # 4.1 places in months 2 and 5. The local 2-month course cannot reach month 2, so the
    # first pass plans month 5: ceil(4.1 / 0.4) = 11 places, 4.4 hires, 0.3 left over.
    # The second pass covers month 2 from the 1-month course elsewhere; the month-5
    # leftover must not count there: ceil(4.1 / 0.4) = 11 places again, not ceil(3.8/0.4).
    plan = plan_for(
        {2: 4.1, 5: 4.1},
        None,
        {"provider": "Local", "duration_months": 2},
        {"provider": "Far", "area_code": "33020", "duration_months": 1},
    )
    rows = plan.rows.set_index("provider")
    assert rows.loc["Far", "ready_month"] == month(2) and rows.loc["Far", "places"] == 11
    assert rows.loc["Local", "ready_month"] == month(5) and rows.loc["Local", "places"] == 11
    assert rows.loc["Local", "gap_closed"] == pytest.approx(4.1)
    assert plan.summary.iloc[0]["remaining_gap"] == pytest.approx(0)


@pytest.mark.parametrize("graduates", [{1: 80}, {1: 100}])
def test_course_plan_zero_or_negative_gap_plans_nothing(graduates):
    # 80 graduates × 0.5 = 40 hires meet 40 places exactly; 100 leave a surplus.
    plan = plan_for({5: 40}, graduates, {})
    assert plan.rows.empty
    assert plan.summary.iloc[0]["remaining_gap"] == 0
    assert plan.summary.iloc[0]["reason"] is None


def test_course_plan_starts_no_course_before_today():
    # Today is March: month 5's shortfall needs a start in February, too late now.
    plan = plan_for({5: 40}, None, {}, today=dt.date(2025, 3, 10))
    assert plan.rows.empty and plan.summary.iloc[0]["reason"] == "lead_time"


def test_course_plan_prefers_same_area_then_spills_over_within_capacity():
    # 40 places in month 5 → ceil(40 / 0.4) = 100 places. The area's own provider has 60;
    # the rest (40) comes from a provider elsewhere in the province.
    plan = plan_for(
        {5: 40},
        None,
        {"provider": "Far", "area_code": "33020", "capacity": 500},
        {"provider": "Local", "capacity": 60},
    )
    places = plan.rows.set_index("provider")["places"]
    assert places.to_dict() == {"Local": 60, "Far": 40}
    assert plan.rows.set_index("provider").loc["Far", "course_area_code"] == "33020"
    assert plan.summary.iloc[0]["remaining_gap"] == pytest.approx(0)


def test_course_plan_closes_gap_across_months_and_areas_without_exceeding_capacity():
    demand = pd.concat(
        [
            demand_frame({4: 7, 6: 13, 9: 22, 12: 5}, area_code="A"),
            demand_frame({5: 30, 8: 11}, area_code="B"),
            demand_frame({7: 19}, trade="electrical", area_code="A"),
        ]
    )
    pipeline = pd.concat(
        [pipeline_frame({3: 6}, area_code="A"), pipeline_frame({9: 4}, area_code="B")]
    )
    offers = offer_frame(
        {"provider": "P1", "area_code": "A", "capacity": 70, "duration_months": 2},
        {"provider": "P2", "area_code": "B", "capacity": 130, "cohort_size": 20},
        {"provider": "P3", "trade": "electrical", "area_code": "B", "capacity": 200},
    )
    rates = {"garment": 0.55, "electrical": 0.7}
    frame = gaps(demand, pipeline, rates, first_month=FIRST)

    plan = course_plan(
        frame, offers, rates, {"garment": 0.85, "electrical": 0.75}, first_month=FIRST
    )

    summary = plan.summary.set_index(["trade", "area_code"])
    assert (summary["remaining_gap"] < 1e-9).all()
    hires = plan.rows.groupby(["trade", "area_code"])["expected_hires"].sum()
    closed = plan.rows.groupby(["trade", "area_code"])["gap_closed"].sum()
    for key, row in summary.iterrows():
        assert hires[key] >= row["shortfall"] - 1e-9
        assert closed[key] == pytest.approx(row["shortfall"])
    used = plan.rows.groupby("provider")["places"].sum()
    assert (used <= offers.set_index("provider")["capacity"].reindex(used.index)).all()
    assert (plan.rows["cohort_sizes"].map(max) <= 25).all()
    assert (plan.rows["start_month"] >= FIRST).all()


def test_course_plan_to_frame_lists_courses_then_unmet():
    plan = plan_for({5: 40}, {2: 10}, {"capacity": 50})
    table = plan.to_frame()
    assert table["kind"].tolist() == ["course", "unmet"]
    assert table.iloc[1]["remaining_gap"] == pytest.approx(15)


def test_course_plan_rejects_offer_without_places_per_cohort():
    frame = gaps(demand_frame({5: 40}), pipeline_frame({}), 0.5, first_month=FIRST)
    with pytest.raises(MatcherError) as error:
        course_plan(frame, offer_frame({"cohort_size": 0}), 0.5, 0.8, first_month=FIRST)
    assert error.value.code == "invalid_offer"


# ============================================================================================
# Course plan: the minimum class size


def assert_viable(plan, min_cohort: int, offers: pd.DataFrame) -> None:
    """Every class has at least min_cohort places a cohort, at most the offer's cohort size."""
    sizes = offers.set_index("provider")["cohort_size"]
    for _, row in plan.rows.iterrows():
        assert (
            sum(row["cohort_sizes"]) == row["places"] and len(row["cohort_sizes"]) == row["cohorts"]
        )
        assert min(row["cohort_sizes"]) >= min_cohort
        assert max(row["cohort_sizes"]) <= sizes[row["provider"]]
        assert sum(row["places_by_area"]) == row["places"]
        assert row["areas_served"][0] == row["area_code"]


def test_course_plan_opens_no_class_under_the_minimum():
    # Spread-out small needs of two areas and two trades: with min_cohort=1 the plan is
    # classes of 2 to 9 places; with the default 10 every cohort has 10 or more.
    demand = pd.concat(
        [
            demand_frame({4: 1.5, 5: 2.0, 6: 30.3, 9: 3.1, 12: 0.4}, area_code="A"),
            demand_frame({5: 2.2, 8: 1.0, 10: 20.0}, area_code="B"),
            demand_frame({7: 3.3, 11: 2.9}, trade="electrical", area_code="A"),
        ]
    )
    offers = offer_frame(
        {"provider": "P1", "area_code": "A", "capacity": 300, "cohort_size": 30},
        {"provider": "P2", "area_code": "B", "capacity": 300, "cohort_size": 12},
        {"provider": "P3", "trade": "electrical", "area_code": "B", "capacity": 300},
    )
    frame = gaps(demand, pipeline_frame({}), 0.5, first_month=FIRST)

    before = course_plan(frame, offers, 0.5, 0.8, first_month=FIRST, min_cohort=1)
    after = course_plan(frame, offers, 0.5, 0.8, first_month=FIRST)

    assert (before.rows["places"] < 10).any()
    assert after.min_cohort == 10 and (after.summary["min_cohort"] == 10).all()
    assert_viable(after, 10, offers)
    assert (after.rows["places"] >= 10).all()
    # Closed or explained, every expected hire of the shortfall.
    summary = after.summary
    explained = (
        summary["gap_closed"]
        + summary["remaining_gap_lead_time"]
        + summary["remaining_gap_capacity"]
        + summary["remaining_gap_below_min"]
    )
    np.testing.assert_allclose(explained, summary["shortfall"])
    np.testing.assert_allclose(
        summary["remaining_gap"], summary["shortfall"] - summary["gap_closed"]
    )


@pytest.mark.parametrize(
    ("places", "cohort_size", "sizes"),
    [(88, 25, (25, 25, 25, 13)), (76, 25, (25, 25, 13, 13)), (30, 12, (10, 10, 10)),
     (26, 25, (13, 13)), (10, 25, (10,)), (50, 25, (25, 25))],
)  # fmt: skip
def test_course_plan_splits_places_into_full_cohorts_then_even_ones(places, cohort_size, sizes):
    # One month, one offer: the need is exactly `places` places (0.4 hires a place).
    plan = plan_for({5: places * 0.4 - 0.01}, None, {"cohort_size": cohort_size, "capacity": 500})
    row = plan.rows.iloc[0]
    assert row["places"] == places
    assert row["cohort_sizes"] == sizes and row["cohorts"] == len(sizes)


def test_course_plan_merges_a_small_month_into_the_next_months_class_starting_earlier():
    # 1.2 hires in month 4 (3 places) and 8 in month 5 (20 places): one class of
    # ceil(9.2 / 0.4) = 23 places ready in month 4, starting a month earlier (month 1 for a
    # 3-month course); month 5's graduates wait one month. Not a class of 3 then one of 20.
    plan = plan_for({4: 1.2, 5: 8.0}, None, {})

    assert len(plan.rows) == 1
    row = plan.rows.iloc[0]
    assert row["places"] == 23 and row["ready_month"] == month(4)
    assert row["start_month"] == month(1) and row["end_month"] == month(3)
    assert row["gap_closed"] == pytest.approx(9.2)
    assert plan.summary.iloc[0]["remaining_gap"] == pytest.approx(0)


def test_course_plan_merges_a_small_last_month_into_the_previous_class():
    # 8 hires in month 5 (20 places) and 1.2 in month 6 (3 places): the three join the
    # month-5 class, whose graduates are ready before month 6 (they wait a month).
    plan = plan_for({5: 8.0, 6: 1.2}, None, {})

    assert len(plan.rows) == 1
    row = plan.rows.iloc[0]
    assert row["places"] == 23 and row["ready_month"] == month(5)
    assert plan.summary.iloc[0]["remaining_gap"] == pytest.approx(0)


def test_course_plan_never_merges_across_more_than_two_months():
    # 1.2 hires in months 4 and 9: five months apart, no class can serve both; each is
    # 3 places, under half a class, so both stay open as too small for a class.
    plan = plan_for({4: 1.2, 9: 1.2}, None, {})

    assert plan.rows.empty
    summary = plan.summary.iloc[0]
    assert summary["remaining_gap_below_min"] == pytest.approx(2.4)
    assert summary["remaining_gap_capacity"] == 0 and summary["remaining_gap_lead_time"] == 0
    assert summary["reason"] == "below_min_cohort"
    unmet = plan.to_frame()
    assert unmet.iloc[0]["kind"] == "unmet" and unmet.iloc[0]["remaining_gap_below_min"] == 2.4


def test_course_plan_merges_a_small_need_into_a_neighbouring_areas_class():
    # Area A needs 8 hires in month 5 (20 places) from its provider P; area B, without a
    # provider of its own, needs 1.2 (3 places) in month 5: they join P's class for A.
    demand = pd.concat(
        [demand_frame({5: 8.0}, area_code="A"), demand_frame({5: 1.2}, area_code="B")]
    )
    frame = gaps(demand, pipeline_frame({}), 0.5, first_month=FIRST)
    offers = offer_frame({"provider": "P", "area_code": "A"})

    plan = course_plan(frame, offers, 0.5, 0.8, first_month=FIRST)

    assert len(plan.rows) == 1
    row = plan.rows.iloc[0]
    assert row["area_code"] == "A" and row["places"] == 23
    assert row["areas_served"] == ("A", "B") and row["places_by_area"] == (20, 3)
    assert row["gap_closed"] == pytest.approx(9.2)
    summary = plan.summary.set_index("area_code")
    assert summary.loc["B", "planned_places"] == 3 and summary.loc["A", "planned_places"] == 20
    assert summary.loc["B", "expected_hires"] == pytest.approx(1.2)
    assert (summary["remaining_gap"] < 1e-9).all()


@pytest.mark.parametrize(
    ("hires", "places", "open_"),
    [(2.0, 10, 0.0), (1.6, 0, 1.6), (1.99, 10, 0.0)],
)  # fmt: skip
def test_course_plan_rounds_up_a_remainder_of_at_least_half_a_class(hires, places, open_):
    # 2.0 hires = 5 places, half of 10: one class of 10. 1.6 hires = 4 places: a class of
    # 10 would be more than half invented demand, so it stays open (below_min_cohort).
    plan = plan_for({6: hires}, None, {})

    assert plan.rows["places"].sum() == places
    summary = plan.summary.iloc[0]
    assert summary["remaining_gap_below_min"] == pytest.approx(open_)
    assert summary["reason"] == ("below_min_cohort" if open_ else None)


def test_course_plan_merges_only_within_capacity():
    # 8 hires in month 5 take 20 of 21 places; month 6's 3 places (1.2 hires) join that
    # class only as far as the one place left goes: 0.8 hires stay open, and as the
    # providers are full that is capacity, not the minimum.
    plan = plan_for({5: 8.0, 6: 1.2}, None, {"capacity": 21})

    assert plan.rows["places"].tolist() == [21]
    summary = plan.summary.iloc[0]
    assert summary["gap_closed"] == pytest.approx(8.4)
    assert summary["remaining_gap_capacity"] == pytest.approx(0.8)
    assert summary["remaining_gap_below_min"] == 0
    assert summary["reason"] == "capacity"


def test_course_plan_merges_never_break_lead_time_or_capacity():
    # Many small needs over a year, three areas, two providers with tight capacity: every
    # class starts today or later and is ready by the month of every place it closes.
    rng = np.random.default_rng(11)
    demand = pd.concat(
        [
            demand_frame({n: float(rng.choice([0, 0.6, 1.3, 2.5, 6.0])) for n in range(1, 13)},
             area_code=code)
            for code in ("A", "B", "C")
        ]
    )  # fmt: skip
    offers = offer_frame(
        {"provider": "P1", "area_code": "A", "capacity": 60, "duration_months": 2},
        {"provider": "P2", "area_code": "B", "capacity": 45, "cohort_size": 15},
    )
    frame = gaps(demand, pipeline_frame({}), 0.5, first_month=FIRST)
    today = dt.date(2025, 2, 3)

    plan = course_plan(frame, offers, 0.5, 0.8, first_month=FIRST, today=today)

    assert_viable(plan, 10, offers)
    used = plan.rows.groupby("provider")["places"].sum()
    assert (used <= offers.set_index("provider")["capacity"].reindex(used.index)).all()
    rows = plan.rows
    assert (rows["start_month"] >= pd.Period(today, "M")).all()
    assert (rows["ready_month"] == rows["start_month"] + rows["duration_months"]).all()
    # Nothing is closed before its class is ready: per area, what is closed by the end of
    # each month never exceeds the shortfall of the months the area's classes were ready for.
    shortfall = monthly(frame.assign(month=frame["month"])).reset_index()
    for area, group in plan.summary.groupby("area_code"):
        months = shortfall[shortfall["area_code"] == area].set_index("month")["shortfall"]
        ready = rows[rows["areas_served"].map(lambda a, area=area: area in a)]["ready_month"]
        if ready.empty:
            continue
        reachable = months[months.index >= ready.min()].sum()
        assert group["gap_closed"].iloc[0] <= reachable + 1e-9
    explained = (
        plan.summary["gap_closed"]
        + plan.summary[["remaining_gap_lead_time", "remaining_gap_capacity",
                        "remaining_gap_below_min"]].sum(axis=1)
    )  # fmt: skip
    np.testing.assert_allclose(explained, plan.summary["shortfall"])


def test_course_plan_cannot_use_an_offer_whose_classes_are_too_small():
    plan = plan_for({5: 8.0}, None, {"provider": "Tiny", "cohort_size": 8})

    assert plan.rows.empty
    assert plan.excluded_offers["provider"].tolist() == ["Tiny"]
    assert plan.excluded_offers["reason"].tolist() == ["cohort_size_below_min"]
    summary = plan.summary.iloc[0]
    assert summary["remaining_gap_below_min"] == pytest.approx(8.0)
    assert summary["reason"] == "below_min_cohort"


def test_course_plan_with_minimum_one_plans_as_before():
    # The figures of test_course_plan_rounding_leftover_never_fills_an_earlier_month's
    # case and of one-place classes: with min_cohort=1 nothing is merged or rounded up.
    plan = plan_for({4: 1.2, 5: 8.0, 9: 0.3}, None, {}, min_cohort=1)

    assert plan.rows["places"].tolist() == [3, 20, 1]
    assert plan.rows["ready_month"].tolist() == [month(4), month(5), month(9)]
    assert plan.rows["cohort_sizes"].tolist() == [(3,), (20,), (1,)]
    summary = plan.summary.iloc[0]
    assert summary["remaining_gap"] == pytest.approx(0)
    assert summary["remaining_gap_below_min"] == 0 and summary["min_cohort"] == 1


def test_course_plan_rejects_a_minimum_under_one():
    frame = gaps(demand_frame({5: 40}), pipeline_frame({}), 0.5, first_month=FIRST)
    with pytest.raises(MatcherError) as error:
        course_plan(frame, offer_frame({}), 0.5, 0.8, first_month=FIRST, min_cohort=0)
    assert error.value.code == "invalid_min_cohort"
