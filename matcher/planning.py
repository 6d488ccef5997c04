"""Plan courses against hiring demand, and report placement results without exposing people.

Three pieces, all on data frames and arrays (no loops over people or pairs):

**Small cells.** Planners see aggregates only, and a count of a handful of people in one
course identifies them, so every public figure goes through :func:`suppress`:

* a row whose *base* count (people enrolled) is under :data:`MIN_CELL` (10) is hidden whole:
  all its counts, rates and intervals become missing and ``suppressed`` is True. Zero counts
  too: "0 of 4 hired" is as telling as "1 of 4";
* in a row that is shown, each other count under :data:`MIN_CELL` is blanked on its own, and
  a rate is blanked with its interval when its numerator *or* its denominator is under
  :data:`MIN_CELL` (a rate times a shown denominator gives the numerator back, so "5 of 40"
  cannot be published as 12.5 % either);
* hence no published count is ever between 1 and 9, and no published rate rests on one.

Totals are computed *before* suppression (a provider row counts the people of its suppressed
courses too) and no secondary suppression is done: subtracting the shown rows of a table from
a total, or the course table from the provider table, can reveal a hidden cell, and two shown
counts may differ by less than 10. Publish a total beside its parts only when that is
acceptable.

**Placement results.** :func:`placement_results` follows each graduate from the start of the
course to ``follow_days`` after completion: referred, hired, still employed ``retention_days``
after the hire. Rates come with 95 % Wilson intervals (:func:`wilson_interval`), which stay
inside [0, 1] and behave at 0 % and 100 %.

**Gaps and course plans.** :func:`gaps` sets forecast demand (places committed, by start
month) against the supply of people now in training (expected graduates × placement rate, by
the month their course ends), month by month, with intervals from the forecast bands, and the
*timing-aware* shortfall: a graduate who arrives in March can fill a May place, not a January
one. :func:`course_plan` turns the shortfall into new courses from the province's offers,
started early enough that graduates arrive in time, never over an offer's capacity, and says
what stays unmet and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from matcher.errors import MatcherError

__all__ = [
    "MAX_WAIT_MONTHS",
    "MIN_CELL",
    "MIN_COHORT",
    "CoursePlan",
    "course_plan",
    "gaps",
    "placement_results",
    "suppress",
    "wilson_interval",
]

#: Smallest number of people a published figure may rest on.
MIN_CELL = 10
#: Smallest class a course plan opens by default: training centres do not run a class of
#: one or three (a setting of the API, CAUNOI_MIN_COHORT).
MIN_COHORT = 10
#: Months a graduate of a merged class may wait for the place it was planned for.
MAX_WAIT_MONTHS = 2
#: Standard normal quantiles of two-sided 80 % and 95 % intervals.
Z80 = 1.2815516
Z95 = 1.959964
# Shortfalls below this many expected hires are float noise, not places to plan.
_EPS = 1e-9

#: Rates of :func:`placement_results`: name -> (numerator, denominator).
PLACEMENT_RATES: dict[str, tuple[str, str]] = {
    "graduation_rate": ("graduated", "enrolled"),
    "referral_rate": ("referred", "graduated"),
    "hire_rate": ("hired", "graduated"),
    "placement_rate_referred": ("hired", "referred"),
    "retention_90d_rate": ("retained_90d", "eligible_90d"),
}
PLACEMENT_COUNTS = ("enrolled", "graduated", "referred", "hired", "eligible_90d", "retained_90d")

RateSpec = float | Mapping[Any, float] | pd.DataFrame


# ============================================================================================
# Small cells and intervals


def wilson_interval(
    successes: Any, trials: Any, z: float = Z95
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Return the Wilson score interval of a proportion, element-wise; NaN where trials == 0.

    Wilson rather than the normal approximation because course cohorts are small and rates
    near 0 or 1 are common; its bounds never leave [0, 1]. ``z=1.959964`` gives 95 %.
    Scalars in give floats out; arrays give arrays.
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        z2 = z * z
        denominator = 1.0 + z2 / n
        centre = (p + z2 / (2.0 * n)) / denominator
        half = z * np.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denominator
    valid = n > 0
    # At 0 % and 100 % the bound is exactly 0 or 1 in theory; float noise would say 0.99...
    low = np.where(valid, np.where(k <= 0, 0.0, np.clip(centre - half, 0.0, 1.0)), np.nan)
    high = np.where(valid, np.where(k >= n, 1.0, np.clip(centre + half, 0.0, 1.0)), np.nan)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def suppress(
    frame: pd.DataFrame,
    count_columns: Sequence[str],
    rate_columns: Mapping[str, tuple[str, str]] | None = None,
    *,
    base_column: str | None = None,
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Hide every figure that rests on fewer than ``min_cell`` people; return a copy.

    Rules, in order (see the module docstring for why):

    1. a row whose ``base_column`` (default: the first count column) is under ``min_cell``,
       or missing, is suppressed: every count, rate and ``<rate>_low``/``<rate>_high``
       interval column becomes missing and ``suppressed`` is True;
    2. in the other rows each count under ``min_cell`` (0 included) becomes missing;
    3. a rate and its interval become missing when its numerator or denominator count
       (``rate_columns`` maps rate -> (numerator, denominator)) is under ``min_cell``.

    Counts come back as nullable ``Int64`` (``<NA>`` when hidden), rates as float (NaN).
    Totals must be computed before calling this; no secondary suppression is done.
    """
    counts = list(count_columns)
    rates = dict(rate_columns or {})
    base = base_column or counts[0]
    out = frame.copy()

    def _small(column: str) -> pd.Series:
        # NaN >= min_cell is False, so a missing count is treated as small and hidden.
        return ~(pd.to_numeric(out[column]) >= min_cell)

    row_hidden = _small(base)
    hidden = {column: _small(column) | row_hidden for column in counts}
    for rate, (numerator, denominator) in rates.items():
        hide = (
            row_hidden
            | hidden.get(numerator, _small(numerator))
            | hidden.get(denominator, _small(denominator))
        )
        for column in (rate, f"{rate}_low", f"{rate}_high"):
            if column in out:
                out[column] = out[column].astype(float).mask(hide)
    for column in counts:
        out[column] = out[column].astype("Int64").mask(hidden[column])
    out["suppressed"] = row_hidden.to_numpy(dtype=bool)
    return out


# ============================================================================================
# Placement results


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise MatcherError(f"{name} lacks columns: {', '.join(missing)}", code="missing_columns")


