"""Planning for planners (and admins): aggregates only, as JSON, CSV, .xlsx or an SVG chart.

Every answer is computed from counts per trade × area × month or per course/provider/group;
no person-level field leaves, and people counts under 10 are suppressed (matcher.planning and
matcher.fairness say how).

Nothing here computes: every answer is read from the scope's latest stored refresh
(api.planning.served), marked stale with the refresh it queued when the data changed since,
or answered 202 with the refresh job when the scope has none yet.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from flask import Blueprint, Response, current_app, g

from api import charts
from api import planning as svc
from api.auth import current_principal
from api.errors import ApiError, Forbidden, ValidationFailed
from api.exports import XLSX_MIME, Sheet, export_response
from api.models import Job
from api.openapi import operation
from api.queries import page_of
from api.resources.jobs import accepted
from api.schemas import (
    CoursePlanQuery,
    FairnessOut,
    FairnessQuery,
    ForecastOut,
    ForecastQuery,
    GapQuery,
    JobOut,
    PlacementQuery,
    PlanningQuery,
    SeriesOut,
    SeriesQuery,
    TableOut,
)
from matcher import clock, labels
from matcher.places import gazetteer
from matcher.planning import MIN_CELL

bp = Blueprint("planning", __name__, url_prefix="/api/v1/planning")

PLANNERS = ("planner", "admin")
SVG_MIME = "image/svg+xml"
TABLES = {"text/csv": "CSV", XLSX_MIME: ".xlsx"}
WITH_CHART = {**TABLES, SVG_MIME: "SVG chart"}
PEOPLE_KINDS = ("supply", "hires")
GAP_TITLE = "Thiếu hụt cung – cầu / supply–demand gap"
PLAN_TITLE = "Kế hoạch mở lớp / course plan"
PLAN_TITLES = ("Kế hoạch mở lớp", "Course plan")
_rendered_lock = threading.Lock()


def _scope(query: PlanningQuery | FairnessQuery) -> svc.Scope:
    """The province the caller may aggregate: a scoped token's, else the filter's, else all."""
    mine = current_principal().province_code
    wanted = query.province
    if mine and wanted and wanted != mine:
        raise Forbidden(
            f"Mã truy cập chỉ xem được tỉnh {mine} / this token may only see province {mine}"
        )
    if wanted and gazetteer().province(wanted) is None:
        # Each province is a stored scope the schedule keeps refreshing: only real ones.
        raise ValidationFailed(
            f"Không có tỉnh mã {wanted} / no province has code {wanted}",
            errors=[{"field": "province", "message": f"unknown province code {wanted}"}],
        )
    level = getattr(query, "area_level", "former_district")
    return svc.Scope(province_code=mine or wanted, area_level=level, today=clock.today())


def _svg(text: str) -> Response:
    return Response(text, mimetype=SVG_MIME)


def _nothing_yet(query: Any, error: Exception, **empty: Any) -> dict[str, Any]:
    """Too little history: JSON says why in `message`; a file or chart cannot be made (409)."""
    if query.format != "json":
        raise ApiError(str(error), status=409) from None
    return {**empty, "message": str(error)}


def _with_freshness(answer: Any, found: svc.Served) -> Any:
    """Say which refresh the answer comes from: fields in JSON, headers on files."""
    row = found.row
    job_id = found.refresh_job.id if found.refresh_job is not None else None
    if isinstance(answer, Response):
        answer.headers["X-Computed-At"] = row.computed_at.isoformat() + "Z"
        answer.headers["X-As-Of"] = row.as_of.isoformat()
        answer.headers["X-Stale"] = "true" if found.stale else "false"
        if job_id is not None:
            answer.headers["X-Refresh-Job"] = str(job_id)
        return answer
    return {
        **answer,
        "computed_at": row.computed_at,
        "as_of": row.as_of,
        "stale": found.stale,
        "refresh_job_id": job_id,
    }


#: Files (CSV, .xlsx, SVG) made per process from a stored result, by result and query: a
#: result never changes, so neither does a file made from it (an .xlsx of 1,200 rows takes
#: 0.2–0.3 s to write on the 2-core machine; a second download of it should not).
RENDERED_SIZE = 64


def _rendered(fn: Callable[[Any, svc.Bundle], Any], query: Any, found: svc.Served) -> Response:
    cache = current_app.extensions.setdefault("caunoi_planning_files", OrderedDict())
    key = (
        found.row.id, found.row.scope_key, found.row.computed_at, fn.__name__,
        tuple(sorted(query.model_dump(mode="json").items())),
    )  # fmt: skip
    with _rendered_lock:
        if key in cache:
            cache.move_to_end(key)
            data, mimetype, headers = cache[key]
            return Response(data, mimetype=mimetype, headers=headers)
    answer = fn(query, found.bundle)
    data = answer.get_data()
    headers = {
        k: v for k, v in answer.headers.items() if k not in ("Content-Type", "Content-Length")
    }
    entry = (data, answer.mimetype, headers)
    with _rendered_lock:
        cache[key] = entry
        while len(cache) > RENDERED_SIZE:
            cache.popitem(last=False)
    return Response(data, mimetype=entry[1], headers=entry[2])


def planning_operation(
    rule: str, *, summary: str, query: type, response: type, alt_content: dict[str, str]
) -> Callable[[Callable[[Any, svc.Bundle], Any]], Any]:
    """Register a planning GET: planners and admins; the view gets the scope's stored
    results; 202 with the refresh job when there are none yet, 409 when there is too little
    history for a file or chart."""

    def decorator(fn: Callable[[Any, svc.Bundle], Any]) -> Any:
        @functools.wraps(fn)
        def view(query: Any) -> Any:
            found = svc.served(_scope(query), current_principal())
            if isinstance(found, Job):
                if found.status == "failed":
                    raise ApiError(
                        f"Làm mới kế hoạch #{found.id} thất bại, sẽ thử lại sau / planning "
                        f"refresh #{found.id} failed and will be tried again later: "
                        f"{found.error}",
                        status=503,
                    )
                return accepted(found)
            g.planning_computed_at = found.row.computed_at
            if query.format == "json":
                return _with_freshness(fn(query, found.bundle), found)
            return _with_freshness(_rendered(fn, query, found), found)

        return operation(
            bp,
            rule,
            summary=summary,
            roles=PLANNERS,
            query=query,
            response=response,
            alt_content=alt_content,
            tag="planning",
            extra_codes=("409",),
            also={202: (JobOut, "Nothing stored yet for this scope: the refresh job to poll")},
        )(view)

    return decorator


def _number(value: Any, digits: int = 2) -> float | None:
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def _filter(frame: pd.DataFrame, query: PlanningQuery) -> pd.DataFrame:
    if query.trade:
        frame = frame[frame["trade"] == query.trade]
    if query.area:
        frame = frame[frame["area_code"] == query.area]
    return frame


def _people_value(kind: str, value: float) -> float | None:
    """People counts of 1–9 are hidden; demand counts places, not people."""
    if kind in PEOPLE_KINDS and 0 < value < MIN_CELL:
        return None
    return float(value)


def _page(total: int, cursor: str | None, limit: int) -> tuple[int, int, str | None]:
    start = min(int(cursor) if cursor else 0, total)
    end = min(start + limit, total)
    return start, end, (str(end) if end < total else None)


def _require_one(frame: pd.DataFrame, what: str) -> None:
    if len(frame) != 1:
        raise ValidationFailed(
            f"Biểu đồ cần đúng một chuỗi; bộ lọc đang chọn {len(frame)} / the chart needs "
            f"exactly one series; the filters select {len(frame)}",
            errors=[{"field": "trade", "message": f"choose one trade and one area for the {what}"}],
        )


def _moment_vn(moment: dt.datetime) -> str:
    """A stored UTC moment as Vietnam's clock shows it (UTC+7, no daylight saving)."""
    return (moment + dt.timedelta(hours=7)).strftime("%d/%m/%Y %H:%M")


