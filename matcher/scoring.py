"""Score (worker, commitment) pairs: the probability that a referral ends in a hire.

Two scorers share one interface (``predict_proba(X)`` over the columns of
:data:`matcher.features.FEATURES`, returning ``(n, 2)`` probabilities of [not hired, hired]):

- :class:`HireModel`, a scikit-learn classifier learned from decided referrals: gradient
  boosted trees (native NaN handling, monotone where common sense says so), calibrated on the
  most recent referrals;
- :class:`RuleScorer`, hand-set and documented weights, which serves a province before it has
  outcomes of its own, and is the baseline a trained model must beat.

:func:`feature_effects` says how much each feature moved each pair's probability, so the
caseworker sees the two to four reasons behind a match.

Protected attributes (gender, ethnicity, disability, age) are not features: nothing here sees
them, because :data:`~matcher.features.FEATURES` does not contain them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import KFold
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from threadpoolctl import threadpool_limits

from matcher.features import FEATURES, MONOTONIC

#: Fewer rows than this per calibration block (or a block without both outcomes) and the
#: model keeps one boosted model's own probabilities: a calibrator fitted on a handful of
#: rows would add more noise than it removes.
MIN_CALIBRATION_ROWS = 30


#: Below this many rows the trees are fitted on one OpenMP thread. With the passive OpenMP
#: wait policy this project runs under (matcher/__init__.py), small fits spend their time
#: waking threads up: measured on two cores, 10,000 rows took 1.4 s on one thread and 5.4 s
#: on two, 100,000 rows 8.0 s and 10.4 s, 1,000,000 rows 96 s and 78 s.
SINGLE_THREAD_BELOW_ROWS = 200_000


class ProbabilityScorer(Protocol):
    """What evaluation and serving need of a scorer: probabilities of [not hired, hired]."""

    def predict_proba(self, X: Any) -> np.ndarray: ...


# ============================================================================================
# The learned model


class HireModel(ClassifierMixin, BaseEstimator):
    """Predict the probability that a referral ends in a hire, from pair features.

    Gradient boosted trees (:class:`~sklearn.ensemble.HistGradientBoostingClassifier`)
    fitted on all rows, calibrated by cross-fitting over contiguous blocks of time: the rows
    (oldest first, as :func:`matcher.snapshot.training_set` makes them) are cut into
    ``calibration_folds`` consecutive periods, each period is scored by trees trained on the
    other periods, and one calibrator learns from all these out-of-block scores
    (:class:`~sklearn.calibration.CalibratedClassifierCV` with ``ensemble=False``).

    Why this shape:

    - Boosted trees take NaN ("unknown") natively, so an unknown wage or education needs no
      imputation that would pretend to know it, and ``monotonic_cst`` keeps common sense
      (farther never scores higher, all else equal). Shallow trees (5 leaves) with
      well-populated leaves: a province has thousands, not millions, of decided referrals,
      and the shortlist ranks commitments unlike the ones caseworkers usually referred to
      (other trades, farther sites), where a smooth model extrapolates more sensibly than a
      sharp one (on the six data sets below, 15 leaves ranked at NDCG@10 0.922, 5 leaves at
      0.940, and log loss on observed outcomes was 0.468 against 0.464).
    - Every row serves calibration, each scored by trees that never saw it, and the served
      trees learn from every row. The alternative, holding out only the newest 15 % for a
      frozen estimator's calibrator, costs the trees their most recent rows and fits two
      Platt parameters on about a thousand rows. Measured with
      :func:`matcher.evaluation.true_ranking_quality` on six demo data sets (seeds 1–6,
      never the tests' seed), mean over the six: newest-15 % NDCG@10 0.940, calibration
      error against the truth 0.016, log loss 0.4640; this cross-fitting 0.944, 0.013,
      0.4623. Averaging the five block models (``ensemble=True``) ranked a little better
      (0.947) but made every prediction call 7× slower (12 ms against 1.7 ms for one row):
      not worth it on the serving path. Drift in the general hire rate is carried by the
      features themselves (track records as known on each day).
    - ``calibration="sigmoid"`` (Platt scaling of the trees' log-odds) is strictly
      increasing: it never merges two candidates' scores into a tie. Isotonic regression is
      step-shaped and flattens the top of a shortlist into ties (same six data sets:
      NDCG@10 0.939 at equal calibration error); it stays available for large histories.
      ``None`` keeps one model's own probabilities (trained with log loss, they are
      near-calibrated already).

    - 150 trees at learning rate 0.1 rather than 300 at 0.05: the same true ranking quality
      and log loss on demo seeds 1–6 and the default (NDCG@10 within ±0.003 each), at half
      the cost of every prediction — serving evaluates the trees twice per request.

    Parameters
    ----------
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization
        Passed to the boosted trees.
    early_stopping : {"auto", True, False}
        Passed to the boosted trees ("auto": on from 10,000 rows), with a 10 % validation
        split and 20 rounds of patience.
    monotonic_cst : array-like of {-1, 0, 1} or None
        Per-feature monotone constraint, in column order; see :func:`default_model`.
    interaction_cst : passed to the boosted trees
        e.g. ``"no_interactions"`` for an additive model in log-odds.
    calibration : {"sigmoid", "isotonic"} or None
        How the probabilities are calibrated.
    calibration_folds : int
        Number of consecutive time blocks for cross-fitted calibration (≥ 2).
    random_state : int, RandomState instance or None
        Seeds the trees' early-stopping split, so training is reproducible.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two outcome labels, sorted; the second is "hired".
    n_features_in_ : int
        Number of features seen in ``fit``.
    estimator_ : CalibratedClassifierCV or HistGradientBoostingClassifier
        What ``predict_proba`` delegates to: the calibrated trees, or the trees alone
        when calibration is off or the data are too few to calibrate (fewer than
        :data:`MIN_CALIBRATION_ROWS` rows per block, or a block without both outcomes).
    calibrated_ : bool
        Whether ``estimator_`` is calibrated.
    trees_ : HistGradientBoostingClassifier
        The served trees, fitted on all rows.
    n_iter_ : int
        Boosting iterations of the served trees (early stopping may end them before
        ``max_iter``).
    reference_ : ndarray of shape (n_features_in_,)
        Typical value of each feature in the training rows (median, NaN when never known):
        the "all else typical" point :func:`feature_effects` substitutes.
    """

    def __init__(
        self,
        max_iter: int = 150,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 5,
        min_samples_leaf: int = 40,
        l2_regularization: float = 1.0,
        early_stopping: str | bool = "auto",
        monotonic_cst: Any = None,
        interaction_cst: Any = None,
        calibration: str | None = "sigmoid",
        calibration_folds: int = 5,
        random_state: Any = 0,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.early_stopping = early_stopping
        self.monotonic_cst = monotonic_cst
        self.interaction_cst = interaction_cst
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.random_state = random_state

    def __sklearn_tags__(self):
        """Declare a binary classifier that accepts NaN (unknown feature values)."""
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X: Any, y: Any) -> HireModel:
        """Fit calibrated boosted trees.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Pair features, oldest referral first; NaN marks an unknown value.
        y : array-like of shape (n_samples,)
            Outcome of each referral, two classes (e.g. 0 = not hired, 1 = hired).

        Returns
        -------
        HireModel
            self, fitted.

        Raises
        ------
        ValueError
            When ``y`` does not hold exactly two classes, or a parameter is out of range.
        """
        self.__dict__.pop("_flat", None)  # a refit must not serve the old trees
        if self.calibration not in ("sigmoid", "isotonic", None):
            raise ValueError(
                f"calibration must be 'sigmoid', 'isotonic' or None, got {self.calibration!r}"
            )
        if int(self.calibration_folds) < 2:
            raise ValueError(f"calibration_folds must be ≥ 2, got {self.calibration_folds!r}")
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) == 1:
            raise ValueError(
                "y holds one class only: HireModel learns from both outcomes, hired and not hired"
            )
        if len(self.classes_) != 2:
            raise ValueError(
                "Only binary classification is supported: HireModel needs exactly two"
                f" classes in y (hired and not hired), got {len(self.classes_)}"
            )
        self.reference_ = _column_medians(X)
        trees = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=self.early_stopping,
            validation_fraction=0.1,
            n_iter_no_change=20,
            monotonic_cst=self.monotonic_cst,
            interaction_cst=self.interaction_cst,
            random_state=self.random_state,
        )
        blocks = KFold(n_splits=int(self.calibration_folds), shuffle=False)
        self.calibrated_ = self.calibration is not None and _can_cross_fit(encoded, blocks)
        threads = 1 if len(encoded) < SINGLE_THREAD_BELOW_ROWS else None
        with threadpool_limits(limits=threads, user_api="openmp"):
            if self.calibrated_:
                self.estimator_ = CalibratedClassifierCV(
                    trees, method=self.calibration, cv=blocks, ensemble=False
                ).fit(X, encoded)
                self.trees_ = self.estimator_.calibrated_classifiers_[0].estimator
            else:
                self.estimator_ = self.trees_ = trees.fit(X, encoded)
        self.n_iter_ = self.trees_.n_iter_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Return calibrated probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Pair features; NaN marks an unknown value.

        Returns
        -------
        ndarray of shape (n_samples, 2)
            P(not hired), P(hired).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return self.estimator_.predict_proba(X)

    def hire_probability(self, X: np.ndarray) -> np.ndarray:
        """Return P(hire) for a float array: the serving path, equal to predict_proba[:, 1].

        Serving scores a few hundred pairs per request; going through the calibrated
        wrapper re-validates the input three times and costs more than the trees
        themselves. Here the trees' log-odds go straight to the fitted calibrator.
        """
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float64)
        if len(X) <= FlatTrees.MAX_ROWS:
            flat = self.__dict__.get("_flat")
            if flat is None:
                flat = self.__dict__["_flat"] = FlatTrees.from_hgb(self.trees_)
            raw = flat.decision_function(X)
        else:
            raw = self.trees_.decision_function(X)
        if not self.calibrated_:
            return 1.0 / (1.0 + np.exp(-raw))
        calibrator = self.estimator_.calibrated_classifiers_[0].calibrators[0]
        return np.clip(calibrator.predict(raw), 0.0, 1.0)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the serving cache: it is rebuilt from the trees on first use."""
        state = super().__getstate__()
        state.pop("_flat", None)
        return state

    def predict(self, X: Any) -> np.ndarray:
        """Return the more likely outcome of each referral (a label from ``classes_``)."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@dataclass(frozen=True)
class FlatTrees:
    """A fitted boosted-tree ensemble as flat arrays, walked for all trees at once.

    scikit-learn predicts tree by tree, a Python call per tree: for the 150 trees of a
    HireModel about 1.2 ms per call however few rows, and a match makes two calls (the
    shortlist, then the what-if rows of its reasons) — a third of the 8 ms budget. The
    trees are shallow (5 leaves, depth ≤ 4), so walking every tree together, ``depth``
    steps of numpy indexing over a rows × trees grid, costs 0.4 ms for 150 rows and gives
    the same sums (a test compares them). Beyond ``MAX_ROWS`` rows scikit-learn is faster.

    Missing values: each node sends NaN one way. The rows are laid out twice, NaN as −∞
    (goes left: −∞ ≤ threshold) and as +∞ (goes right), and each node reads the copy of its
    direction; a threshold of +∞ (a split of known values from NaN) becomes the largest
    float so that +∞ still goes right.
    """

    feature: np.ndarray  # column in the doubled row, per node
    threshold: np.ndarray
    children: np.ndarray  # [left, right] per node; a leaf is its own child
    value: np.ndarray  # leaf value, 0 elsewhere
    roots: np.ndarray
    depth: int
    baseline: float
    n_features: int

    MAX_ROWS = 1024

    @classmethod
    def from_hgb(cls, trees: HistGradientBoostingClassifier) -> FlatTrees:
        """Copy the nodes of a fitted binary HistGradientBoostingClassifier."""
        nodes = [row[0].nodes for row in trees._predictors]
        if any(n["is_categorical"].any() for n in nodes):
            raise ValueError("categorical splits are not supported by FlatTrees")
        n_features = int(trees.n_features_in_)
        sizes = np.array([len(n) for n in nodes], dtype=np.intp)
        offsets = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.intp)
        flat = np.concatenate(nodes)
        shift = np.repeat(offsets, sizes)
        leaf = flat["is_leaf"].astype(bool)
        itself = np.arange(len(flat), dtype=np.intp)
        left = np.where(leaf, itself, flat["left"].astype(np.intp) + shift)
        right = np.where(leaf, itself, flat["right"].astype(np.intp) + shift)
        missing_right = ~flat["missing_go_to_left"].astype(bool)
        threshold = flat["num_threshold"].astype(np.float64)
        threshold = np.where(np.isposinf(threshold), np.finfo(np.float64).max, threshold)
        return cls(
            feature=np.where(leaf, 0, flat["feature_idx"] + missing_right * n_features).astype(
                np.intp
            ),
            threshold=np.where(leaf, np.inf, threshold),
            children=np.column_stack([left, right]).ravel(),
            value=np.where(leaf, flat["value"], 0.0),
            roots=offsets,
            depth=int(flat["depth"].max()),
            baseline=float(np.ravel(trees._baseline_prediction)[0]),
            n_features=n_features,
        )

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Log-odds of each row: the baseline plus each tree's leaf value."""
        missing = np.isnan(X)
        doubled = np.concatenate(
            [np.where(missing, -np.inf, X), np.where(missing, np.inf, X)], axis=1
        ).ravel()
        row = (np.arange(len(X), dtype=np.intp) * (2 * self.n_features))[:, None]
        node = np.broadcast_to(self.roots, (len(X), len(self.roots)))
        for _ in range(self.depth):
            goes_right = doubled[row + self.feature[node]] > self.threshold[node]
            node = self.children[2 * node + goes_right]
        return self.baseline + self.value[node].sum(axis=1)


def hire_probability_of(scorer: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The function that scores pairs for any scorer: a HireModel's fast serving path
    (:meth:`HireModel.hire_probability`), or ``predict_proba(X)[:, 1]``."""
    fast = getattr(scorer, "hire_probability", None)
    return fast if fast is not None else (lambda X: scorer.predict_proba(X)[:, 1])


def _can_cross_fit(encoded: np.ndarray, blocks: KFold) -> bool:
    """Whether every block, and every set of other blocks, has both outcomes and enough rows."""
    if len(encoded) < blocks.get_n_splits() * MIN_CALIBRATION_ROWS:
        return False
    for train, held in blocks.split(encoded):
        if len(np.unique(encoded[train])) < 2 or len(np.unique(encoded[held])) < 2:
            return False
    return True


def default_model(**params: Any) -> HireModel:
    """Return the production :class:`HireModel` with monotone constraints from MONOTONIC.

    The constraints follow :data:`matcher.features.MONOTONIC` in :data:`FEATURES` order, so
    the model can only learn, say, that a higher wage helps or is neutral, never that it
    hurts. ``params`` override the other hyper-parameters.
    """
    params.setdefault("monotonic_cst", [MONOTONIC[name] for name in FEATURES])
    return HireModel(**params)


def _column_medians(X: np.ndarray) -> np.ndarray:
    """Return each column's median over its known values (NaN for an all-unknown column)."""
    out = np.full(X.shape[1], np.nan)
    for j in range(X.shape[1]):  # a loop over columns, not rows
        known = X[:, j][~np.isnan(X[:, j])]
        if len(known):
            out[j] = np.median(known)
    return out


# ============================================================================================
# The rule scorer


@dataclass(frozen=True)
class Rule:
    """One term of the rule scorer: ``weight * (clip(x, low, high) - centre)`` in log-odds.

    ``centre`` is a typical value, so a feature at its typical value (or unknown, NaN)
    contributes nothing and the intercept alone is the score of a typical pair.
    """

    weight: float
    centre: float
    low: float
    high: float
    why: str


#: Hand-set rules over :data:`FEATURES`, from what a caseworker would say, not from data.
RULES: Mapping[str, Rule] = MappingProxyType(
    {
        "trade_match": Rule(1.0, 0.5, 0.0, 1.0, "people take jobs in the trades they ask for"),
        "graduated_trade_course": Rule(
            0.7, 0.0, 0.0, 1.0, "a certificate in the trade is what an employer checks first"
        ),
        "graduated_linked_course": Rule(
            0.9, 0.0, 0.0, 1.0, "the enterprise committed to hire this course's graduates"
        ),
        "skill_coverage": Rule(0.8, 0.5, 0.0, 1.0, "more of the required skills, less training"),
        "distance_km": Rule(-0.03, 15.0, 0.0, 80.0, "a long daily commute puts people off"),
        "commute_excess_km": Rule(
            -0.06, 0.0, 0.0, 50.0, "beyond the distance the worker said they would travel"
        ),
        "log_wage_ratio": Rule(1.0, 0.0, -0.7, 0.7, "offered wage against the wage expected"),
        "wage_over_minimum": Rule(
            0.4, 1.5, 1.0, 3.0, "wages well above the regional minimum attract and keep people"
        ),
        "education_gap": Rule(
            0.3, 0.0, -3.0, 1.0, "below the required schooling costs; above it helps a little"
        ),
        "experience_years": Rule(0.08, 1.0, 0.0, 6.0, "some experience helps, up to a point"),
        "availability_gap_days": Rule(
            -0.006, 0.0, 0.0, 180.0, "available only after the start date: the place may go"
        ),
        "enterprise_hire_rate": Rule(
            2.5, 0.3, 0.0, 1.0, "an enterprise that has hired often will likely hire again"
        ),
        "enterprise_hire_lift": Rule(
            0.0, 0.0, -2.0, 2.0, "kept for the model: the rules read the plain hire rate"
        ),
        "enterprise_referrals_log": Rule(0.0, 0.0, 0.0, 10.0, "volume alone says nothing"),
        "course_hire_rate": Rule(1.5, 0.3, 0.0, 1.0, "the worker's course places its graduates"),
    }
)

#: Log-odds of a typical pair under the rules: a hire rate a bit under 30 %.
RULE_INTERCEPT = -1.0


class RuleScorer:
    """Score pairs with the hand-set, documented :data:`RULES` (a logistic model).

    Serves a province with no outcome history, and is the baseline every trained model must
    beat before it is promoted. Each feature contributes ``weight * (clip(x, low, high) -
    centre)`` to the log-odds; an unknown (NaN) feature contributes 0, i.e. it is taken as
    typical. The weights come from domain common sense (see each :class:`Rule`'s ``why``),
    not from any data set, so they are the same in every province and easy to explain.

    Parameters
    ----------
    rules : mapping of feature name to Rule, optional
        Defaults to :data:`RULES`; every name in ``feature_names`` must have a rule.
    intercept : float
        Log-odds of a typical pair.
    feature_names : sequence of str
        Column order of the ``X`` it scores (default :data:`FEATURES`).
    """

    version = "rules-1"
    classes_ = np.array([0, 1])

    def __init__(
        self,
        rules: Mapping[str, Rule] | None = None,
        intercept: float = RULE_INTERCEPT,
        feature_names: tuple[str, ...] = FEATURES,
    ) -> None:
        self.rules = RULES if rules is None else rules
        self.intercept = float(intercept)
        self.feature_names = tuple(feature_names)
        missing = [name for name in self.feature_names if name not in self.rules]
        if missing:
            raise ValueError(f"no rule for feature(s): {', '.join(missing)}")
        table = [self.rules[name] for name in self.feature_names]
        self._weight = np.array([r.weight for r in table])
        self._centre = np.array([r.centre for r in table])
        self._low = np.array([r.low for r in table])
        self._high = np.array([r.high for r in table])

    def contributions(self, X: Any) -> np.ndarray:
        """Return each feature's contribution to each row's log-odds, shape (n, F).

        NaN features contribute 0. The log-odds are ``intercept + contributions.sum(1)``.
        """
        X = self._check(X)
        clipped = np.clip(X, self._low, self._high)
        out = self._weight * (clipped - self._centre)
        return np.where(np.isnan(out), 0.0, out)

    def decision_function(self, X: Any) -> np.ndarray:
        """Return the log-odds of a hire for each row."""
        return self.intercept + self.contributions(X).sum(axis=1)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Return probabilities of [not hired, hired], shape (n, 2)."""
        p = _sigmoid(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def _check(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ValueError(f"expected X of shape (n, {len(self.feature_names)}), got {X.shape}")
        return X


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


# ============================================================================================
# Reasons


def feature_effects(scorer: Any, X: Any, reference: Any = None) -> np.ndarray:
    """Return how much each feature moved each row's hire probability, shape (n, F).

    ``effects[i, j] = p(x_i) - p(x_i with feature j set to reference[j])``: positive when
    the row's value of feature j raised its probability above what a typical value would
    give. That is the question a caseworker asks ("why this job?"), and it needs no access
    to the model's internals, so it explains any scorer the same way; the 2–4 largest
    ``|effect|`` of a row become its reasons.

    For a :class:`RuleScorer` the effects are exact and computed from its additive
    log-odds contributions (no extra scoring). For any other scorer (a :class:`HireModel`)
    all ``n × F`` what-if rows are scored in one batched ``predict_proba`` call (one call,
    not ``F``: per-call overhead dominates small batches).

    Parameters
    ----------
    scorer : HireModel, RuleScorer or any object with ``predict_proba``
        The scorer to explain.
    X : array-like of shape (n, F)
        The pairs' features.
    reference : array-like of shape (F,), optional
        Typical values to substitute; defaults to the scorer's ``reference_`` (a trained
        :class:`HireModel` stores its training medians). For a :class:`RuleScorer` the
        default is each rule's ``centre``. NaN means "unknown".

    Returns
    -------
    ndarray of shape (n, F)
        Change in probability due to each feature (0 where the row already has the
        reference value).
    """
    X = np.asarray(X, dtype=float)
    n, n_features = X.shape
    if isinstance(scorer, RuleScorer):
        contributions = scorer.contributions(X)
        if reference is None:
            at_reference = np.zeros(n_features)
        else:
            at_reference = scorer.contributions(np.asarray(reference, dtype=float).reshape(1, -1))[
                0
            ]
        logit = scorer.intercept + contributions.sum(axis=1, keepdims=True)
        return _sigmoid(logit) - _sigmoid(logit - contributions + at_reference)
    if reference is None:
        reference = getattr(scorer, "reference_", None)
        if reference is None:
            raise ValueError("reference is required for a scorer without reference_")
    reference = np.asarray(reference, dtype=float)
    if reference.shape != (n_features,):
        raise ValueError(f"reference must have shape ({n_features},), got {reference.shape}")
    # Row block 0 is X itself; block 1 + j (laid out row-major as (n, F)) is X with column j
    # replaced by its reference value.
    what_if = np.repeat(X[:, None, :], n_features, axis=1)
    diagonal = np.arange(n_features)
    what_if[:, diagonal, diagonal] = reference
    batch = np.concatenate([X, what_if.reshape(n * n_features, n_features)])
    if isinstance(scorer, HireModel):
        p = scorer.hire_probability(batch)
    else:
        p = scorer.predict_proba(batch)[:, 1]
    return p[:n, None] - p[n:].reshape(n, n_features)


def top_reasons(
    effects: np.ndarray, feature_names: tuple[str, ...] = FEATURES, k: int = 3
) -> list[list[tuple[str, float]]]:
    """Return, per row, the ``k`` features with the largest ``|effect|`` and their effect.

    Features whose effect is 0 (the row has the typical value) are left out, so a row may
    get fewer than ``k`` reasons.
    """
    effects = np.asarray(effects, dtype=float)
    k = min(k, effects.shape[1])
    order = np.argsort(-np.abs(effects), axis=1, kind="stable")[:, :k]
    picked = np.take_along_axis(effects, order, axis=1)
    return [
        [(feature_names[j], float(v)) for j, v in zip(row, values, strict=True) if v != 0.0]
        for row, values in zip(order, picked, strict=True)
    ]
