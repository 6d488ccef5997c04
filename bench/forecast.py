"""Forecast speed and accuracy on a synthetic national panel (matcher.forecast).

Builds seeded events for 34 provinces × ~20 former districts × 6 trades × 3 kinds over 48
months — demand (commitments weighted by their slots, lumpy), supply (graduates, in course
cohorts finishing mostly in June and December) and hires (peaking after Tết, February–March)
— with district rates from near zero to dozens a month, then times:

* building the district and province panels from the events and stacking them,
* the rolling-origin backtest of each method (12 origins, horizon 12),
* the final forecast of each chosen method, the total, and the peak memory (ru_maxrss),

and prints the backtest summary per method and per (kind, area level). Then the same on the
Hưng Yên demo data (fixed today 2026-11-27): the full backtest table and, per province-level
series of each trade, every method's MASE, MAE relative to seasonal naive on the same held-out
points, and interval coverage. Prints tables; asserts nothing.

    .venv/bin/python bench/forecast.py [--provinces 34] [--districts 20] [--trades 6]
                                       [--months 48] [--horizon 12] [--origins 12]
                                       [--choose-by kind,area_level] [--no-detail] [--seed 0]
                                       [--skip-national] [--skip-demo]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

# Run as a script, bench/ is sys.path[0]; keep the project root first and bench/ out, so no
# file here can ever shadow an installed package.
BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

from matcher.forecast import (  # noqa: E402
    DEFAULT_METHODS,
    Panel,
    build_panel,
    forecast_panel,
    stack_panels,
)

KINDS = ("demand", "supply", "hires")
TRADES = ("garment", "electrical", "welding", "electronics", "hospitality", "agriculture")
# Monthly shape per kind (January first): hires and demand peak after Tết, graduates finish
# courses mostly in June and December.
SEASONAL_SHAPE = {
    "demand": np.array([0.7, 1.9, 1.7, 1.1, 1.0, 0.9, 0.9, 1.0, 1.0, 0.9, 0.8, 0.6]),
    "supply": np.array([0.5, 0.4, 0.7, 0.8, 0.9, 2.2, 0.8, 0.7, 0.8, 0.9, 1.0, 2.1]),
    "hires": np.array([0.5, 1.8, 2.0, 1.2, 1.0, 0.9, 0.9, 0.9, 1.0, 0.9, 0.8, 0.5]),
}


def synthetic_events(
    *, provinces: int, districts: int, trades: int, months: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.PeriodIndex]:
    """Return (events, district keys, months): one row per commitment, graduate or hire."""
    rng = np.random.default_rng(seed)
    calendar = pd.period_range("2021-01", periods=months, freq="M")
    per_province = np.clip(rng.poisson(districts, size=provinces), 8, None)
    province_of_district = np.repeat(np.arange(provinces), per_province)
    n_districts = len(province_of_district)
    district_keys = pd.DataFrame(
        {
            "province_code": [f"P{p:02d}" for p in province_of_district],
            "district_code": [f"D{d:04d}" for d in range(n_districts)],
        }
    )
    frames = []
    month_of_year = calendar.month.to_numpy() - 1
    t = np.arange(months)
    for kind in KINDS:
        # Rates per (district, trade): a few busy industrial districts, many near-empty ones.
        base = rng.lognormal(mean=0.3, sigma=1.2, size=(n_districts, trades))
        base *= rng.random((n_districts, trades)) > 0.15  # some trades absent in a district
        growth = rng.normal(0.006, 0.01, size=(n_districts, trades))
        shape = SEASONAL_SHAPE[kind][month_of_year]
        rate = base[..., None] * shape * np.clip(1 + growth[..., None] * t, 0.2, None)
        if kind == "supply":
            # Graduates come in cohorts: a class of ~15 finishes, or none does.
            classes = rng.poisson(rate / 15.0)
            counts = rng.poisson(15.0 * classes)
        elif kind == "demand":
            counts = rng.poisson(rate / 4.0)  # commitments, ~4 slots each (lumpy)
        else:
            counts = rng.poisson(rate)
        flat = counts.ravel()
        cell = np.repeat(np.arange(flat.size), flat)
        district, trade, month = np.unravel_index(cell, counts.shape)
        start = calendar[month].to_timestamp().to_numpy()
        day = rng.integers(0, 28, size=len(cell)).astype("timedelta64[D]")
        value = rng.geometric(0.25, size=len(cell)) if kind == "demand" else np.ones(len(cell))
        frames.append(
            pd.DataFrame(
                {
                    "kind": kind,
                    "trade": np.array(TRADES[:trades])[trade],
                    "province_code": district_keys["province_code"].to_numpy()[district],
                    "district_code": district_keys["district_code"].to_numpy()[district],
                    "date": start + day,
                    "value": value.astype(np.int64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True), district_keys, calendar


def national_panel(
    events: pd.DataFrame, district_keys: pd.DataFrame, calendar: pd.PeriodIndex, trades: int
) -> Panel:
    """Return district series (every district × trade × kind) stacked on province totals."""
    every = (
        district_keys.merge(pd.DataFrame({"trade": TRADES[:trades]}), how="cross")
        .merge(pd.DataFrame({"kind": KINDS}), how="cross")
        .loc[:, ["kind", "trade", "province_code", "district_code"]]
    )
    common = {
        "month_column": "date",
        "value_column": "value",
        "first_month": calendar[0],
        "last_month": calendar[-1],
    }
    district = build_panel(
        events, ["kind", "trade", "province_code", "district_code"], all_keys=every, **common
    )
    province = build_panel(
        events,
        ["kind", "trade", "province_code"],
        all_keys=every.drop(columns="district_code").drop_duplicates(),
        **common,
    )
    district_keys_out = district.keys.rename(columns={"district_code": "area_code"})
    province_keys_out = province.keys.assign(area_code=province.keys["province_code"])
    return stack_panels(
        Panel(district_keys_out.assign(area_level="district"), district.months, district.values),
        Panel(province_keys_out.assign(area_level="province"), province.months, province.values),
    )


def _row(label: str, seconds: float, note: str = "") -> str:
    return f"| {label:<34} | {seconds:>9.2f} | {note:<40} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provinces", type=int, default=34)
    parser.add_argument("--districts", type=int, default=20, help="mean per province")
    parser.add_argument("--trades", type=int, default=6, choices=range(1, len(TRADES) + 1))
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--horizon", type=int, default=12)
    parser.add_argument("--origins", type=int, default=12)
    parser.add_argument("--choose-by", default="kind,area_level", help="comma-separated")
    parser.add_argument("--no-detail", action="store_true", help="skip the point-level table")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-national", action="store_true")
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    choose_by = [c for c in args.choose_by.split(",") if c]
    if not args.skip_national:
        national(args, choose_by)
    if not args.skip_demo:
        demo_table()


def demo_table() -> None:
    """Backtest the three methods on the demo's series, as the API does."""
    import datetime as dt

    from matcher.demo import DemoConfig, generate
    from matcher.series import events_from_contract_frames, series_panel

    today = dt.date(2026, 11, 27)
    started = time.perf_counter()
    demo = generate(DemoConfig(today=today))
    panel = series_panel(events_from_contract_frames(demo.frames()), pd.Period(today, "M") - 1)
    result = forecast_panel(panel, choose_by=("kind", "area_level"))
    seconds = time.perf_counter() - started
    print()
    print(
        f"Demo (Hưng Yên, today {today}): {panel.n_series} series × {len(panel.months)} months "
        f"{panel.months[0]}..{panel.months[-1]}; generate + backtest + forecast {seconds:.1f} s"
    )
    table = result.backtest.summary(("kind", "area_level"))
    table["served"] = [
        result.chosen[(k, a)] == m
        for k, a, m in zip(table["kind"], table["area_level"], table["method"], strict=True)
    ]
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print()
    print("Province-level series, every method (served method marked *):")
    per_series = result.backtest.per_series
    rows = per_series[per_series["area_level"] == "province"].copy()
    rows["method"] = [
        f"{m}*" if result.chosen[(k, "province")] == m else m
        for k, m in zip(rows["kind"], rows["method"], strict=True)
    ]
    columns = ["kind", "trade", "method", "mase", "rel_mae", "coverage80", "coverage95"]
    print(
        rows.sort_values(["kind", "trade", "method"])[columns].to_string(
            index=False, float_format=lambda x: f"{x:.3f}"
        )
    )