def _summary(
    bundle: svc.Bundle, query: Any, title: tuple[str, str], *figures: tuple[str, str, Any]
) -> list[tuple[str, str, Any]]:
    """The summary sheet of a planning export: what it is, whose, as of when, which filters,
    then its own figures. The stale flag is not written: a file is made once per stored
    result, and whether that result is still current changes after (X-Stale says)."""
    scope = bundle.scope
    lang = getattr(query, "lang", "vi")
    province = gazetteer().province(scope.province_code) if scope.province_code else None
    where = province.name if province is not None else ("Cả nước" if lang == "vi" else "All")
    computed = g.get("planning_computed_at")
    items = [
        ("Báo cáo", "Report", title[0] if lang == "vi" else title[1]),
        ("Tỉnh", "Province", where),
        ("Cấp khu vực", "Area level", labels.label("area_level", scope.area_level, lang)),
        ("Tính đến ngày", "As of", scope.today),
        ("Số liệu tính lúc (giờ Việt Nam)", "Computed at (Vietnam time)",
         _moment_vn(computed) if computed else ""),
    ]  # fmt: skip
    if getattr(query, "trade", None):
        items.append(("Nghề", "Trade", labels.label("trade", query.trade, lang)))
    if getattr(query, "area", None):
        items.append(("Khu vực", "Area", query.area))
    return items + list(figures)


