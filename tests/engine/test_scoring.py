"""Scoring: the learned hire model, the rule scorer, feature effects, no protected attributes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import estimator_checks_generator

from matcher.demo import DemoConfig, generate
from matcher.features import FEATURES, MONOTONIC
from matcher.scoring import (
    RULES,
    FlatTrees,
    HireModel,
    RuleScorer,
    default_model,
    feature_effects,
    top_reasons,
)
from matcher.snapshot import Snapshot, from_contract_frames, training_set

TODAY = dt.date(2026, 11, 27)
SMALL = DemoConfig(
    seed=7, today=TODAY, n_workers=400, n_enterprises=20, n_courses=12, referrals_per_month=60
)
PROTECTED_WORDS = ("gender", "sex", "ethnic", "ethnicity", "minority", "disability", "disabled",
                   "birth", "born", "age", "year", "religion")  # fmt: skip
COLUMN = {name: i for i, name in enumerate(FEATURES)}


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return from_contract_frames(generate(SMALL).frames(), today=TODAY)


@pytest.fixture(scope="module")
def rows(snapshot):
    return training_set(snapshot)


@pytest.fixture(scope="module")
def fitted(rows) -> HireModel:
    return default_model(max_iter=100).fit(rows.X, rows.y)


# ----- scikit-learn conventions -------------------------------------------------------------


def _check_name(check) -> str:
    return getattr(check, "func", check).__name__


# HireModel works on numpy arrays only; the array-API checks would skip (they need
# SCIPY_ARRAY_API and an array library), so they are left out rather than reported as skips.
# Small models (a few trees, two calibration folds): the contract does not depend on size.
SKLEARN_CHECKS = [
    (estimator, check)
    for estimator in (
        HireModel(max_iter=5, calibration_folds=2),
        HireModel(max_iter=5, calibration=None),
    )
    for estimator, check in estimator_checks_generator(estimator, mark=None)
    if "array_api" not in _check_name(check)
]


@pytest.mark.parametrize(
    ("estimator", "check"),
    SKLEARN_CHECKS,
    ids=[f"{type(e).__name__}({e.calibration})-{_check_name(c)}" for e, c in SKLEARN_CHECKS],
)
def test_hire_model_passes_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_init_stores_parameters_only():
    model = HireModel(max_leaf_nodes=7, calibration="isotonic")
    assert model.get_params()["max_leaf_nodes"] == 7
    assert not [name for name in vars(model) if name.endswith("_")]


def test_predict_proba_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        HireModel().predict_proba(np.zeros((1, len(FEATURES))))


def test_fit_on_demo_rows_sets_learned_attributes(fitted, rows):
    assert fitted.calibrated_
    assert list(fitted.classes_) == [0, 1]
    assert fitted.n_features_in_ == len(FEATURES)
    assert fitted.reference_.shape == (len(FEATURES),)
    assert 1 <= fitted.n_iter_ <= fitted.max_iter
    assert fitted.trees_.n_features_in_ == len(FEATURES)
    p = fitted.predict_proba(rows.X)
    assert p.shape == (len(rows), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert abs(p[:, 1].mean() - rows.y.mean()) < 0.05


def test_fit_with_too_few_rows_keeps_uncalibrated_trees():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + rng.normal(size=60) > 0).astype(int)
    model = HireModel().fit(X, y)
    assert not model.calibrated_
    assert model.predict_proba(X).shape == (60, 2)


@pytest.mark.parametrize("calibration", ["isotonic", None])
def test_fit_with_other_calibration_gives_probabilities(rows, calibration):
    model = default_model(calibration=calibration, max_iter=50).fit(rows.X, rows.y)
    p = model.predict_proba(rows.X)[:, 1]
    assert ((p >= 0) & (p <= 1)).all()
    assert model.calibrated_ == (calibration is not None)


@pytest.mark.parametrize(
    ("params", "message"),
    [({"calibration": "beta"}, "calibration must be"), ({"calibration_folds": 1}, "≥ 2")],
)
def test_fit_with_bad_parameter_raises(rows, params, message):
    with pytest.raises(ValueError, match=message):
        HireModel(**params).fit(rows.X, rows.y)


def test_default_model_constrains_features_as_monotonic():
    model = default_model(max_iter=10)
    assert model.monotonic_cst == [MONOTONIC[name] for name in FEATURES]
    assert default_model(monotonic_cst=None).monotonic_cst is None


@pytest.mark.parametrize("feature", ["log_wage_ratio", "skill_coverage"])
def test_higher_wage_or_more_skills_never_scores_lower(fitted, rows, feature):
    base = rows.X[:50]
    values = np.linspace(-0.7, 0.7, 15) if feature == "log_wage_ratio" else np.linspace(0, 1, 11)
    grid = np.repeat(base, len(values), axis=0)
    grid[:, COLUMN[feature]] = np.tile(values, len(base))
    p = fitted.predict_proba(grid)[:, 1].reshape(len(base), len(values))
    assert (np.diff(p, axis=1) >= -1e-12).all()


def test_farther_never_scores_higher_all_else_equal(fitted, rows):
    base = rows.X[:50]
    distances = np.linspace(0.0, 80.0, 17)
    grid = np.repeat(base, len(distances), axis=0)
    grid[:, COLUMN["distance_km"]] = np.tile(distances, len(base))
    grid[:, COLUMN["commute_excess_km"]] = 0.0
    p = fitted.predict_proba(grid)[:, 1].reshape(len(base), len(distances))
    assert (np.diff(p, axis=1) <= 1e-12).all()


# ----- the rule scorer ----------------------------------------------------------------------


def test_rules_cover_every_feature_with_the_monotonic_direction():
    assert set(RULES) == set(FEATURES)
    for name, rule in RULES.items():
        if MONOTONIC[name]:
            assert np.sign(rule.weight) in (MONOTONIC[name], 0), name
        assert rule.low <= rule.centre <= rule.high, name
        assert rule.why


def test_rule_scorer_contributions_sum_to_its_log_odds(rows):
    scorer = RuleScorer()
    contributions = scorer.contributions(rows.X)
    assert contributions.shape == (len(rows), len(FEATURES))
    logit = scorer.intercept + contributions.sum(axis=1)
    p = scorer.predict_proba(rows.X)
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-logit)))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert scorer.version == "rules-1"


def test_rule_scorer_unknown_feature_contributes_nothing():
    scorer = RuleScorer()
    X = np.full((1, len(FEATURES)), np.nan)
    assert (scorer.contributions(X) == 0).all()
    assert scorer.predict_proba(X)[0, 1] == pytest.approx(1 / (1 + np.exp(-scorer.intercept)))


def test_rule_scorer_prefers_trade_match_and_nearer_sites():
    scorer = RuleScorer()
    X = np.full((3, len(FEATURES)), np.nan)
    X[:, COLUMN["trade_match"]] = [1, 0, 1]
    X[:, COLUMN["distance_km"]] = [5, 5, 40]
    p = scorer.predict_proba(X)[:, 1]
    assert p[0] > p[1] and p[0] > p[2]


def test_rule_scorer_with_wrong_width_raises():
    with pytest.raises(ValueError, match="shape"):
        RuleScorer().predict_proba(np.zeros((2, 3)))


# ----- feature effects ----------------------------------------------------------------------


def _what_if(scorer, X, reference):
    """Reference implementation: one feature at a time, one call per feature."""
    base = scorer.predict_proba(X)[:, 1]
    out = np.empty(X.shape)
    for j in range(X.shape[1]):
        changed = X.copy()
        changed[:, j] = reference[j]
        out[:, j] = base - scorer.predict_proba(changed)[:, 1]
    return out


def test_feature_effects_of_hire_model_match_one_at_a_time_substitution(fitted, rows):
    X = rows.X[:20]
    effects = feature_effects(fitted, X)
    np.testing.assert_allclose(effects, _what_if(fitted, X, fitted.reference_), atol=1e-12)


def test_feature_effects_score_all_what_ifs_in_one_call(fitted, rows):
    calls = []

    class Spy:
        reference_ = fitted.reference_

        def predict_proba(self, X):
            calls.append(len(X))
            return fitted.predict_proba(X)

    feature_effects(Spy(), rows.X[:7])
    assert calls == [7 * (len(FEATURES) + 1)]


def test_feature_effects_of_rule_scorer_are_exact(rows):
    scorer = RuleScorer()
    X = rows.X[:20]
    reference = np.nanmedian(rows.X, axis=0)
    np.testing.assert_allclose(
        feature_effects(scorer, X, reference), _what_if(scorer, X, reference), atol=1e-12
    )


def test_feature_effects_at_the_reference_are_zero(fitted):
    X = fitted.reference_[None, :]
    assert np.abs(feature_effects(fitted, X)).max() == 0.0


def test_top_reasons_pick_the_largest_effects():
    effects = np.zeros((1, len(FEATURES)))
    effects[0, COLUMN["distance_km"]] = -0.2
    effects[0, COLUMN["trade_match"]] = 0.1
    effects[0, COLUMN["skill_coverage"]] = 0.05
    reasons = top_reasons(effects, k=4)
    assert reasons == [[("distance_km", -0.2), ("trade_match", 0.1), ("skill_coverage", 0.05)]]


# ----- protected attributes -----------------------------------------------------------------


def test_features_name_no_protected_attribute():
    for name in FEATURES:
        assert not set(name.split("_")) & set(PROTECTED_WORDS), name


def test_protected_columns_do_not_change_training_rows(snapshot):
    before = training_set(snapshot)
    workers = snapshot.workers.copy()
    rng = np.random.default_rng(1)
    workers["gender"] = rng.permutation(workers["gender"].to_numpy())
    workers["birth_year"] = 1950 + rng.integers(0, 60, size=len(workers))
    workers["ethnic_minority"] = ~workers["ethnic_minority"].fillna(False).astype(bool)
    workers["disability"] = rng.random(len(workers)) < 0.5
    perturbed = Snapshot(
        workers=workers,
        enterprises=snapshot.enterprises,
        courses=snapshot.courses,
        enrollments=snapshot.enrollments,
        commitments=snapshot.commitments,
        referrals=snapshot.referrals,
    )
    after = training_set(perturbed)
    assert after.X.tobytes() == before.X.tobytes()
    assert after.y.tobytes() == before.y.tobytes()


def test_model_fitted_through_the_pipeline_sees_only_features(fitted):
    assert fitted.n_features_in_ == len(FEATURES)


def test_hire_probability_equals_predict_proba():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 4))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = (X[:, 0] + rng.normal(size=600) > 0).astype(int)
    for calibration in ("sigmoid", None):
        model = HireModel(max_iter=20, calibration=calibration, calibration_folds=2).fit(X, y)
        np.testing.assert_allclose(model.hire_probability(X), model.predict_proba(X)[:, 1])


@pytest.mark.parametrize("missing_share", [0.0, 0.3])
def test_flat_tree_walk_equals_scikit_learn_including_unknown_values(fitted, rows, missing_share):
    """The serving fast path (FlatTrees, for batches up to MAX_ROWS) gives the trees' own
    log-odds, NaN sent the way each node learnt; above MAX_ROWS scikit-learn itself runs."""
    rng = np.random.default_rng(4)
    X = rows.X[rng.choice(len(rows.X), 600, replace=False)].copy()
    X[rng.random(X.shape) < missing_share] = np.nan
    X[:50] = rng.normal(0, 50, (50, X.shape[1]))  # far outside what the trees saw
    flat = FlatTrees.from_hgb(fitted.trees_)
    np.testing.assert_allclose(
        flat.decision_function(X), fitted.trees_.decision_function(X), rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(
        fitted.hire_probability(X), fitted.predict_proba(X)[:, 1], rtol=0, atol=1e-12
    )
    many = np.repeat(X, 3, axis=0)  # beyond MAX_ROWS
    assert len(many) > FlatTrees.MAX_ROWS
    np.testing.assert_allclose(fitted.hire_probability(many), fitted.predict_proba(many)[:, 1])


def test_pickled_model_carries_no_serving_cache(fitted, rows):
    import pickle

    fitted.hire_probability(rows.X[:5])
    assert "_flat" in fitted.__dict__
    assert "_flat" not in pickle.loads(pickle.dumps(fitted)).__dict__
