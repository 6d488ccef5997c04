"""Forecasts: panel building, the three methods, the rolling-origin backtest and the choice."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from matcher.forecast import (
    DEFAULT_METHODS,
    QUANTILE_COLUMNS,
    QUANTILES,
    Backtest,
    GlobalGBM,
    HoltWinters,
    Panel,
    SeasonalNaive,
    backtest,
    build_panel,
    forecast_panel,
    holt_winters_point,
    holt_winters_variance,
    initial_states,
    mase_scale,
    seasonal_naive,
    stack_panels,
)

METHODS = [SeasonalNaive(), HoltWinters(), GlobalGBM()]
METHOD_IDS = [m.name for m in METHODS]


def _months(n: int, start: str = "2021-01") -> pd.PeriodIndex:
    return pd.period_range(start, periods=n, freq="M")


def seasonal_panel(n_series: int = 60, n_months: int = 48, seed: int = 0) -> Panel:
    """Poisson counts around a level, with a trend and a strong post-Tết (Feb–Mar) peak."""
    rng = np.random.default_rng(seed)
    months = _months(n_months)
    level = rng.uniform(8, 40, size=(n_series, 1))
    growth = rng.uniform(-0.005, 0.015, size=(n_series, 1)) * np.arange(n_months)
    peak = np.where(np.isin(months.month, [2, 3]), 1.9, 1.0)
    shape = 1 + 0.25 * np.sin(2 * np.pi * (months.month.to_numpy() - 5) / 12)
    mean = level * (1 + growth) * peak * shape
    keys = pd.DataFrame(
        {
            "kind": np.array(["demand", "supply", "hires"])[np.arange(n_series) % 3],
            "trade": np.array(["garment", "electrical"])[np.arange(n_series) % 2],
            "area_code": [f"D{i:03d}" for i in range(n_series)],
        }
    )
    return Panel(keys=keys, months=months, values=rng.poisson(mean).astype(float))


@pytest.fixture(scope="module")
def seasonal_result():
    return forecast_panel(seasonal_panel(), horizon=12, origins=12)


# ============================================================================================
# build_panel


def test_build_panel_sums_events_and_fills_missing_months_with_zero():
    events = pd.DataFrame(
        {
            "trade": ["garment", "garment", "garment", "electrical"],
            "month": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-03-01", "2024-02-11"]),
        }
    )
    panel = build_panel(events, ["trade"])
    assert list(panel.months.astype(str)) == ["2024-01", "2024-02", "2024-03"]
    assert list(panel.keys["trade"]) == ["electrical", "garment"]
    np.testing.assert_array_equal(panel.values, [[0, 1, 0], [2, 0, 1]])
    assert panel.values.dtype == np.float64


def test_build_panel_weights_events_by_value_column():
    events = pd.DataFrame(
        {"trade": ["a", "a", "b"], "month": ["2024-01", "2024-01", "2024-02"], "slots": [3, 4, 5]}
    )
    panel = build_panel(events, ["trade"], value_column="slots")
    np.testing.assert_array_equal(panel.values, [[7, 0], [0, 5]])


def test_build_panel_adds_all_keys_without_events_as_zero_series():
    events = pd.DataFrame({"area": ["D2"], "trade": ["a"], "month": ["2024-02-10"]})
    all_keys = pd.DataFrame(
        {"area": ["D1", "D2"], "trade": ["a", "a"], "area_name": ["Yên Mỹ", "Văn Lâm"]}
    )
    panel = build_panel(
        events, ["area", "trade"], all_keys=all_keys, first_month="2024-01", last_month="2024-03"
    )
    assert list(panel.keys["area"]) == ["D1", "D2"]
    assert list(panel.keys["area_name"]) == ["Yên Mỹ", "Văn Lâm"]
    np.testing.assert_array_equal(panel.values, [[0, 0, 0], [0, 1, 0]])


def test_build_panel_appends_event_keys_missing_from_all_keys():
    events = pd.DataFrame({"area": ["D9", "D1"], "month": ["2024-01-01", "2024-01-02"]})
    panel = build_panel(events, ["area"], all_keys=pd.DataFrame({"area": ["D5", "D1"]}))
    assert list(panel.keys["area"]) == ["D5", "D1", "D9"]
    np.testing.assert_array_equal(panel.values, [[0], [1], [1]])


@pytest.mark.parametrize(
    "dates",
    [
        pd.Series(pd.to_datetime(["2024-01-31 23:00", "2024-03-01 00:30"])),
        pd.Series(pd.to_datetime(["2024-01-31 23:00", "2024-03-01 00:30"])).dt.tz_localize(
            "Asia/Ho_Chi_Minh"
        ),
        pd.Series([dt.date(2024, 1, 31), dt.date(2024, 3, 1)]),
        pd.Series(pd.PeriodIndex(["2024-01", "2024-03"], freq="M")),
        pd.Series(pd.PeriodIndex(["2024-01-31", "2024-03-01"], freq="D")),
        pd.Series(["2024-01", "2024-03-01"]),
    ],
    ids=["datetime", "tz_aware_local", "date", "period_month", "period_day", "iso_strings"],
)
def test_build_panel_reads_any_date_type_as_the_same_months(dates):
    panel = build_panel(pd.DataFrame({"k": ["x", "x"], "month": dates}), ["k"])
    assert list(panel.months.astype(str)) == ["2024-01", "2024-02", "2024-03"]
    np.testing.assert_array_equal(panel.values, [[1, 0, 1]])


def test_build_panel_drops_events_outside_the_calendar():
    events = pd.DataFrame({"k": ["x"] * 3, "month": ["2023-12-31", "2024-01-15", "2024-05-01"]})
    panel = build_panel(events, ["k"], first_month="2024-01", last_month=pd.Period("2024-02"))
    np.testing.assert_array_equal(panel.values, [[1, 0]])


@pytest.mark.parametrize(
    ("events", "kwargs", "message"),
    [
        (pd.DataFrame({"k": [None], "month": ["2024-01"]}), {}, "missing key"),
        (pd.DataFrame({"k": ["x"], "month": [None]}), {}, "no 'month'"),
        (pd.DataFrame({"k": ["x"], "month": ["soon"]}), {}, "not dates"),
        (
            pd.DataFrame({"k": ["x"], "month": ["2024-01"], "n": [-1]}),
            {"value_column": "n"},
            ">= 0",
        ),
        (pd.DataFrame({"k": ["x"], "when": ["2024-01"]}), {}, "lack column"),
        (pd.DataFrame({"k": [], "month": []}), {}, "no events"),
    ],
    ids=["missing_key", "missing_month", "bad_date", "negative_weight", "no_column", "empty"],
)
def test_build_panel_rejects_bad_events_with_clear_message(events, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_panel(events, ["k"], **kwargs)


def test_stack_panels_unites_keys_and_rows():
    months = _months(3)
    district = Panel(pd.DataFrame({"area_code": ["D1"]}), months, np.ones((1, 3)))
    province = Panel(pd.DataFrame({"province_code": ["33"]}), months, np.full((1, 3), 2.0))
    stacked = stack_panels(district, province)
    assert stacked.values.shape == (2, 3)
    assert set(stacked.keys.columns) == {"area_code", "province_code"}


# ============================================================================================
# Input checks


@pytest.mark.parametrize("method", METHODS, ids=METHOD_IDS)
@pytest.mark.parametrize(
    ("values", "months", "horizon", "message"),
    [
        (np.array([[1.0, -1.0] * 10]), _months(20), 3, ">= 0"),
        (np.array([[1.0, np.nan] * 10]), _months(20), 3, "finite"),
        (np.ones((1, 20)), _months(21).delete(5), 3, "consecutive"),
        (np.ones((1, 20)), pd.date_range("2021-01-01", periods=20, freq="MS"), 3, "PeriodIndex"),
        (np.ones((1, 20)), _months(19), 3, "19 months for 20"),
        (np.ones((1, 20)), _months(20), 0, "horizon"),
        (np.ones((1, 20)), _months(20), 1.5, "horizon"),
    ],
    ids=["negative", "nan", "gap", "not_periods", "length", "horizon_zero", "horizon_float"],
)
def test_forecast_rejects_invalid_input_with_clear_message(
    method, values, months, horizon, message
):
    with pytest.raises(ValueError, match=message):
        method.forecast(values, months, horizon)


def test_panel_rejects_negative_values():
    with pytest.raises(ValueError, match=">= 0"):
        Panel(pd.DataFrame({"k": ["x"]}), _months(2), np.array([[1.0, -2.0]]))


def test_backtest_rejects_too_short_panel_and_bad_horizon():
    panel = seasonal_panel(n_series=3, n_months=20)
    with pytest.raises(ValueError, match="min_train"):
        backtest(panel, [SeasonalNaive()])
    with pytest.raises(ValueError, match="horizon"):
        backtest(seasonal_panel(n_series=3), [SeasonalNaive()], horizon=0)


# ============================================================================================
# Methods


@pytest.mark.parametrize("method", METHODS, ids=METHOD_IDS)
@pytest.mark.parametrize(
    "values",
    [
        np.zeros((4, 36)),
        np.random.default_rng(1).poisson(3, size=(5, 13)).astype(float),
        np.random.default_rng(2).poisson(3, size=(5, 18)).astype(float),
        np.random.default_rng(3).poisson(0.3, size=(5, 24)).astype(float),
        np.random.default_rng(4).poisson(9, size=(1, 30)).astype(float),
        np.random.default_rng(5).poisson(9, size=(3, 5)).astype(float),
        np.array([[0.0] * 20 + [50.0] + [0.0] * 15]),  # lumpy: one big month
    ],
    ids=["all_zero", "len13", "len18", "sparse_len24", "single_series", "len5", "lumpy"],
)
def test_forecast_quantiles_are_ordered_non_negative_and_finite(method, values):
    fc = method.forecast(values, _months(values.shape[1]), 14)
    assert fc.point.shape == (len(values), 14)
    assert fc.quantiles.shape == (len(values), 14, len(QUANTILES))
    assert np.isfinite(fc.quantiles).all()
    assert (fc.quantiles >= 0).all()
    assert (np.diff(fc.quantiles, axis=-1) >= 0).all()
    np.testing.assert_array_equal(fc.point, fc.quantiles[..., QUANTILES.index(0.5)])
    assert fc.months[0] == _months(values.shape[1])[-1] + 1 and len(fc.months) == 14


def test_forecast_all_zero_series_is_zero():
    for method in METHODS[:2]:
        fc = method.forecast(np.zeros((3, 30)), _months(30), 6)
        assert (fc.quantiles == 0).all()


def test_seasonal_naive_repeats_the_last_year():
    values = np.arange(30, dtype=float)[None, :]
    fc = seasonal_naive(values, _months(30), 14)
    np.testing.assert_array_equal(fc.point[0], [*range(18, 30), 18, 19])
    # Two seasonal steps ahead is wider than one.
    width = fc.quantiles[0, :, -1] - fc.quantiles[0, :, 0]
    assert width[12] > width[11]


def test_global_gbm_is_deterministic_and_uses_key_columns():
    panel = seasonal_panel(n_series=30, n_months=40)
    first = GlobalGBM(max_iter=20).forecast(panel.values, panel.months, 6, panel.keys)
    second = GlobalGBM(max_iter=20).forecast(panel.values, panel.months, 6, panel.keys)
    np.testing.assert_array_equal(first.quantiles, second.quantiles)
    codes = GlobalGBM()._key_codes(panel.keys, len(panel.keys))
    assert codes.shape == (30, 2)  # kind and trade; area_code has too many values


def test_global_gbm_forecasts_large_series_pooled_with_mostly_zero_ones():
    # Most months of the pool are 0; the low quantiles once collapsed to 0 for every series.
    rng = np.random.default_rng(11)
    months = _months(40)
    peak = np.where(np.isin(months.month, [2, 3]), 2.0, 1.0)
    values = np.vstack(
        [rng.poisson(0.2, size=(60, 40)), rng.poisson(100 * peak, size=(4, 40))]
    ).astype(float)
    fc = GlobalGBM(max_iter=30).forecast(values, months, 12)
    large = fc.quantiles[60:]
    assert (large[..., QUANTILES.index(0.1)] > 40).all()
    february, june = list(fc.months.month).index(2), list(fc.months.month).index(6)
    ratio = fc.point[60:, february] / fc.point[60:, june]
    assert (ratio > 1.4).all()


# ============================================================================================
# Holt-Winters against statsmodels


def _statsmodels_pair(y: np.ndarray, level: float, trend: float, seasonal: np.ndarray):
    series = pd.Series(y, index=_months(len(y)))
    common = {
        "trend": "add",
        "damped_trend": True,
        "seasonal": "add",
        "seasonal_periods": 12,
        "initialization_method": "known",
        "initial_level": level,
        "initial_trend": trend,
        "initial_seasonal": seasonal,
    }
    holt = ExponentialSmoothing(series, **common)
    ets = ETSModel(series, error="add", **common)
    return holt, ets


@pytest.mark.parametrize("n_months", [24, 41, 48])
def test_holt_winters_equals_statsmodels_for_fixed_parameters(n_months):
    alpha, beta, gamma, phi = 0.3, 0.1, 0.2, 0.9
    values = seasonal_panel(n_series=3, n_months=n_months, seed=7).values
    method = HoltWinters(alphas=(alpha,), betas=(beta,), gammas=(gamma,), phis=(phi,))
    ours = method.forecast(values, _months(n_months), 26)
    level, trend, seasonal = initial_states(values)
    steps = np.arange(1, 27)
    for i, y in enumerate(values):
        holt, ets = _statsmodels_pair(y, level[i], trend[i], seasonal[i])
        theirs = holt.fit(
            smoothing_level=alpha,
            smoothing_trend=beta,
            smoothing_seasonal=gamma,
            damping_trend=phi,
            optimized=False,
        ).forecast(26)
        # statsmodels' ExponentialSmoothing uses a stale seasonal at h = 12, 24, ...
        # (statsmodels issue #9538); ETSModel below has no such quirk and covers every step.
        not_whole_years = steps % 12 != 0
        np.testing.assert_allclose(
            ours.point[i, not_whole_years], theirs.to_numpy()[not_whole_years], atol=1e-6
        )
        smoothed = ets.smooth([alpha, alpha * beta, gamma, phi])
        prediction = smoothed.get_prediction(start=n_months, end=n_months + 25)
        np.testing.assert_allclose(ours.point[i], prediction.predicted_mean, atol=1e-6)
        variance = holt_winters_variance(
            np.array([[alpha, beta, gamma, phi]]), np.array([smoothed.mse]), 26
        )
        np.testing.assert_allclose(variance[0], prediction.var_pred_mean, rtol=1e-9)


def test_holt_winters_point_needs_only_states():
    level, trend = np.array([10.0]), np.array([1.0])
    seasonal = np.arange(12, dtype=float)[None, :]
    point = holt_winters_point(level, trend, seasonal, np.array([0.5]), 24, 2)
    np.testing.assert_allclose(point[0], [10 + 0.5 + 0, 10 + 0.75 + 1])


# ============================================================================================
# Backtest


def test_mase_scale_is_never_zero():
    history = np.array([[0.0] * 24, [5.0] * 24, [1.0, 3.0] * 12])
    np.testing.assert_allclose(mase_scale(history), [1.0, 5.0, 2.0])
    short = np.array([[1.0, 3.0, 2.0]])
    np.testing.assert_allclose(mase_scale(short), [1.5])


def test_backtest_methods_beat_seasonal_naive_on_seasonal_series(seasonal_result):
    mase = seasonal_result.backtest.summary().set_index("method")["mase"]
    assert mase["holt_winters"] < 1
    assert mase["global_gbm"] < 1
    # Sanity: out of sample, seasonal naive's errors are its in-sample errors.
    assert 0.8 < mase["seasonal_naive"] < 1.25


def test_forecast_panel_chosen_method_covers_about_80_percent(seasonal_result):
    summary = seasonal_result.backtest.summary().set_index("method")
    chosen = seasonal_result.chosen[()]
    assert chosen == summary.index[0]  # the lowest MASE
    assert 0.7 <= summary.loc[chosen, "coverage80"] <= 0.9
    assert summary.loc[chosen, "coverage95"] >= 0.85


def test_backtest_scores_every_origin_and_existing_month(seasonal_result):
    result = seasonal_result.backtest
    detail = result.detail
    # 12 origins, horizon 12: 12 + 11 + ... + 1 = 78 points per series and method.
    assert (result.per_series["n_points"] == 78).all()
    assert len(detail) == 60 * 3 * 78
    assert detail["month"].max() == pd.Period("2024-12", freq="M")
    assert detail["origin"].min() == pd.Period("2024-01", freq="M")
    first = detail[(detail["series"] == 0) & (detail["method"] == "seasonal_naive")]
    mase = (first["scaled_error"]).mean()
    per_series = result.per_series
    assert mase == pytest.approx(
        per_series.loc[per_series["method"] == "seasonal_naive", "mase"].iloc[0]
    )


def test_backtest_forecasts_ignore_values_after_their_origin():
    panel = seasonal_panel(n_series=24, n_months=40, seed=3)
    changed_from = 34  # months index; origins 28..39
    future = panel.values.copy()
    future[:, changed_from:] = future[:, changed_from:] * 5 + 7
    changed = Panel(panel.keys, panel.months, future)
    kwargs = {"horizon": 6, "origins": 12, "min_train": 24}
    methods = [SeasonalNaive(), HoltWinters(), GlobalGBM(max_iter=15, refit_every=4)]
    before = backtest(panel, methods, **kwargs).detail
    after = backtest(changed, methods, **kwargs).detail
    up_to = before["origin"] <= panel.months[changed_from]
    assert up_to.sum() > 0 and (~up_to).sum() > 0
    columns = ["point", *QUANTILE_COLUMNS]
    pd.testing.assert_frame_equal(
        before.loc[up_to, columns].reset_index(drop=True),
        after.loc[up_to, columns].reset_index(drop=True),
    )
    # And the change is visible after it, so the test can fail.
    assert not np.allclose(before.loc[~up_to, "point"], after.loc[~up_to, "point"])


def _backtest_of(rows: list[tuple[str, str, float, float, int]]) -> Backtest:
    per_series = pd.DataFrame(
        rows, columns=["kind", "method", "mase", "coverage80", "n_points"]
    ).assign(coverage95=1.0)
    return Backtest(detail=pd.DataFrame(), per_series=per_series)


def test_choose_picks_lowest_mean_mase_per_group():
    result = _backtest_of(
        [
            ("demand", "seasonal_naive", 1.0, 0.8, 10),
            ("demand", "seasonal_naive", 1.2, 0.8, 10),
            ("demand", "global_gbm", 0.7, 0.8, 10),
            ("demand", "global_gbm", 1.3, 0.8, 10),  # mean 1.0 < 1.1
            ("hires", "seasonal_naive", 0.9, 0.8, 10),
            ("hires", "holt_winters", 1.1, 0.8, 10),
        ]
    )
    assert result.choose(["kind"]) == {("demand",): "global_gbm", ("hires",): "seasonal_naive"}
    assert result.choose() == {(): "global_gbm"}  # 1.0 overall against 1.033


def test_choose_breaks_ties_for_the_simplest_method():
    result = _backtest_of(
        [
            ("demand", "global_gbm", 0.9, 0.8, 10),
            ("demand", "holt_winters", 0.9, 0.8, 10),
            ("demand", "seasonal_naive", 0.9, 0.8, 10),
        ]
    )
    assert result.choose() == {(): "seasonal_naive"}


def test_summary_pools_coverage_over_points_and_sorts_by_mase():
    result = _backtest_of(
        [
            ("demand", "holt_winters", 0.5, 1.0, 30),
            ("demand", "holt_winters", 0.7, 0.0, 10),
            ("demand", "seasonal_naive", 1.0, 0.5, 40),
        ]
    )
    summary = result.summary()
    assert list(summary["method"]) == ["holt_winters", "seasonal_naive"]
    first = summary.iloc[0]
    assert first["coverage80"] == pytest.approx(0.75)  # 30 of 40 points, not mean(1, 0)
    assert first["mase"] == pytest.approx(0.6)
    assert (first["n_series"], first["n_points"]) == (2, 40)
    with pytest.raises(ValueError, match="cannot group"):
        result.summary(["trade"])


# ============================================================================================
# forecast_panel


def test_forecast_panel_frame_has_a_row_per_series_and_month(seasonal_result):
    frame = seasonal_result.frame
    assert len(frame) == 60 * 12
    expected = ["kind", "trade", "area_code", "month", "method", "point", *QUANTILE_COLUMNS]
    assert list(frame.columns) == expected
    assert frame["month"].iloc[0] == pd.Period("2025-01", freq="M")
    assert (frame["method"] == _served(seasonal_result, seasonal_result.chosen[()])).all()
    bands = frame[list(QUANTILE_COLUMNS)].to_numpy()
    assert (np.diff(bands, axis=1) >= 0).all() and (bands >= 0).all()
    # Post-Tết peak survives into the forecast.
    by_month = frame.groupby(frame["month"].dt.month)["point"].mean()
    assert by_month[[2, 3]].min() > by_month[[6, 7, 8]].max()


def test_forecast_panel_chooses_per_group():
    panel = seasonal_panel(n_series=18, n_months=40)
    methods = [SeasonalNaive(), HoltWinters()]
    result = forecast_panel(panel, horizon=3, methods=methods, origins=4, choose_by=["kind"])
    assert set(result.chosen) == {("demand",), ("supply",), ("hires",)}
    group_method = panel.keys["kind"].map({k: m for (k,), m in result.chosen.items()})
    assert (result.frame["method"] == _served(result, group_method)).all()


def _served(result, group_method) -> np.ndarray:
    """The method each frame row must have: its group's, or seasonal naive on a series whose
    own backtest shows the group's method no better than seasonal naive."""
    per_series = result.backtest.per_series
    n_series = len(result.frame) // result.frame["month"].nunique()
    group = np.broadcast_to(np.asarray(group_method, dtype=object), (n_series,))
    rel = np.array(
        [
            per_series.loc[per_series["method"] == m, "rel_mae"].to_numpy()[i]
            for i, m in enumerate(group)
        ]
    )
    served = np.where(rel >= 1, "seasonal_naive", group)
    return np.repeat(served, result.frame["month"].nunique())