def _export(
    query: Any, bundle: svc.Bundle, name: str, title: tuple[str, str],
    sheets: list[Sheet], *figures: tuple[str, str, Any],
) -> Response:  # fmt: skip
    return export_response(
        name, query.format, sheets, lang=query.lang,
        summary=_summary(bundle, query, title, *figures),
    )  # fmt: skip


def _sheet(vi: str, en: str, rows: list[dict[str, Any]], columns: list[str] | None = None) -> Sheet:
    return Sheet(vi, en, columns if columns is not None else (list(rows[0]) if rows else []), rows)


# ---------------------------------------------------------------- series


@planning_operation(
    "/series",
    summary="Monthly demand, supply and hires per trade × area",
    query=SeriesQuery,
    response=SeriesOut,
    alt_content=WITH_CHART,
)
def get_series(query: SeriesQuery, bundle: svc.Bundle) -> Any:
    """Demand = places committed by the month they start (commitment site); supply =
    graduates by the month they finished (course site); hires by hire month (commitment
    site). Areas are former districts by default, or park catchments; each province's total
    is the series with `area_level=province`. The current month is not shown until it ends."""
    scope = bundle.scope
    try:
        panel = bundle.part("panel")
    except svc.NotEnoughHistory as error:
        return _nothing_yet(query, error, area_level=scope.area_level, months=[], items=[])
    keys = panel.keys.copy()
    keys["row"] = np.arange(len(keys))
    if query.kind:
        keys = keys[keys["kind"] == query.kind]
    keys = _filter(keys, query)
    months = [str(m) for m in panel.months]
    first = months.index(query.from_month) if query.from_month in months else 0
    if query.from_month and query.from_month > months[-1]:
        first = len(months)
    last = len(months)
    if query.to_month:
        last = sum(1 for m in months if m <= query.to_month)
    if query.from_month and query.from_month not in months and query.from_month < months[0]:
        first = 0
    shown = months[first:last]
    items = []
    for row in keys.itertuples(index=False):
        values = panel.values[row.row, first:last]
        total = float(values.sum())
        items.append(
            {
                "kind": row.kind,
                "trade": row.trade,
                "area_level": row.area_level,
                "area_code": row.area_code,
                "area_name": row.area_name,
                "total": _people_value(row.kind, total),
                "values": [_people_value(row.kind, v) for v in values],
            }
        )
    if query.format in ("csv", "xlsx"):
        rows = [
            {
                "kind": item["kind"],
                "trade": item["trade"],
                "area_level": item["area_level"],
                "area_code": item["area_code"],
                "area_name": item["area_name"],
                "month": month,
                "value": value,
            }
            for item in items
            for month, value in zip(shown, item["values"], strict=True)
        ]
        columns = ["kind", "trade", "area_level", "area_code", "area_name", "month", "value"]
        return _export(
            query, bundle, "chuoi-so-lieu", ("Chuỗi số liệu theo tháng", "Monthly series"),
            [_sheet("Chuỗi theo tháng", "Monthly series", rows, columns)],
            ("Số chuỗi", "Series", len(items)), ("Số tháng", "Months", len(shown)),
        )  # fmt: skip
    if query.format == "svg":
        lines = [
            (f"{item['kind']} · {item['trade']} · {item['area_name']}", item["values"])
            for item in items[:8]
        ]
        title = "Chuỗi theo tháng / monthly series"
        return _svg(charts.line_chart(title, shown, lines))
    start, end, cursor = _page(len(items), query.cursor, query.limit)
    return {
        "area_level": scope.area_level,
        "months": shown,
        "items": items[start:end],
        "next_cursor": cursor,
    }