def _person_course_flags(
    enrollments: pd.DataFrame,
    courses: pd.DataFrame,
    referrals: pd.DataFrame,
    *,
    today: pd.Timestamp,
    retention_days: int,
    follow_days: int,
) -> pd.DataFrame:
    """Return one row per (course, worker) with enrolled/graduated/referred/... flags."""
    enr = enrollments.merge(
        courses[["course_id", "start_date", "end_date"]], on="course_id", how="inner"
    )
    graduated = enr["status"].eq("graduated")
    enr = enr.assign(
        graduated=graduated,
        # A graduate without a recorded completion date completed when the course ended.
        completed=pd.to_datetime(enr["completed_on"])
        .where(graduated)
        .fillna(pd.to_datetime(enr["end_date"]).where(graduated)),
    )
    people = enr.groupby(["course_id", "worker_id"], as_index=False).agg(
        graduated=("graduated", "max"),
        completed=("completed", "max"),
        start_date=("start_date", "first"),
    )

    grads = people.loc[people["graduated"], ["course_id", "worker_id", "completed", "start_date"]]
    pairs = grads.merge(
        referrals[["worker_id", "referred_on", "outcome", "hired_on", "left_on"]],
        on="worker_id",
        how="inner",
    )
    referred_on = pd.to_datetime(pairs["referred_on"])
    window_start = pd.to_datetime(pairs["start_date"]).fillna(pd.Timestamp.min)
    window_end = pd.to_datetime(pairs["completed"]) + pd.Timedelta(days=follow_days)
    # Referrals after `today` are future-dated records, not results yet.
    in_window = (referred_on >= window_start) & (referred_on <= window_end) & (referred_on <= today)
    hired = in_window & pairs["outcome"].eq("hired")
    hire_date = pd.to_datetime(pairs["hired_on"]).fillna(referred_on)
    left_on = pd.to_datetime(pairs["left_on"])
    retention = pd.Timedelta(days=retention_days)
    eligible = hired & (hire_date <= today - retention)
    retained = eligible & (left_on.isna() | (left_on - hire_date >= retention))
    flags = (
        pairs[["course_id", "worker_id"]]
        .assign(referred=in_window, hired=hired, eligible_90d=eligible, retained_90d=retained)
        .groupby(["course_id", "worker_id"], as_index=False)
        .max()
    )
    people = people.merge(flags, on=["course_id", "worker_id"], how="left")
    for column in ("referred", "hired", "eligible_90d", "retained_90d"):
        people[column] = people[column].eq(True)
    return people.assign(enrolled=True)[["course_id", "worker_id", *PLACEMENT_COUNTS]]


def placement_results(
    enrollments: pd.DataFrame,
    courses: pd.DataFrame,
    referrals: pd.DataFrame,
    *,
    today: dt.date,
    by: str = "course",
    retention_days: int = 90,
    follow_days: int = 365,
) -> pd.DataFrame:
    """Count enrolled, graduated, referred, hired and retained people per course or provider.

    Planners choose courses and providers by what happens to their graduates, so each
    graduate is followed from the course start to ``follow_days`` after completion (the
    course end when no completion date is recorded), up to ``today``:

    * ``referred``: graduates with at least one referral in that window;
    * ``hired``: graduates with a referral in that window whose outcome is "hired" (so
      hired ⊆ referred); the hire date is ``hired_on``, or ``referred_on`` when missing;
    * ``eligible_90d``: hired graduates with a hire at least ``retention_days`` before
      ``today`` — only they can show whether they stayed;
    * ``retained_90d``: eligible graduates with such a hire whose ``left_on`` is missing or
      at least ``retention_days`` after the hire (retained ⊆ eligible). The ``90d`` names are
      kept whatever ``retention_days`` is.

    A person counts once per row: once per course, and once per provider however many of its
    courses they took (any course's window counts). Rates: ``graduation_rate``,
    ``referral_rate``, ``hire_rate``, ``placement_rate_referred`` (hired / referred),
    ``retention_90d_rate`` (retained / eligible), each with ``_low``/``_high`` 95 % Wilson
    bounds. Then :func:`suppress` on ``enrolled`` hides small cells. Sorted by hire rate,
    highest first, rows without one after, suppressed rows last.

    Columns (by="course"): course_id, external_id, name, trade, provider, area_code,
    area_name; (by="provider"): provider, trades (sorted list), trade_count, course_count;
    then enrolled, graduated, referred, hired, eligible_90d, retained_90d, each rate with
    its bounds, suppressed.
    """
    _require(enrollments, ["worker_id", "course_id", "status", "completed_on"], "enrollments")
    _require(
        courses,
        [
            "course_id",
            "external_id",
            "name",
            "trade",
            "provider",
            "area_code",
            "area_name",
            "start_date",
            "end_date",
        ],
        "courses",
    )
    _require(referrals, ["worker_id", "referred_on", "outcome", "hired_on", "left_on"], "referrals")
    if by not in ("course", "provider"):
        raise MatcherError(f"by must be 'course' or 'provider', not {by!r}", code="invalid_by")

    people = _person_course_flags(
        enrollments,
        courses,
        referrals,
        today=pd.Timestamp(today),
        retention_days=retention_days,
        follow_days=follow_days,
    )
    if by == "course":
        key = "course_id"
        rows = courses[
            ["course_id", "external_id", "name", "trade", "provider", "area_code", "area_name"]
        ].drop_duplicates("course_id")
    else:
        key = "provider"
        people = people.merge(courses[["course_id", "provider"]], on="course_id", how="left")
        rows = courses.groupby("provider", as_index=False).agg(
            trades=("trade", lambda trades: sorted(trades.dropna().unique())),
            trade_count=("trade", "nunique"),
            course_count=("course_id", "nunique"),
        )
    # Person once per row, then people per row.
    counts = (
        people.groupby([key, "worker_id"])[list(PLACEMENT_COUNTS)]
        .max()
        .groupby(level=key)
        .sum()
        .reset_index()
    )
    out = rows.merge(counts, on=key, how="left")
    for column in PLACEMENT_COUNTS:
        out[column] = out[column].fillna(0).astype("int64")
    for rate, (numerator, denominator) in PLACEMENT_RATES.items():
        k = out[numerator].to_numpy(dtype=float)
        n = out[denominator].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[rate] = np.where(n > 0, k / n, np.nan)
        out[f"{rate}_low"], out[f"{rate}_high"] = wilson_interval(k, n)
    out = suppress(out, PLACEMENT_COUNTS, PLACEMENT_RATES, base_column="enrolled")
    return out.sort_values(
        ["suppressed", "hire_rate", key], ascending=[True, False, True], na_position="last"
    ).reset_index(drop=True)


# ============================================================================================
# Months and rates


def _to_month(value: Any) -> pd.Period:
    if isinstance(value, pd.Period):
        return value.asfreq("M")
    return pd.Period(value, freq="M")


def _month_ordinals(values: Any) -> np.ndarray:
    """Return month ordinals (pd.Period("1970-01", "M") == 0) of Periods, dates or strings."""
    series = pd.Series(values)
    if not isinstance(series.dtype, pd.PeriodDtype):
        series = pd.to_datetime(series).dt.to_period("M")
    else:
        series = series.dt.asfreq("M")
    return np.asarray(series.array.asi8, dtype=np.int64)


