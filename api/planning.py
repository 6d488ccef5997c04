"""Planning from the registry: series, forecasts, gaps, course plans, placement and fairness.

Everything here reads the registry into frames and hands them to :mod:`matcher.forecast`,
:mod:`matcher.planning` and :mod:`matcher.fairness`; what leaves is aggregates only.

A backtest takes tens of seconds, so no request computes one. A *refresh* (:func:`refresh`,
the ``planning_refresh`` job) computes every planning result of a scope — one province or
all, by one kind of area — as of a day, a data version and a serving model, and stores them
in ``planning_results``. Endpoints read the latest stored result (:func:`served`): every web
process and every machine serves the same answer. When the data, the day or the model have
changed since, the stored result is served marked stale and a refresh is queued; the
schedule (:func:`watch`) refreshes stale scopes once the data have gone quiet.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import pickle
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask import current_app

from api import jobs
from api.extensions import db
from api.models import Commitment, Course, Enrollment, Job, PlanningResult, Referral, Worker
from api.versions import current as data_versions
from api.versions import last_changed
from matcher import clock, model_store, series
from matcher import fairness as fair
from matcher import forecast as fc
from matcher import planning as plan
from matcher.areas import areas_of

log = logging.getLogger(__name__)

HORIZON = 12
# Months of history a backtest needs before its first origin, plus its twelve origins.
MIN_HISTORY_MONTHS = 25
# Graduates are followed this long for the placement rate used in the gap.
FOLLOW_DAYS = 365
#: The tables a refresh reads: a write to any of them makes its result stale.
PLANNING_DATA = ("workers", "courses", "enrollments", "commitments", "referrals")
#: Stored results kept per scope: the latest, and the one before while it is being read.
KEEP_PER_SCOPE = 2
#: Unpickled results kept per process, by row: rows never change, so this cannot go stale.
LOADED_SIZE = 8
REFRESH = "planning_refresh"
#: Bumped when :class:`Bundle` changes shape: results stored by older code are then stale
#: (and, if they no longer unpickle, treated as absent) rather than served.
BUNDLE_FORMAT = 3
#: What every deployment refreshes whether or not anyone asked yet: the national view.
DEFAULT_SCOPES = ((None, "former_district"),)

_memo: contextvars.ContextVar[dict[Hashable, Any] | None] = contextvars.ContextVar(
    "planning_memo", default=None
)
_loaded_lock = threading.Lock()
#: What reading a result written by other code (or by anyone without the secret) raises.
_UNREADABLE = (
    model_store.ModelError, pickle.UnpicklingError, AttributeError, ImportError, TypeError,
    EOFError, zlib.error,
)


class NotEnoughHistory(ValueError):
    """Too few months of data for a backtested forecast."""


def cached(key: Hashable, build: Callable[[], Any]) -> Any:
    """Within one refresh (:func:`computing`), build each part once: the series, gaps, offers
    and placement results all start from the same frames. Outside a refresh, just build."""
    memo = _memo.get()
    if memo is None:
        return build()
    if key not in memo:
        memo[key] = build()
    return memo[key]


@contextmanager
def computing() -> Iterator[None]:
    """A memo for one refresh, dropped when it ends (it holds the registry's frames)."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


@dataclass(frozen=True)
class Scope:
    """Whose data a planner may aggregate: one province (token scope or filter) or all."""

    province_code: str | None
    area_level: str
    today: dt.date

    @property
    def last_month(self) -> pd.Period:
        """The last complete month: the current one is still being filled."""
        return pd.Period(self.today, "M") - 1


def _frame(stmt: sa.Select) -> pd.DataFrame:
    result = db.session.execute(stmt)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, errors="coerce")


def _with_area(frame: pd.DataFrame, level: str) -> pd.DataFrame:
    found = areas_of(frame["ward_code"].to_numpy(dtype=object), level)
    frame = frame.reset_index(drop=True)
    frame["area_code"] = found["area_code"].to_numpy(dtype=object)
    frame["area_name"] = found["area_name"].to_numpy(dtype=object)
    return frame[frame["area_code"].notna()].reset_index(drop=True)