# ---------------------------------------------------------------- forecasts


def _backtest_rows(result: Any) -> list[dict[str, Any]]:
    summary = result.backtest.summary(("kind", "area_level"))
    rows = []
    for row in summary.to_dict("records"):
        served = result.chosen.get((row["kind"], row["area_level"])) == row["method"]
        rows.append(
            {
                "kind": row["kind"],
                "area_level": row["area_level"],
                "method": row["method"],
                "served": served,
                "mase": _number(row["mase"], 3),
                "rel_mae": _number(row["rel_mae"], 3),
                "coverage80": _number(row["coverage80"], 3),
                "coverage95": _number(row["coverage95"], 3),
                "n_series": int(row["n_series"]),
                "n_points": int(row["n_points"]),
            }
        )
    return rows


@planning_operation(
    "/forecasts",
    summary="Forecasts 1–12 months ahead with 80 % and 95 % intervals",
    query=ForecastQuery,
    response=ForecastOut,
    alt_content=WITH_CHART,
)
def get_forecasts(query: ForecastQuery, bundle: svc.Bundle) -> Any:
    """Three methods (seasonal naive, Holt-Winters damped, a gradient-boosted global model)
    are backtested on rolling origins; the one with the lowest MASE serves each kind and
    area level, and `methods` and `backtest` say which and how well. A series on whose own
    held-out months that method did no better than seasonal naive is served by seasonal
    naive; each item's `method` says which forecast it shows. The SVG draws one
    series (choose `trade` and `area`) with its last 24 months and its interval bands."""
    scope = bundle.scope
    first_month = str(pd.Period(scope.today, "M"))
    try:
        panel = bundle.part("panel")
        result = bundle.part("forecast")
    except svc.NotEnoughHistory as error:
        return _nothing_yet(
            query,
            error,
            kind=query.kind,
            horizon=svc.HORIZON,
            first_month=first_month,
            methods={},
            backtest=[],
            items=[],
        )
    key_cols = ["kind", "trade", "area_level", "area_code", "area_name"]
    frame = result.frame
    frame = frame[frame["kind"] == query.kind].reset_index(drop=True)
    # Each series' rows, months in order: one factorize and sort, not a groupby per request.
    codes, _ = pd.MultiIndex.from_frame(frame[key_cols]).factorize()
    order = np.lexsort((frame["month"].astype(str).to_numpy(), codes))
    frame = frame.iloc[order].reset_index(drop=True)
    codes = codes[order]
    bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
    starts = pd.Series(bounds[:-1], index=codes[bounds[:-1]]).sort_index()
    ends = pd.Series(bounds[1:], index=codes[bounds[:-1]]).sort_index()
    series = frame.loc[starts.to_numpy(), key_cols + ["method"]]
    series = series.assign(end_row=ends.to_numpy())
    series = _filter(series, query)
    cursor = None
    if query.format == "json":
        start, end, cursor = _page(len(series), query.cursor, query.limit)
        series = series.iloc[start:end]
    keys = panel.keys.reset_index(drop=True)
    index = {tuple(k): i for i, k in enumerate(keys[key_cols].itertuples(index=False))}
    months = [str(m) for m in panel.months]
    history_from = max(0, len(months) - 24)
    columns = {c: frame[c].to_numpy() for c in ("point", "lo80", "hi80", "lo95", "hi95")}
    month_text = frame["month"].astype(str).to_numpy()
    items = []
    for row in series.itertuples():
        key = tuple(getattr(row, c) for c in key_cols)
        span = range(row.Index, row.end_row)
        values = panel.values[index[key], history_from:]
        items.append(
            {
                "kind": row.kind,
                "trade": row.trade,
                "area_level": row.area_level,
                "area_code": row.area_code,
                "area_name": row.area_name,
                "method": row.method,
                "history": [
                    {"month": m, "value": _people_value(row.kind, v)}
                    for m, v in zip(months[history_from:], values, strict=True)
                ],
                "forecast": [
                    {
                        "month": month_text[i],
                        **{c: round(float(columns[c][i]), 2) for c in columns},
                    }
                    for i in span
                ],
            }
        )
    methods = {f"{k[0]}/{k[1]}": v for k, v in result.chosen.items()}
    if query.format in ("csv", "xlsx"):
        rows = [
            {
                **{c: item[c] for c in key_cols},
                "method": item["method"],
                **point,
            }
            for item in items
            for point in item["forecast"]
        ]
        columns = [*key_cols, "method", "month", "point", "lo80", "hi80", "lo95", "hi95"]
        lang = query.lang
        served_words = [
            (f"Phương pháp đang dùng: {labels.label('series_kind', k[0])} · "
             f"{labels.label('area_level', k[1])}",
             f"Method served: {labels.label('series_kind', k[0], 'en')} · "
             f"{labels.label('area_level', k[1], 'en')}",
             labels.label("forecast_method", v, lang))
            for k, v in result.chosen.items()
        ]  # fmt: skip
        return _export(
            query, bundle, "du-bao", ("Dự báo nhu cầu tuyển dụng", "Demand forecast"),
            [_sheet("Dự báo", "Forecast", rows, columns),
             _sheet("Kiểm định", "Backtest", _backtest_rows(result))],
            ("Số chuỗi", "Series", len(items)), *served_words,
        )  # fmt: skip
    if query.format == "svg":
        _require_one(series, "forecast chart")
        item = items[0]
        fc = item["forecast"]
        title = f"Dự báo / forecast: {query.kind} · {item['trade']} · {item['area_name']}"
        return _svg(
            charts.forecast_chart(
                title,
                [h["month"] for h in item["history"]],
                [h["value"] for h in item["history"]],
                [p["month"] for p in fc],
                [p["point"] for p in fc],
                [p["lo80"] for p in fc],
                [p["hi80"] for p in fc],
                [p["lo95"] for p in fc],
                [p["hi95"] for p in fc],
                caption=f"Phương pháp / method: {item['method']}",
            )
        )
    return {
        "kind": query.kind,
        "horizon": svc.HORIZON,
        "first_month": first_month,
        "methods": methods,
        "backtest": _backtest_rows(result),
        "items": items,
        "next_cursor": cursor,
    }


