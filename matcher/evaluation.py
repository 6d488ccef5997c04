"""Evaluate hire models: time-ordered splits, metrics, baselines, the promotion gate.

Everything is judged on the *future*: a model is trained on the referrals before a cutoff day
and scored on the referrals after it, as it would be used. Two questions are asked:

- **Are the probabilities right?** AUC, log loss, Brier score and the expected calibration
  error (:func:`metrics`). Allocation rounds maximise *expected hires*, so the probabilities
  must mean what they say, not only rank well.
- **Is the shortlist right?** NDCG@10 and hires@10 per worker (:func:`ranking_metrics`),
  against two baselines: the :class:`~matcher.scoring.RuleScorer` and "nearest commitments
  in the worker's trades" (:func:`nearest_in_trade_score`), which is what a caseworker with
  a spreadsheet does.

:func:`train_and_evaluate` is what the admin's "train" button runs: train, evaluate against
the rules and the serving model, decide whether to promote (:func:`quality_gate`), refit.

:func:`true_ranking_quality` is the acceptance protocol on demo data, where the true hire
probability of *any* pair is known: it ranks all open commitments around held-out workers
and scores the ranking with the true probabilities as gains.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from matcher.demo import true_hire_probability
from matcher.features import FEATURES, day_numbers, outcome_known_days, pair_features
from matcher.places import haversine_km
from matcher.retrieval import SERVED, CommitmentIndex, match_worker
from matcher.scoring import HireModel, RuleScorer, default_model, hire_probability_of
from matcher.snapshot import Snapshot, TrainingSet, training_set
from matcher.taxonomy import TRADE_CODES

#: Equal-frequency bins of the expected calibration error.
ECE_BINS = 10
#: Cut-off of the ranking metrics: a caseworker reads about ten matches.
RANK_K = 10
_EPOCH = dt.date(1970, 1, 1)


# ============================================================================================
# Splits


def take(ts: TrainingSet, rows: np.ndarray) -> TrainingSet:
    """Return the rows of a training set selected by a boolean mask or positions."""
    return replace(
        ts,
        X=ts.X[rows],
        y=ts.y[rows],
        days=ts.days[rows],
        referral_ids=ts.referral_ids[rows],
        worker_ids=ts.worker_ids[rows],
        commitment_ids=ts.commitment_ids[rows],
    )


def cutoff_day(days: np.ndarray, eval_fraction: float = 0.2) -> float:
    """Return the first day of the evaluation window: the most recent ``eval_fraction`` of rows.

    A day is never split: every referral made on the cutoff day is evaluated, none trained
    on, so the evaluation window is a clean "after" (it may hold slightly more than
    ``eval_fraction`` of the rows).
    """
    if not 0.0 < eval_fraction < 1.0:
        raise ValueError(f"eval_fraction must be in (0, 1), got {eval_fraction!r}")
    if not len(days):
        raise ValueError("no rows to split")
    ordered = np.sort(np.asarray(days, dtype=float))
    position = min(int(np.floor((1.0 - eval_fraction) * len(ordered))), len(ordered) - 1)
    return float(ordered[position])


def time_split(
    ts: TrainingSet,
    eval_fraction: float = 0.2,
    known_days: np.ndarray | None = None,
) -> tuple[TrainingSet, TrainingSet]:
    """Split into (train, evaluation): the past, and the most recent referrals.

    Parameters
    ----------
    ts : TrainingSet
        Decided referrals.
    eval_fraction : float
        Share of the rows (by referral day) in the evaluation window.
    known_days : ndarray, optional
        Day each row's outcome went on record. When given, a training row whose outcome was
        recorded only on or after the cutoff is dropped: on the cutoff day nobody knew it
        yet, and training on it would let the past peek at the evaluation window.

    Returns
    -------
    (TrainingSet, TrainingSet)
        Rows referred before the cutoff day, and rows referred on or after it.
    """
    cutoff = cutoff_day(ts.days, eval_fraction)
    train = ts.days < cutoff
    if known_days is not None:
        train &= np.asarray(known_days, dtype=float) < cutoff
    return take(ts, train), take(ts, ts.days >= cutoff)


def outcome_days(snapshot: Snapshot, ts: TrainingSet) -> np.ndarray:
    """Return the day each row's outcome went on record (see features.outcome_known_days)."""
    referrals = snapshot.referrals
    known = pd.Series(outcome_known_days(referrals), index=referrals["id"].to_numpy())
    return known.reindex(ts.referral_ids).to_numpy(dtype=float)


# ============================================================================================
# Probability metrics