def national(args: argparse.Namespace, choose_by: list[str]) -> None:
    """Time and score the synthetic national panel."""

    started = time.perf_counter()
    events, district_keys, calendar = synthetic_events(
        provinces=args.provinces,
        districts=args.districts,
        trades=args.trades,
        months=args.months,
        seed=args.seed,
    )
    generated = time.perf_counter() - started

    started = time.perf_counter()
    panel = national_panel(events, district_keys, calendar, args.trades)
    built = time.perf_counter() - started

    values = panel.values
    levels = panel.keys["area_level"].to_numpy()
    print(
        f"panel: {panel.n_series:,} series ({(levels == 'district').sum():,} district, "
        f"{(levels == 'province').sum():,} province) × {len(panel.months)} months "
        f"{panel.months[0]}..{panel.months[-1]}; {len(events):,} events"
    )
    district_values = values[levels == "district"]
    print(
        f"district months that are zero: {np.mean(district_values == 0):.0%}; "
        f"median district monthly count {np.median(district_values):.0f}, "
        f"95th percentile {np.percentile(district_values, 95):.0f}"
    )
    print()

    started = time.perf_counter()
    result = forecast_panel(
        panel,
        horizon=args.horizon,
        origins=args.origins,
        methods=DEFAULT_METHODS,
        choose_by=choose_by,
        keep_detail=not args.no_detail,
    )
    total = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"| {'step':<34} | {'seconds':>9} | {'note':<40} |")
    print(f"|{'-' * 36}|{'-' * 11}|{'-' * 42}|")
    print(_row("generate events (not timed below)", generated, f"{len(events):,} rows"))
    print(_row("build panels from events", built, "district + province, stacked"))
    for name, seconds in result.backtest.seconds.items():
        print(_row(f"backtest {name}", seconds, f"{args.origins} origins, horizon {args.horizon}"))
    scoring = result.seconds["backtest"] - sum(result.backtest.seconds.values())
    print(_row("backtest scoring and tables", scoring, f"{len(result.backtest.detail):,} rows"))
    for name, seconds in result.seconds.items():
        if name.startswith("forecast_"):
            print(_row(f"final {name.removeprefix('forecast_')}", seconds, "all series"))
    assembled = total - sum(result.seconds.values())
    print(_row("assemble forecast frame", assembled, f"{len(result.frame):,} rows"))
    print(_row("forecast_panel total", total, "backtest + choice + final forecasts"))
    print(_row("build + forecast_panel", built + total, "what a planner's request costs"))
    print(f"peak memory (ru_maxrss): {peak_mib:,.0f} MiB")
    print()

    print("Backtest summary, all series:")
    print(result.backtest.summary().to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print()
    if choose_by:
        print(f"Backtest summary by {', '.join(choose_by)}:")
        table = result.backtest.summary(choose_by)
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        print()
    print(
        "Chosen:",
        ", ".join(f"{'/'.join(map(str, k)) or 'all'} → {v}" for k, v in result.chosen.items()),
    )


if __name__ == "__main__":
    main()
