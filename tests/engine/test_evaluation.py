"""Evaluation: time splits, metrics, baselines, the promotion gate and the acceptance targets."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from matcher.demo import DemoConfig, generate
from matcher.evaluation import (
    cutoff_day,
    evaluate_scorers,
    expected_calibration_error,
    holdout_workers,
    learning_curve,
    metrics,
    nearest_in_trade_score,
    open_commitments,
    outcome_days,
    quality_gate,
    ranking_metrics,
    reliability_curve,
    take,
    time_split,
    train_and_evaluate,
    true_ranking_quality,
)
from matcher.features import FEATURES, day_numbers
from matcher.scoring import RuleScorer, default_model
from matcher.snapshot import from_contract_frames, training_set

TODAY = dt.date(2026, 11, 27)
SMALL = DemoConfig(
    seed=7, today=TODAY, n_workers=400, n_enterprises=20, n_courses=12, referrals_per_month=60
)
COLUMN = {name: i for i, name in enumerate(FEATURES)}


@pytest.fixture(scope="module")
def small():
    data = generate(SMALL)
    return data, from_contract_frames(data.frames(), today=TODAY)


@pytest.fixture(scope="module")
def rows(small):
    return training_set(small[1])


# ----- splits -------------------------------------------------------------------------------


def test_time_split_trains_on_the_past_and_never_splits_a_day(rows):
    train, evaluation = time_split(rows, 0.2)
    assert train.days.max() < evaluation.days.min()
    assert len(train) + len(evaluation) == len(rows)
    assert 0.2 <= len(evaluation) / len(rows) < 0.25


def test_time_split_with_known_days_drops_outcomes_recorded_after_the_cutoff(small, rows):
    known = outcome_days(small[1], rows)
    train, _ = time_split(rows, 0.2, known)
    cutoff = cutoff_day(rows.days, 0.2)
    kept = np.isin(rows.referral_ids, train.referral_ids)
    assert (known[kept] < cutoff).all()
    assert len(train) < (rows.days < cutoff).sum()


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_cutoff_day_with_bad_fraction_raises(fraction):
    with pytest.raises(ValueError, match="eval_fraction"):
        cutoff_day(np.arange(10.0), fraction)


def test_take_selects_the_same_rows_of_every_array(rows):
    part = take(rows, np.arange(5))
    assert len(part) == 5
    assert (part.referral_ids == rows.referral_ids[:5]).all()
    assert part.X.shape == (5, len(FEATURES))


# ----- probability metrics ------------------------------------------------------------------


def test_ece_of_true_probabilities_is_near_zero():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.6, size=200_000)
    y = rng.random(len(p)) < p
    assert expected_calibration_error(y, p) < 0.005
    assert expected_calibration_error(p, p) == 0.0


def test_ece_measures_a_constant_bias():
    p = np.linspace(0.1, 0.5, 1000)
    assert expected_calibration_error(p, p + 0.05) == pytest.approx(0.05)


def test_reliability_curve_uses_equal_frequency_bins():
    p = np.linspace(0, 1, 1000)
    curve = reliability_curve(p, p, n_bins=10)
    assert list(curve["n"]) == [100] * 10
    np.testing.assert_allclose(curve["predicted"], curve["observed"])


def test_metrics_with_one_class_gives_nan_auc():
    result = metrics(np.zeros(5), np.full(5, 0.2))
    assert np.isnan(result["auc"])
    assert result["log_loss"] == pytest.approx(-np.log(0.8))


def test_metrics_of_a_perfect_ranking_gives_auc_one():
    result = metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert result["auc"] == 1.0
    assert result["brier"] == pytest.approx((0.01 + 0.04 + 0.04 + 0.01) / 4)


# ----- ranking metrics ----------------------------------------------------------------------


def test_ranking_metrics_match_sklearn_ndcg_with_ties():
    rng = np.random.default_rng(3)
    n_groups, size = 40, 15
    gains = rng.random((n_groups, size))
    scores = rng.integers(0, 4, size=(n_groups, size)).astype(float)  # many ties
    groups = np.repeat(np.arange(n_groups), size)
    ours = ranking_metrics(gains.ravel(), scores.ravel(), groups, k=10)
    expected = ndcg_score(gains, scores, k=10, ignore_ties=False)
    assert ours["ndcg@10"] == pytest.approx(expected)


def test_ranking_metrics_skip_single_item_and_gainless_groups():
    gains = np.array([1.0, 0.0, 1.0, 0.0, 0.0])
    scores = np.array([0.9, 0.1, 0.5, 0.3, 0.2])
    groups = np.array([1, 1, 2, 3, 3])  # group 2 has one item, group 3 no gain
    result = ranking_metrics(gains, scores, groups, k=10)
    assert result["ndcg@10"] == 1.0
    assert result["ranked_groups"] == 1
    assert result["groups"] == 3


def test_ranking_metrics_hires_at_k_averages_ties():
    gains = np.array([1.0, 0.0, 0.0])
    scores = np.zeros(3)
    result = ranking_metrics(gains, scores, np.zeros(3), k=1)
    assert result["hires@1"] == pytest.approx(1 / 3)


def test_ranking_metrics_rank_nan_scores_last():
    result = ranking_metrics([0.0, 1.0], [0.5, np.nan], [0, 0], k=1)
    assert result["ndcg@1"] == 0.0


def test_nearest_in_trade_ranks_trade_first_then_distance():
    X = np.full((3, len(FEATURES)), np.nan)
    X[:, COLUMN["trade_match"]] = [0, 1, 1]
    X[:, COLUMN["distance_km"]] = [1, 30, 10]
    assert list(np.argsort(-nearest_in_trade_score(X))) == [2, 1, 0]


# ----- the gate -----------------------------------------------------------------------------


def _scores(log_loss, ndcg):
    return {"log_loss": log_loss, "ndcg@10": ndcg}


def test_quality_gate_promotes_a_model_better_on_both_counts():
    decision = quality_gate(_scores(0.50, 0.90), _scores(0.52, 0.88), _scores(0.51, 0.90))
    assert decision.promote
    assert "log loss 0.5000 < current 0.5100" in decision.reason


@pytest.mark.parametrize(
    ("candidate", "reason"),
    [
        (_scores(0.515, 0.95), "log loss 0.5150 ≥ current 0.5100"),
        (_scores(0.50, 0.85), "NDCG@10 0.8500 < rules 0.8800"),
    ],
)
def test_quality_gate_refuses_a_model_worse_on_either_count(candidate, reason):
    decision = quality_gate(candidate, _scores(0.52, 0.88), _scores(0.51, 0.86))
    assert not decision.promote
    assert reason in decision.reason


def test_quality_gate_tolerates_ndcg_differences_within_sampling_noise():
    noisy = {"log_loss": 0.50, "ndcg@10": 0.87, "ndcg@10_se": 0.01}
    within = quality_gate(noisy, {"log_loss": 0.52, "ndcg@10": 0.88, "ndcg@10_se": 0.01})
    assert within.promote and "within noise" in within.reason
    beyond = quality_gate(noisy, {"log_loss": 0.52, "ndcg@10": 0.92, "ndcg@10_se": 0.01})
    assert not beyond.promote and "noise 0.0196" in beyond.reason


def test_quality_gate_without_current_model_compares_with_rules_only():
    decision = quality_gate(_scores(0.50, 0.90), _scores(0.52, 0.88))
    assert decision.promote
    assert "no current model" in decision.reason


# ----- training ------------------------------------------------------------------------------


def test_train_and_evaluate_reports_windows_scores_and_the_gate(small, rows):
    report = train_and_evaluate(small[1], ts=rows, model=default_model(max_iter=50))
    assert report.n_rows == len(rows)
    assert report.n_train + report.n_eval <= report.n_rows
    assert report.train_last_day < report.eval_first_day <= report.eval_last_day
    assert set(report.scores) == {"model", "rules", "nearest_in_trade"}
    assert report.reason.startswith("promoted" if report.promote else "not promoted")
    assert report.features == FEATURES
    assert report.model.n_features_in_ == len(FEATURES)
    assert report.seconds > 0
    json.dumps(report.to_dict())


def test_train_and_evaluate_compares_with_current_on_fresh_rows(small, rows):
    current = default_model(max_iter=20).fit(rows.X, rows.y)  # has seen every row
    last = dt.date(1970, 1, 1) + dt.timedelta(days=int(cutoff_day(rows.days)) + 30)
    report = train_and_evaluate(
        small[1], current, ts=rows, refit=False, current_trained_until=last, model=current
    )
    assert "model_vs_current" in report.scores
    assert report.scores["current"]["n"] < report.scores["model"]["n"]
    assert "current" in report.reason


def test_evaluate_scorers_gives_nearest_in_trade_ranking_only(rows):
    scores = evaluate_scorers({"rules": RuleScorer(), "nearest_in_trade": "nearest"}, rows)
    assert "log_loss" in scores["rules"]
    assert "log_loss" not in scores["nearest_in_trade"]
    assert "ndcg@10_by_commitment" in scores["nearest_in_trade"]


def test_learning_curve_scores_every_size_on_one_window(rows):
    curve = learning_curve(rows, sizes=(0.5, 1.0), model=default_model(max_iter=30))
    assert list(curve["share"]) == [0.5, 1.0]
    assert curve["n"].nunique() == 1
    assert curve["n_train"].is_monotonic_increasing


# ----- the acceptance protocol ---------------------------------------------------------------


def test_open_commitments_are_open_on_the_day_and_not_full(small):
    snapshot = small[1]
    day = float(np.median(day_numbers(snapshot.referrals["referred_on"])))
    is_open = open_commitments(snapshot, np.array([day]))[0]
    start = day_numbers(snapshot.commitments["start_date"])
    assert is_open.any()
    assert (start[is_open] - 90 <= day).all()


def test_true_ranking_quality_never_trains_on_held_out_workers(small, rows):
    data, snapshot = small
    quality = true_ranking_quality(data, snapshot, default_model(max_iter=30), ts=rows)
    assert (quality.heldout_workers == holdout_workers(rows, 0.2, 0)).all()
    cutoff = cutoff_day(rows.days)
    known = outcome_days(snapshot, rows)
    allowed = (rows.days < cutoff) & (known < cutoff)
    heldout = np.isin(rows.worker_ids, quality.heldout_workers)
    assert quality.n_train == (allowed & ~heldout).sum()
    assert quality.ndcg["oracle"] == pytest.approx(1.0)