def _rate_table(
    rate: RateSpec, name: str
) -> tuple[dict[tuple[str, str], float], dict[str, float], float | None]:
    """Split a rate given as a number, mapping or frame into area, trade and overall levels."""
    by_area: dict[tuple[str, str], float] = {}
    by_trade: dict[str, float] = {}
    overall: float | None = None
    if isinstance(rate, int | float | np.floating | np.integer):
        return by_area, by_trade, float(rate)
    if isinstance(rate, pd.Series):
        rate = rate.to_dict()
    if isinstance(rate, pd.DataFrame):
        value_column = name if name in rate.columns else "rate"
        _require(rate, [value_column], name)
        trades = rate["trade"] if "trade" in rate else pd.Series([None] * len(rate))
        areas = rate["area_code"] if "area_code" in rate else pd.Series([None] * len(rate))
        entries = [
            ((None if pd.isna(t) else t), (None if pd.isna(a) else a), v)
            for t, a, v in zip(trades, areas, rate[value_column], strict=True)
        ]
    else:
        entries = []
        for key, value in rate.items():
            if isinstance(key, tuple):
                entries.append((key[0], key[1], value))
            else:
                entries.append((key, None, value))
    for trade, area, value in entries:
        value = float(value)
        if trade is None:
            overall = value
        elif area is None:
            by_trade[str(trade)] = value
        else:
            by_area[(str(trade), str(area))] = value
    return by_area, by_trade, overall


def _resolve_rate(
    rate: RateSpec, trades: Sequence[Any], areas: Sequence[Any], name: str
) -> np.ndarray:
    """Look a rate up per trade × area, falling back to the trade, then to the overall rate."""
    by_area, by_trade, overall = _rate_table(rate, name)
    values = []
    for trade, area in zip(trades, areas, strict=True):  # one per trade × area group
        value = by_area.get((str(trade), str(area)), by_trade.get(str(trade), overall))
        if value is None:
            raise MatcherError(
                f"no {name} for trade {trade!r} in area {area!r}, and no overall rate",
                code="missing_rate",
            )
        values.append(value)
    result = np.asarray(values, dtype=float)
    if not np.all((result >= 0) & (result <= 1)):
        raise MatcherError(f"{name} must lie in [0, 1]", code="invalid_rate")
    return result


# ============================================================================================
# Gaps