# ---------------------------------------------------------------- gaps and course plans


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Frame rows as JSON-safe dicts: periods as YYYY-MM, NaN as null, floats rounded."""
    out = []
    for record in frame.to_dict("records"):
        clean = {}
        for key, value in record.items():
            if isinstance(value, pd.Period):
                value = str(value)
            elif isinstance(value, pd.Timestamp | dt.date):
                value = value.isoformat()[:10]
            elif isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float):
                value = round(value, 3) if math.isfinite(value) else None
            elif value is pd.NA or value is pd.NaT:
                value = None
            clean[str(key)] = value
        out.append(clean)
    return out


def _with_training(totals: pd.DataFrame, pipeline: pd.DataFrame) -> pd.DataFrame:
    """A total row per trade × area, with the people now in training there and the 12-month
    demand's own bands (the gap's bands come from the demand's uncertainty alone:
    matcher.planning.gaps), so a planner sees demand, training and gap side by side."""
    people = pipeline.groupby(["trade", "area_code"])["people"].sum()
    index = pd.MultiIndex.from_frame(totals[["trade", "area_code"]])
    counted = people.reindex(index).fillna(0).to_numpy(dtype=float)
    # A count of 1–9 people is hidden, as everywhere in planning (MIN_CELL).
    hidden = (counted > 0) & (counted < MIN_CELL)
    totals = totals.assign(people_in_training=np.where(hidden, np.nan, counted))
    for q in ("lo80", "hi80", "lo95", "hi95"):
        totals[f"demand_{q}"] = (totals[f"gap_{q}"] + totals["expected_supply"]).clip(lower=0)
    return totals


@planning_operation(
    "/gaps",
    summary="Expected demand minus expected supply per trade × area",
    query=GapQuery,
    response=TableOut,
    alt_content=WITH_CHART,
)
def get_gaps(query: GapQuery, bundle: svc.Bundle) -> Any:
    """Over the next 12 months: forecast places committed minus the graduates now in
    training who are expected to finish and be hired (observed completion and placement
    rates), with the gap's 80 % and 95 % intervals. The SVG shows the gap by area."""
    scope = bundle.scope
    try:
        gaps = bundle.part("gaps")
        inputs = bundle.part("inputs")
    except svc.NotEnoughHistory as error:
        return _nothing_yet(query, error, title=GAP_TITLE, items=[])
    gaps = _filter(gaps, query)
    totals = _with_training(svc.gap_totals(gaps), inputs["pipeline"])
    if query.format in ("csv", "xlsx"):
        total = _records(totals)
        return _export(
            query, bundle, "thieu-hut", ("Thiếu hụt lao động", "Labour shortfall"),
            [_sheet("Tổng 12 tháng", "12-month totals", total),
             _sheet("Theo tháng", "By month", _records(gaps[gaps["scope"] == "month"]))],
            ("Nhu cầu dự kiến 12 tháng (chỗ)", "Expected demand, 12 months (places)",
             round(float(totals["expected_demand"].sum()), 1)),
            ("Thiếu hụt 12 tháng (người)", "Gap, 12 months (people)",
             round(float(totals["gap"].sum()), 1)),
        )  # fmt: skip
    if query.format == "svg":
        by_area = totals.groupby("area_name", sort=True)[["gap", "gap_lo80", "gap_hi80"]].sum(
            min_count=1
        )
        title = "Thiếu hụt 12 tháng tới theo khu vực / 12-month gap by area" + (
            f" · {query.trade}" if query.trade else ""
        )
        return _svg(
            charts.bar_chart(
                title,
                list(by_area.index),
                by_area["gap"].tolist(),
                by_area["gap_lo80"].tolist(),
                by_area["gap_hi80"].tolist(),
                caption="Dương = thiếu người, âm = thừa; vạch = khoảng 80 % / positive = "
                "shortfall, negative = surplus; whiskers = 80 % interval",
            )
        )
    items, cursor = page_of(_records(gaps), query)
    return {
        "title": GAP_TITLE,
        "first_month": str(pd.Period(scope.today, "M")),
        "horizon": svc.HORIZON,
        "methods": inputs["method"],
        "items": items,
        "summary": _records(totals),
        "next_cursor": cursor,
    }