def expected_calibration_error(y: Any, p: Any, n_bins: int = ECE_BINS) -> float:
    """Return the expected calibration error over equal-frequency bins of ``p``.

    Rows are sorted by predicted probability and cut into ``n_bins`` bins of (nearly) equal
    count; ECE = Σ_b (n_b / n) · |mean(y_b) − mean(p_b)|. Equal-frequency rather than
    equal-width bins, because hire probabilities crowd into 0.1–0.5: equal-width bins would
    leave the tails nearly empty and the middle coarse.

    ``y`` may be outcomes (0/1) or, on demo data, the *true* probabilities: against the
    truth the error measures the model alone, without the coin-flip noise of outcomes
    (about sqrt(p(1−p)/n_b) per bin, i.e. 0.03–0.05 for a few hundred rows a bin).
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if not len(p):
        return float("nan")
    order = np.argsort(p, kind="stable")
    bins = np.array_split(order, min(n_bins, len(p)))
    gaps = [len(b) * abs(y[b].mean() - p[b].mean()) for b in bins]
    return float(np.sum(gaps) / len(p))


def reliability_curve(y: Any, p: Any, n_bins: int = ECE_BINS) -> pd.DataFrame:
    """Return per equal-frequency bin: mean predicted, mean observed, and the row count.

    The points of a reliability diagram (observed against predicted; the diagonal is
    perfect calibration), with the same bins as :func:`expected_calibration_error`.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    bins = np.array_split(order, min(n_bins, max(len(p), 1)))
    return pd.DataFrame(
        {
            "predicted": [p[b].mean() for b in bins if len(b)],
            "observed": [y[b].mean() for b in bins if len(b)],
            "n": [len(b) for b in bins if len(b)],
        }
    )


def metrics(y: Any, p: Any, n_bins: int = ECE_BINS) -> dict[str, float]:
    """Return AUC, log loss, Brier score and ECE of hire probabilities ``p`` for outcomes ``y``.

    AUC is NaN when ``y`` holds one class only (it is undefined, not 0.5).
    """
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1.0 - 1e-6)
    both = len(np.unique(y)) == 2
    return {
        "auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "log_loss": float(log_loss(y, p, labels=[0, 1])) if len(y) else float("nan"),
        "brier": float(brier_score_loss(y, p, labels=[0, 1])) if len(y) else float("nan"),
        "ece": expected_calibration_error(y, p, n_bins),
        "mean_p": float(p.mean()) if len(p) else float("nan"),
        "hire_rate": float(y.mean()) if len(y) else float("nan"),
        "n": float(len(y)),
    }


# ============================================================================================
# Ranking metrics