def _shortfall(demand: np.ndarray, supply: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the monthly shortfall and the carried-over supply, per row of (groups × months).

    Supply may wait for later demand; demand left unfilled in its month is lost (a March
    graduate cannot fill a January place). Serving each month from everything that has
    arrived so far is optimal for that rule, and its cumulative shortfall has a closed form:
    ``C_t = max(0, max_{s<=t} (cumulative demand_s - cumulative supply_s))``.
    """
    net = np.cumsum(demand - supply, axis=1)
    cumulative = np.maximum.accumulate(np.maximum(net, 0.0), axis=1)
    monthly = np.diff(cumulative, axis=1, prepend=0.0)
    carried = cumulative - net  # supply arrived minus demand filled, never negative
    return monthly, carried


def gaps(
    demand: pd.DataFrame,
    pipeline: pd.DataFrame,
    placement_rate: RateSpec,
    *,
    first_month: Any,
    horizon: int = 12,
) -> pd.DataFrame:
    """Set forecast demand against the expected hires of people in training, per trade × area.

    Why monthly and cumulative: a course plan must know *when* places go unfilled, because a
    graduate can take a place that starts in or after the month their course ends, never an
    earlier one.

    Inputs: ``demand`` has trade, area_code, area_name, month (Period[M]), point, lo80, hi80,
    lo95, hi95 (one row per trade × area × month); ``pipeline`` has trade, area_code, month
    (the month the course ends), expected_graduates. ``placement_rate`` is a number, a
    mapping ``{trade: rate, (trade, area_code): rate, None: overall}`` or a frame with trade,
    optional area_code, and placement_rate (a missing trade is the overall rate); lookups fall
    back from trade × area to trade to overall.

    Output: for every trade × area seen in either input, ``horizon`` rows with
    ``scope="month"`` (months ``first_month`` ... ``first_month + horizon - 1``; a missing
    month has no demand) and one row with ``scope="total"`` (``month`` is NaT) last.
    Columns:

    * ``expected_demand`` (forecast point), ``demand_sd`` (its σ),
      ``expected_supply`` = expected graduates × placement rate. Graduates due before
      ``first_month`` are counted in the first month; those due after the horizon are left
      out. Supply is treated as known: its own uncertainty is not in the intervals.
    * ``gap`` = demand − supply (positive: shortfall) and ``gap_lo80``, ``gap_hi80``,
      ``gap_lo95``, ``gap_hi95``. A month's bounds are the forecast's own band minus supply.
      The total's are ``gap ± z·sqrt(Σ σ²)`` with σ = (hi80 − lo80) / (2 · 1.2816) (from
      the 95 % band when the 80 % one is missing, else 0) — months are assumed
      independent. Forecast errors of neighbouring months are usually positively
      correlated, so the total's interval is if anything too narrow.
    * ``cumulative_demand``, ``cumulative_supply`` (from ``first_month``), ``shortfall``
      (demand of the month that supply arrived by then cannot fill, ≥ 0; the total row sums
      it), ``cumulative_shortfall``, ``carried_supply`` (expected hires waiting for a place
      at the month's end; on the total row, unused at the horizon's end).
    * ``shortfall_lo80``, ``shortfall_hi80``, ``shortfall_lo95``, ``shortfall_hi95``: the
      shortfall when each month's demand is moved by ``k·σ``, with ``k`` chosen so that the
      total demand sits at its lower/upper bound under independence
      (``k = z·sqrt(Σσ²) / Σσ``), clipped at zero. A plausible scenario, not an exact
      quantile of the shortfall.
    * ``placement_rate`` used for the group.
    """
    _require(
        demand,
        ["trade", "area_code", "area_name", "month", "point", "lo80", "hi80", "lo95", "hi95"],
        "demand",
    )
    _require(pipeline, ["trade", "area_code", "month", "expected_graduates"], "pipeline")
    if horizon < 1:
        raise MatcherError("horizon must be at least one month", code="invalid_horizon")
    first = _to_month(first_month).ordinal

    d = demand.assign(_m=_month_ordinals(demand["month"]))
    d = d[(d["_m"] >= first) & (d["_m"] < first + horizon)]
    if d.duplicated(["trade", "area_code", "_m"]).any():
        raise MatcherError(
            "demand has more than one row for a trade × area × month", code="duplicate_rows"
        )
    p = pipeline.assign(_m=_month_ordinals(pipeline["month"]))
    p = p[p["_m"] < first + horizon]

    name_sources = [d[["trade", "area_code", "area_name"]]]
    if "area_name" in p:
        name_sources.append(p[["trade", "area_code", "area_name"]])
    else:
        name_sources.append(p[["trade", "area_code"]].assign(area_name=None))
    groups = (
        pd.concat(name_sources, ignore_index=True)
        .drop_duplicates(["trade", "area_code"])
        .sort_values(["trade", "area_code"])
        .reset_index(drop=True)
    )
    n_groups = len(groups)
    group_of = pd.MultiIndex.from_frame(groups[["trade", "area_code"]])
    rate = _resolve_rate(placement_rate, groups["trade"], groups["area_code"], "placement_rate")

    point = np.zeros((n_groups, horizon))
    band = {q: np.full((n_groups, horizon), np.nan) for q in ("lo80", "hi80", "lo95", "hi95")}
    supply = np.zeros((n_groups, horizon))
    if len(d):
        g = group_of.get_indexer(pd.MultiIndex.from_frame(d[["trade", "area_code"]]))
        t = (d["_m"] - first).to_numpy()
        point[g, t] = d["point"].to_numpy(dtype=float)
        for q in band:
            band[q][g, t] = d[q].to_numpy(dtype=float)
    if len(p):
        g = group_of.get_indexer(pd.MultiIndex.from_frame(p[["trade", "area_code"]]))
        t = np.maximum(p["_m"].to_numpy() - first, 0)
        np.add.at(supply, (g, t), p["expected_graduates"].to_numpy(dtype=float))
    supply *= rate[:, None]

    sigma = (band["hi80"] - band["lo80"]) / (2 * Z80)
    sigma = np.where(np.isnan(sigma), (band["hi95"] - band["lo95"]) / (2 * Z95), sigma)
    sigma = np.clip(np.nan_to_num(sigma, nan=0.0), 0.0, None)

    gap = point - supply
    month_bounds = {}
    for q, sign, z in (("lo80", -1, Z80), ("hi80", 1, Z80), ("lo95", -1, Z95), ("hi95", 1, Z95)):
        # A missing band falls back to point ± z·σ (σ = 0 when both bands are missing).
        month_bounds[q] = np.where(np.isnan(band[q]), point + sign * z * sigma, band[q]) - supply

    shortfall, carried = _shortfall(point, supply)
    total_sd = np.sqrt((sigma**2).sum(axis=1))
    sigma_sum = sigma.sum(axis=1)
    scenario = {}
    for q, sign, z in (("lo80", -1, Z80), ("hi80", 1, Z80), ("lo95", -1, Z95), ("hi95", 1, Z95)):
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.where(sigma_sum > 0, z * total_sd / sigma_sum, 0.0)
        moved = np.clip(point + sign * k[:, None] * sigma, 0.0, None)
        scenario[q] = _shortfall(moved, supply)[0]

    months = pd.PeriodIndex.from_ordinals(first + np.arange(horizon), freq="M")
    monthly = pd.DataFrame(
        {
            "trade": np.repeat(groups["trade"].to_numpy(), horizon),
            "area_code": np.repeat(groups["area_code"].to_numpy(), horizon),
            "area_name": np.repeat(groups["area_name"].to_numpy(), horizon),
            "scope": "month",
            "month": np.tile(months, n_groups),
            "placement_rate": np.repeat(rate, horizon),
            "expected_demand": point.ravel(),
            "demand_sd": sigma.ravel(),
            "expected_supply": supply.ravel(),
            "gap": gap.ravel(),
            **{f"gap_{q}": month_bounds[q].ravel() for q in month_bounds},
            "cumulative_demand": np.cumsum(point, axis=1).ravel(),
            "cumulative_supply": np.cumsum(supply, axis=1).ravel(),
            "shortfall": shortfall.ravel(),
            "cumulative_shortfall": np.cumsum(shortfall, axis=1).ravel(),
            "carried_supply": carried.ravel(),
            **{f"shortfall_{q}": scenario[q].ravel() for q in scenario},
        }
    )
    total_gap = gap.sum(axis=1)
    totals = pd.DataFrame(
        {
            "trade": groups["trade"].to_numpy(),
            "area_code": groups["area_code"].to_numpy(),
            "area_name": groups["area_name"].to_numpy(),
            "scope": "total",
            "month": pd.PeriodIndex.from_ordinals(np.full(n_groups, pd.NaT.value), freq="M"),
            "placement_rate": rate,
            "expected_demand": point.sum(axis=1),
            "demand_sd": total_sd,
            "expected_supply": supply.sum(axis=1),
            "gap": total_gap,
            "gap_lo80": total_gap - Z80 * total_sd,
            "gap_hi80": total_gap + Z80 * total_sd,
            "gap_lo95": total_gap - Z95 * total_sd,
            "gap_hi95": total_gap + Z95 * total_sd,
            "cumulative_demand": point.sum(axis=1),
            "cumulative_supply": supply.sum(axis=1),
            "shortfall": shortfall.sum(axis=1),
            "cumulative_shortfall": shortfall.sum(axis=1),
            "carried_supply": carried[:, -1] if horizon else 0.0,
            **{f"shortfall_{q}": scenario[q].sum(axis=1) for q in scenario},
        }
    )
    out = pd.concat([monthly, totals], ignore_index=True)
    order = np.lexsort(
        (
            np.r_[np.tile(np.arange(horizon), n_groups), np.full(n_groups, horizon)],
            np.r_[np.repeat(np.arange(n_groups), horizon), np.arange(n_groups)],
        )
    )
    return out.iloc[order].reset_index(drop=True)


# ============================================================================================
# Course plan


@dataclass(frozen=True)
class CoursePlan:
    """New courses that close the forecast shortfall, and what stays unmet per trade × area.

    Attributes
    ----------
    rows : pd.DataFrame
        One row per course to open: trade, area_code, area_name (where the demand is that
        the course was opened for), provider, course_name, level, course_area_code (where
        the course runs), duration_months, start_month, end_month (last month of training),
        ready_month (first month its graduates can fill), places, cohorts, cohort_sizes
        (tuple, full cohorts first, none under ``min_cohort``), expected_graduates,
        expected_hires, gap_closed (shortfall these expected hires cover, in the ready month
        and later ones), areas_served and places_by_area (tuples, the opening area first: a
        small need of a neighbouring area may be merged into the class).
    summary : pd.DataFrame
        One row per trade × area of the gap frame: placement_rate, completion_rate, gap
        (net demand − supply), shortfall (what the plan must close) with shortfall_lo80 and
        shortfall_hi80, places_needed with places_needed_lo80 and places_needed_hi80 (at
        the shortfall's bounds), planned_places (this area's places, shared classes
        included), planned_cohorts (of the classes opened for it), expected_graduates,
        expected_hires, gap_closed, remaining_gap split into remaining_gap_lead_time,
        remaining_gap_capacity and remaining_gap_below_min, reason ("lead_time",
        "capacity", "below_min_cohort", joined by "+" when several apply, "no_placement"
        when the hire or completion rate is 0, or None when nothing remains), and
        min_cohort.
    min_cohort : int
        The smallest class the plan opens.
    excluded_offers : pd.DataFrame
        Offers the plan could not use, with a reason ("cohort_size_below_min": the
        provider's largest class is smaller than ``min_cohort``).
    """

    rows: pd.DataFrame
    summary: pd.DataFrame
    min_cohort: int = 1
    excluded_offers: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_frame(self) -> pd.DataFrame:
        """Return the plan as one flat table: course rows, then one "unmet" row per shortfall.

        For export (CSV, Excel): a reader of the file alone sees both what to open and
        what no course can cover, with the reason.
        """
        courses = self.rows.assign(kind="course")
        unmet = self.summary.loc[
            self.summary["remaining_gap"] > _EPS,
            [
                "trade",
                "area_code",
                "area_name",
                "remaining_gap",
                "remaining_gap_lead_time",
                "remaining_gap_capacity",
                "remaining_gap_below_min",
                "reason",
            ],
        ].assign(kind="unmet")
        frames = [frame for frame in (courses, unmet) if len(frame)]
        if not frames:
            return courses
        return pd.concat(frames, ignore_index=True)


_ROW_COLUMNS = [
    "trade",
    "area_code",
    "area_name",
    "provider",
    "course_name",
    "level",
    "course_area_code",
    "duration_months",
    "start_month",
    "end_month",
    "ready_month",
    "places",
    "cohorts",
    "cohort_sizes",
    "expected_graduates",
    "expected_hires",
    "gap_closed",
    "areas_served",
    "places_by_area",
]


def _places_for(hires: np.ndarray | float, yield_per_place: np.ndarray | float) -> Any:
    """Return the whole places whose expected hires reach ``hires`` (ceil, float-safe)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.ceil(np.asarray(hires, dtype=float) / yield_per_place - 1e-9).clip(0, None)


def _viable_places(places: int, cohort_size: int, min_cohort: int) -> int:
    """Return the most places, up to ``places``, that split into cohorts of min..max size.

    With a cohort size under twice the minimum some totals cannot be split (cohorts of
    10 to 15 make 10–15 or 20–30, never 17): those are cut to the largest that can.
    """
    if places < min_cohort:
        return 0
    cohorts = -(-places // cohort_size)
    if places >= cohorts * min_cohort:
        return places
    return (cohorts - 1) * cohort_size


def _cohort_sizes(places: int, cohort_size: int, min_cohort: int) -> tuple[int, ...]:
    """Split places into as many full cohorts as the minimum allows, the rest evenly.

    Full cohorts first, as a centre fills its classes; the last ones share what is left
    so none falls under ``min_cohort`` (88 in classes of 25: 25, 25, 25, 13; 76: 25, 25,
    13, 13). ``places`` must be viable (:func:`_viable_places`).
    """
    if places <= 0:
        return ()
    cohorts = -(-places // cohort_size)
    if cohort_size > min_cohort:
        full = min(cohorts, (places - cohorts * min_cohort) // (cohort_size - min_cohort))
    else:
        full = cohorts
    rest, shared = places - full * cohort_size, cohorts - full
    if shared == 0:
        return (cohort_size,) * full
    base, extra = divmod(rest, shared)
    return (cohort_size,) * full + (base + 1,) * extra + (base,) * (shared - extra)


@dataclass
class _GroupState:
    trade: Any
    area_code: Any
    area_name: Any
    completion_rate: float
    placement_rate: float
    need: np.ndarray  # shortfall per month still to cover
    # [row index, expected hires not yet used, month they are ready], oldest first
    surplus: list[list[float]]

    @property
    def yield_per_place(self) -> float:
        """Expected hires per place: completion rate × placement rate."""
        return self.completion_rate * self.placement_rate


@dataclass
class _Scheduler:
    """Open classes for one trade × area's months, sharing capacity and classes with all.

    Loops run over months, offers and the plan's own rows (hundreds), never over people.
    """

    offers: pd.DataFrame
    capacity: np.ndarray
    month_ordinals: np.ndarray
    earliest: int
    min_cohort: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    # Row indices per offer position: the classes a small need may join.
    classes: dict[int, list[int]] = field(default_factory=dict)
    # Surplus entries per row, to move their ready month when the class starts earlier.
    entries: dict[int, list[list[float]]] = field(default_factory=dict)
    # (state, month index) of small needs left for the last pass, when every class exists.
    pending: list[tuple[_GroupState, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.duration = self.offers["duration_months"].to_numpy(dtype=np.int64)
        self.cohort_size = self.offers["cohort_size"].to_numpy(dtype=np.int64)

    def reaches(self, o: int, month: int) -> bool:
        """Whether offer ``o`` started now or later can have graduates ready by ``month``."""
        return month - int(self.duration[o]) >= self.earliest

    def fill(self, state: _GroupState, candidates: list[int]) -> None:
        """Schedule courses from ``candidates`` (offer positions, in order of preference)."""
        m = self.min_cohort
        for j, month in enumerate(self.month_ordinals):  # a loop over months, not people
            self._use_surplus(state, j)
            for o in candidates:
                if state.need[j] <= _EPS:
                    break
                if not self.reaches(o, month) or self.capacity[o] < m:
                    continue
                needed = int(_places_for(state.need[j], state.yield_per_place))
                if needed < m:
                    break  # a small remainder: merged below, not a class of its own
                places = _viable_places(
                    int(min(needed, self.capacity[o])), int(self.cohort_size[o]), m
                )
                if places >= m:
                    self._open(state, o, j, places)
            if state.need[j] <= _EPS or m <= 1:
                continue
            # What no new class took: into a class in reach (spare places under a class),
            # else, when small, into a class for the next months, else left for later.
            self._join(state, j, candidates)
            if self._small(state, j) and not self._pool(state, j, candidates):
                self.pending.append((state, j))

    def finish(self, candidates_of: Any) -> None:
        """Place the small needs left: into any class now planned, or rounded up, or not."""
        for state, j in self.pending:
            if state.need[j] <= _EPS:
                continue
            candidates = candidates_of(state)
            self._join(state, j, candidates)
            if self._small(state, j) and not self._pool(state, j, candidates):
                self._round_up(state, j, candidates)

    # ---------------------------------------------------------------- the moves

    def _small(self, state: _GroupState, j: int) -> bool:
        needed = _places_for(state.need[j], state.yield_per_place)
        return state.need[j] > _EPS and 0 < needed < self.min_cohort

    def _use_surplus(self, state: _GroupState, j: int) -> None:
        # Leftover hires of classes ready by now (rounding, merged months) fill this month
        # first. The second pass revisits early months, so a leftover may not be ready yet.
        month = self.month_ordinals[j]
        for entry in state.surplus:
            if state.need[j] <= _EPS:
                break
            row, left, ready = entry
            if ready > month or left <= _EPS:
                continue
            used = min(left, state.need[j])
            self.rows[int(row)]["gap_closed"] += used
            state.need[j] -= used
            entry[1] = left - used

    def _book(self, state: _GroupState, r: int, j: int, places: int) -> None:
        """Add ``places`` of ``state``'s area to class ``r``, closing month ``j`` first."""
        row = self.rows[r]
        self.capacity[row["_offer"]] -= places
        row["places"] += places
        share = row["_alloc"].setdefault(state.area_code, [0, 0.0, 0.0, state.area_name])
        hires = places * state.yield_per_place
        share[0] += places
        share[1] += places * state.completion_rate
        share[2] += hires
        row["expected_graduates"] += places * state.completion_rate
        row["expected_hires"] += hires
        closed = min(hires, state.need[j])
        state.need[j] -= closed
        row["gap_closed"] += closed
        if hires - closed > _EPS:
            entry = [r, hires - closed, self.month_ordinals[j]]
            state.surplus.append(entry)
            self.entries.setdefault(r, []).append(entry)

    def _open(self, state: _GroupState, o: int, j: int, places: int) -> None:
        offer = self.offers.iloc[o]
        month = int(self.month_ordinals[j])
        self.rows.append(
            {
                "trade": state.trade,
                "area_code": state.area_code,
                "area_name": state.area_name,
                "provider": offer["provider"],
                "course_name": offer["course_name"],
                "level": offer["level"],
                "course_area_code": offer["area_code"],
                "duration_months": int(offer["duration_months"]),
                "start_month": month - int(offer["duration_months"]),
                "end_month": month - 1,
                "ready_month": month,
                "places": 0,
                "expected_graduates": 0.0,
                "expected_hires": 0.0,
                "gap_closed": 0.0,
                "_offer": o,
                "_alloc": {},
            }
        )
        r = len(self.rows) - 1
        self.classes.setdefault(o, []).append(r)
        self._book(state, r, j, places)

    def _join(self, state: _GroupState, j: int, candidates: list[int]) -> None:
        """Put month ``j``'s need into classes in reach, while their offers have room.

        A class ready up to MAX_WAIT_MONTHS before the month serves it (graduates wait);
        one ready up to MAX_WAIT_MONTHS after starts that much earlier, if it still can,
        so no graduate arrives after the month they serve. Own area's classes first, then
        the least waiting, then the offers in order of preference.
        """
        month = int(self.month_ordinals[j])
        rank = {o: i for i, o in enumerate(candidates)}
        while state.need[j] > _EPS:
            want = int(_places_for(state.need[j], state.yield_per_place))
            best: tuple | None = None
            for o in candidates:
                if self.capacity[o] <= 0:
                    continue
                for r in self.classes.get(o, ()):
                    row = self.rows[r]
                    ready = row["ready_month"]
                    if abs(ready - month) > MAX_WAIT_MONTHS:
                        continue
                    if ready > month and not self.reaches(o, month):
                        continue
                    add = int(min(want, self.capacity[o]))
                    cohort_size = int(self.cohort_size[o])
                    if _viable_places(row["places"] + add, cohort_size, self.min_cohort) != (
                        row["places"] + add
                    ):
                        continue
                    key = (
                        state.area_code not in row["_alloc"],
                        abs(ready - month),
                        ready > month,
                        rank[o],
                        r,
                    )
                    if best is None or key < best[0]:
                        best = (key, r, add)
            if best is None:
                return
            _, r, add = best
            row = self.rows[r]
            if row["ready_month"] > month:
                row["ready_month"], row["end_month"] = month, month - 1
                row["start_month"] = month - row["duration_months"]
                for entry in self.entries.get(r, ()):
                    entry[2] = min(entry[2], month)
            self._book(state, r, j, add)

    def _pool(self, state: _GroupState, j: int, candidates: list[int]) -> bool:
        """Open one class ready for month ``j`` that also takes the next months' need.

        Months are added one at a time, up to MAX_WAIT_MONTHS ahead, until the need makes
        a class of ``min_cohort``; the later months' graduates wait for their places.
        """
        month = int(self.month_ordinals[j])
        ready_later = sum(left for _, left, _ in state.surplus if left > _EPS)
        later = 0.0
        pooled = state.need[j]
        for k in range(1, MAX_WAIT_MONTHS + 1):
            if _places_for(pooled, state.yield_per_place) >= self.min_cohort:
                break
            if j + k >= len(self.month_ordinals):
                break
            later += state.need[j + k]
            pooled = state.need[j] + max(later - ready_later, 0.0)
        needed = int(_places_for(pooled, state.yield_per_place))
        if needed < self.min_cohort:
            return False
        for o in candidates:
            if not self.reaches(o, month) or self.capacity[o] < self.min_cohort:
                continue
            places = _viable_places(
                int(min(needed, self.capacity[o])), int(self.cohort_size[o]), self.min_cohort
            )
            if places >= self.min_cohort:
                self._open(state, o, j, places)
                return True
        return False

    def _round_up(self, state: _GroupState, j: int, candidates: list[int]) -> None:
        """Open a class of ``min_cohort`` for a remainder of at least half of it."""
        needed = int(_places_for(state.need[j], state.yield_per_place))
        if 2 * needed < self.min_cohort:
            return
        month = int(self.month_ordinals[j])
        for o in candidates:
            if self.reaches(o, month) and self.capacity[o] >= self.min_cohort:
                self._open(state, o, j, self.min_cohort)
                return


def course_plan(
    gap_frame: pd.DataFrame,
    offers: pd.DataFrame,
    placement_rate: RateSpec | None,
    completion_rate: RateSpec,
    *,
    first_month: Any,
    horizon: int = 12,
    today: dt.date | None = None,
    min_cohort: int = MIN_COHORT,
) -> CoursePlan:
    """Schedule new courses whose expected hires close each trade × area's shortfall in time.

    ``gap_frame`` is the output of :func:`gaps`; its monthly ``shortfall`` (already net of
    the people in training, timing-aware) is what the plan closes, for the months
    ``first_month`` ... ``first_month + horizon - 1`` (and any earlier months of the frame,
    which no new course can reach). ``offers`` has one row per course the province could run:
    provider, trade, area_code, area_name, course_name, level, duration_months (≥ 1, also
    the lead time), cohort_size (places per cohort, ≥ 1), capacity (places the provider can
    still offer in that trade over the horizon, ≥ 0). ``placement_rate`` (None: the gap
    frame's ``placement_rate`` column) and ``completion_rate`` are given as in :func:`gaps`.

    Rules, and why:

    * a course of ``d`` months meant for the shortfall of month ``m`` starts in ``m − d``
      (its last month of training is ``m − 1``): just in time, so graduates do not wait
      months for a job and drift away. It may not start before ``first_month`` (nor before
      ``today``'s month, when given); a shortfall no offer of the trade can reach is left
      with reason "lead_time";
    * places = ceil(shortfall / (completion_rate × placement_rate)), capped by the offer's
      remaining capacity (shared by every trade × area it serves), split into cohorts of at
      most ``cohort_size`` and at least ``min_cohort`` (full cohorts first). Rounding up
      leaves a fraction of an expected hire, which covers later months first;
    * no class is opened under ``min_cohort`` places: no centre runs a class of one or
      three. An offer whose ``cohort_size`` is under it cannot be used
      (``CoursePlan.excluded_offers``). A month's remainder too small for a class is
      merged, in this order: into a class in reach (ready up to MAX_WAIT_MONTHS earlier —
      graduates wait a month or two — or up to that much later, which then starts earlier:
      never later than the month it serves), the area's own classes first, then the same
      provider's class for a neighbouring area of the trade; into one new class ready for
      this month that also takes the next months' need (up to MAX_WAIT_MONTHS ahead);
      after every area is planned, into any such class again; or, when it is at least half
      of ``min_cohort``, it is rounded up to ``min_cohort`` places: a class at least half
      full of real demand is worth running (and its extra graduates serve later months
      first), while a class of ten for one or two places' worth of demand would invent
      demand. What stays is reason
      "below_min_cohort";
    * the offers of the same area are used first, for every trade × area (biggest shortfall
      first), so a provider's capacity serves its own area before others; then the other
      providers of the trade in the province, largest remaining capacity first (fewest
      separate courses; offers carry no coordinates, so "nearest" is not known here), for
      the trade × areas with the most still unmet first. Ties go by provider name;
    * what stays unmet although some offer could reach the month is "capacity" (also when
      no provider offers the trade at all), or "below_min_cohort" when it is under a
      class's worth of places and the offers in reach had room for it (or when only offers
      with classes under ``min_cohort`` had room).

    When capacity and lead time allow, the plan's expected hires reach the shortfall of every
    trade × area up to the small remainders the minimum class size leaves (and float
    rounding), and no offer's capacity is exceeded. ``min_cohort=1`` plans as if there were
    no minimum: nothing is merged.
    """
    _require(
        gap_frame,
        [
            "trade",
            "area_code",
            "area_name",
            "scope",
            "month",
            "gap",
            "shortfall",
            "shortfall_lo80",
            "shortfall_hi80",
        ],
        "gap_frame",
    )
    _require(
        offers,
        [
            "provider",
            "trade",
            "area_code",
            "area_name",
            "course_name",
            "level",
            "duration_months",
            "cohort_size",
            "capacity",
        ],
        "offers",
    )
    if min_cohort < 1:
        raise MatcherError("min_cohort must be at least 1", code="invalid_min_cohort")
    offers = offers.reset_index(drop=True)
    if len(offers) and (
        (offers["duration_months"] < 1).any()
        or (offers["cohort_size"] < 1).any()
        or (offers["capacity"] < 0).any()
    ):
        raise MatcherError(
            "offers need duration_months >= 1, cohort_size >= 1 and capacity >= 0",
            code="invalid_offer",
        )
    first = _to_month(first_month).ordinal
    earliest = first if today is None else max(first, pd.Period(today, freq="M").ordinal)
    end = first + horizon

    groups = (
        gap_frame[["trade", "area_code", "area_name"]]
        .drop_duplicates(["trade", "area_code"])
        .sort_values(["trade", "area_code"])
        .reset_index(drop=True)
    )
    monthly = gap_frame[gap_frame["scope"] == "month"]
    m = _month_ordinals(monthly["month"])
    monthly, m = monthly[m < end], m[m < end]
    start_month = min(first, int(m.min())) if len(m) else first
    month_ordinals = np.arange(start_month, end)
    group_of = pd.MultiIndex.from_frame(groups[["trade", "area_code"]])
    g = group_of.get_indexer(pd.MultiIndex.from_frame(monthly[["trade", "area_code"]]))
    t = m - start_month
    matrices = {}
    for column in ("gap", "shortfall", "shortfall_lo80", "shortfall_hi80"):
        matrices[column] = np.zeros((len(groups), len(month_ordinals)))
        np.add.at(matrices[column], (g, t), monthly[column].to_numpy(dtype=float))

    if placement_rate is None:
        _require(gap_frame, ["placement_rate"], "gap_frame")
        placement = (
            gap_frame.drop_duplicates(["trade", "area_code"])
            .set_index(["trade", "area_code"])["placement_rate"]
            .reindex(group_of)
            .to_numpy(dtype=float)
        )
    else:
        placement = _resolve_rate(
            placement_rate, groups["trade"], groups["area_code"], "placement_rate"
        )
    completion = _resolve_rate(
        completion_rate, groups["trade"], groups["area_code"], "completion_rate"
    )
    states = [
        _GroupState(
            trade=groups.at[i, "trade"],
            area_code=groups.at[i, "area_code"],
            area_name=groups.at[i, "area_name"],
            completion_rate=float(completion[i]),
            placement_rate=float(placement[i]),
            need=np.where(matrices["shortfall"][i] > _EPS, matrices["shortfall"][i], 0.0),
            surplus=[],
        )
        for i in range(len(groups))
    ]

    capacity = offers["capacity"].to_numpy(dtype=np.int64).copy()
    usable = offers["cohort_size"].to_numpy(dtype=np.int64) >= min_cohort
    offer_trade = offers["trade"].astype(str).to_numpy()
    offer_area = offers["area_code"].astype(str).to_numpy()
    scheduler = _Scheduler(offers, capacity, month_ordinals, earliest, min_cohort)
    plannable = [s for s in states if s.yield_per_place > 0 and s.need.sum() > _EPS]

    def _candidates(state: _GroupState, same_area: bool | None) -> list[int]:
        here = offer_area == str(state.area_code)
        mask = (offer_trade == str(state.trade)) & usable
        if same_area is not None:
            mask &= here if same_area else ~here
        positions = np.flatnonzero(mask)
        order = sorted(
            positions,
            key=lambda o: (
                same_area is None and not here[o],
                -capacity[o],
                str(offers.at[o, "provider"]),
            ),
        )
        return [int(o) for o in order]

    for state in sorted(plannable, key=lambda s: (-s.need.sum(), str(s.trade), str(s.area_code))):
        scheduler.fill(state, _candidates(state, True))
    for state in sorted(plannable, key=lambda s: (-s.need.sum(), str(s.trade), str(s.area_code))):
        if state.need.sum() > _EPS:
            scheduler.fill(state, _candidates(state, False))
    scheduler.finish(lambda state: _candidates(state, None))

    plan, shares = _plan_rows(scheduler.rows, offers, min_cohort)
    summary = _plan_summary(
        groups, states, matrices, plan, shares, offers, capacity, month_ordinals, earliest,
        min_cohort,
    )  # fmt: skip
    excluded = offers.loc[~usable].assign(reason="cohort_size_below_min").reset_index(drop=True)
    return CoursePlan(plan, summary, min_cohort=min_cohort, excluded_offers=excluded)


def _plan_rows(
    rows: list[dict[str, Any]], offers: pd.DataFrame, min_cohort: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the plan's rows and, per row and area served, its places, graduates, hires."""
    cohort_size = offers["cohort_size"].to_numpy(dtype=np.int64)
    shares = []
    for row in rows:  # one per class: a few hundred
        sizes = _cohort_sizes(row["places"], int(cohort_size[row["_offer"]]), min_cohort)
        row["cohorts"], row["cohort_sizes"] = len(sizes), sizes
        alloc = row.pop("_alloc")
        del row["_offer"]
        row["areas_served"] = tuple(alloc)
        row["places_by_area"] = tuple(int(share[0]) for share in alloc.values())
        for area_code, (places, graduates, hires, area_name) in alloc.items():
            shares.append((row["trade"], area_code, area_name, places, graduates, hires))
    plan = pd.DataFrame(rows, columns=_ROW_COLUMNS)
    for column in ("start_month", "end_month", "ready_month"):
        plan[column] = pd.PeriodIndex.from_ordinals(plan[column].to_numpy(dtype=np.int64), freq="M")
    for column in ("duration_months", "places", "cohorts"):
        plan[column] = plan[column].astype("int64")
    for column in ("expected_graduates", "expected_hires", "gap_closed"):
        plan[column] = plan[column].astype(float)
    plan = plan.sort_values(
        ["trade", "area_code", "start_month", "provider"], kind="stable"
    ).reset_index(drop=True)
    shares_frame = pd.DataFrame(
        shares,
        columns=["trade", "area_code", "area_name", "places", "expected_graduates",
                 "expected_hires"],
    )  # fmt: skip
    return plan, shares_frame


def _plan_summary(
    groups: pd.DataFrame,
    states: list[_GroupState],
    matrices: dict[str, np.ndarray],
    plan: pd.DataFrame,
    shares: pd.DataFrame,
    offers: pd.DataFrame,
    capacity_left: np.ndarray,
    month_ordinals: np.ndarray,
    earliest: int,
    min_cohort: int,
) -> pd.DataFrame:
    """Total each trade × area: shortfall and its range, what is planned, what stays unmet."""
    completion = np.array([s.completion_rate for s in states])
    placement = np.array([s.placement_rate for s in states])
    yield_per_place = completion * placement
    shortfall = matrices["shortfall"].sum(axis=1)
    remaining = np.array([s.need for s in states]).reshape(len(states), len(month_ordinals))
    remaining = np.where(remaining > _EPS, remaining, 0.0)

    # A month no offer of the trade can reach in time is a lead-time problem; otherwise
    # capacity ran out (or nobody offers the trade at all), or what is left is under a
    # class and the minimum kept it out.
    shortest = offers.groupby(offers["trade"].astype(str))["duration_months"].min()
    trade_of_group = groups["trade"].astype(str)
    shortest_of_group = trade_of_group.map(shortest).to_numpy(dtype=float)
    too_late = (month_ordinals[None, :] - shortest_of_group[:, None]) < earliest  # NaN: False
    no_yield = (yield_per_place <= 0)[:, None]
    reachable = ~too_late & ~no_yield
    lead_time = np.where(too_late & ~no_yield, remaining, 0.0).sum(axis=1)
    no_placement = np.where(no_yield, remaining, 0.0).sum(axis=1)

    # Room left, per trade × area and month, in the offers of the trade that reach it:
    # usable offers' spare places count for remainders under a class; offers with
    # classes under the minimum count for any remainder (only the minimum shuts them).
    usable = offers["cohort_size"].to_numpy(dtype=np.int64) >= min_cohort
    offer_reach = (
        month_ordinals[None, :] - offers["duration_months"].to_numpy(dtype=np.int64)[:, None]
    ) >= earliest
    same_trade = trade_of_group.to_numpy()[:, None] == offers["trade"].astype(str).to_numpy()
    spare = np.where(usable, capacity_left, 0).astype(float)
    shut = np.where(~usable, capacity_left, 0).astype(float)
    spare_room = (same_trade * spare) @ offer_reach
    shut_room = (same_trade * shut) @ offer_reach
    with np.errstate(divide="ignore", invalid="ignore"):
        left_places = np.where(reachable, _places_for(remaining, yield_per_place[:, None]), 0.0)
    under_a_class = (left_places > 0) & (left_places < min_cohort)
    room = shut_room + np.where(under_a_class & (spare_room >= left_places), spare_room, 0.0)
    # With min_cohort=1 nothing is under a class and no offer is shut: all zero.
    below_min_places = np.minimum(left_places, room)
    below = np.where(
        reachable, np.minimum(remaining, below_min_places * yield_per_place[:, None]), 0.0
    )
    below_min = below.sum(axis=1)
    cap = np.where(reachable, remaining - below, 0.0).sum(axis=1)
    parts = [(lead_time, "lead_time"), (cap, "capacity"), (below_min, "below_min_cohort")]
    reason = [
        "no_placement"
        if no_placement[i] > _EPS
        else "+".join(name for amount, name in parts if amount[i] > _EPS) or None
        for i in range(len(groups))  # one per trade × area
    ]

    planned = (
        shares.groupby(["trade", "area_code"])[["places", "expected_graduates", "expected_hires"]]
        .sum()
        .reindex(pd.MultiIndex.from_frame(groups[["trade", "area_code"]]))
        .fillna(0)
    )
    cohorts = (
        plan.groupby(["trade", "area_code"])["cohorts"]
        .sum()
        .reindex(pd.MultiIndex.from_frame(groups[["trade", "area_code"]]))
        .fillna(0)
    )

    def _needed(hires: np.ndarray) -> pd.Series:
        needed = _places_for(hires, yield_per_place)
        return pd.Series(np.where(yield_per_place > 0, needed, np.nan)).astype("Int64")

    summary = groups.assign(
        placement_rate=placement,
        completion_rate=completion,
        gap=matrices["gap"].sum(axis=1),
        shortfall=shortfall,
        shortfall_lo80=matrices["shortfall_lo80"].sum(axis=1),
        shortfall_hi80=matrices["shortfall_hi80"].sum(axis=1),
        places_needed=_needed(shortfall),
        places_needed_lo80=_needed(matrices["shortfall_lo80"].sum(axis=1)),
        places_needed_hi80=_needed(matrices["shortfall_hi80"].sum(axis=1)),
        planned_places=planned["places"].to_numpy(dtype=np.int64),
        planned_cohorts=cohorts.to_numpy(dtype=np.int64),
        expected_graduates=planned["expected_graduates"].to_numpy(dtype=float),
        expected_hires=planned["expected_hires"].to_numpy(dtype=float),
        gap_closed=shortfall - remaining.sum(axis=1),
        remaining_gap=remaining.sum(axis=1),
        remaining_gap_lead_time=lead_time,
        remaining_gap_capacity=cap,
        remaining_gap_below_min=below_min,
        reason=reason,
        min_cohort=min_cohort,
    )
    return summary