# ---------------------------------------------------------------- reading the registry


def registry_frames(scope: Scope) -> dict[str, pd.DataFrame]:
    """Read what planning needs, restricted to the scope's province. No names, no contacts.

    Read once per refresh: series, gaps, offers and placement results all start here.
    Callers must not modify the frames.
    """
    return cached(_scope_key(scope, "frames"), lambda: _read_registry(scope))


def _read_registry(scope: Scope) -> dict[str, pd.DataFrame]:
    province = scope.province_code
    c = Commitment
    stmt = sa.select(c.id, c.trade, c.ward_code, c.province_code, c.start_date, c.slots)
    courses_stmt = sa.select(
        Course.id.label("course_id"), Course.external_id, Course.name, Course.trade,
        Course.provider, Course.level, Course.ward_code, Course.province_code,
        Course.start_date, Course.end_date, Course.capacity,
    )  # fmt: skip
    if province:
        stmt = stmt.where(c.province_code == province)
        courses_stmt = courses_stmt.where(Course.province_code == province)
    commitments = _with_area(_frame(stmt), scope.area_level)
    courses = _with_area(_frame(courses_stmt), scope.area_level)
    enrollments = _frame(
        sa.select(
            Enrollment.worker_id, Enrollment.course_id, Enrollment.status, Enrollment.completed_on
        )
    )
    enrollments = enrollments[enrollments["course_id"].isin(courses["course_id"])]
    referrals = _frame(
        sa.select(
            Referral.worker_id, Referral.commitment_id, Referral.referred_on,
            Referral.status.label("outcome"), Referral.hired_on, Referral.left_on,
        )
    )  # fmt: skip
    referrals = referrals[referrals["commitment_id"].isin(commitments["id"])]
    for frame, columns in (
        (commitments, ("start_date",)),
        (courses, ("start_date", "end_date")),
        (enrollments, ("completed_on",)),
        (referrals, ("referred_on", "hired_on", "left_on")),
    ):
        for column in columns:
            frame[column] = _dates(frame[column])
    return {
        "commitments": commitments,
        "courses": courses,
        "enrollments": enrollments.reset_index(drop=True),
        "referrals": referrals.reset_index(drop=True),
    }


def _scope_key(scope: Scope, *extra: Hashable) -> tuple:
    return (scope.province_code, scope.area_level, scope.today, *extra)


# ---------------------------------------------------------------- series and forecasts


def events(frames: dict[str, pd.DataFrame], level: str) -> pd.DataFrame:
    """One row per counted unit (matcher.series): places committed, graduates, hires."""
    commitments, courses = frames["commitments"], frames["courses"]
    enrollments = frames["enrollments"]
    graduates = enrollments[enrollments["status"] == "graduated"].merge(
        courses[["course_id", "trade", "ward_code"]], on="course_id"
    )
    referrals = frames["referrals"]
    hires = referrals[referrals["outcome"] == "hired"].merge(
        commitments[["id", "trade", "ward_code"]], left_on="commitment_id", right_on="id"
    )
    return series.series_events(commitments, graduates, hires, level)


def series_panel(scope: Scope) -> fc.Panel:
    """Monthly series per kind × trade × area, plus each province's totals per kind × trade."""

    def build() -> fc.Panel:
        ev = events(registry_frames(scope), scope.area_level)
        try:
            return series.series_panel(ev, scope.last_month)
        except ValueError:
            raise NotEnoughHistory(
                "Chưa có dữ liệu cam kết, tốt nghiệp hay tuyển dụng nào / no commitments, "
                "graduations or hires yet"
            ) from None

    return cached(_scope_key(scope, "panel"), build)