@planning_operation(
    "/course-plan",
    summary="Which courses to open, where and when, to close the gap",
    query=CoursePlanQuery,
    response=TableOut,
    alt_content=TABLES,
)
def get_course_plan(query: CoursePlanQuery, bundle: svc.Bundle) -> Any:
    """Places per provider and course, starting early enough that graduates arrive when the
    demand starts (lead time = course length), within each provider's capacity and never in
    a class under `min_cohort` places (small remainders are merged into a neighbouring
    month's or area's class); `summary` gives per trade × area the gap, what the plan
    closes, what remains and why (`below_min_cohort`: too small for a class), and the
    `min_cohort` it was planned with."""
    scope = bundle.scope
    try:
        result = bundle.part("course_plan")
    except svc.NotEnoughHistory as error:
        return _nothing_yet(query, error, title=PLAN_TITLE, items=[])
    rows = _filter(result.rows, query)
    summary = _filter(result.summary, query)
    if query.format in ("csv", "xlsx"):
        return _export(
            query, bundle, "ke-hoach-dao-tao", PLAN_TITLES,
            [_sheet("Kế hoạch mở lớp", "Course plan", _records(rows)),
             _sheet("Theo nghề và khu vực", "By trade and area", _records(summary))],
            *_plan_figures(rows, summary),
        )  # fmt: skip
    items, cursor = page_of(_records(rows), query)
    return {
        "title": PLAN_TITLE,
        "first_month": str(pd.Period(scope.today, "M")),
        "horizon": svc.HORIZON,
        "items": items,
        "summary": _records(summary),
        "next_cursor": cursor,
    }


def _plan_figures(rows: pd.DataFrame, summary: pd.DataFrame) -> list[tuple[str, str, Any]]:
    def total(frame: pd.DataFrame, column: str) -> float:
        return round(float(frame[column].sum()), 1) if column in frame.columns else 0.0

    return [
        ("Số lớp", "Classes", int(rows["cohorts"].sum()) if len(rows) else 0),
        ("Số chỗ học", "Places", int(rows["places"].sum()) if len(rows) else 0),
        ("Người được tuyển dự kiến", "Expected hires", total(rows, "expected_hires")),
        ("Thiếu người 12 tháng", "Shortfall, 12 months", total(summary, "shortfall")),
        ("Thiếu hụt được bù", "Gap closed", total(summary, "gap_closed")),
        ("Thiếu hụt còn lại", "Remaining gap", total(summary, "remaining_gap")),
    ]


# ---------------------------------------------------------------- placement results