def _tie_averaged(
    gains: np.ndarray, scores: np.ndarray, groups: np.ndarray, weight_at: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (group keys, Σ gain × positional weight) per group, ties averaged.

    Items are ranked by descending score within each group. Items with equal scores share
    the average weight of the positions they occupy: the expected value under a random
    tie-break, so a scorer gets no credit (and no blame) for an order it did not choose.
    ``weight_at[r]`` is the weight of rank r (0-based); ranks past its end weigh 0.
    """
    order = np.lexsort((-scores, groups))
    g, s, gain = groups[order], scores[order], gains[order]
    n = len(g)
    new_group = np.r_[True, g[1:] != g[:-1]]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    rank = np.arange(n) - group_start
    new_run = new_group | np.r_[True, s[1:] != s[:-1]]
    run_id = np.cumsum(new_run) - 1
    run_first = rank[new_run]
    run_length = np.bincount(run_id)
    padded = np.zeros(int(rank.max(initial=0)) + 2)
    m = min(len(weight_at), len(padded) - 1)
    padded[1 : m + 1] = weight_at[:m]
    cumulative = np.cumsum(padded)  # cumulative[r] = Σ weights of ranks < r
    run_weight = (cumulative[run_first + run_length] - cumulative[run_first]) / run_length
    keys, group_index = np.unique(g, return_inverse=True)
    total = np.bincount(group_index, weights=gain * run_weight[run_id], minlength=len(keys))
    return keys, total


def ranking_metrics(gains: Any, scores: Any, groups: Any, k: int = RANK_K) -> dict[str, float]:
    """Return mean NDCG@k and mean hires@k over groups (e.g. one group per worker).

    Parameters
    ----------
    gains : array-like
        Relevance of each item: 1/0 for hired/not, or a true hire probability.
    scores : array-like
        The scorer's scores; higher ranks first.
    groups : array-like
        Group key of each item (a worker id, a query id).
    k : int
        Cut-off rank.

    Returns
    -------
    dict
        ``ndcg@k``: mean over groups with at least two items and a positive total gain of
        DCG@k / ideal DCG@k, with linear gains and discount 1/log2(rank + 2). A group of
        one item is always perfectly ranked and a group without gain has no ideal, so
        counting either would only pull every scorer towards the same constant.
        ``hires@k``: mean over *all* groups of the (expected) gain in the top k.
        ``groups`` and ``ranked_groups`` count the groups behind each mean. Ties in
        ``scores`` are averaged (see :func:`_tie_averaged`).
    """
    gains = np.asarray(gains, dtype=float)
    scores = np.asarray(scores, dtype=float)
    groups = np.asarray(groups)
    if not len(gains):
        return {f"ndcg@{k}": float("nan"), f"hires@{k}": float("nan"), "groups": 0.0,
                "ranked_groups": 0.0}  # fmt: skip
    # NaN scores (a scorer that could not score a pair) rank last.
    scores = np.where(np.isnan(scores), -np.inf, scores)
    discount = 1.0 / np.log2(np.arange(k) + 2.0)
    keys, dcg = _tie_averaged(gains, scores, groups, discount)
    _, ideal = _tie_averaged(gains, gains, groups, discount)
    _, top = _tie_averaged(gains, scores, groups, np.ones(k))
    size = np.bincount(np.unique(groups, return_inverse=True)[1], minlength=len(keys))
    rankable = (size >= 2) & (ideal > 0)
    ndcg = dcg[rankable] / ideal[rankable]
    se = float(ndcg.std(ddof=1) / np.sqrt(len(ndcg))) if len(ndcg) > 1 else float("nan")
    return {
        f"ndcg@{k}": float(ndcg.mean()) if len(ndcg) else float("nan"),
        f"ndcg@{k}_se": se,
        f"hires@{k}": float(top.mean()),
        "groups": float(len(keys)),
        "ranked_groups": float(rankable.sum()),
    }


def nearest_in_trade_score(X: Any, feature_names: tuple[str, ...] = FEATURES) -> np.ndarray:
    """Score pairs as a caseworker with a spreadsheet would: worker's trades first, then nearest.

    ``trade_match`` descending, then ``distance_km`` ascending (unknown distance last). Only
    an order, not a probability.
    """
    X = np.asarray(X, dtype=float)
    trade = np.nan_to_num(X[:, feature_names.index("trade_match")], nan=0.0)
    distance = X[:, feature_names.index("distance_km")]
    distance = np.where(np.isnan(distance), 1e5, distance)
    return trade * 1e6 - distance


# ============================================================================================
# Training, evaluation and the promotion gate


@dataclass
class GateDecision:
    """Whether a newly trained model may replace the serving one, and why."""

    promote: bool
    reason: str


def quality_gate(
    candidate: dict[str, float],
    rules: dict[str, float],
    current: dict[str, float] | None = None,
    k: int = RANK_K,
    candidate_vs_current: dict[str, float] | None = None,
) -> GateDecision:
    """Promote only a model that beats the rule scorer and the serving model on both counts.

    The rule, on the evaluation window (referrals after the training cutoff):

    1. **log loss** strictly lower than the rules' and the current model's: the
       probabilities feed expected-hire allocation, so they must be better, not just the
       order; log loss punishes both bad ranking and bad calibration;
    2. **NDCG@k per worker** (over workers with at least two referrals and one hire) not
       lower than the rules' and the current model's by more than its sampling noise
       (1.96 standard errors over workers): better probabilities must not come with a
       clearly worse shortlist. Few workers have several referrals in a window, so this
       mean swings by ±0.02 between demo seeds while the log loss and the true ranking
       quality both favour the model; a difference inside the noise is no evidence;
    3. **served hires@k** (:func:`served_hire_recall`: how often the commitment a worker
       was hired into would have been on the list the endpoint serves, through its own
       ranking function and reach) not lower than theirs by more than its noise: the
       figures above judge pairs that were referred, this one judges what is served.

    With no serving model (``current`` None) the rules are the only bar. The reason lists
    every comparison with its figures, e.g. "log loss 0.512 ≥ current 0.508".
    ``candidate_vs_current`` is the candidate's scores on the rows ``current`` was scored
    on, when that is not the whole window (see :func:`train_and_evaluate`).
    """
    key = f"ndcg@{k}"
    bars = [("rules", rules, candidate)]
    if current is not None:
        bars.append(("current", current, candidate_vs_current or candidate))
    passed, failed = [], []
    for name, bar, mine_all in bars:
        loss, their_loss = mine_all["log_loss"], bar["log_loss"]
        if loss < their_loss:
            passed.append(f"log loss {loss:.4f} < {name} {their_loss:.4f}")
        else:
            failed.append(f"log loss {loss:.4f} ≥ {name} {their_loss:.4f}")
        mine, theirs = mine_all.get(key, np.nan), bar.get(key, np.nan)
        noise = 1.96 * np.nanmax(
            [mine_all.get(f"{key}_se", np.nan), bar.get(f"{key}_se", np.nan), 0.0]
        )
        if np.isnan(mine) or np.isnan(theirs):
            passed.append(f"NDCG@{k} {mine:.4f} vs {name} {theirs:.4f} (not measurable)")
        elif mine >= theirs:
            passed.append(f"NDCG@{k} {mine:.4f} ≥ {name} {theirs:.4f}")
        elif mine >= theirs - noise:
            passed.append(f"NDCG@{k} {mine:.4f} within noise of {name} {theirs:.4f} (±{noise:.4f})")
        else:
            failed.append(f"NDCG@{k} {mine:.4f} < {name} {theirs:.4f} − noise {noise:.4f}")
        served_key = f"served_hires@{k}"
        mine, theirs = mine_all.get(served_key, np.nan), bar.get(served_key, np.nan)
        if not (np.isnan(mine) or np.isnan(theirs)):
            noise = 1.96 * np.nanmax(
                [mine_all.get(f"{served_key}_se", np.nan), bar.get(f"{served_key}_se", np.nan)]
            )
            if mine >= theirs - noise:
                passed.append(f"served hires@{k} {mine:.3f} vs {name} {theirs:.3f}")
            else:
                failed.append(
                    f"served hires@{k} {mine:.3f} < {name} {theirs:.3f} − noise {noise:.3f}"
                )
    if current is None:
        passed.append("no current model to compare with")
    if failed:
        return GateDecision(False, "not promoted: " + "; ".join(failed))
    return GateDecision(True, "promoted: " + "; ".join(passed))


def evaluate_scorers(
    scorers: dict[str, Any], ts: TrainingSet, k: int = RANK_K
) -> dict[str, dict[str, float]]:
    """Return probability and ranking metrics of each scorer on ``ts``.

    Ranking metrics come per worker (``ndcg@k``, ``hires@k``: the worker's list of
    matches) and per commitment (``…_by_commitment``: the enterprise's shortlist, where a
    window holds many more ranked groups). Scorers with ``predict_proba`` also get the
    probability metrics; ``"nearest_in_trade"`` (an order, not a probability) only the
    ranking metrics. ``None`` scorers are skipped.
    """
    out: dict[str, dict[str, float]] = {}
    for name, scorer in scorers.items():
        if scorer is None:
            continue
        if name == "nearest_in_trade":
            scores = nearest_in_trade_score(ts.X, ts.feature_names)
            result: dict[str, float] = {}
        else:
            scores = scorer.predict_proba(ts.X)[:, 1]
            result = metrics(ts.y, scores)
        result |= ranking_metrics(ts.y, scores, ts.worker_ids, k)
        by_commitment = ranking_metrics(ts.y, scores, ts.commitment_ids, k)
        result |= {f"{key}_by_commitment": value for key, value in by_commitment.items()}
        out[name] = result
    return out


@dataclass
class TrainingReport:
    """What one training run did and found; saved beside the model artifact.

    ``model`` is the artifact (refitted on all rows when ``refit``); ``evaluated_model`` is
    the one trained on the training window only, whose figures ``scores`` holds.
    """

    model: HireModel
    evaluated_model: HireModel
    promote: bool
    reason: str
    scores: dict[str, dict[str, float]]
    features: tuple[str, ...]
    train_first_day: dt.date | None
    train_last_day: dt.date | None
    eval_first_day: dt.date | None
    eval_last_day: dt.date | None
    n_rows: int
    n_train: int
    n_eval: int
    hire_rate: float
    seconds: float
    refit: bool
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return everything but the model, JSON-ready (dates as ISO strings)."""
        data = asdict(replace(self, model=None, evaluated_model=None))
        data.pop("model")
        data.pop("evaluated_model")
        for name in ("train_first_day", "train_last_day", "eval_first_day", "eval_last_day"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        data["features"] = list(self.features)
        return data


def train_and_evaluate(
    snapshot: Snapshot,
    current: Any = None,
    *,
    eval_fraction: float = 0.2,
    refit: bool = True,
    model: HireModel | None = None,
    k: int = RANK_K,
    ts: TrainingSet | None = None,
    current_trained_until: dt.date | None = None,
) -> TrainingReport:
    """Train a hire model on the past, judge it on the most recent referrals, gate, refit.

    Parameters
    ----------
    snapshot : Snapshot
        The registry; its decided referrals are the rows.
    current : scorer with ``predict_proba``, optional
        The serving model, to be beaten (see :func:`quality_gate`).
    current_trained_until : date, optional
        Last referral day the serving model was trained on. A model scored on rows it was
        trained on looks better than it is, so when given, the candidate and the serving
        model are compared on the evaluation rows after that day only (scores
        "model_vs_current" and "current"). Without it (or with no such rows) both are
        compared on the whole window, which can only favour the serving model: the gate
        stays safe, at worst too strict.
    eval_fraction : float
        Share of the most recent rows held out to evaluate on.
    refit : bool
        After the gate, refit the same hyper-parameters on *all* rows for the artifact.
        Worth it: the evaluation window is the most recent ~20 % of the history, exactly
        the rows closest to the referrals the model will score, and the newest
        calibration block is made of them. The gate's figures then describe the procedure (these
        settings trained on this history) rather than the exact artifact; a refit with more
        and newer rows is expected to do at least as well. With ``refit=False`` the
        artifact is the model the figures were measured on.
    model : HireModel, optional
        The estimator to train (cloned); default :func:`default_model`.
    k : int
        Ranking cut-off.
    ts : TrainingSet, optional
        Precomputed ``training_set(snapshot)``.

    Returns
    -------
    TrainingReport
    """
    started = time.perf_counter()
    ts = training_set(snapshot) if ts is None else ts
    if len(ts) < 2:
        raise ValueError("too few decided referrals to train on")
    template = default_model() if model is None else model
    train, evaluation = time_split(ts, eval_fraction, outcome_days(snapshot, ts))
    if len(np.unique(train.y)) < 2:
        raise ValueError("the training window needs both hires and non-hires")
    candidate = clone(template).fit(train.X, train.y)
    scores = evaluate_scorers(
        {
            "model": candidate,
            "rules": RuleScorer(feature_names=ts.feature_names),
            "nearest_in_trade": "nearest",
            "current": current,
        },
        evaluation,
        k,
    )
    served = served_hire_recall(
        snapshot, evaluation,
        {"model": candidate, "rules": RuleScorer(feature_names=ts.feature_names),
         "current": current},
        k,
    )  # fmt: skip
    for name, figures in served.items():
        scores[name] |= figures
    versus_current = scores["model"]
    if current is not None and current_trained_until is not None:
        fresh = take(evaluation, evaluation.days > (current_trained_until - _EPOCH).days)
        if len(np.unique(fresh.y)) == 2:
            pair = evaluate_scorers({"model": candidate, "current": current}, fresh, k)
            versus_current, scores["current"] = pair["model"], pair["current"]
            scores["model_vs_current"] = versus_current
    decision = quality_gate(
        scores["model"], scores["rules"], scores.get("current"), k, versus_current
    )
    final = clone(template).fit(ts.X, ts.y) if refit else candidate
    return TrainingReport(
        model=final,
        evaluated_model=candidate,
        promote=decision.promote,
        reason=decision.reason,
        scores=scores,
        features=tuple(ts.feature_names),
        train_first_day=_date(train.days.min()) if len(train) else None,
        train_last_day=_date(train.days.max()) if len(train) else None,
        eval_first_day=_date(evaluation.days.min()) if len(evaluation) else None,
        eval_last_day=_date(evaluation.days.max()) if len(evaluation) else None,
        n_rows=len(ts),
        n_train=len(train),
        n_eval=len(evaluation),
        hire_rate=float(ts.y.mean()),
        seconds=time.perf_counter() - started,
        refit=refit,
        params=template.get_params(),
    )


def learning_curve(
    ts: TrainingSet,
    sizes: Any = (0.1, 0.25, 0.5, 0.75, 1.0),
    *,
    eval_fraction: float = 0.2,
    model: HireModel | None = None,
    known_days: np.ndarray | None = None,
) -> pd.DataFrame:
    """Return evaluation-window metrics of models trained on the most recent share of the past.

    Each size keeps the *latest* share of the training window (a province's newest
    referrals are the relevant ones, and that is how a shorter history looks), and every
    model is scored on the same evaluation window.
    """
    template = default_model() if model is None else model
    train, evaluation = time_split(ts, eval_fraction, known_days)
    rows = []
    for share in sizes:
        n = max(int(round(float(share) * len(train))), 2)
        part = take(train, np.arange(len(train) - n, len(train)))
        if len(np.unique(part.y)) < 2:
            continue
        fitted = clone(template).fit(part.X, part.y)
        p = fitted.predict_proba(evaluation.X)[:, 1]
        rows.append(
            {"share": float(share), "n_train": n}
            | metrics(evaluation.y, p)
            | ranking_metrics(evaluation.y, p, evaluation.worker_ids)
        )
    return pd.DataFrame(rows)


def _date(day: float) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(day))


# ============================================================================================
# Acceptance protocol on demo data (true probabilities known)


@dataclass
class TrueRankingQuality:
    """Ranking and calibration measured against the demo's true hire probabilities."""

    ndcg: dict[str, float]
    #: Served lists shorter than k although k open commitments lay within the reach.
    short_lists: dict[str, int]
    hires: dict[str, float]
    calibration: dict[str, float]
    n_queries: int
    n_candidates: float
    n_train: int
    heldout_workers: np.ndarray
    cutoff: dt.date
    model: HireModel
    k: int = RANK_K


def holdout_workers(ts: TrainingSet, share: float = 0.2, seed: int = 0) -> np.ndarray:
    """Return a random ``share`` of the workers that have decided referrals (sorted ids)."""
    workers = np.unique(ts.worker_ids)
    rng = np.random.default_rng(seed)
    n = int(round(share * len(workers)))
    return np.sort(rng.choice(workers, size=n, replace=False))


def open_commitments(
    snapshot: Snapshot,
    days: np.ndarray,
    lead_days: float = 90.0,
    open_ended_days: float = 180.0,
) -> np.ndarray:
    """Return a (len(days), n_commitments) mask of commitments taking referrals on each day.

    A commitment takes referrals from ``lead_days`` before its start date (trainees are
    referred while they finish their course) until it expires; one without an expiry date
    until ``open_ended_days`` after its start. A full commitment (slots filled by hires
    before the day) is closed.
    """
    commitments = snapshot.commitments
    start = day_numbers(commitments["start_date"])
    expires = day_numbers(commitments["expires_on"])
    expires = np.where(np.isnan(expires), start + open_ended_days, expires)
    days = np.asarray(days, dtype=float)[:, None]
    is_open = (start[None, :] - lead_days <= days) & (days <= expires[None, :])
    referrals = snapshot.referrals
    hired = referrals[referrals["status"] == "hired"]
    position = pd.Index(commitments["id"].to_numpy()).get_indexer(hired["commitment_id"].to_numpy())
    # Hires known before each day, per commitment: one sorted key (commitment, hire day) and
    # two binary searches per (day, commitment), as TrackRecord does.
    scale = 1_000_000.0
    keys = np.sort(position * scale + day_numbers(hired["hired_on"]))
    grid = np.arange(len(start))[None, :] * scale
    filled = np.searchsorted(keys, grid + days, side="left") - np.searchsorted(
        keys, grid, side="left"
    )
    slots = pd.to_numeric(commitments["slots"], errors="coerce").fillna(np.inf).to_numpy()
    return is_open & (filled < slots[None, :])


def true_ranking_quality(
    demo_data: Any,
    snapshot: Snapshot,
    model: HireModel | None = None,
    *,
    holdout_share: float = 0.2,
    eval_fraction: float = 0.2,
    seed: int = 0,
    k: int = RANK_K,
    ts: TrainingSet | None = None,
    min_candidates: int = 10,
    include_old_retrieval: bool = False,
) -> TrueRankingQuality:
    """Measure ranking and calibration against the demo's true hire probabilities.

    Protocol
    --------
    1. Rows: ``training_set(snapshot)``; the evaluation window is its most recent
       ``eval_fraction`` (:func:`time_split`).
    2. A random ``holdout_share`` of the workers with decided referrals is held out
       (:func:`holdout_workers`, seeded): none of their referrals is trained on.
    3. ``model`` (default :func:`default_model`; cloned, never fitted in place) is trained
       on the other workers' referrals before the cutoff whose outcome was on record by
       then. Training inside the function is what guarantees the held-out workers were
       never seen.
    4. Queries: each held-out worker with a referral in the evaluation window, on the day
       of their first referral there (a day they were demonstrably looking for work).
    5. Lists: what the endpoint would have served that day (:func:`served_lists`, the very
       function and reach of ``GET /workers/{id}/matches``), for the model and the rule
       scorer; and, for reference, each scorer ranking *every* open commitment
       (``*_every_open``). The ideal ranking is taken over every open commitment, so what
       retrieval leaves out counts against it. Queries with fewer than ``min_candidates``
       open commitments are dropped.
    6. Gains: the demo's true hire probability of each (worker, commitment) pair
       (``demo_data.hire_probability``), ids mapped through the snapshot's ``external_id``.
       Scores: the model, the :class:`RuleScorer` and :func:`nearest_in_trade_score`, on
       features as of the query day. NDCG@k per query, averaged (:func:`ranking_metrics`).
    7. Calibration: the model's ECE on every referral of the evaluation window (all of it
       is after the training cutoff), against the true probabilities the outcomes were drawn
       from (``ece_true``) and against the outcomes (``ece_observed``), plus AUC.

    Two reference rankings are reported beside the scorers: ``oracle`` (the true
    probabilities themselves: 1.0 by definition) and ``oracle_without_quality`` (the true
    model with the enterprise's latent quality set to 0: the best any scorer could do that
    knew everything except the latent quality, which a model can only learn through the
    enterprise's track record).

    Returns
    -------
    TrueRankingQuality
    """
    ts = training_set(snapshot) if ts is None else ts
    template = default_model() if model is None else model
    cutoff = cutoff_day(ts.days, eval_fraction)
    heldout = holdout_workers(ts, holdout_share, seed)
    is_heldout = np.isin(ts.worker_ids, heldout)
    known = outcome_days(snapshot, ts)
    train_rows = (ts.days < cutoff) & (known < cutoff) & ~is_heldout
    train = take(ts, train_rows)
    fitted = clone(template).fit(train.X, train.y)

    # Queries: held-out workers' first referral day in the evaluation window.
    in_window = (ts.days >= cutoff) & is_heldout
    first = (
        pd.DataFrame({"worker": ts.worker_ids[in_window], "day": ts.days[in_window]})
        .groupby("worker", sort=True)["day"]
        .min()
    )
    query_workers, query_days = first.index.to_numpy(), first.to_numpy()
    is_open = open_commitments(snapshot, query_days)
    # Every open commitment of each query: the universe the ideal ranking is taken from.
    enough = is_open.sum(axis=1) >= min_candidates
    query, c = np.nonzero(is_open & enough[:, None])
    worker_position = pd.Index(snapshot.workers["id"].to_numpy()).get_indexer(query_workers)
    workers = snapshot.worker_arrays()
    commitments = snapshot.commitment_arrays()
    context = snapshot.context(workers=workers, commitments=commitments)
    w = worker_position[query]
    X = pair_features(workers, w, commitments, c, query_days[query], context)
    external = pd.DataFrame(
        {
            "worker_external_id": snapshot.workers["external_id"].to_numpy()[w],
            "commitment_external_id": snapshot.commitments["external_id"].to_numpy()[c],
            # The truth, like the model, knows graduations completed by the query day.
            "day": [_date(d).isoformat() for d in query_days[query]],
        }
    )
    truth_features = demo_data.pair_features(external)
    gains = true_hire_probability(truth_features)
    no_quality = true_hire_probability(truth_features.assign(enterprise_quality=0.0))
    model_p = fitted.predict_proba(X)[:, 1]
    rules = RuleScorer(feature_names=ts.feature_names)
    every_open = {
        "model_every_open": model_p,
        "rules_every_open": rules.predict_proba(X)[:, 1],
        "nearest_in_trade": nearest_in_trade_score(X, ts.feature_names),
        "oracle": gains,
        "oracle_without_quality": no_quality,
    }
    ranked = {name: ranking_metrics(gains, v, query, k) for name, v in every_open.items()}
    # Served: the endpoint's own ranking function and reach, on each query's day.
    gain_grid = np.full(is_open.shape, np.nan)
    gain_grid[query, c] = gains
    asked = np.flatnonzero(enough)
    served = served_lists(
        workers, commitments, context, worker_position[asked], query_days[asked],
        is_open[asked], {"model": fitted, "rules": rules}, k,
        old_retrieval=include_old_retrieval,
    )  # fmt: skip
    _, ideal = _tie_averaged(gains, gains, query, 1.0 / np.log2(np.arange(k) + 2.0))
    short = {}
    for name, lists in served.items():
        ranked[name] = served_ranking_metrics(gain_grid[asked], lists.positions, ideal, k)
        short[name] = int(((lists.length < k) & (lists.open_in_reach >= k)).sum())
    pairs = pd.DataFrame({"query": query})
    # Calibration on the whole evaluation window, against the truth and the outcomes.
    evaluation = take(ts, ts.days >= cutoff)
    p_true = _truth_of(demo_data, snapshot, evaluation.referral_ids)
    p = fitted.predict_proba(evaluation.X)[:, 1]
    observed = metrics(evaluation.y, p)
    calibration = {
        "ece_true": expected_calibration_error(p_true, p),
        "ece_observed": observed["ece"],
        "auc": observed["auc"],
        "auc_of_truth": metrics(evaluation.y, p_true)["auc"],
        "log_loss": observed["log_loss"],
        "mean_p": observed["mean_p"],
        "mean_p_true": float(p_true.mean()),
        "n": observed["n"],
    }
    return TrueRankingQuality(
        ndcg={name: r[f"ndcg@{k}"] for name, r in ranked.items()},
        short_lists=short,
        hires={name: r[f"hires@{k}"] for name, r in ranked.items()},
        calibration=calibration,
        n_queries=int(len(np.unique(query))),
        n_candidates=float(len(pairs) / max(len(np.unique(query)), 1)),
        n_train=len(train),
        heldout_workers=heldout,
        cutoff=_date(cutoff),
        model=fitted,
        k=k,
    )


@dataclass
class ServedLists:
    """Per query, the positions (commitment arrays) a served list showed, best first."""

    positions: np.ndarray  # (queries, k), -1 past the list's end
    length: np.ndarray
    open_in_reach: np.ndarray  # open commitments within the served reach of the worker


def served_lists(
    workers: Any,
    commitments: Any,
    context: Any,
    worker_positions: np.ndarray,
    days: np.ndarray,
    is_open: np.ndarray,
    scorers: dict[str, Any],
    k: int = RANK_K,
    *,
    old_retrieval: bool = False,
    open_per_query: bool = False,
) -> dict[str, ServedLists]:
    """What ``GET /workers/{id}/matches?limit=k`` would have shown each worker on each day.

    The very function the endpoint calls (:func:`matcher.retrieval.match_worker`, with its
    :data:`~matcher.retrieval.SERVED` reach) over an index of the commitments open that day
    (:func:`open_commitments` stands in for the live slot check). A loop over queries (a
    few hundred), each vectorised as served; with ``open_per_query`` each query's own row
    of ``is_open`` (otherwise one row per day). ``old_retrieval`` adds, for comparison, the
    retrieval served before issue 11: the worker's registered and trained trades, within
    exactly the stated commute (``model_old_retrieval``).
    """
    names = list(scorers) + (["model_old_retrieval"] if old_retrieval else [])
    out = {n: np.full((len(days), k), -1, dtype=np.intp) for n in names}
    lengths = {n: np.zeros(len(days), dtype=np.intp) for n in names}
    reach = np.zeros(len(days), dtype=np.intp)
    functions = {n: hire_probability_of(s) for n, s in scorers.items()}
    if old_retrieval:
        functions["model_old_retrieval"] = functions["model"]
    grads = context.graduations
    for day in np.unique(days):
        queries = np.flatnonzero(days == day)
        index = CommitmentIndex(commitments, is_open[queries[0]])
        for q in queries:
            if open_per_query and q != queries[0]:
                index = CommitmentIndex(commitments, is_open[q])
            worker = workers.take(np.array([worker_positions[q]]))
            stated = float(worker.max_commute_km[0])
            distance = haversine_km(worker.lat[0], worker.lon[0], commitments.lat, commitments.lon)
            reach[q] = int((is_open[q] & (distance <= SERVED.radius_factor * stated)).sum())
            for name, score in functions.items():
                options: dict[str, Any] = {}
                if name == "model_old_retrieval":
                    bits = int(worker.trade_bits[0])
                    trained = grads.trade[(grads.worker == worker.ids[0]) & (grads.day <= day)]
                    registered = {t for t in range(len(TRADE_CODES)) if bits >> t & 1}
                    trades = sorted(registered | set(trained.tolist()))
                    options = {"radius_km": stated, "trades": trades or None}
                ranked = match_worker(index, worker, float(day), context, score, limit=k, **options)
                out[name][q, : len(ranked.positions)] = ranked.positions
                lengths[name][q] = len(ranked.positions)
    return {n: ServedLists(out[n], lengths[n], reach) for n in names}


#: Hires of the evaluation window whose served lists the gate rebuilds (a sample, seeded):
#: each costs a served ranking per scorer, a few ms.
SERVED_RECALL_QUERIES = 200


def served_hire_recall(
    snapshot: Snapshot,
    evaluation: TrainingSet,
    scorers: dict[str, Any],
    k: int = RANK_K,
    max_queries: int = SERVED_RECALL_QUERIES,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Share of the window's hires whose commitment the served list of that day held.

    For each hire (worker, commitment, referral day) the list ``GET /workers/{id}/matches``
    would have served that day is rebuilt with each scorer (:func:`served_lists`); a hit
    is the hired commitment among its top ``k``. Outcomes exist only for referred pairs,
    so this is the one figure on observed outcomes that judges retrieval and ranking
    together, as served. ``served_hires@k`` and its binomial standard error per scorer.
    """
    hired = np.flatnonzero(evaluation.y == 1)
    scorers = {name: scorer for name, scorer in scorers.items() if scorer is not None}
    if not len(hired) or not scorers:
        return {}
    if len(hired) > max_queries:
        rng = np.random.default_rng(seed)
        hired = np.sort(rng.choice(hired, max_queries, replace=False))
    worker_ids = snapshot.workers["id"].to_numpy()
    commitment_ids = snapshot.commitments["id"].to_numpy()
    w = pd.Index(worker_ids).get_indexer(evaluation.worker_ids[hired])
    c = pd.Index(commitment_ids).get_indexer(evaluation.commitment_ids[hired])
    days = evaluation.days[hired]
    keep = (w >= 0) & (c >= 0)
    w, c, days = w[keep], c[keep], days[keep]
    is_open = open_commitments(snapshot, days)
    # The hired commitment was taking referrals that day, whatever the replay says; and
    # it is open only for its own query (queries of a day share one index).
    is_open[np.arange(len(c)), c] = True
    workers, commitments = snapshot.worker_arrays(), snapshot.commitment_arrays()
    context = snapshot.context(workers=workers, commitments=commitments)
    lists = served_lists(
        workers, commitments, context, w, days, is_open, scorers, k, open_per_query=True
    )
    out = {}
    for name, served in lists.items():
        hit = (served.positions == c[:, None]).any(axis=1)
        p = float(hit.mean()) if len(hit) else float("nan")
        se = float(np.sqrt(p * (1 - p) / len(hit))) if len(hit) > 1 else float("nan")
        out[name] = {f"served_hires@{k}": p, f"served_hires@{k}_se": se}
    return out


def served_ranking_metrics(
    gain_grid: np.ndarray, positions: np.ndarray, ideal: np.ndarray, k: int = RANK_K
) -> dict[str, float]:
    """NDCG@k and hires@k of served lists, against the ideal over every open commitment.

    A short list is not padded: the places it leaves empty earn nothing, which is what a
    caseworker given five matches instead of ten gets.
    """
    shown = positions >= 0
    gains = np.where(shown, gain_grid[np.arange(len(positions))[:, None], positions], 0.0)
    gains = np.nan_to_num(gains)
    discount = 1.0 / np.log2(np.arange(k) + 2.0)
    dcg = (gains * discount[None, : gains.shape[1]]).sum(axis=1)
    rankable = ideal > 0
    ndcg = dcg[rankable] / ideal[rankable]
    se = float(ndcg.std(ddof=1) / np.sqrt(len(ndcg))) if len(ndcg) > 1 else float("nan")
    return {
        f"ndcg@{k}": float(ndcg.mean()) if len(ndcg) else float("nan"),
        f"ndcg@{k}_se": se,
        f"hires@{k}": float(gains.sum(axis=1).mean()),
        "groups": float(len(positions)),
        "ranked_groups": float(rankable.sum()),
    }


def _truth_of(demo_data: Any, snapshot: Snapshot, referral_ids: np.ndarray) -> np.ndarray:
    """Return the demo's p_true of snapshot referrals (joined on the referral external id)."""
    external = snapshot.referrals.set_index("id")["external_id"].reindex(referral_ids)
    truth = demo_data.truth.set_index("external_id")["p_true"]
    return truth.reindex(external.to_numpy()).to_numpy(dtype=float)