def test_forecast_panel_serves_seasonal_naive_where_a_series_backtest_says_so():
    """A series that repeats last year exactly is forecast best by seasonal naive; the group's
    method serves the others."""
    panel = seasonal_panel()
    values = panel.values.copy()
    values[0, 12:] = np.resize(values[0, :12], values.shape[1] - 12)  # repeats its first year
    panel = Panel(keys=panel.keys, months=panel.months, values=values)
    methods = [SeasonalNaive(), HoltWinters()]
    result = forecast_panel(panel, horizon=12, methods=methods, origins=6)
    assert result.chosen == {(): "holt_winters"}
    method_of_series = result.frame.groupby("area_code", sort=False)["method"].first()
    assert method_of_series.iloc[0] == "seasonal_naive"
    assert (method_of_series.iloc[1:] == "holt_winters").mean() > 0.5
    assert (result.frame["method"] == _served(result, "holt_winters")).all()


def test_forecast_panel_falls_back_to_seasonal_naive_on_short_panel():
    panel = seasonal_panel(n_series=4, n_months=18)
    result = forecast_panel(panel, horizon=4)
    assert result.chosen == {(): "seasonal_naive"}
    assert "too short" in result.note
    assert result.backtest.per_series.empty
    assert len(result.frame) == 16 and (result.frame["method"] == "seasonal_naive").all()


def test_default_methods_are_simplest_first():
    assert [m.name for m in DEFAULT_METHODS] == ["seasonal_naive", "holt_winters", "global_gbm"]