@planning_operation(
    "/placement-results",
    summary="Placement and 90-day retention per course or provider",
    query=PlacementQuery,
    response=TableOut,
    alt_content=WITH_CHART,
)
def get_placement_results(query: PlacementQuery, bundle: svc.Bundle) -> Any:
    """Enrolled, graduated, referred, hired and still employed 90 days after hire, with
    rates and 95 % Wilson intervals; rows with fewer than 10 people are suppressed. The SVG
    shows the hire rate of graduates by provider (or course)."""
    frame = bundle.placement[query.by]
    if query.trade and "trade" in frame.columns:
        frame = frame[frame["trade"] == query.trade]
    if query.area and "area_code" in frame.columns:
        frame = frame[frame["area_code"] == query.area]
    if query.format in ("csv", "xlsx"):
        by_vi = "cơ sở đào tạo" if query.by == "provider" else "khóa đào tạo"
        return _export(
            query, bundle, f"ket-qua-viec-lam-{query.by}",
            (f"Kết quả việc làm theo {by_vi}", f"Placement results by {query.by}"),
            [_sheet("Kết quả việc làm", "Placement results", _records(frame))],
            ("Số dòng", "Rows", len(frame)),
        )  # fmt: skip
    if query.format == "svg":
        label = "provider" if query.by == "provider" else "name"
        title = "Tỷ lệ có việc của học viên tốt nghiệp / graduates hired, by " + query.by
        return _svg(
            charts.bar_chart(
                title,
                frame[label].astype(str).tolist(),
                frame["hire_rate"].tolist(),
                frame["hire_rate_low"].tolist(),
                frame["hire_rate_high"].tolist(),
                caption="Vạch = khoảng tin cậy 95 % (Wilson) / whiskers = 95 % interval",
                percent=True,
            )
        )
    items, cursor = page_of(_records(frame), query)
    return {
        "title": f"Kết quả việc làm theo {query.by} / placement results by {query.by}",
        "items": items,
        "next_cursor": cursor,
    }


# ---------------------------------------------------------------- fairness


@planning_operation(
    "/fairness",
    summary="Fairness audit of the serving scorer and of outcomes",
    query=FairnessQuery,
    response=FairnessOut,
    alt_content=WITH_CHART,
)
def get_fairness(query: FairnessQuery, bundle: svc.Bundle) -> Any:
    """Per group of gender, ethnic minority, disability and age band (and intersections
    big enough to show): the scoring rate, the hire rate among the referred, impact ratios
    against the best-off group with bootstrap 95 % intervals, and the unknowns. Groups under
    10 people are suppressed. `gate` says whether the serving scorer would pass the
    promotion gate (no group of 30 or more under an impact ratio of 0.8)."""
    audit = bundle.fairness
    report = audit["report"].to_dict()
    gate = audit["gate"]
    groups = report["groups"]
    if query.format in ("csv", "xlsx"):
        return _export(
            query, bundle, "kiem-toan-cong-bang",
            ("Kiểm toán công bằng", "Fairness audit"),
            [_sheet("Theo nhóm", "By group", groups),
             _sheet("Không rõ", "Not known", report["unknowns"])],
            ("Đạt ngưỡng công bằng", "Passes the fairness gate",
             labels.label("yes_no", "yes" if gate.passed else "no", query.lang)),
            ("Nhận định", "Verdict", gate.reason),
            ("Số người", "People", report["overall"].get("people")),
        )  # fmt: skip
    if query.format == "svg":
        single = [g for g in groups if "×" not in str(g["attribute"])]
        return _svg(
            charts.bar_chart(
                "Tỷ lệ tác động (điểm) theo nhóm / scoring impact ratio by group",
                [f"{g['attribute']} = {g['group']}" for g in single],
                [g.get("scoring_impact_ratio") for g in single],
                [g.get("scoring_impact_low") for g in single],
                [g.get("scoring_impact_high") for g in single],
                reference=0.8,
                reference_label="0,8",
                caption="Vạch = khoảng 95 % (bootstrap) / whiskers = 95 % bootstrap interval",
            )
        )
    page, cursor = page_of(groups, query)
    return {
        "scorer": audit["scorer"],
        "model_version": audit["model_version"],
        "gate": {"passed": gate.passed, "reason": gate.reason, "failures": gate.failures},
        "overall": report["overall"],
        "groups": page,
        "unknowns": report["unknowns"],
        "next_cursor": cursor,
    }