def forecasts(scope: Scope) -> fc.ForecastResult:
    """Backtest every method on every series, serve the best per kind × level, forecast."""

    def build() -> fc.ForecastResult:
        panel = series_panel(scope)
        if len(panel.months) < MIN_HISTORY_MONTHS:
            raise NotEnoughHistory(
                f"Cần ít nhất {MIN_HISTORY_MONTHS} tháng dữ liệu để kiểm định dự báo, mới có "
                f"{len(panel.months)} / a backtested forecast needs at least "
                f"{MIN_HISTORY_MONTHS} months of history, found {len(panel.months)}"
            )
        return fc.forecast_panel(panel, horizon=HORIZON, choose_by=("kind", "area_level"))

    return cached(_scope_key(scope, "forecast"), build)


# ---------------------------------------------------------------- gaps and course plans


def _rates(frames: dict[str, pd.DataFrame], today: dt.date) -> dict[str, pd.Series]:
    """Observed completion and placement rates per trade (and overall, key "*")."""
    courses, enrollments, referrals = frames["courses"], frames["enrollments"], frames["referrals"]
    enr = enrollments.merge(courses[["course_id", "trade", "start_date"]], on="course_id")
    finished = enr[enr["status"].isin(["graduated", "dropped"])]
    completion = (
        finished.assign(done=finished["status"] == "graduated").groupby("trade")["done"].mean()
    )
    overall_completion = (finished["status"] == "graduated").mean() if len(finished) else 0.85
    # Placement: graduates who finished long enough ago, hired within FOLLOW_DAYS of finishing.
    cutoff = pd.Timestamp(today) - pd.Timedelta(days=90)
    grads = enr[(enr["status"] == "graduated") & (enr["completed_on"] <= cutoff)]
    hires = referrals[referrals["outcome"] == "hired"][["worker_id", "hired_on"]]
    joined = grads[["worker_id", "trade", "start_date", "completed_on"]].merge(
        hires, on="worker_id", how="left"
    )
    joined["placed"] = (joined["hired_on"] >= joined["start_date"]) & (
        joined["hired_on"] <= joined["completed_on"] + pd.Timedelta(days=FOLLOW_DAYS)
    )
    placed = joined.groupby(["worker_id", "trade", "completed_on"])["placed"].any().reset_index()
    placement = placed.groupby("trade")["placed"].mean()
    overall_placement = placed["placed"].mean() if len(placed) else 0.5
    # matcher.planning looks a rate up by trade, then falls back to the key None (overall).
    return {
        "completion": {**completion.dropna().to_dict(), None: float(overall_completion)},
        "placement": {**placement.dropna().to_dict(), None: float(overall_placement)},
    }


def _pipeline(frames: dict[str, pd.DataFrame], scope: Scope, completion: dict) -> pd.DataFrame:
    """People now in training, by trade × area × month their course ends."""
    courses, enrollments = frames["courses"], frames["enrollments"]
    enrolled = enrollments[enrollments["status"] == "enrolled"].merge(
        courses[["course_id", "trade", "area_code", "area_name", "end_date"]], on="course_id"
    )
    enrolled = enrolled[enrolled["end_date"] >= pd.Timestamp(scope.today)]
    enrolled["month"] = enrolled["end_date"].dt.to_period("M")
    out = (
        enrolled.groupby(["trade", "area_code", "area_name", "month"])
        .size()
        .rename("people")
        .reset_index()
    )
    rate = out["trade"].map(completion).fillna(completion[None]).astype(float)
    out["expected_graduates"] = out["people"] * rate
    return out


