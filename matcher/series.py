"""Planning series: what the registry holds, counted per kind × trade × area × month.

Three kinds, each placed where it happens:

- ``demand``: places committed (``slots``), by the month they start, at the commitment's site;
- ``supply``: graduates, by the month they finished, at the course's site;
- ``hires``: hires, by the month of hire, at the commitment's site.

Each event is counted at the chosen area level (former district by default, or park
catchment; :mod:`matcher.areas`) and again at province level, so a province's total is a
series of its own (``area_level="province"``) and the areas add up to it. The api, the
forecasting notebook and the benchmark all build their panels here.
"""

from __future__ import annotations

import pandas as pd

from matcher import forecast as fc
from matcher.areas import DEFAULT_AREA_LEVEL, areas_of
from matcher.places import gazetteer as load_gazetteer

KINDS = ("demand", "supply", "hires")
KEY_COLUMNS = ("kind", "area_level", "area_code", "area_name", "trade")


def _located(
    kind: str, trade: pd.Series, ward_code: pd.Series, month: pd.Series, value, level: str
) -> pd.DataFrame:
    found = areas_of(ward_code.to_numpy(dtype=object), level)
    frame = pd.DataFrame(
        {
            "kind": kind,
            "area_level": level,
            "area_code": found["area_code"].to_numpy(dtype=object),
            "area_name": found["area_name"].to_numpy(dtype=object),
            "trade": trade.to_numpy(dtype=object),
            "month": pd.to_datetime(month.to_numpy(), errors="coerce"),
            "value": value,
        }
    )
    return frame[frame["area_code"].notna() & frame["month"].notna()]


def series_events(
    commitments: pd.DataFrame,
    graduates: pd.DataFrame,
    hires: pd.DataFrame,
    level: str = DEFAULT_AREA_LEVEL,
) -> pd.DataFrame:
    """Return one row per counted event at ``level`` and at province level.

    ``commitments``: trade, ward_code, start_date, slots. ``graduates``: trade, ward_code (the
    course's), completed_on. ``hires``: trade, ward_code (the commitment's), hired_on.
    Events whose ward is unknown or whose date is missing are left out.
    """
    parts = [
        _located(
            "demand",
            commitments["trade"],
            commitments["ward_code"],
            commitments["start_date"],
            commitments["slots"].astype(float).to_numpy(),
            level,
        ),
        _located(
            "supply", graduates["trade"], graduates["ward_code"], graduates["completed_on"], 1.0,
            level,
        ),
        _located("hires", hires["trade"], hires["ward_code"], hires["hired_on"], 1.0, level),
    ]  # fmt: skip
    events = pd.concat(parts, ignore_index=True)
    if level == "province" or events.empty:
        return events
    gazetteer = load_gazetteer()
    codes = events["area_code"].str.slice(0, 2)
    names = {code: gazetteer.province(code).name for code in codes.unique()}
    province = events.assign(area_level="province", area_code=codes, area_name=codes.map(names))
    return pd.concat([events, province], ignore_index=True)


def series_panel(events: pd.DataFrame, last_month: pd.Period | str) -> fc.Panel:
    """Sum events into a monthly panel ending at ``last_month`` (the last complete month).

    Every trade × area with any event gets all three kinds, so a zero is a real zero.

    Raises
    ------
    ValueError
        When there is no event on or before ``last_month``.
    """
    last = pd.Period(last_month, "M")
    events = events[events["month"] < last.end_time]
    if events.empty:
        raise ValueError("no event on or before the last complete month")
    # Start when every kind is being recorded, and skip that first month, which is usually
    # partial: leading zeros would read as "no demand" and distort the backtest's scale.
    starts = events.groupby("kind")["month"].min()
    first = pd.Period(starts.max(), "M") + (1 if len(starts) == len(KINDS) else 0)
    if first > last:
        first = pd.Period(events["month"].min(), "M")
    present = events[["area_level", "area_code", "area_name", "trade"]].drop_duplicates()
    all_keys = present.merge(pd.DataFrame({"kind": KINDS}), how="cross")[list(KEY_COLUMNS)]
    return fc.build_panel(
        events,
        list(KEY_COLUMNS),
        month_column="month",
        value_column="value",
        first_month=first,
        last_month=last,
        all_keys=all_keys,
    )


def events_from_contract_frames(
    frames: dict[str, pd.DataFrame], level: str = DEFAULT_AREA_LEVEL
) -> pd.DataFrame:
    """Return :func:`series_events` for contract-format frames (the demo's, or import files).

    A commitment without its own ward sits at its enterprise's; graduates are counted at
    their course's ward; hires at their commitment's site.
    """
    commitments, enterprises = frames["commitments"], frames["enterprises"]
    head_site = commitments["enterprise_external_id"].map(
        enterprises.set_index("external_id")["ward_code"]
    )
    own = commitments["ward_code"].astype(str).str.strip()
    sites = pd.DataFrame(
        {
            "external_id": commitments["external_id"],
            "trade": commitments["trade"],
            "ward_code": own.where(own != "", head_site),
            "start_date": commitments["start_date"],
            "slots": pd.to_numeric(commitments["slots"]),
        }
    )
    courses = frames["courses"][["external_id", "trade", "ward_code"]]
    enrollments = frames["enrollments"]
    graduates = enrollments[enrollments["status"] == "graduated"].merge(
        courses, left_on="course_external_id", right_on="external_id"
    )
    referrals = frames["referrals"]
    hires = referrals[referrals["outcome"] == "hired"].merge(
        sites[["external_id", "trade", "ward_code"]],
        left_on="commitment_external_id",
        right_on="external_id",
    )
    return series_events(sites, graduates, hires, level)