def _offers(frames: dict[str, pd.DataFrame], scope: Scope) -> pd.DataFrame:
    """What each provider could teach: its course per trade, cohort size and spare capacity.

    A provider's capacity in a trade is its seats — the most places it has had running at
    once in that trade (its workshops and machines) — times the cohorts of its shortest
    course that fit in the plan's year, less the places in its courses already starting
    within the horizon. Evidence-based: a centre that ran 35 sewing places at a time can run
    them again, four times a year for a 3-month course; it is not assumed to grow.
    """
    columns = [
        "provider", "trade", "area_code", "area_name", "course_name", "level",
        "duration_months", "cohort_size", "seats", "capacity",
    ]  # fmt: skip
    courses = frames["courses"].copy()
    if courses.empty:
        return pd.DataFrame(columns=columns)
    courses["start_month"] = courses["start_date"].dt.to_period("M")
    courses["days"] = (courses["end_date"] - courses["start_date"]).dt.days
    first = pd.Period(scope.today, "M")
    rows = []
    for (provider, trade), group in courses.groupby(["provider", "trade"], sort=True):
        # Peak concurrent places: +capacity when a course starts, -capacity when it ends.
        changes = pd.concat(
            [
                pd.Series(group["capacity"].to_numpy(), index=group["start_date"].to_numpy()),
                pd.Series(-group["capacity"].to_numpy(), index=group["end_date"].to_numpy()),
            ]
        ).sort_index(kind="stable")
        seats = int(max(changes.groupby(level=0).sum().cumsum().max(), group["capacity"].max()))
        scheduled = int(
            group.loc[
                (group["start_month"] >= first) & (group["start_month"] < first + HORIZON),
                "capacity",
            ].sum()
        )
        latest = group.sort_values("start_date").iloc[-1]
        # The shortest level the provider runs for the trade: it reaches demand soonest.
        short = group.sort_values("days").iloc[0]
        duration = max(1, int(round(short["days"] / 30.44)))
        cohorts = max(1, HORIZON // duration)
        rows.append(
            {
                "provider": provider,
                "trade": trade,
                "area_code": latest["area_code"],
                "area_name": latest["area_name"],
                "course_name": _template_name(str(short["name"])),
                "level": short["level"] or "elementary",
                "duration_months": duration,
                "cohort_size": int(group["capacity"].max()),
                "seats": seats,
                "capacity": max(seats * cohorts - scheduled, 0),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _template_name(name: str) -> str:
    """Drop the cohort label ("K3/2025") from a course name: the plan proposes a new cohort."""
    words = name.split()
    if words and words[-1].startswith("K") and "/" in words[-1]:
        words = words[:-1]
    return " ".join(words)


def planning_inputs(scope: Scope) -> dict[str, Any]:
    """Demand forecast at area level, pipeline, rates and offers: what the gap is made from."""

    def build() -> dict[str, Any]:
        frames = registry_frames(scope)
        rates = _rates(frames, scope.today)
        result = forecasts(scope)
        frame = result.frame
        demand = frame[
            (frame["kind"] == "demand") & (frame["area_level"] == scope.area_level)
        ].copy()
        demand["month"] = demand["month"].map(lambda m: pd.Period(str(m), "M"))
        return {
            "demand": demand,
            "pipeline": _pipeline(frames, scope, rates["completion"]),
            "completion": rates["completion"],
            "placement": rates["placement"],
            "offers": _offers(frames, scope),
            "method": {str(k): v for k, v in result.chosen.items()},
        }

    return cached(_scope_key(scope, "inputs"), build)


def gap_frame(scope: Scope) -> pd.DataFrame:
    inputs = planning_inputs(scope)
    return plan.gaps(
        inputs["demand"],
        inputs["pipeline"],
        inputs["placement"],
        first_month=pd.Period(scope.today, "M"),
        horizon=HORIZON,
    )


def gap_totals(gaps: pd.DataFrame) -> pd.DataFrame:
    """The one row per trade × area that sums the horizon."""
    return gaps[gaps["scope"] == "total"].drop(columns=["scope", "month"]).reset_index(drop=True)


def course_plan(scope: Scope) -> plan.CoursePlan:
    """The course plan of the scope, with no class under the install's ``MIN_COHORT``."""
    inputs = planning_inputs(scope)
    return plan.course_plan(
        gap_frame(scope),
        inputs["offers"],
        inputs["placement"],
        inputs["completion"],
        first_month=pd.Period(scope.today, "M"),
        horizon=HORIZON,
        today=scope.today,
        min_cohort=int(current_app.config["MIN_COHORT"]),
    )


# ---------------------------------------------------------------- placement results


def placement(scope: Scope, by: str) -> pd.DataFrame:
    def build() -> pd.DataFrame:
        frames = registry_frames(scope)
        return plan.placement_results(
            frames["enrollments"],
            frames["courses"],
            frames["referrals"],
            today=scope.today,
            by=by,
        )

    return cached(_scope_key(scope, "placement", by), build)


# ---------------------------------------------------------------- fairness


def people_frame(province_code: str | None = None) -> pd.DataFrame:
    """Protected attributes of every worker: read only for the fairness audit, never served."""
    w = Worker
    stmt = sa.select(
        w.id.label("worker_id"), w.gender, w.ethnic_minority, w.disability, w.birth_year
    ).where(w.erased_at.is_(None))
    if province_code:
        stmt = stmt.where(w.province_code == province_code)
    return _frame(stmt)


def fairness_of_scores(
    people: pd.DataFrame,
    worker_ids: np.ndarray,
    commitment_ids: np.ndarray,
    scores: np.ndarray,
    referrals: pd.DataFrame | None,
    today: dt.date,
    n_boot: int = 500,
) -> fair.FairnessReport:
    """Audit one scorer's scores of a set of pairs, and the outcomes of the referred."""
    pairs = pd.DataFrame(
        {"worker_id": worker_ids, "commitment_id": commitment_ids, "score": scores}
    )
    pairs = pairs[pairs["worker_id"].isin(people["worker_id"])]
    if referrals is not None:
        referrals = referrals[referrals["worker_id"].isin(people["worker_id"])]
    return fair.fairness_report(people, pairs, referrals, today=today, n_boot=n_boot)


def fairness(scope: Scope) -> dict[str, Any]:
    """The audit of the serving scorer and of outcomes, for the scope's workers."""
    from api.matching import model_holder, snapshot_from_db
    from matcher.snapshot import training_set

    active = model_holder().get()

    def build() -> dict[str, Any]:
        people = people_frame(scope.province_code)
        ts = training_set(snapshot_from_db())
        scores = active.predict(ts.X) if len(ts) else np.zeros(0)
        referrals = _frame(sa.select(Referral.worker_id, Referral.status.label("outcome")))
        report = fairness_of_scores(
            people, ts.worker_ids, ts.commitment_ids, scores, referrals, scope.today
        )
        gate = report.gate()
        return {
            "scorer": active.name,
            "model_version": active.version,
            "report": report,
            "gate": gate,
        }

    return cached(_scope_key(scope, "fairness", active.version), build)


# ---------------------------------------------------------------- a refresh: compute and store


@dataclass
class Bundle:
    """Every planning result of a scope, as one refresh computed it.

    A part that could not be made (too little history) is absent and ``errors`` says why,
    so an endpoint answers as it would have when computing it: a message, or a 409 for a file.
    """

    scope: Scope
    panel: fc.Panel | None = None
    forecast: fc.ForecastResult | None = None
    inputs: dict[str, Any] | None = None
    gaps: pd.DataFrame | None = None
    course_plan: Any = None
    placement: dict[str, pd.DataFrame] = field(default_factory=dict)
    fairness: dict[str, Any] | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def part(self, name: str) -> Any:
        if name in self.errors:
            raise NotEnoughHistory(self.errors[name])
        return getattr(self, name)


#: The parts in the order a refresh makes them, with the progress reached after each.
_PARTS: tuple[tuple[str, float, str], ...] = (
    ("panel", 0.15, "Chuỗi theo tháng / monthly series"),
    ("forecast", 0.65, "Kiểm định và dự báo / backtests and forecasts"),
    ("inputs", 0.7, "Đầu vào kế hoạch / planning inputs"),
    ("gaps", 0.75, "Thiếu hụt / gaps"),
    ("course_plan", 0.8, "Kế hoạch mở lớp / course plan"),
    ("placement", 0.85, "Kết quả việc làm / placement results"),
    ("fairness", 0.95, "Kiểm toán công bằng / fairness audit"),
)


def compute(scope: Scope, progress: jobs.Progress | None = None) -> Bundle:
    """Make every part of a scope's planning results (the refresh job's work)."""
    makers: dict[str, Callable[[], Any]] = {
        "panel": lambda: series_panel(scope),
        "forecast": lambda: forecasts(scope),
        "inputs": lambda: planning_inputs(scope),
        "gaps": lambda: gap_frame(scope),
        "course_plan": lambda: course_plan(scope),
        "placement": lambda: {by: placement(scope, by) for by in ("course", "provider")},
        "fairness": lambda: fairness(scope),
    }
    bundle = Bundle(scope)
    with computing():
        for name, reached, message in _PARTS:
            try:
                setattr(bundle, name, makers[name]())
            except NotEnoughHistory as error:
                bundle.errors[name] = str(error)
            if progress is not None:
                progress(reached, message)
    return bundle


def scope_key(province_code: str | None, area_level: str) -> str:
    return f"{province_code or '*'}/{area_level}"


def _stamp() -> tuple[dict[str, int], str]:
    """What a stored result must have been computed from to be current: the planning tables'
    versions, the settings the results depend on (a changed minimum class size plans
    again) and the serving model's version (the fairness audit scores with it)."""
    from api.matching import model_holder

    versions = data_versions()
    stamp = {name: versions[name] for name in PLANNING_DATA}
    stamp["bundle_format"] = BUNDLE_FORMAT
    stamp["min_cohort"] = int(current_app.config["MIN_COHORT"])
    return stamp, model_holder().get().version


def latest(province_code: str | None, area_level: str) -> PlanningResult | None:
    """The newest stored result of a scope (its payload is read only when needed)."""
    return db.session.scalar(
        sa.select(PlanningResult)
        .where(PlanningResult.scope_key == scope_key(province_code, area_level))
        .order_by(PlanningResult.id.desc())
        .limit(1)
    )


def is_current(row: PlanningResult, today: dt.date, stamp: tuple[dict[str, int], str]) -> bool:
    versions, model = stamp
    return row.as_of == today and dict(row.data_versions) == versions and (
        row.model_version == model
    )


def refresh(
    scope: Scope, job_id: int | None = None, progress: jobs.Progress | None = None
) -> PlanningResult:
    """Compute and store a scope's results, unless the stored ones are already current (so a
    retried or duplicated refresh changes nothing); keep the latest two per scope."""
    key = scope_key(scope.province_code, scope.area_level)
    stamp = _stamp()
    row = latest(scope.province_code, scope.area_level)
    if row is not None and is_current(row, scope.today, stamp) and readable(row) is not None:
        return row
    started = time.perf_counter()
    bundle = compute(scope, progress)
    payload = model_store.dumps_signed(bundle, _key())
    row = PlanningResult(
        scope_key=key, province_code=scope.province_code, area_level=scope.area_level,
        as_of=scope.today, data_versions=stamp[0], model_version=stamp[1],
        computed_at=jobs.real_now(), seconds=round(time.perf_counter() - started, 3),
        job_id=job_id, size=len(payload), payload=payload,
    )  # fmt: skip
    db.session.add(row)
    db.session.flush()
    older = db.session.scalars(
        sa.select(PlanningResult.id)
        .where(PlanningResult.scope_key == key)
        .order_by(PlanningResult.id.desc())
        .offset(KEEP_PER_SCOPE)
    ).all()
    if older:
        db.session.execute(sa.delete(PlanningResult).where(PlanningResult.id.in_(older)))
    db.session.commit()
    log.info("planning refresh %s: %.1f s, %d bytes", key, row.seconds, row.size)
    return row


def _params_scope(params: dict[str, Any]) -> Scope:
    as_of = params.get("as_of")
    return Scope(
        province_code=params.get("province_code"),
        area_level=params.get("area_level", "former_district"),
        today=dt.date.fromisoformat(as_of) if as_of else clock.today(),
    )


@jobs.handler(REFRESH)
def refresh_job(job: Job, progress: jobs.Progress) -> dict[str, Any]:
    """A planning refresh as a job; its result names the stored row."""
    scope = _params_scope(dict(job.params))
    progress(0.02, "Đọc dữ liệu / reading the registry")
    row = refresh(scope, job_id=job.id, progress=progress)
    bundle = load(row)
    return {
        "planning_result_id": row.id,
        "scope": row.scope_key,
        "as_of": row.as_of.isoformat(),
        "computed_at": row.computed_at.isoformat(timespec="seconds"),
        "seconds": row.seconds,
        "size": row.size,
        "not_enough_history": sorted(bundle.errors),
    }


# ---------------------------------------------------------------- serving what is stored


def _loaded() -> OrderedDict[Hashable, Bundle]:
    """Per app: two databases in one process (tests) number their rows alike."""
    return current_app.extensions.setdefault("caunoi_planning_loaded", OrderedDict())


def _key() -> bytes:
    """The install's secret signs stored results (every machine shares it: README)."""
    return str(current_app.config["SECRET_KEY"]).encode()


def load(row: PlanningResult) -> Bundle:
    """The stored result, unpickled once per process (a row never changes once written)."""
    key = (row.id, row.scope_key, row.computed_at)
    cache = _loaded()
    with _loaded_lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    payload = db.session.scalar(
        sa.select(PlanningResult.payload).where(PlanningResult.id == row.id)
    )
    bundle = model_store.loads_signed(payload, _key())
    with _loaded_lock:
        cache[key] = bundle
        while len(cache) > LOADED_SIZE:
            cache.popitem(last=False)
    return bundle


@dataclass
class Served:
    """What an endpoint answers from: the stored result and whether it is still current."""

    bundle: Bundle
    row: PlanningResult
    stale: bool
    refresh_job: Job | None


def _active_refresh(key: str, as_of: dt.date) -> Job | None:
    rows = db.session.scalars(
        sa.select(Job)
        .where(Job.kind == REFRESH, Job.status.in_(jobs.ACTIVE))
        .order_by(Job.id.desc())
    ).all()
    for job in rows:
        params = job.params or {}
        if scope_key(params.get("province_code"), params.get("area_level", "")) == key and (
            params.get("as_of") == as_of.isoformat()
        ):
            return job
    return None


def _unchanged_since(moment: dt.datetime | None) -> bool:
    """No planning table was written after ``moment`` (then a result found current then is
    current now, unless the model changed: that waits for ``PLANNING_RETRY_S``)."""
    changed = last_changed(PLANNING_DATA)
    return moment is not None and (changed is None or changed <= moment)


def request_refresh(
    scope: Scope, principal: Any | None = None, stored: PlanningResult | None = None
) -> Job | None:
    """Queue a refresh of the scope unless one is queued or running (then that one), or one
    failed within ``PLANNING_RETRY_S`` (it would fail again: the failed one is answered), or
    one ended within it finding ``stored`` current: the consumer and this process disagree
    on the stamp (a model that loads in one and not the other, a models folder not shared),
    and asking again would only queue empty jobs (the log says so; the schedule tries
    again after ``PLANNING_RETRY_S``)."""
    key = scope_key(scope.province_code, scope.area_level)
    active = _active_refresh(key, scope.today)
    if active is not None:
        return active
    retry_s = float(current_app.config["PLANNING_RETRY_S"])
    recent = db.session.scalars(
        sa.select(Job)
        .where(
            Job.kind == REFRESH,
            Job.status.in_(("failed", "done")),
            Job.finished_at >= jobs.real_now() - dt.timedelta(seconds=retry_s),
        )
        .order_by(Job.id.desc())
    ).all()
    for job in recent:
        params = job.params or {}
        if scope_key(params.get("province_code"), params.get("area_level", "")) != key:
            continue
        if job.status == "failed":
            return job
        if (
            stored is not None
            and params.get("as_of") == scope.today.isoformat()
            and (job.result or {}).get("planning_result_id") == stored.id
            and _unchanged_since(job.finished_at)
        ):
            log.warning(
                "planning %s: refresh #%s found result #%s current, this process finds it "
                "stale (model %s here); not asking again", key, job.id, stored.id,
                _stamp()[1],
            )  # fmt: skip
            return job
    params = {
        "province_code": scope.province_code,
        "area_level": scope.area_level,
        "as_of": scope.today.isoformat(),
    }
    return jobs.submit(REFRESH, params, principal, province_scope=scope.province_code)


def readable(row: PlanningResult | None) -> Bundle | None:
    """The stored result, or None when there is none or it cannot be read: written by older
    code, or not signed with this install's secret (never unpickled then)."""
    if row is None or dict(row.data_versions).get("bundle_format") != BUNDLE_FORMAT:
        return None  # another shape of Bundle: its fields would not be what this code reads
    try:
        return load(row)
    except _UNREADABLE:
        log.warning("planning result %s not readable; it will be computed again", row.id)
        return None


def served(scope: Scope, principal: Any | None = None) -> Served | Job:
    """The latest stored result of the scope, marked stale (with a refresh queued) when the
    data, the day or the model changed since; the refresh job when nothing readable is
    stored yet."""
    row = latest(scope.province_code, scope.area_level)
    bundle = readable(row)
    if bundle is not None and is_current(row, scope.today, _stamp()):
        return Served(bundle, row, stale=False, refresh_job=None)
    if row is not None:
        db.session.expunge(row)  # its stamp stays readable after the commit below
    job = request_refresh(scope, principal, stored=row)
    if bundle is None:
        return job
    return Served(bundle, row, stale=True, refresh_job=job)


# ---------------------------------------------------------------- the schedule


def watch(now: dt.datetime | None = None) -> list[int]:
    """Queue a refresh of every stale scope once the data have been quiet for
    ``PLANNING_DEBOUNCE_S`` (an import of many files is one change, not many), or once its
    result is ``PLANNING_MAX_STALE_S`` old however busy the data are; the default scopes are
    refreshed even if nobody asked yet. Returns the jobs queued."""
    now = now or jobs.real_now()
    config = current_app.config
    quiet = dt.timedelta(seconds=float(config["PLANNING_DEBOUNCE_S"]))
    max_stale = dt.timedelta(seconds=float(config["PLANNING_MAX_STALE_S"]))
    today = clock.today()
    stamp = _stamp()
    changed = last_changed(PLANNING_DATA)
    known = db.session.execute(
        sa.select(PlanningResult.province_code, PlanningResult.area_level).distinct()
    ).all()
    scopes = dict.fromkeys([*DEFAULT_SCOPES, *((p, a) for p, a in known)])
    queued = []
    for province_code, area_level in scopes:
        row = latest(province_code, area_level)
        if row is not None and is_current(row, today, stamp):
            continue
        data_quiet = changed is None or now - changed >= quiet
        overdue = row is None or now - row.computed_at >= max_stale
        if row is not None and row.as_of != today:
            data_quiet = True  # a new day: nothing to wait for
        if not (data_quiet or overdue):
            continue
        scope = Scope(province_code, area_level, today)
        before = _active_refresh(scope_key(province_code, area_level), today)
        job = request_refresh(scope)
        if job is not None and before is None and job.status == "queued":
            queued.append(job.id)
    db.session.commit()
    return queued
